// What GRPO and RLOO share around their step loops: the config fields they both have (and one check of
// them, with the same messages), and the run they both open — the base model, the prompt codec and the
// training prompts that fit, the reference and the policy's LoRA (dropout 0: the sampler applies none), the
// sampler and the policy graph over one session setup, AdamW, the state restored on resume, the Scorer, the
// progress line, Ctrl-C, checkpoints — and close: sessions released, the final adapter written when the run
// ended. Each trainer keeps its own fields, its step and its metrics.

import type { Problem } from '../data/problem.js';
import { resolveTemplate, type TemplateName } from '../data/templates.js';
import { AdamW, releaseSessions } from '../engine/index.js';
import { CausalLM } from '../model/causal-lm.js';
import { LoraAdapter, type LoraModule } from '../model/lora.js';
import { loadAdapter, saveAdapter } from '../model/peft.js';
import { Tokenizer } from '../model/tokenizer.js';
import type { Checkpoint } from '../model/weights.js';
import { Rng } from '../random.js';
import { Scorer } from '../reward/scorer.js';
import type { SecurityShape } from '../reward/security.js';
import type { KlKind } from './advantages.js';
import { checkQuantizeConfig, loadBaseModel } from './base-model.js';
import { countedValues, tokenBatch, type TokenBatch } from './batch.js';
import { restoreCheckpoint, saveCheckpoint, type LogLines, type PolicyState } from './checkpoint.js';
import { expect, isNonNegativeInt, isPositiveInt } from './config.js';
import { dataPosition } from './data.js';
import { PolicyGraph, referenceFeeds, trainedAdapter, trainerSession, type GrpoHeadOptions, type GrpoItem } from './policy.js';
import { TrainingHalted, type PpoResult, type RlResourceConfig } from './ppo.js';
import { PromptCodec, type SamplingConfig } from './rollout.js';
import { Progress, requireFile, startOrResume, StopRequest, type RunFolder, type TrainerKind } from './run.js';
import type { LrDecay } from './schedule.js';
import { loadTaskData, type TaskDataConfig } from './task-split.js';

/** The config fields GRPO and RLOO share. */
export interface RlRunConfig extends RlResourceConfig {
  run_name: string;
  seed: number;
  /** The base model folder (with tokenizer.json). */
  model: string;
  /** A PEFT adapter on `model` (an SFT LoRA): the reference policy and where the policy starts; null: the
   * base model itself is the reference and the policy starts from a fresh LoRA. */
  reference: string | null;
  data: TaskDataConfig;
  template: TemplateName;
  /** (First-turn) prompts longer than this (in tokens) are left out of training. */
  maxPromptTokens: number;
  /** The Scorer: security backend, R_sec's shape, and the partial-credit R's weights. */
  reward: { security: 'ruff' | 'bandit' | 'off'; securityShape: SecurityShape; weights: { func: number; sec: number; lint: number } };
  sampling: SamplingConfig;
  lora: { r: number; alpha: number; targetModules: LoraModule[] };
  /** Steps (each: the rollout(s), then the trainer's optimizer updates). */
  steps: number;
  /** Distinct prompts per step. */
  promptsPerStep: number;
  /** KL coefficient against the reference (0: no KL term, no reference pass). */
  beta: number;
  klEstimator: KlKind;
  /** The loss's normaliser (see the GRPO head): grpo per sequence, dr_grpo a constant, dapo per token. */
  lossType: 'grpo' | 'dr_grpo' | 'dapo';
  lr: number;
  /** The learning rate over the run's optimizer updates. */
  lrSchedule: LrDecay;
  warmupSteps: number;
  weightDecay: number;
  /** Gradient-norm clipping; 0 turns it off. */
  gradClip: number;
}

const oneOf = (v: string, options: readonly string[]) => options.includes(v);

