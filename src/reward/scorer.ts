import { lintDiagnostics, securityFindings, type Finding, type SecurityBackend } from '../analyze/index.js';
import { judgeTaskFor } from '../data/judge-task.js';
import type { Problem } from '../data/problem.js';
import { Judge, type JudgeOptions } from '../judge/judge.js';
import type { CompareMode, JudgeResult, TestResult, TestVerdict } from '../judge/types.js';
import { extractProgram, type ExtractedProgram, type ExtractionSource } from './extract.js';
import { ADDITIVE_MIN_PROGRAM_CHARS, functionalReward, stageOf, type RewardMode, type Stage } from './ladder.js';
import { lintReward } from './lint.js';
import { findingWeight, SECURITY_SHAPES, securityReward, type SecurityShape } from './security.js';

/** What the reward is made of. R = α·R_func + β·R_sec + γ·R_lint. */
export interface RewardConfig {
  mode: RewardMode;
  /** Where security findings come from; `off` drops the term (then R = (α·R_func + γ·R_lint)/(α + γ)). */
  security: SecurityBackend | 'off';
  securityShape: SecurityShape;
  weights: { func: number; sec: number; lint: number };
  /** Ruff rules for the lint term (default: Ruff's E4, E7, E9, F). */
  lintSelect?: string[];
  /** Overrides the judge's comparison mode for every problem that does not set its own. */
  compare?: CompareMode;
}

export const DEFAULT_REWARD: RewardConfig = {
  mode: 'partial',
  security: 'ruff',
  securityShape: 'linear',
  weights: { func: 0.6, sec: 0.4, lint: 0 },
};

/** A finding with the weight it had in V under the run's security shape (linear/exp: the severity
 * weight 1, 0.5 or 0; graded: the graded weight). The Scorer always sets `weight`; a breakdown built
 * by hand may leave it out. */
export type WeightedFinding = Finding & { weight?: number };

/** Every component of one sample's reward, and how it was obtained. */
export interface RewardBreakdown {
  problemId: string;
  reward: number;
  rFunc: number;
  /** null when the security term is off. */
  rSec: number | null;
  /** null when the lint weight is 0. */
  rLint: number | null;
  stage: Stage;
  syntaxOk: boolean;
  syntaxError?: string;
  testsPassed: number;
  testsTotal: number;
  verdicts: TestVerdict[];
  findings: WeightedFinding[];
  lintCount: number | null;
  program: string;
  extraction: ExtractionSource;
  tests: TestResult[];
}

/**
 * Scores completions: extracts the program, judges it in the sandbox, analyses it, and combines the
 * terms. One Scorer owns (or borrows) one Judge; `score` may be called concurrently.
 */
export class Scorer {
  readonly config: RewardConfig;
  readonly judge: Judge;
  private readonly ownsJudge: boolean;

  constructor(config: Partial<RewardConfig> = {}, judge?: Judge | ConstructorParameters<typeof Judge>[0]) {
    this.config = validRewardConfig({ ...DEFAULT_REWARD, ...config, weights: { ...DEFAULT_REWARD.weights, ...config.weights } });
    this.ownsJudge = !(judge instanceof Judge);
    this.judge = judge instanceof Judge ? judge : new Judge(judge);
  }

  async score(problem: Problem, completion: string): Promise<RewardBreakdown> {
    const { program, source } = extractProgramFor(problem, completion);
    const { config } = this;
    const blank = program.trim() === '';
    const [judged, findings] = await Promise.all([
      blank ? emptyProgramResult(problem) : this.runTests(problem, program),
      config.security === 'off' ? Promise.resolve([]) : securityFindings(program, config.security),
    ]);
    const rFunc = functionalReward(judged, config.mode);
    const additive = config.mode === 'additive';
    // Outside the reference-compatible mode, a program that does not compile gets R_sec = 0: the
    // analysis cannot see into it, and R_sec = 1 (the reference code: no findings in code that does not
    // parse) would let a policy hide a finding by breaking the syntax. `additive` keeps the reference's 1.
    const rSec = config.security === 'off' ? null : judged.syntaxOk || additive ? securityReward(findings, config.securityShape) : 0;
    const lintCount = config.weights.lint > 0 && judged.syntaxOk ? lintDiagnostics(program, config.lintSelect).length : null;
    const rLint = config.weights.lint > 0 ? lintReward(lintCount ?? 0, judged.syntaxOk) : null;
    return {
      problemId: problem.id,
      reward: combineReward(config, rFunc, rSec, rLint, program),
      rFunc,
      rSec,
      rLint,
      stage: stageOf(judged),
      syntaxOk: judged.syntaxOk,
      ...(judged.syntaxError ? { syntaxError: judged.syntaxError } : {}),
      testsPassed: judged.passed,
      testsTotal: judged.total,
      verdicts: judged.total > 0 ? judged.tests.map((t) => t.verdict) : [],
      findings: findings.map((f) => ({ ...f, weight: findingWeight(f, config.securityShape) })),
      lintCount,
      program,
      extraction: source,
      tests: judged.tests,
    };
  }

