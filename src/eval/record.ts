import type { Severity } from '../analyze/index.js';
import type { TestVerdict } from '../judge/types.js';
import type { Stage } from '../reward/ladder.js';

/** One finding as written in a sample record. */
export interface FindingRecord {
  rule: string;
  bandit_id: string;
  severity: Severity;
  /** Absent in runs written before confidence was recorded. */
  confidence?: Severity | null;
  cwe: number | null;
  line: number;
  /** The finding's weight in V under the run's security shape (absent in older runs). */
  weight?: number;
  message: string;
}

/** The reward of a sample recomputed on its visible tests only (what best-of-k selects by). */
export interface VisibleScore {
  /** How many tests counted as visible (the first `visible_tests` of the problem, fewer if it has fewer). */
  tests: number;
  passed: number;
  r_func: number;
  reward: number;
}

/**
 * One line of a run folder's `samples.jsonl`: the prompt, the completion, and its reward breakdown
 * (the fields of `breakdownRecord`, plus what evaluation adds). Metrics are computed from these
 * records, so a resumed run and a report read the same thing a fresh run computed.
 */
export interface SampleRecord {
  problem_id: string;
  /** 0-based index among the samples of this prompt. */
  sample: number;
  completion: string;
  completion_chars: number;
  /** As reported by the backend, when it reports it. */
  completion_tokens: number | null;
  finish_reason: string | null;
  reward: number;
  r_func: number;
  r_sec: number | null;
  r_lint: number | null;
  stage: Stage;
  syntax_ok: boolean;
  syntax_error?: string;
  tests_passed: number;
  tests_total: number;
  verdicts: TestVerdict[];
  findings: FindingRecord[];
  program: string;
  extraction: string;
  visible: VisibleScore;
  tests?: { verdict: TestVerdict; exit_code: number | null; signal: number | null; cpu_s: number; stdout: string; stderr: string }[];
  /** `eval --turns T` (T ≥ 2): turns 2..T, each answering the previous turn's program and its feedback. The
   * record's own fields are turn 1's, so the summary's main figures are single-turn figures. */
  turns?: TurnRecord[];
}

/** A later turn of a self-correction sample. */
export interface TurnRecord {
  turn: number;
  completion: string;
  completion_tokens: number | null;
  finish_reason: string | null;
  reward: number;
  r_func: number;
  stage: Stage;
  syntax_ok: boolean;
  tests_passed: number;
  tests_total: number;
  verdicts: TestVerdict[];
  program: string;
}

/** One line of `generations.jsonl`: the backend's answer, cached so a resumed run does not ask again. */
export interface GenerationRecord {
  problem_id: string;
  sample: number;
  completion: string;
  finish_reason: string | null;
  completion_tokens: number | null;
  latency_ms: number;
  attempts: number;
  /** `eval --turns`: the turn (absent: 1). */
  turn?: number;
}
