// A sample is judged once; its reward under any functional mode (binary, partial, additive) follows from
// the same verdicts and findings. A reward schedule mixes modes by weight at each episode, so the paper's
// binary → partial switch happens inside one run.

import { functionalReward, type RewardMode } from '../reward/ladder.js';
import { combineReward, judgeResultOf, type RewardBreakdown, type RewardConfig } from '../reward/scorer.js';
import { securityReward } from '../reward/security.js';

/** The total reward the breakdown's sample gets under `mode` (other settings from `config`). */
export function rewardUnder(b: RewardBreakdown, mode: RewardMode, config: RewardConfig): number {
  const rFunc = functionalReward(judgeResultOf(b), mode);
  // Code that does not compile gets R_sec = 0, except in the additive (reference) mode, which scores its
  // findings (none: 1) — whichever mode the breakdown itself was scored under.
  const rSec = b.rSec === null ? null : b.syntaxOk ? b.rSec : mode === 'additive' ? securityReward(b.findings, config.securityShape) : 0;
  return combineReward({ ...config, mode }, rFunc, rSec, b.rLint, b.program);
}

/** Σ weight · reward under each mode. */
export function mixedReward(b: RewardBreakdown, weights: readonly { mode: RewardMode; weight: number }[], config: RewardConfig): number {
  let r = 0;
  for (const { mode, weight } of weights) r += weight * rewardUnder(b, mode, config);
  return r;
}
