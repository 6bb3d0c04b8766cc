// What an RL step's samples were like beyond their reward, for metrics.jsonl: how far up the ladder they got,
// their Ruff profile (diagnostics by code, security findings by severity), how their tests ended (verdicts,
// the exceptions raised), and how much signal the groups carried. With these a user sees, for example, a
// lint-shaped run making programs shorter and cleaner while its tests pass no more often.

import type { Severity } from '../analyze/index.js';
import type { TestVerdict } from '../judge/types.js';
import type { RewardBreakdown } from '../reward/scorer.js';
import type { ScoredSample } from './reward-functions.js';

const VERDICTS: readonly TestVerdict[] = ['passed', 'wrong_output', 'no_output', 'runtime_error', 'timeout', 'memory_limit', 'output_limit'];

export interface SampleProfile {
  /** Share of samples at each ladder stage 0–4. */
  stage_shares: number[];
  /** Share of samples that pass all (at least one) of their tests. */
  pass_all_rate: number;
  pass_any_rate: number;
  /** Ruff diagnostics per compiling program (null when none compiles). */
  lint_count_mean: number | null;
  /** Ruff diagnostics per sample by code, most frequent first. */
  lint_codes: Record<string, number>;
  /** Security findings per sample by severity. */
  security_findings: Record<Severity, number>;
  /** Share of the step's test verdicts of each kind (all 0 when no test ran). */
  verdict_shares: Record<TestVerdict, number>;
  /** Share of the runtime errors by the exception raised (its class name, or 'other'). */
  exception_shares: Record<string, number>;
}

export function sampleProfile(samples: readonly ScoredSample[]): SampleProfile {
  const n = samples.length;
  const stage = [0, 0, 0, 0, 0];
  let passAll = 0, passAny = 0, compiling = 0, lintTotal = 0, verdictTotal = 0, errors = 0;
  const codes = new Map<string, number>(), exceptions = new Map<string, number>();
  const severity: Record<Severity, number> = { LOW: 0, MEDIUM: 0, HIGH: 0 };
  const verdicts = Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<TestVerdict, number>;
  for (const { breakdown: b, lint } of samples) {
    stage[b.stage]++;
    if (b.testsTotal > 0 && b.testsPassed === b.testsTotal) passAll++;
    if (b.testsPassed > 0) passAny++;
    if (lint) {
      compiling++;
      lintTotal += lint.length;
      for (const d of lint) codes.set(d.code, (codes.get(d.code) ?? 0) + 1);
    }
    for (const f of b.findings) severity[f.severity]++;
    b.tests.forEach((t) => {
      verdicts[t.verdict]++;
      verdictTotal++;
      if (t.verdict === 'runtime_error') { errors++; const e = exceptionName(t.stderr); exceptions.set(e, (exceptions.get(e) ?? 0) + 1); }
    });
  }
  const byCount = (m: Map<string, number>, scale: number) =>
    Object.fromEntries([...m].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([k, v]) => [k, v / scale]));
  return {
    stage_shares: stage.map((c) => c / n), pass_all_rate: passAll / n, pass_any_rate: passAny / n,
    lint_count_mean: compiling ? lintTotal / compiling : null, lint_codes: byCount(codes, n),
    security_findings: { LOW: severity.LOW / n, MEDIUM: severity.MEDIUM / n, HIGH: severity.HIGH / n },
    verdict_shares: Object.fromEntries(VERDICTS.map((v) => [v, verdictTotal ? verdicts[v] / verdictTotal : 0])) as Record<TestVerdict, number>,
    exception_shares: byCount(exceptions, Math.max(1, errors)),
  };
}

/** The mean R_func and R_sec of scored samples (R_sec null when the security term is off): the same fields
 * in every RL trainer's metrics, so reports compare them. */
export function componentMeans(bd: readonly Pick<RewardBreakdown, 'rFunc' | 'rSec'>[]): { r_func_mean: number; r_sec_mean: number | null } {
  const mean = (f: (b: Pick<RewardBreakdown, 'rFunc' | 'rSec'>) => number) => bd.reduce((a, b) => a + f(b), 0) / Math.max(1, bd.length);
  return { r_func_mean: mean((b) => b.rFunc), r_sec_mean: bd.length === 0 || bd[0].rSec === null ? null : mean((b) => b.rSec!) };
}

/** The exception class a Python traceback ends with (`NameError: name 'x' …` → NameError), else 'other'. */
export function exceptionName(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '');
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /^([A-Za-z_][\w.]*)(?::|$)/.exec(lines[i]);
    if (m && /(Error|Exception|Exit|Interrupt|Iteration)$/.test(m[1])) return m[1].split('.').pop()!;
  }
  return 'other';
}

/**
 * TRL's group figures for rewards laid out group after group: `reward_std`, the mean over groups of each
 * group's (unbiased) standard deviation, and `frac_reward_zero_std`, the share of groups whose rewards are
 * all equal (they give every completion advantage 0: no signal).
 */
export function groupRewardStats(rewards: readonly number[], groupSize: number): { reward_std: number; frac_reward_zero_std: number } {
  if (rewards.length === 0 || rewards.length % groupSize !== 0) throw new Error(`groupRewardStats: ${rewards.length} rewards are not whole groups of ${groupSize}`);
  let stdSum = 0, zero = 0;
  const groups = rewards.length / groupSize;
  for (let g = 0; g < rewards.length; g += groupSize) {
    const xs = rewards.slice(g, g + groupSize);
    const mean = xs.reduce((a, x) => a + x, 0) / groupSize;
    const std = groupSize > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (groupSize - 1)) : 0;
    stdSum += std;
    if (std < 1e-9) zero++;
  }
  return { reward_std: stdSum / groups, frac_reward_zero_std: zero / groups };
}
