// Rewards as named, weighted functions (TRL's reward_funcs and reward_weights): each maps one scored sample
// to a number in [0, 1], the trainer sums them by weight, and every function's mean is logged by name, so a
// run shaped by one term shows what happens to the others.

import { lintDiagnostics, type LintDiagnostic } from '../analyze/index.js';
import type { RewardBreakdown } from '../reward/scorer.js';
import { lintReward } from '../reward/lint.js';

export const REWARD_FUNCTIONS = ['tests', 'lint', 'security', 'ladder', 'combined'] as const;

/**
 * - `tests`: the fraction of tests passed, or (`testsReward: 'all'`) 1 when all pass; 0 without tests.
 * - `lint`: the Scorer's lint term, 1 − n/10 for n Ruff diagnostics (floored at 0), 0 for code that does not compile.
 * - `security`: R_sec (0 for code that does not compile; null when the security backend is off).
 * - `ladder`: R_func, the partial-credit ladder.
 * - `combined`: the Scorer's full reward α·R_func + β·R_sec + γ·R_lint.
 */
export type RewardFunctionName = (typeof REWARD_FUNCTIONS)[number];

export interface WeightedFunction {
  name: RewardFunctionName;
  weight: number;
}

/** One scored sample as the reward functions see it: the Scorer's breakdown and the program's Ruff
 * diagnostics (null when it does not compile). */
export interface ScoredSample {
  breakdown: RewardBreakdown;
  lint: readonly LintDiagnostic[] | null;
}

export type RewardValues = Record<RewardFunctionName, number | null>;

/** The Ruff diagnostics of a breakdown's program under the lint term's rule selection (null: it does not compile). */
export function lintOf(b: RewardBreakdown, select?: string[]): LintDiagnostic[] | null {
  return b.syntaxOk ? lintDiagnostics(b.program, select) : null;
}

/** Every function's value on one sample. */
export function rewardValues(s: ScoredSample, testsReward: 'fraction' | 'all'): RewardValues {
  const b = s.breakdown;
  const tests = b.testsTotal === 0 ? 0 : testsReward === 'all' ? (b.testsPassed === b.testsTotal ? 1 : 0) : b.testsPassed / b.testsTotal;
  return { tests, lint: lintReward(s.lint?.length ?? 0, b.syntaxOk), security: b.rSec, ladder: b.rFunc, combined: b.reward };
}

/** Σ weight · value over the weighted functions; a weighted function without a value is an error. */
export function weightedReward(values: RewardValues, functions: readonly WeightedFunction[]): number {
  let r = 0;
  for (const { name, weight } of functions) {
    const v = values[name];
    if (v === null) throw new Error(`reward function '${name}' has no value (security is off) but weight ${weight}`);
    r += weight * v;
  }
  return r;
}

/** Each function's mean over samples (null where a function has no values). */
export function rewardMeans(values: readonly RewardValues[]): RewardValues {
  return Object.fromEntries(REWARD_FUNCTIONS.map((name) => {
    const xs = values.map((v) => v[name]);
    return [name, xs.some((x) => x === null) || xs.length === 0 ? null : (xs as number[]).reduce((a, x) => a + x, 0) / xs.length];
  })) as RewardValues;
}
