// PPO as the paper intends it, done right: a LoRA policy with a value head, rewards from reward/ under a
// schedule (binary, partial, or binary → partial inside one run), a per-token KL penalty against the frozen
// reference (the SFT adapter, fed to the same graph), GAE (γ 1, λ 0.95), whitened advantages, the clipped
// surrogate and clipped value loss over several epochs of minibatches, gradient clipping, and a fixed or
// adaptive KL coefficient. Fixes of the reference code's defects: old log-probs come from the same
// temperature-scaled full distribution as the new ones (the first ratio is 1), LoRA dropout is 0, the
// reference is the SFT policy, and every path is checked (no silent fallback to the base model).
//
// Each step: rollout → scores → old/reference log-probs and values → advantages → epochs of updates →
// checkpoint (when due) → metrics line → samples. Everything random derives from (seed, step), and a
// checkpoint holds the adapter, value head, optimizer and KL-controller state, so `--resume` after a kill
// ends byte-identical to an uninterrupted run.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { AdamW, clipGradNorm, releaseSessions } from '../engine/index.js';
import { resolveTemplate, type TemplateName } from '../data/templates.js';
import { CausalLM } from '../model/causal-lm.js';
import { LoraAdapter, type LoraModule } from '../model/lora.js';
import { loadAdapter, saveAdapter } from '../model/peft.js';
import { Tokenizer } from '../model/tokenizer.js';
import { ValueHead, VALUE_HEAD_FILE } from '../model/value-head.js';
import { Rng } from '../random.js';
import { breakdownRecord, Scorer, type RewardConfig } from '../reward/scorer.js';
import type { SecurityShape } from '../reward/security.js';
import { gae, ppoTokenRewards, whiten, type KlKind } from './advantages.js';
import { countedValues, tokenBatch } from './batch.js';
import { checkQuantizeConfig, DEFAULT_QUANTIZE, loadBaseModel, type QuantizeConfig } from './base-model.js';
import { expect, isNonNegativeInt, isPositiveInt, mergeConfig } from './config.js';
import { batchProblems, checkDataMix, dataPosition, DEFAULT_DATA, loadTrainData, type DataConfig } from './data.js';
import { PolicyGraph, referenceFeeds, trainedAdapter, trainerSession, type PpoItem } from './policy.js';
import { PAPER_SAMPLING, PromptCodec, rollout, type SamplingConfig } from './rollout.js';
import { restoreCheckpoint, saveCheckpoint, type LogLines, type PolicyState } from './checkpoint.js';
import { Progress, requireFile, startOrResume, StopRequest } from './run.js';
import { AdaptiveKl, FixedKl, klControllerFromState, parseRewardSchedule, scheduleWeights, type KlController, type KlControllerState, type RewardSchedule } from './schedule.js';
import { componentMeans } from './step-metrics.js';
import { mixedReward, rewardUnder } from './scheduled-reward.js';

/** The paper's variants by name: the reward schedule (and, for `continue`, where the policy starts). */
export type PpoVariant = 'simple' | 'fresh' | 'continue' | 'scheduled' | 'custom';

/** The fields PPO, GRPO and RLOO share that decide checkpoints, memory and cores, not what is learned. */
export interface RlResourceConfig {
  saveEvery: number;
  keepCheckpoints: number;
  /** Rows per forward pass (memory), not a training hyperparameter: results are the same for any value. */
  microBatch: number;
  threads: number;
  /** Frozen base weights stored quantized (int8 / nbits4; embedding and head on request): see docs/model.md. */
  quantize: QuantizeConfig;
  /** One physical copy of the base weights (the JS arrays, fed to every session, the sampler's too: decoding
   * is slower). Default: the sampler's session holds a second, prepacked copy for fast decoding; the
   * training and log-prob graphs are always fed the JS copy. */
  lowMemory: boolean;
  /** Rebuild each block's activations in the backward pass instead of keeping them from the forward: the
   * same gradients, less peak memory (at DeepSeek-Coder-1.3B's shape, sequence 512: ~2.7 GiB), one more
   * forward of the blocks per training run. */
  recompute: boolean;
}

