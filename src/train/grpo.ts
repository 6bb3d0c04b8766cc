// GRPO (Shao et al. 2024) and GSPO (Zheng et al. 2025) as TRL's GRPOTrainer runs them, on the trainers'
// shared core: each step samples G completions for each of a few prompts (the prompt repeated G times in
// one rollout, each row with its own sampling stream), scores them with named, weighted reward functions,
// turns each group's rewards into advantages (minus the group mean, over the group's, the batch's or no
// standard deviation), stores the old log-probs under the policy (and the reference's when β > 0), then
// makes `numIterations` passes over `stepsPerGeneration` minibatches with GRPO's clipped surrogate at the
// token (GRPO) or sequence (GSPO) level, normalised as 'grpo', 'dr_grpo' or 'dapo'.
//
// Each step: rollout → reward functions → group advantages → old/reference log-probs → updates →
// checkpoint (when due) → metrics line → samples. Everything random derives from (seed, step), and a
// checkpoint holds the adapter, the optimizer's state and the step, so `--resume` after a kill ends
// byte-identical to an uninterrupted run.

import { clipGradNorm, globalNorm } from '../engine/index.js';
import { breakdownRecord } from '../reward/scorer.js';
import { groupAdvantages, type AdvantageScale } from './advantages.js';
import { DEFAULT_QUANTIZE } from './base-model.js';
import { expect, isPositiveInt, mergeConfig } from './config.js';
import { batchProblems } from './data.js';
import { TrainingHalted, type PpoResult } from './ppo.js';
import { REWARD_FUNCTIONS, lintOf, rewardMeans, rewardValues, weightedReward, type WeightedFunction } from './reward-functions.js';
import { rollout } from './rollout.js';
import { checkRlRunConfig, openRlRun, type RlRunConfig } from './rl-run.js';
import { linearWarmupLr, type LrDecay } from './schedule.js';
import { componentMeans, groupRewardStats, sampleProfile } from './step-metrics.js';
import { DEFAULT_TASK_DATA } from './task-split.js';

export interface GrpoConfig extends RlRunConfig {
  /** The reward: named functions and their weights (TRL's reward_funcs, reward_weights), summed. */
  rewardFuncs: WeightedFunction[];
  /** `tests`: the fraction of tests passed, or 1 only when all pass. */
  testsReward: 'fraction' | 'all';
  /** Generation steps (each: one rollout, then numIterations × stepsPerGeneration optimizer updates). */
  steps: number;
  /** Distinct prompts per step; the rollout holds promptsPerStep × numGenerations completions. */
  promptsPerStep: number;
  numGenerations: number;
  scaleRewards: AdvantageScale;
  /** importance_sampling_level: 'token' (GRPO) or 'sequence' (GSPO). */
  importanceLevel: 'token' | 'sequence';
  /** The ratio is clipped to [1 − epsilon, 1 + epsilonHigh] (epsilonHigh null: epsilon). */
  epsilon: number;
  epsilonHigh: number | null;
  /** Passes over each step's completions (TRL's num_iterations, μ). */
  numIterations: number;
  /** Minibatches (optimizer updates) per pass (TRL's steps_per_generation). */
  stepsPerGeneration: number;
  /** The learning rate over the run's optimizer updates (TRL: linear decay to 0, no warmup). */
  lrSchedule: LrDecay;
}

/** TRL's GRPOConfig defaults where it has one (loss_type 'dapo' is TRL's current default). */
export const DEFAULT_GRPO_CONFIG: GrpoConfig = {
  run_name: 'grpo', seed: 0, model: '', reference: null, data: DEFAULT_TASK_DATA, template: 'instruction', maxPromptTokens: 768,
  rewardFuncs: [{ name: 'combined', weight: 1 }], testsReward: 'fraction',
  reward: { security: 'ruff', securityShape: 'linear', weights: { func: 0.6, sec: 0.2, lint: 0.2 } },
  sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 256 },
  lora: { r: 16, alpha: 32, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
  steps: 500, promptsPerStep: 1, numGenerations: 8, scaleRewards: 'group', importanceLevel: 'token', lossType: 'dapo',
  epsilon: 0.2, epsilonHigh: null, beta: 0, klEstimator: 'k3', numIterations: 1, stepsPerGeneration: 1,
  lr: 1e-6, lrSchedule: 'linear', warmupSteps: 0, weightDecay: 0, gradClip: 1,
  saveEvery: 10, keepCheckpoints: 3, microBatch: 8, threads: 0, quantize: DEFAULT_QUANTIZE, lowMemory: false, recompute: false,
};

const oneOf = <T extends string>(v: T, options: readonly T[]) => options.includes(v);