/** Checks the shared fields (each trainer checks its own after). */
export function checkRlRunConfig(c: RlRunConfig, where: string): void {
  expect(c.model !== '', where, 'model', 'a model folder', c.model);
  resolveTemplate(c.template);
  for (const f of ['steps', 'promptsPerStep', 'saveEvery', 'keepCheckpoints', 'microBatch', 'maxPromptTokens'] as const) {
    expect(isPositiveInt(c[f]), where, f, 'a positive integer', c[f]);
  }
  expect(c.beta >= 0, where, 'beta', 'a number ≥ 0', c.beta);
  expect(oneOf(c.klEstimator, ['k1', 'k2', 'k3']), where, 'klEstimator', 'k1, k2 or k3', c.klEstimator);
  expect(oneOf(c.lossType, ['grpo', 'dr_grpo', 'dapo']), where, 'lossType', 'grpo, dr_grpo or dapo', c.lossType);
  expect(c.lr > 0, where, 'lr', 'a positive number', c.lr);
  expect(oneOf(c.lrSchedule, ['constant', 'linear', 'cosine']), where, 'lrSchedule', 'constant, linear or cosine', c.lrSchedule);
  expect(isNonNegativeInt(c.warmupSteps), where, 'warmupSteps', 'a non-negative integer', c.warmupSteps);
  expect(c.gradClip >= 0, where, 'gradClip', 'a number ≥ 0', c.gradClip);
  expect(isPositiveInt(c.sampling.maxNewTokens), where, 'sampling.maxNewTokens', 'a positive integer', c.sampling.maxNewTokens);
  expect(oneOf(c.reward.security, ['ruff', 'bandit', 'off']), where, 'reward.security', 'ruff, bandit or off', c.reward.security);
  expect(oneOf(c.data.split, ['mbpp', 'seeded']), where, 'data.split', 'mbpp or seeded', c.data.split);
  expect(isNonNegativeInt(c.data.promptTests), where, 'data.promptTests', 'a non-negative integer', c.data.promptTests);
  checkQuantizeConfig(c.quantize, where);
}

/** An opened GRPO or RLOO run: everything its step loop uses. */
export interface RlRun<C extends RlRunConfig> {
  cfg: C;
  folder: RunFolder;
  ck: Checkpoint;
  codec: PromptCodec;
  /** The training prompts that fit maxPromptTokens. */
  problems: Problem[];
  /** The run's generator: each step draws from root.fork(`step N`). */
  root: Rng;
  policyAdapter: LoraAdapter;
  /** The reference's feeds for the policy graph (null when beta is 0: no reference pass). */
  refFeeds: Record<string, Float32Array> | null;
  lm: CausalLM;
  graph: PolicyGraph;
  paramList: ReturnType<LoraAdapter['parameters']>;
  adam: AdamW;
  /** The step to continue after (0, or the restored checkpoint's). */
  step: number;
  scorer: Scorer;
  progress: Progress;
  stop: StopRequest;
  /**
   * GRPO items for a step's sequences (prompt + response tokens, the loss from `lossStart`) with their
   * advantages: old log-probs and entropy under the policy, the reference's when beta > 0, one forward each
   * over the padded batch `tb` (the update pads to its length, so the first ratio is exactly 1). Halts when
   * every response is empty.
   */
  policyItems(seqs: readonly { tokens: number[]; lossStart: number }[], advantages: ArrayLike<number>, step: number): Promise<{ tb: TokenBatch; items: GrpoItem[]; entropy: number; tokens: number }>;
  /** Saves step `s`'s checkpoint with its log lines. */
  checkpoint(s: number, log: LogLines): void;
  /** Releases what the run holds (its sessions, the Scorer's judge, the Ctrl-C handler): in a finally. */
  dispose(): Promise<void>;
  /** After the loop: the result, with `final/` written when `step` reached cfg.steps. */
  finish(step: number, stopped: boolean): PpoResult;
}

/**
 * Starts a run in `outDir`, or continues the one there with `resume`. `rowsPerStep` is the trajectories a
 * step samples per turn (episodes count them); `head` the GRPO head's options for the policy graph.
 */
