// RLOO multi-turn self-correction (COCOS): each step samples k trajectories of T turns for each of a few
// prompts. Turn 1 answers the task; turn t+1's prompt holds turn t's program and its execution feedback
// (`feedbackProblem`). Each turn earns a progressive reward r_t (the fraction of tests passed, or our
// partial-credit R), a trajectory the accumulated reward R = γ^(T−1)·r_1 + Σ_{t≥2} γ^(T−t)·(r_t − r_(t−1)),
// and RLOO's leave-one-out baseline over the k trajectories of a prompt gives its advantage. The update is
// one on-policy policy-gradient step over every turn's response tokens (each turn's sequence is its prompt,
// feedback included, and its response), each with its trajectory's advantage, through the GRPO head
// (ratio 1, so its clipping is inert), with a KL penalty (β) against the reference.
//
// Each step: T × (rollout → scores) → accumulated rewards → leave-one-out advantages → old/reference
// log-probs → update → checkpoint (when due) → metrics line → samples. Everything random derives from
// (seed, step), and a checkpoint holds the adapter, the optimizer's state and the step, so `--resume` after a
// kill ends byte-identical to an uninterrupted run.

import type { Problem } from '../data/problem.js';
import { clipGradNorm, globalNorm } from '../engine/index.js';
import { breakdownRecord, type RewardBreakdown } from '../reward/scorer.js';
import { accumulatedReward, leaveOneOutAdvantages } from './advantages.js';
import { DEFAULT_QUANTIZE } from './base-model.js';
import { expect, isPositiveInt, mergeConfig } from './config.js';
import { correctionMetrics, DEFAULT_FEEDBACK_LIMITS, feedbackProblem, solved, type FeedbackLimits } from './feedback.js';

export { correctionMetrics, solved };
import { batchProblems } from './data.js';
import { TrainingHalted, type PpoResult } from './ppo.js';
import { rollout, type RolloutSample } from './rollout.js';
import { checkRlRunConfig, openRlRun, type RlRunConfig } from './rl-run.js';
import { linearWarmupLr } from './schedule.js';
import { componentMeans, groupRewardStats } from './step-metrics.js';
import { DEFAULT_TASK_DATA } from './task-split.js';

export interface RlooConfig extends RlRunConfig {
  /** Turns per trajectory (1: no self-correction). */
  turns: number;
  /** The accumulated reward's discount γ ∈ [0, 1]. */
  gamma: number;
  /** r_t: `tests`, the fraction of tests passed; `partial`, the Scorer's partial-credit R. */
  turnReward: 'tests' | 'partial';
  /** Trajectories per prompt (RLOO's k, ≥ 2 for a leave-one-out baseline). */
  k: number;
  /** Distinct prompts per step; a step holds promptsPerStep × k trajectories. */
  promptsPerStep: number;
  /** How much of the previous turn the feedback shows. */
  feedback: FeedbackLimits;
  /** Steps (each: T rollouts, one optimizer update). */
  steps: number;
}

/** COCOS's settings where it gives one (T 2, γ 0.5, β 0.01). */
export const DEFAULT_RLOO_CONFIG: RlooConfig = {
  run_name: 'rloo', seed: 0, model: '', reference: null, data: DEFAULT_TASK_DATA, template: 'instruction', maxPromptTokens: 768,
  turns: 2, gamma: 0.5, turnReward: 'tests', k: 4, promptsPerStep: 2, beta: 0.01, klEstimator: 'k3', lossType: 'dapo',
  feedback: DEFAULT_FEEDBACK_LIMITS,
  reward: { security: 'ruff', securityShape: 'linear', weights: { func: 0.6, sec: 0.2, lint: 0.2 } },
  sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 256 },
  lora: { r: 16, alpha: 32, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
  steps: 200, lr: 1e-6, lrSchedule: 'constant', warmupSteps: 0, weightDecay: 0, gradClip: 1,
  saveEvery: 10, keepCheckpoints: 3, microBatch: 8, threads: 0, quantize: DEFAULT_QUANTIZE, lowMemory: false, recompute: false,
};