export function parseGrpoConfig(json: unknown, where: string): GrpoConfig {
  const c = mergeConfig(DEFAULT_GRPO_CONFIG, json, where, {
    reference: ['string', 'null'], epsilonHigh: ['number', 'null'], 'data.trainSize': ['number', 'null'], 'data.evalSize': ['number', 'null'],
  });
  checkRlRunConfig(c, where);
  for (const f of ['numIterations', 'stepsPerGeneration'] as const) {
    expect(isPositiveInt(c[f]), where, f, 'a positive integer', c[f]);
  }
  expect(isPositiveInt(c.numGenerations) && c.numGenerations >= 2, where, 'numGenerations', 'an integer ≥ 2 (a group needs a baseline)', c.numGenerations);
  expect(c.stepsPerGeneration <= c.promptsPerStep * c.numGenerations, where, 'stepsPerGeneration', `at most the completions per step (${c.promptsPerStep * c.numGenerations})`, c.stepsPerGeneration);
  expect(oneOf(c.scaleRewards, ['group', 'batch', 'none']), where, 'scaleRewards', 'group, batch or none', c.scaleRewards);
  expect(oneOf(c.importanceLevel, ['token', 'sequence']), where, 'importanceLevel', 'token or sequence', c.importanceLevel);
  expect(c.epsilon >= 0, where, 'epsilon', 'a number ≥ 0', c.epsilon);
  expect(c.epsilonHigh === null || c.epsilonHigh >= 0, where, 'epsilonHigh', 'null or a number ≥ 0', c.epsilonHigh);
  expect(c.sampling.temperature > 0, where, 'sampling.temperature', 'a positive number (a group of greedy completions is identical)', c.sampling.temperature);
  expect(oneOf(c.testsReward, ['fraction', 'all']), where, 'testsReward', 'fraction or all', c.testsReward);
  checkRewardFuncs(c, where);
  return c;
}

function checkRewardFuncs(c: GrpoConfig, where: string): void {
  expect(c.rewardFuncs.length > 0, where, 'rewardFuncs', 'at least one {name, weight}', c.rewardFuncs);
  const seen = new Set<string>();
  c.rewardFuncs.forEach((f, i) => {
    const at = `rewardFuncs[${i}]`;
    expect(!!f && typeof f === 'object' && !Array.isArray(f), where, at, 'an object {name, weight}', f);
    for (const key of Object.keys(f)) if (key !== 'name' && key !== 'weight') throw new Error(`${where}: unknown field '${at}.${key}' (known: name, weight)`);
    expect(REWARD_FUNCTIONS.includes(f.name), where, `${at}.name`, `one of ${REWARD_FUNCTIONS.join(', ')}`, f.name);
    expect(typeof f.weight === 'number' && Number.isFinite(f.weight), where, `${at}.weight`, 'a finite number', f.weight);
    expect(!seen.has(f.name), where, `${at}.name`, 'a function not listed before', f.name);
    seen.add(f.name);
    if (f.name === 'security') expect(c.reward.security !== 'off', where, `${at}.name`, "a function with a value ('security' needs reward.security ruff or bandit)", f.name);
  });
  expect(c.rewardFuncs.some((f) => f.weight !== 0), where, 'rewardFuncs', 'at least one non-zero weight', c.rewardFuncs);
}

/** Where a GRPO run ended: the run folder, final/ (null when stopped early), the steps done. */
export type GrpoResult = PpoResult;