export function openRlRun<C extends RlRunConfig>(input: { config: C; outDir: string } | { resume: string }, trainer: TrainerKind,
  parse: (json: unknown, where: string) => C, o: { quiet?: boolean; rowsPerStep: (cfg: C) => number; head: (cfg: C) => GrpoHeadOptions }): RlRun<C> {
  const { cfg, folder } = startOrResume(input, trainer, parse);
  requireFile(cfg.model, 'model', 'config.json');
  if (cfg.reference) requireFile(cfg.reference, 'reference adapter', 'adapter_config.json');

  const ck = loadBaseModel(cfg.model, cfg.quantize, folder.dir);
  const codec = PromptCodec.forModel(Tokenizer.load(cfg.model), cfg.template, ck.config);
  const problems = loadTaskData(cfg.data).train.filter((p) => codec.encode(p).length <= cfg.maxPromptTokens);
  if (problems.length < cfg.promptsPerStep) throw new Error(`only ${problems.length} training prompts fit maxPromptTokens ${cfg.maxPromptTokens}; promptsPerStep is ${cfg.promptsPerStep}`);
  const root = new Rng(cfg.seed);
  const perStep = o.rowsPerStep(cfg);

  // The reference adapter (frozen) and the policy's (trained, dropout 0: the sampler applies none).
  const reference = cfg.reference ? loadAdapter(cfg.reference, ck.config) : null;
  const start = reference ?? LoraAdapter.init(ck.config, { ...cfg.lora, dropout: 0 }, Number(root.fork('lora init').uint32()));
  const policyAdapter = trainedAdapter(start);
  // With β > 0 the reference's log-probs come from the same graph fed the reference adapter (or B = 0).
  const refFeeds = cfg.beta === 0 ? null : referenceFeeds(reference, policyAdapter);

  const session = trainerSession(cfg.threads);
  const lm = new CausalLM(ck, { adapter: policyAdapter, session, baseWeights: cfg.lowMemory ? 'inputs' : 'initializers' });
  const graph = new PolicyGraph(ck, { lora: policyAdapter.config, baseWeights: 'inputs', recompute: cfg.recompute, temperature: cfg.sampling.temperature, session, grpo: o.head(cfg) });
  const paramList = policyAdapter.parameters();
  const adam = new AdamW(paramList, { lr: cfg.lr, weightDecay: cfg.weightDecay });

  // Resume: the newest complete checkpoint's state, and the logs cut back to it.
  const parts: PolicyState = { adapter: policyAdapter, adam, baseModel: cfg.model };
  const step = 'resume' in input ? restoreCheckpoint(folder, parts, ck.config)?.step ?? 0 : 0;

  const scorer = new Scorer({ mode: 'partial', security: cfg.reward.security, securityShape: cfg.reward.securityShape, weights: cfg.reward.weights });
  const progress = new Progress(`${trainer} ${cfg.run_name}`, cfg.steps, { quiet: o.quiet, startAt: step, every: Math.max(1, Math.floor(cfg.steps / 20)) });
  const stop = new StopRequest().listen();

  return {
    cfg, folder, ck, codec, problems, root, policyAdapter, refFeeds, lm, graph, paramList, adam, step, scorer, progress, stop,
    policyItems: async (seqs, advantages, s) => {
      if (seqs.every((q) => q.tokens.length - q.lossStart === 0)) throw new TrainingHalted(`step ${s}: every response in the batch is empty`);
      const tb = tokenBatch(seqs, codec.padId);
      const cur = await graph.forward(tb, policyAdapter.feeds(), { entropy: true, microBatch: cfg.microBatch });
      const ref = refFeeds ? await graph.forward(tb, refFeeds, { microBatch: cfg.microBatch }) : null;
      let entSum = 0, tokens = 0;
      const items: GrpoItem[] = seqs.map((q, b) => {
        const ent = countedValues(tb, cur.entropy!, b);
        entSum += ent.reduce((a, x) => a + x, 0); tokens += ent.length;
        return { tokens: q.tokens, lossStart: q.lossStart, oldLogprobs: countedValues(tb, cur.logprobs, b), advantage: advantages[b],
          ...(ref ? { refLogprobs: countedValues(tb, ref.logprobs, b) } : {}) };
      });
      return { tb, items, entropy: entSum / Math.max(1, tokens), tokens };
    },
    checkpoint: (s, log) => saveCheckpoint(folder, s, parts, {
      episode: s * perStep, data_position: dataPosition(s, cfg.promptsPerStep, problems.length),
      rng: { seed: cfg.seed, derivation: 'Rng(seed).fork(`step ${step}`)' },
    }, log, cfg.keepCheckpoints),
    dispose: async () => {
      stop.dispose();
      await scorer.close();
      await releaseSessions(lm.graph);
      await releaseSessions(graph.graph);
    },
    finish: (last, stopped) => {
      const finalDir = last === cfg.steps ? folder.writeFinal((dir) => saveAdapter(dir, policyAdapter, { baseModelNameOrPath: cfg.model })) : null;
      return { runDir: folder.dir, finalDir, steps: last, stopped };
    },
  };
}
