import type { Problem } from '../data/index.js';
import { breakdownRecord, extractProgramFor, type RewardBreakdown } from '../reward/scorer.js';
import type { Outcome } from './queue.js';

/** How a sample's answer came about. Only `scored` records carry a computed reward. */
export type SampleStatus = 'scored' | 'timed_out' | 'error';

export type SampleOutcome = Outcome<RewardBreakdown>;

/** 1 when the sample passed every one of at least one test, else 0 (OpenRLHF's `scores`). */
export function allPass(b: RewardBreakdown): number {
  return b.testsTotal > 0 && b.testsPassed === b.testsTotal ? 1 : 0;
}

export function statusOf(outcome: SampleOutcome): SampleStatus {
  if (outcome.status === 'done') return 'scored';
  return outcome.status === 'failed' ? 'error' : 'timed_out';
}

/**
 * The per-sample record of `POST /v1/score`: for a scored sample, the `score` command's JSON-lines
 * record plus `status: "scored"`. A sample not scored in time (or whose scoring failed) gets reward 0,
 * its tests counted as `timeout` verdicts, the unknown parts (`r_sec`, `r_lint`, `syntax_ok`) null,
 * and `error` saying what happened.
 */
export function sampleRecord(problem: Problem, completion: string, outcome: SampleOutcome, deadlineSeconds: number, details: boolean): Record<string, unknown> {
  if (outcome.status === 'done') {
    const record: Record<string, unknown> = { ...breakdownRecord(outcome.value), status: 'scored' };
    if (!details) {
      delete record.program;
      delete record.tests;
    }
    return record;
  }
  const timedOut = outcome.status !== 'failed';
  const error = outcome.status === 'failed'
    ? `scoring failed: ${outcome.error.message}`
    : outcome.status === 'timed_out' && outcome.started
      ? `not finished within the deadline of ${deadlineSeconds} s; the judge stops it at its own limits`
      : `not started within the deadline of ${deadlineSeconds} s (the server was busy)`;
  const { program, source } = extractProgramFor(problem, completion);
  const total = problem.tests.length;
  return {
    problem_id: problem.id,
    reward: 0,
    r_func: 0,
    r_sec: null,
    r_lint: null,
    stage: 0,
    syntax_ok: null,
    tests_passed: 0,
    tests_total: total,
    verdicts: timedOut ? new Array<string>(total).fill('timeout') : [],
    findings: [],
    ...(details ? { program } : {}),
    extraction: source,
    ...(details ? { tests: [] } : {}),
    status: statusOf(outcome),
    error,
  };
}

/** Counts over one answer, sent with the records. */
export interface BatchSummary {
  n: number;
  scored: number;
  timed_out: number;
  errors: number;
  mean_reward: number;
  all_pass: number;
}

export function batchSummary(outcomes: readonly SampleOutcome[]): BatchSummary {
  let scored = 0, timedOut = 0, errors = 0, rewardSum = 0, allPassed = 0;
  for (const o of outcomes) {
    if (o.status === 'done') {
      scored++;
      rewardSum += o.value.reward;
      allPassed += allPass(o.value);
    } else if (o.status === 'failed') errors++;
    else timedOut++;
  }
  return { n: outcomes.length, scored, timed_out: timedOut, errors, mean_reward: outcomes.length ? Math.round((rewardSum / outcomes.length) * 1e6) / 1e6 : 0, all_pass: allPassed };
}