/** Starts a run in `outDir`, or continues the one there with `resume`. */
export async function grpo(input: { config: GrpoConfig; outDir: string } | { resume: string }, o: { quiet?: boolean; stopAfterStep?: number } = {}): Promise<GrpoResult> {
  const run = openRlRun(input, 'grpo', parseGrpoConfig, {
    quiet: o.quiet, rowsPerStep: (c) => c.promptsPerStep * c.numGenerations,
    head: (c) => ({ clipLow: c.epsilon, clipHigh: c.epsilonHigh ?? c.epsilon, level: c.importanceLevel, lossType: c.lossType,
      maxCompletionLength: c.sampling.maxNewTokens, beta: c.beta, klKind: c.klEstimator }),
  });
  const { cfg, folder, codec, problems, root, policyAdapter, lm, graph, paramList, adam, scorer, progress, stop, checkpoint } = run;
  const G = cfg.numGenerations, perStep = cfg.promptsPerStep * G;
  const updatesPerStep = cfg.numIterations * cfg.stepsPerGeneration;
  const padId = codec.padId;
  let step = run.step;

  let stopped = false;
  try {
    while (step < cfg.steps) {
      const s = step + 1;
      const stepRng = root.fork(`step ${s}`);
      const prompts = batchProblems(problems, root, step, cfg.promptsPerStep);
      const rows = prompts.flatMap((p) => new Array<typeof p>(G).fill(p));
      const episode = step * perStep;

      // Rollout, reward functions, group advantages.
      const roll = await rollout(lm, codec, rows, scorer, { sampling: cfg.sampling, rng: stepRng.fork('sampling'), padTokenId: padId });
      const t0 = performance.now();
      const scored = roll.samples.map((x) => ({ breakdown: x.breakdown, lint: lintOf(x.breakdown, scorer.config.lintSelect) }));
      const values = scored.map((x) => rewardValues(x, cfg.testsReward));
      const rewards = values.map((v) => weightedReward(v, cfg.rewardFuncs));
      const advantages = groupAdvantages(rewards, G, cfg.scaleRewards);
      const timeScore = roll.timeScoreS + (performance.now() - t0) / 1000;
      const seqs = roll.samples.map((x) => ({ tokens: [...x.promptIds, ...x.responseIds], lossStart: x.promptIds.length }));

      // Old log-probs (and entropy) under the policy, the reference's when β > 0.
      const t1 = performance.now();
      const { tb, items, entropy, tokens } = await run.policyItems(seqs, advantages, s);

      // numIterations passes over the same stepsPerGeneration minibatches (one shuffle per step, as TRL).
      const order = stepRng.fork('minibatches').shuffle(items.map((_, i) => i));
      const minibatches = Array.from({ length: cfg.stepsPerGeneration }, (_, k) =>
        order.slice(Math.floor((k * order.length) / cfg.stepsPerGeneration), Math.floor(((k + 1) * order.length) / cfg.stepsPerGeneration)));
      const acc: Record<string, number> = {};
      let updates = 0, lr = cfg.lr;
      for (let it = 0; it < cfg.numIterations; it++) {
        for (const mb of minibatches) {
          lr = linearWarmupLr(cfg.lr, step * updatesPerStep + updates, cfg.warmupSteps, cfg.steps * updatesPerStep, cfg.lrSchedule);
          const r = await graph.grpoStep(mb.map((i) => items[i]), policyAdapter.feeds(), { microBatch: cfg.microBatch, padId, padTo: tb.seq });
          if (!Number.isFinite(r.stats.loss)) throw new TrainingHalted(`step ${s}: the GRPO loss is ${r.stats.loss} (iteration ${it + 1}); the last good checkpoint is kept`);
          const grads = paramList.map((p) => r.grads.get(p.name)!);
          const gradNorm = cfg.gradClip > 0 ? clipGradNorm(grads, cfg.gradClip) : globalNorm(grads);
          adam.update(grads, lr);
          for (const [k, v] of Object.entries({ ...r.stats, grad_norm: gradNorm })) acc[k] = (acc[k] ?? 0) + v;
          updates++;
        }
      }
      const timeTrain = (performance.now() - t1) / 1000;
      step = s;

      const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const means = rewardMeans(values);
      const metrics = {
        step, episode: step * perStep, reward_mean: mean(rewards), ...groupRewardStats(rewards, G),
        ...Object.fromEntries(REWARD_FUNCTIONS.map((n) => [`reward/${n}_mean`, means[n]])),
        response_len_mean: mean(roll.samples.map((x) => x.responseIds.length)),
        truncated_rate: mean(roll.samples.map((x) => (x.finishReason === 'length' ? 1 : 0))),
        ...componentMeans(roll.samples.map((x) => x.breakdown)), ...sampleProfile(scored),
        ...(cfg.beta > 0 ? { kl: acc.kl / updates } : {}),
        policy_loss: acc.loss / updates, clip_frac: acc.clip_frac / updates, ratio_mean: acc.ratio_mean / updates, grad_norm: acc.grad_norm / updates,
        entropy, lr,
        prompt_tokens: roll.samples.reduce((a, x) => a + x.promptIds.length, 0), response_tokens: tokens, graph_tokens: tb.batch * tb.seq,
        time_sample_s: roll.timeSampleS, time_score_s: timeScore, time_train_s: timeTrain,
      };
      const sampleRecords = roll.samples.map((x, i) => ({
        step, episode: episode + i, group: Math.floor(i / G), reward: rewards[i], rewards: values[i], advantage: advantages[i],
        finish_reason: x.finishReason, completion: x.completion, lint_codes: scored[i].lint?.map((d) => d.code) ?? null, ...breakdownRecord(x.breakdown),
      }));
      // The checkpoint holds this step's log lines too, so a kill between it and the append loses nothing.
      if (step % cfg.saveEvery === 0 || step === cfg.steps || stop.requested || step === o.stopAfterStep) checkpoint(step, { metrics, samples: sampleRecords });
      folder.appendMetrics(metrics);
      folder.appendSamples(sampleRecords);
      progress.update(step, { reward: metrics.reward_mean, len: metrics.response_len_mean });
      if (stop.requested || step === o.stopAfterStep) { stopped = step < cfg.steps; break; }
    }
  } finally {
    await run.dispose();
  }
  return run.finish(step, stopped);
}