export interface PpoConfig extends RlResourceConfig {
  run_name: string;
  seed: number;
  variant: PpoVariant;
  /** The base model folder (with tokenizer.json). */
  model: string;
  /** The frozen reference policy: a PEFT adapter on `model` (the SFT adapter), or null for `model` itself. */
  reference: string | null;
  /** Where the policy starts: a folder with a PEFT adapter (and optionally value_head.safetensors), e.g. a
   * `simple` run's final/ for `continue`; null: the reference adapter (or a fresh LoRA when there is none). */
  init: string | null;
  data: DataConfig;
  template: TemplateName;
  /** Prompts longer than this (in tokens) are left out of training. */
  maxPromptTokens: number;
  reward: {
    /** A mode name or a schedule ({kind: 'switch', from, to, atEpisode} / {kind: 'blend', …}); set by the variant unless `custom`. */
    schedule: RewardSchedule | string | null;
    security: 'ruff' | 'bandit' | 'off';
    securityShape: SecurityShape;
    weights: { func: number; sec: number; lint: number };
  };
  sampling: SamplingConfig;
  lora: { r: number; alpha: number; targetModules: LoraModule[] };
  /** Episodes (samples) in the run; steps = episodes / batchSize. */
  episodes: number;
  batchSize: number;
  miniBatchSize: number;
  ppoEpochs: number;
  lr: number;
  weightDecay: number;
  gradClip: number;
  clip: number;
  valueClip: number;
  valueCoef: number;
  gamma: number;
  lambda: number;
  whitenAdvantages: boolean;
  whitenRewards: boolean;
  kl: { coef: number; estimator: KlKind; adaptive: boolean; target: number; horizon: number; /** stop when the batch's KL exceeds this */ max: number };
  /** Switch point of the `scheduled` variant (episodes). */
  switchEpisode: number;
}