const oneOf = <T extends string>(v: T, options: readonly T[]) => options.includes(v);

export function parseRlooConfig(json: unknown, where: string): RlooConfig {
  const c = mergeConfig(DEFAULT_RLOO_CONFIG, json, where, { reference: ['string', 'null'], 'data.trainSize': ['number', 'null'], 'data.evalSize': ['number', 'null'] });
  checkRlRunConfig(c, where);
  expect(isPositiveInt(c.turns), where, 'turns', 'a positive integer', c.turns);
  expect(isPositiveInt(c.k) && c.k >= 2, where, 'k', 'an integer ≥ 2 (a leave-one-out baseline needs another trajectory)', c.k);
  expect(typeof c.gamma === 'number' && c.gamma >= 0 && c.gamma <= 1, where, 'gamma', 'a number in [0, 1]', c.gamma);
  expect(oneOf(c.turnReward, ['tests', 'partial']), where, 'turnReward', 'tests or partial', c.turnReward);
  for (const f of ['programChars', 'fieldChars', 'errorLines', 'errorChars'] as const) {
    expect(isPositiveInt(c.feedback[f]), where, `feedback.${f}`, 'a positive integer', c.feedback[f]);
  }
  expect(c.sampling.temperature > 0, where, 'sampling.temperature', 'a positive number (k greedy trajectories are identical)', c.sampling.temperature);
  return c;
}

/** r_t of one scored turn: the fraction of tests passed (0 without tests), or the partial-credit R. */
export function turnRewardOf(b: RewardBreakdown, kind: RlooConfig['turnReward']): number {
  return kind === 'partial' ? b.reward : b.testsTotal > 0 ? b.testsPassed / b.testsTotal : 0;
}

/** Each trajectory's accumulated reward and its leave-one-out advantage; `turnRewards[t][i]`: turn t, trajectory i. */
export function trajectoryAdvantages(turnRewards: readonly (readonly number[])[], gamma: number, k: number): { rewards: number[]; advantages: number[] } {
  const n = turnRewards[0].length;
  const rewards = Array.from({ length: n }, (_, i) => accumulatedReward(turnRewards.map((r) => r[i]), gamma));
  return { rewards, advantages: Array.from(leaveOneOutAdvantages(rewards, k)) };
}

export type RlooResult = PpoResult;