  async close(): Promise<void> {
    if (this.ownsJudge) await this.judge.close();
  }

  /** Judges the program on the problem's tests, or (no tests) one smoke run on empty input that can
   * reach stages 1–3 and counts as no test. */
  private async runTests(problem: Problem, program: string): Promise<JudgeResult> {
    if (problem.tests.length > 0) return this.judge.judge(judgeTaskFor(problem, program, { compare: this.config.compare }));
    const smoke = await this.judge.judge({
      program, style: 'stdin', fnName: problem.style === 'stdin' ? problem.fnName : undefined, tests: [{ input: '', output: '' }],
    });
    return { ...smoke, passed: 0, total: 0 };
  }
}

/** The program a completion holds for a problem. Only a code prompt (a stub to continue) is joined to
 * the completion; a prose prompt (`promptKind: 'text'`: CyberSecEval, original APPS) never is, even
 * when code quoted in it happens to end in a `def` line. */
export function extractProgramFor(problem: Problem, completion: string): ExtractedProgram {
  return problem.promptKind === 'text'
    ? extractProgram(completion, undefined, problem.fnName)
    : extractProgram(completion, problem.prompt, problem.fnName, problem.suffix);
}

/** The config if every field is one of its allowed values; otherwise an error naming the field. */
export function validRewardConfig(config: RewardConfig): RewardConfig {
  const oneOf = (field: string, value: unknown, allowed: readonly string[]) => {
    if (!allowed.includes(value as string)) throw new Error(`reward.${field}: expected ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  };
  oneOf('mode', config.mode, ['partial', 'binary', 'additive']);
  oneOf('security', config.security, ['ruff', 'bandit', 'off']);
  oneOf('securityShape', config.securityShape, SECURITY_SHAPES);
  for (const [k, w] of Object.entries(config.weights)) {
    if (!(typeof w === 'number' && Number.isFinite(w) && w >= 0)) throw new Error(`reward.weights.${k}: expected a number >= 0, got ${JSON.stringify(w)}`);
  }
  return config;
}

/** R = α·R_func + β·R_sec + γ·R_lint (without the security term: (α·R_func + γ·R_lint)/(α + γ)); in the
 * additive mode a program under 10 characters gets 0, as in the reference code. */
export function combineReward(config: RewardConfig, rFunc: number, rSec: number | null, rLint: number | null, program: string): number {
  const { func, sec, lint } = config.weights;
  if (config.mode === 'additive' && program.trim().length < ADDITIVE_MIN_PROGRAM_CHARS) return 0;
  return rSec === null
    ? (func * rFunc + lint * (rLint ?? 0)) / (func + lint || 1)
    : func * rFunc + sec * rSec + lint * (rLint ?? 0);
}

/** The judge's result a breakdown was computed from (to compute R_func under another mode). */
export function judgeResultOf(b: RewardBreakdown): JudgeResult {
  return { syntaxOk: b.syntaxOk, ...(b.syntaxError ? { syntaxError: b.syntaxError } : {}), tests: b.tests, passed: b.testsPassed, total: b.testsTotal };
}

function emptyProgramResult(problem: Problem): JudgeResult {
  return { syntaxOk: false, syntaxError: 'empty program', tests: [], passed: 0, total: problem.tests.length };
}

/** The breakdown as one JSON-lines record (snake_case fields, test details trimmed). */
export function breakdownRecord(b: RewardBreakdown): Record<string, unknown> {
  return {
    problem_id: b.problemId,
    reward: round(b.reward),
    r_func: round(b.rFunc),
    r_sec: b.rSec === null ? null : round(b.rSec),
    r_lint: b.rLint === null ? null : round(b.rLint),
    stage: b.stage,
    syntax_ok: b.syntaxOk,
    ...(b.syntaxError ? { syntax_error: b.syntaxError } : {}),
    tests_passed: b.testsPassed,
    tests_total: b.testsTotal,
    verdicts: b.verdicts,
    findings: b.findings.map((f) => ({
      rule: f.rule, bandit_id: f.banditId, severity: f.severity, confidence: f.confidence ?? null, cwe: f.cwe, line: f.line, ...(f.weight === undefined ? {} : { weight: round(f.weight) }), message: f.message,
    })),
    ...(b.lintCount !== null ? { lint_count: b.lintCount } : {}),
    program: b.program,
    extraction: b.extraction,
    tests: b.tests.map((t) => ({
      verdict: t.verdict, exit_code: t.exitCode, signal: t.signal, cpu_s: t.cpuSeconds,
      stdout: t.stdout.slice(0, 500), stderr: t.stderr.slice(-500),
    })),
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