export const DEFAULT_PPO_CONFIG: PpoConfig = {
  run_name: 'ppo', seed: 0, variant: 'fresh', model: '', reference: null, init: null, data: DEFAULT_DATA, template: 'instruction',
  maxPromptTokens: 768,
  reward: { schedule: null, security: 'ruff', securityShape: 'linear', weights: { func: 0.6, sec: 0.4, lint: 0 } },
  sampling: PAPER_SAMPLING,
  lora: { r: 16, alpha: 32, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
  episodes: 500, batchSize: 2, miniBatchSize: 2, ppoEpochs: 4, lr: 1e-6, weightDecay: 0, gradClip: 0.5,
  clip: 0.2, valueClip: 0.2, valueCoef: 0.1, gamma: 1, lambda: 0.95, whitenAdvantages: true, whitenRewards: false,
  kl: { coef: 0.1, estimator: 'k1', adaptive: false, target: 6, horizon: 10000, max: 50 },
  switchEpisode: 250, saveEvery: 10, keepCheckpoints: 3, microBatch: 4, threads: 0, quantize: DEFAULT_QUANTIZE, lowMemory: false, recompute: false,
};

export function parsePpoConfig(json: unknown, where: string): PpoConfig {
  const c = mergeConfig(DEFAULT_PPO_CONFIG, json, where, {
    reference: ['string', 'null'], init: ['string', 'null'], 'reward.schedule': ['string', 'object', 'null'], 'data.trainSize': ['number', 'null'],
    'data.mix': ['array', 'null'],
  });
  expect(['simple', 'fresh', 'continue', 'scheduled', 'custom'].includes(c.variant), where, 'variant', 'one of simple, fresh, continue, scheduled, custom', c.variant);
  expect(c.model !== '', where, 'model', 'a model folder', c.model);
  resolveTemplate(c.template);
  for (const f of ['episodes', 'batchSize', 'miniBatchSize', 'ppoEpochs', 'saveEvery', 'keepCheckpoints', 'microBatch', 'maxPromptTokens'] as const) expect(isPositiveInt(c[f]), where, f, 'a positive integer', c[f]);
  expect(isNonNegativeInt(c.switchEpisode), where, 'switchEpisode', 'a non-negative integer', c.switchEpisode);
  expect(c.miniBatchSize <= c.batchSize, where, 'miniBatchSize', `at most batchSize (${c.batchSize})`, c.miniBatchSize);
  expect(c.lr > 0, where, 'lr', 'a positive number', c.lr);
  expect(isPositiveInt(c.sampling.maxNewTokens), where, 'sampling.maxNewTokens', 'a positive integer', c.sampling.maxNewTokens);
  expect(['k1', 'k2', 'k3'].includes(c.kl.estimator), where, 'kl.estimator', 'k1, k2 or k3', c.kl.estimator);
  expect(c.kl.coef >= 0, where, 'kl.coef', 'a number ≥ 0', c.kl.coef);
  expect(['ruff', 'bandit', 'off'].includes(c.reward.security), where, 'reward.security', 'ruff, bandit or off', c.reward.security);
  checkDataMix(c.data.mix, `${where}: data.mix`);
  if (c.variant === 'continue') expect(c.init !== null, where, 'init', "a folder with the 'simple' run's adapter (the continue variant starts from it)", c.init);
  rewardSchedule(c, where);
  checkQuantizeConfig(c.quantize, where);
  return c;
}

/** The reward schedule a config trains with: fixed by the variant, or the config's own for `custom`. */
export function rewardSchedule(c: PpoConfig, where = 'config'): RewardSchedule {
  switch (c.variant) {
    case 'simple': return { kind: 'constant', mode: 'binary' };
    case 'fresh': case 'continue': return { kind: 'constant', mode: 'partial' };
    case 'scheduled': return { kind: 'switch', from: 'binary', to: 'partial', atEpisode: c.switchEpisode };
    case 'custom':
      if (c.reward.schedule === null) throw new Error(`${where}: reward.schedule: the custom variant needs a schedule (a mode name or {kind: …})`);
      return parseRewardSchedule(c.reward.schedule, `${where}: reward.schedule`);
  }
}

export interface PpoResult {
  runDir: string;
  finalDir: string | null;
  steps: number;
  /** True when Ctrl-C stopped the run (a checkpoint was saved). */
  stopped: boolean;
}

/** Why a run stopped early (the last good checkpoint is kept). */
export class TrainingHalted extends Error {}

/** Starts a run in `outDir`, or continues the one there with `resume`. */
export async function ppo(input: { config: PpoConfig; outDir: string } | { resume: string }, o: { quiet?: boolean; stopAfterStep?: number } = {}): Promise<PpoResult> {
  const { cfg, folder } = startOrResume(input, 'ppo', parsePpoConfig);
  requireFile(cfg.model, 'model', 'config.json');
  if (cfg.reference) requireFile(cfg.reference, 'reference adapter', 'adapter_config.json');
  if (cfg.init) requireFile(cfg.init, 'init adapter', 'adapter_config.json');

  const ck = loadBaseModel(cfg.model, cfg.quantize, folder.dir);
  const tokenizer = Tokenizer.load(cfg.model);
  const codec = PromptCodec.forModel(tokenizer, cfg.template, ck.config);
  const schedule = rewardSchedule(cfg);
  const data = loadTrainData(cfg.data);
  const problems = data.train.filter((p) => codec.encode(p).length <= cfg.maxPromptTokens);
  if (problems.length < cfg.batchSize) throw new Error(`only ${problems.length} training prompts fit maxPromptTokens ${cfg.maxPromptTokens}; batchSize is ${cfg.batchSize}`);
  const root = new Rng(cfg.seed);

  // The reference adapter (frozen), the policy's (trained, dropout 0: the sampler applies none).
  const reference = cfg.reference ? loadAdapter(cfg.reference, ck.config) : null;
  const start = cfg.init ? loadAdapter(cfg.init, ck.config) : reference ?? LoraAdapter.init(ck.config, { ...cfg.lora, dropout: 0 }, Number(root.fork('lora init').uint32()));
  const policyAdapter = trainedAdapter(start);
  const valueHead = cfg.init && existsSync(join(cfg.init, VALUE_HEAD_FILE)) ? ValueHead.load(cfg.init, ck.config) : ValueHead.init(ck.config, Number(root.fork('value head').uint32()));
  if (reference && reference.config.r !== policyAdapter.config.r) throw new Error(`init adapter r ${policyAdapter.config.r} differs from the reference adapter's r ${reference.config.r}`);
  const refFeeds = referenceFeeds(reference, policyAdapter);

  const session = trainerSession(cfg.threads);
  const lm = new CausalLM(ck, { adapter: policyAdapter, session, baseWeights: cfg.lowMemory ? 'inputs' : 'initializers' });
  const graph = new PolicyGraph(ck, { lora: policyAdapter.config, valueHead: true, baseWeights: 'inputs', recompute: cfg.recompute, temperature: cfg.sampling.temperature > 0 ? cfg.sampling.temperature : 1,
    clip: cfg.clip, valueClip: cfg.valueClip, valueCoef: cfg.valueCoef, session });
  const paramList = [...policyAdapter.parameters(), ...valueHead.parameters()];
  const params = (): Record<string, Float32Array> => ({ ...policyAdapter.feeds(), ...valueHead.feeds() });
  const adam = new AdamW(paramList, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  let kl: KlController = cfg.kl.adaptive ? new AdaptiveKl(cfg.kl.coef, cfg.kl.target, cfg.kl.horizon) : new FixedKl(cfg.kl.coef);

  // Resume: the newest complete checkpoint's state, and the logs cut back to it.
  const parts: PolicyState = { adapter: policyAdapter, adam, valueHead, baseModel: cfg.model };
  let step = 0;
  if ('resume' in input) {
    const state = restoreCheckpoint<{ kl: KlControllerState }>(folder, parts, ck.config);
    if (state) { kl = klControllerFromState(state.kl); step = state.step; }
  }

  const scorer = new Scorer({ mode: 'partial', security: cfg.reward.security, securityShape: cfg.reward.securityShape, weights: cfg.reward.weights });
  const rewardConfig: RewardConfig = scorer.config;
  const totalSteps = Math.ceil(cfg.episodes / cfg.batchSize);
  const progress = new Progress(`ppo ${cfg.run_name}`, totalSteps, { quiet: o.quiet, startAt: step, every: Math.max(1, Math.floor(totalSteps / 20)) });
  const stop = new StopRequest().listen();
  const padId = codec.padId;

  const checkpoint = (s: number, log: LogLines) => saveCheckpoint(folder, s, parts, {
    episode: s * cfg.batchSize, kl: kl.state(), data_position: dataPosition(s, cfg.batchSize, problems.length),
    rng: { seed: cfg.seed, derivation: 'Rng(seed).fork(`step ${step}`)' },
  }, log, cfg.keepCheckpoints);

  let stopped = false;
  try {
    while (step < totalSteps) {
      const s = step + 1;
      const stepRng = root.fork(`step ${s}`);
      const batch = batchProblems(problems, root, step, cfg.batchSize);
      const episode = step * cfg.batchSize;
      const weights = scheduleWeights(schedule, episode);

      // Rollout and rewards.
      const roll = await rollout(lm, codec, batch, scorer, { sampling: cfg.sampling, rng: stepRng.fork('sampling'), padTokenId: padId });
      const t0 = performance.now();
      const scores = roll.samples.map((x) => mixedReward(x.breakdown, weights, rewardConfig));
      const seqs = roll.samples.map((x) => ({ tokens: [...x.promptIds, ...x.responseIds], lossStart: x.promptIds.length }));
      if (seqs.every((q) => q.tokens.length - q.lossStart === 0)) throw new TrainingHalted(`step ${s}: every response in the batch is empty`);

      // Old log-probs and values under the policy, log-probs under the reference.
      const tb = tokenBatch(seqs, padId);
      const cur = await graph.forward(tb, params(), { values: true, entropy: true, microBatch: cfg.microBatch });
      const ref = await graph.forward(tb, { ...params(), ...refFeeds }, { microBatch: cfg.microBatch });
      const items: PpoItem[] = [];
      let klSum = 0, entSum = 0, tokens = 0;
      const rewardsPerSeq: Float64Array[] = [], valuesPerSeq: Float64Array[] = [];
      seqs.forEach((q, b) => {
        const old = countedValues(tb, cur.logprobs, b), refLp = countedValues(tb, ref.logprobs, b);
        const { rewards, kl: klTok } = ppoTokenRewards(scores[b], old, refLp, kl.value, cfg.kl.estimator);
        rewardsPerSeq.push(rewards); valuesPerSeq.push(countedValues(tb, cur.values!, b));
        klSum += klTok.reduce((a, x) => a + x, 0);
        const ent = countedValues(tb, cur.entropy!, b);
        entSum += ent.reduce((a, x) => a + x, 0); tokens += ent.length;
        items.push({ ...q, oldLogprobs: old, advantages: new Float64Array(0), oldValues: valuesPerSeq[b], returns: new Float64Array(0) });
      });
      const rewardsUsed = cfg.whitenRewards ? whiten(rewardsPerSeq, { shiftMean: false }) : rewardsPerSeq;
      const adv = rewardsUsed.map((r, b) => gae(r, valuesPerSeq[b], cfg.gamma, cfg.lambda));
      const advUsed = cfg.whitenAdvantages ? whiten(adv.map((a) => a.advantages)) : adv.map((a) => a.advantages);
      items.forEach((it, b) => { it.advantages = advUsed[b]; it.returns = adv[b].returns; });
      const klMean = klSum / seqs.length;

      // Epochs of minibatch updates.
      const acc: Record<string, number> = {};
      let updates = 0;
      const epochRng = stepRng.fork('minibatches');
      for (let e = 0; e < cfg.ppoEpochs; e++) {
        const order = epochRng.shuffle(items.map((_, i) => i));
        for (let m = 0; m < order.length; m += cfg.miniBatchSize) {
          const r = await graph.ppoStep(order.slice(m, m + cfg.miniBatchSize).map((i) => items[i]), params(), { microBatch: cfg.microBatch, padId, padTo: tb.seq });
          if (!Number.isFinite(r.stats.loss)) throw new TrainingHalted(`step ${s}: the PPO loss is ${r.stats.loss} (epoch ${e + 1}); the last good checkpoint is kept`);
          const grads = paramList.map((p) => r.grads.get(p.name)!);
          clipGradNorm(grads, cfg.gradClip);
          adam.update(grads, cfg.lr);
          for (const [k, v] of Object.entries(r.stats)) acc[k] = (acc[k] ?? 0) + v;
          updates++;
        }
      }
      if (!Number.isFinite(klMean) || klMean > cfg.kl.max) throw new TrainingHalted(`step ${s}: KL to the reference is ${klMean.toFixed(3)}, beyond kl.max ${cfg.kl.max}; the last good checkpoint is kept`);
      kl.update(klMean, cfg.batchSize);
      const timeTrain = (performance.now() - t0) / 1000;
      step = s;

      const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
      const bd = roll.samples.map((x) => x.breakdown);
      const stageShares = [0, 0, 0, 0, 0];
      for (const b of bd) stageShares[b.stage] += 1 / bd.length;
      const metrics = {
        step, episode: step * cfg.batchSize, reward_mean: mean(scores),
        reward_partial_mean: mean(bd.map((b) => rewardUnder(b, 'partial', rewardConfig))), reward_binary_mean: mean(bd.map((b) => rewardUnder(b, 'binary', rewardConfig))),
        ...componentMeans(bd),
        stage_shares: stageShares, pass_all_rate: mean(bd.map((b) => (b.testsTotal > 0 && b.testsPassed === b.testsTotal ? 1 : 0))),
        kl: klMean, kl_coef: kl.value, entropy: entSum / Math.max(1, tokens),
        policy_loss: acc.pg_loss / updates, value_loss: (acc.vf_loss ?? 0) / updates, clip_frac: acc.clip_frac / updates, approx_kl: acc.approx_kl / updates,
        lr: cfg.lr, response_len_mean: mean(roll.samples.map((x) => x.responseIds.length)),
        prompt_tokens: roll.samples.reduce((a, x) => a + x.promptIds.length, 0), response_tokens: roll.samples.reduce((a, x) => a + x.responseIds.length, 0),
        graph_tokens: tb.batch * tb.seq,
        reward_weights: Object.fromEntries(weights.map((w) => [w.mode, w.weight])),
        time_sample_s: roll.timeSampleS, time_score_s: roll.timeScoreS, time_train_s: timeTrain,
      };
      const sampleRecords = roll.samples.map((x, i) => ({ step, episode: episode + i, reward: scores[i], finish_reason: x.finishReason, completion: x.completion, ...breakdownRecord(x.breakdown) }));
      // The checkpoint holds this step's log lines too, so a kill between it and the append loses nothing.
      if (step % cfg.saveEvery === 0 || step === totalSteps || stop.requested || step === o.stopAfterStep) checkpoint(step, { metrics, samples: sampleRecords });
      folder.appendMetrics(metrics);
      folder.appendSamples(sampleRecords);
      progress.update(step, { reward: mean(scores), kl: klMean });
      if (stop.requested || step === o.stopAfterStep) { stopped = step < totalSteps; break; }
    }
  } finally {
    stop.dispose();
    await scorer.close();
    await releaseSessions(lm.graph);
    await releaseSessions(graph.graph);
  }
  const finalDir = step === totalSteps ? folder.writeFinal((dir) => { saveAdapter(dir, policyAdapter, { baseModelNameOrPath: cfg.model }); valueHead.save(dir); }) : null;
  return { runDir: folder.dir, finalDir, steps: step, stopped };
}