/** Starts a run in `outDir`, or continues the one there with `resume`. */
export async function rloo(input: { config: RlooConfig; outDir: string } | { resume: string }, o: { quiet?: boolean; stopAfterStep?: number } = {}): Promise<RlooResult> {
  const run = openRlRun(input, 'rloo', parseRlooConfig, {
    quiet: o.quiet, rowsPerStep: (c) => c.promptsPerStep * c.k,
    head: (c) => ({ clipLow: 0.2, clipHigh: 0.2, level: 'token', lossType: c.lossType, maxCompletionLength: c.sampling.maxNewTokens, beta: c.beta, klKind: c.klEstimator }),
  });
  const { cfg, folder, codec, problems, root, policyAdapter, lm, graph, paramList, adam, scorer, progress, stop, checkpoint } = run;
  const K = cfg.k, T = cfg.turns, perStep = cfg.promptsPerStep * K;
  const padId = codec.padId;
  let step = run.step;

  let stopped = false;
  try {
    while (step < cfg.steps) {
      const s = step + 1;
      const stepRng = root.fork(`step ${s}`);
      const rows = batchProblems(problems, root, step, cfg.promptsPerStep).flatMap((p) => new Array<Problem>(K).fill(p));
      const episode = step * perStep;

      // T turns: turn t+1's rows are turn t's programs with their feedback.
      const turns: RolloutSample[][] = [];
      let timeSample = 0, timeScore = 0, asked: Problem[] = rows;
      for (let t = 1; t <= T; t++) {
        const roll = await rollout(lm, codec, asked, scorer, { sampling: cfg.sampling, rng: stepRng.fork(`turn ${t}`), padTokenId: padId });
        turns.push(roll.samples);
        timeSample += roll.timeSampleS; timeScore += roll.timeScoreS;
        if (t < T) asked = roll.samples.map((x, i) => feedbackProblem(rows[i], x.breakdown, cfg.feedback));
      }
      const turnRewards = turns.map((ts) => ts.map((x) => turnRewardOf(x.breakdown, cfg.turnReward)));
      const { rewards, advantages } = trajectoryAdvantages(turnRewards, cfg.gamma, K);

      // Every turn's sequence (prompt with feedback + response), with its trajectory's advantage.
      const seqs = turns.flatMap((ts) => ts.map((x, i) => ({ tokens: [...x.promptIds, ...x.responseIds], lossStart: x.promptIds.length, traj: i })));
      const t1 = performance.now();
      const { tb, items, entropy, tokens } = await run.policyItems(seqs, seqs.map((q) => advantages[q.traj]), s);
      const lr = linearWarmupLr(cfg.lr, step, cfg.warmupSteps, cfg.steps, cfg.lrSchedule);
      const r = await graph.grpoStep(items, policyAdapter.feeds(), { microBatch: cfg.microBatch, padId, padTo: tb.seq });
      if (!Number.isFinite(r.stats.loss)) throw new TrainingHalted(`step ${s}: the RLOO loss is ${r.stats.loss}; the last good checkpoint is kept`);
      const grads = paramList.map((p) => r.grads.get(p.name)!);
      const gradNorm = cfg.gradClip > 0 ? clipGradNorm(grads, cfg.gradClip) : globalNorm(grads);
      adam.update(grads, lr);
      const timeTrain = (performance.now() - t1) / 1000;
      step = s;

      const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const corr = correctionMetrics(turns.map((ts) => ts.map((x) => x.breakdown)));
      const metrics = {
        step, episode: step * perStep, reward_mean: mean(rewards), ...groupRewardStats(rewards, K),
        ...Object.fromEntries(turnRewards.map((rs, t) => [`reward_t${t + 1}`, mean(rs)])),
        ...corr,
        // The last turn's programs, in the fields every RL trainer logs.
        ...componentMeans(turns[T - 1].map((x) => x.breakdown)), pass_all_rate: corr[`acc_t${T}`],
        response_len_mean: mean(turns.flat().map((x) => x.responseIds.length)),
        prompt_len_mean: Object.fromEntries(turns.map((ts, t) => [`t${t + 1}`, mean(ts.map((x) => x.promptIds.length))])),
        ...(cfg.beta > 0 ? { kl: r.stats.kl } : {}),
        policy_loss: r.stats.loss, grad_norm: gradNorm, entropy, lr,
        response_tokens: tokens, graph_tokens: tb.batch * tb.seq,
        time_sample_s: timeSample, time_score_s: timeScore, time_train_s: timeTrain,
      };
      const sampleRecords = turns.flatMap((ts, t) => ts.map((x, i) => ({
        step, episode: episode + i, group: Math.floor(i / K), turn: t + 1, ...breakdownRecord(x.breakdown),
        reward: rewards[i], turn_reward: turnRewards[t][i], advantage: advantages[i], finish_reason: x.finishReason, completion: x.completion,
      })));
      if (step % cfg.saveEvery === 0 || step === cfg.steps || stop.requested || step === o.stopAfterStep) checkpoint(step, { metrics, samples: sampleRecords });
      folder.appendMetrics(metrics);
      folder.appendSamples(sampleRecords);
      progress.update(step, { reward: metrics.reward_mean, acc_t1: corr.acc_t1 ?? 0, [`acc_t${T}`]: corr[`acc_t${T}`] ?? 0 });
      if (stop.requested || step === o.stopAfterStep) { stopped = step < cfg.steps; break; }
    }
  } finally {
    await run.dispose();
  }
  return run.finish(step, stopped);
}
