// Supervised fine-tuning: prompt (under the run's template) → reference solution + EOS, loss on the
// response tokens only (prompt and padding masked — the reference code masked neither padding nor appended
// EOS), short examples packed into rows with block-diagonal attention, LoRA (PEFT layout) or full
// fine-tuning, a validation loss, and best and last checkpoints. Defaults are the paper's: 3 epochs,
// lr 2e-5, batch 4 × accumulation 4, LoRA r 16 α 32 dropout 0.05 on q/k/v/o.

import { copyFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AdamW, clipGradNorm, releaseSessions, type Feed } from '../engine/index.js';
import { resolveTemplate, type TemplateName } from '../data/templates.js';
import { LORA_DROPOUT_KEEP } from '../model/decoder.js';
import { LoraAdapter, type LoraConfig, type LoraModule } from '../model/lora.js';
import { loadAdapter, saveAdapter } from '../model/peft.js';
import { Tokenizer } from '../model/tokenizer.js';
import { saveCheckpoint, type Checkpoint } from '../model/weights.js';
import { fnv1a64, Rng } from '../random.js';
import type { Problem } from '../data/problem.js';
import { packedBatch, packExamples, type Sequence, type TokenBatch } from './batch.js';
import { checkQuantizeConfig, DEFAULT_QUANTIZE, loadBaseModel, type QuantizeConfig } from './base-model.js';
import { expect, isPositiveInt, mergeConfig } from './config.js';
import { correctionExamples } from './correction-examples.js';
import { Scorer } from '../reward/scorer.js';
import { DEFAULT_DATA, loadTrainData, type DataConfig } from './data.js';
import { PolicyGraph } from './policy.js';
import { PromptCodec } from './rollout.js';
import { Progress, RunFolder, writeJson } from './run.js';
import { linearWarmupLr } from './schedule.js';

export interface SftConfig {
  run_name: string;
  seed: number;
  /** The base model folder (Hugging Face layout with tokenizer.json). */
  model: string;
  /** Start from this PEFT adapter (LoRA mode) instead of a fresh one. */
  adapter: string | null;
  data: DataConfig;
  template: TemplateName;
  /** How the target is written: the bare program, or a ```python block. */
  responseFormat: 'code' | 'fenced';
  mode: 'lora' | 'full';
  lora: { r: number; alpha: number; dropout: number; targetModules: LoraModule[] };
  epochs: number;
  lr: number;
  lrSchedule: 'constant' | 'linear' | 'cosine';
  warmupSteps: number;
  weightDecay: number;
  /** Examples per micro-batch row group and micro-batches per optimizer step. */
  batchSize: number;
  gradAccum: number;
  gradClip: number;
  /** Row length; longer examples are dropped (and counted in the run's config). */
  maxSeqLen: number;
  packing: boolean;
  /** Fraction of the training problems held out for the validation loss; evaluated every `evalEvery`
   * optimizer steps and at the end of each epoch. */
  valFraction: number;
  evalEvery: number;
  /** Stop after this many optimizer steps (null: all epochs). */
  maxSteps: number | null;
  /** Also train on self-correction examples (src/train/correction-examples.ts) of the training problems, so a
   * model from scratch learns to read a second turn's execution feedback. */
  correctionExamples: boolean;
  threads: number;
  /** Frozen base weights stored quantized (int8 / nbits4; embedding and head on request): see docs/model.md. */
  quantize: QuantizeConfig;
  /** Activation recomputation in the training graph: the same losses, less memory (see RlResourceConfig). */
  recompute: boolean;
}

export const DEFAULT_SFT_CONFIG: SftConfig = {
  run_name: 'sft', seed: 0, model: '', adapter: null, data: DEFAULT_DATA, template: 'instruction', responseFormat: 'code',
  mode: 'lora', lora: { r: 16, alpha: 32, dropout: 0.05, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] },
  epochs: 3, lr: 2e-5, lrSchedule: 'linear', warmupSteps: 0, weightDecay: 0, batchSize: 4, gradAccum: 4, gradClip: 1,
  maxSeqLen: 1024, packing: true, valFraction: 0.05, evalEvery: 50, maxSteps: null, correctionExamples: false, threads: 0, quantize: DEFAULT_QUANTIZE, recompute: false,
};

export function parseSftConfig(json: unknown, where: string): SftConfig {
  const c = mergeConfig(DEFAULT_SFT_CONFIG, json, where, { adapter: ['string', 'null'], maxSteps: ['number', 'null'], 'data.trainSize': ['number', 'null'] });
  expect(typeof c.model === 'string' && c.model !== '', where, 'model', 'a model folder', c.model);
  resolveTemplate(c.template);
  expect(['code', 'fenced'].includes(c.responseFormat), where, 'responseFormat', "'code' or 'fenced'", c.responseFormat);
  expect(['lora', 'full'].includes(c.mode), where, 'mode', "'lora' or 'full'", c.mode);
  for (const f of ['epochs', 'batchSize', 'gradAccum', 'maxSeqLen', 'evalEvery'] as const) expect(isPositiveInt(c[f]), where, f, 'a positive integer', c[f]);
  expect(c.lr > 0, where, 'lr', 'a positive number', c.lr);
  expect(c.valFraction >= 0 && c.valFraction < 1, where, 'valFraction', 'a number in [0, 1)', c.valFraction);
  expect(c.maxSteps === null || isPositiveInt(c.maxSteps), where, 'maxSteps', 'a positive integer or null', c.maxSteps);
  checkQuantizeConfig(c.quantize, where, c.mode === 'lora');
  return c;
}

export interface SftResult {
  /** final/: a PEFT adapter (LoRA) or a model folder (full). */
  finalDir: string;
  bestDir: string;
  steps: number;
  valLoss: number | null;
  bestValLoss: number | null;
  trainLoss: number;
  seconds: number;
}

/** An example's tokens: prompt ids, then the response's and EOS; the loss counts from the response on. */
export function sftExample(codec: PromptCodec, problem: Parameters<PromptCodec['encode']>[0], response: string, eosId: number): Sequence {
  const prompt = codec.encode(problem);
  const target = [...codec.tokenizer.encode(response), eosId];
  return { tokens: [...prompt, ...target], lossStart: prompt.length };
}

/** `o.problems`: training problems given by the caller (each answered by its `canonicalSolution`) instead of
 * `cfg.data`'s training side, e.g. prompts paired with code built for them; the run's config.json records their
 * number and ids' fingerprint in place of the split's. */
export async function sft(cfg: SftConfig, o: { outDir: string; quiet?: boolean; problems?: readonly Problem[] }): Promise<SftResult> {
  const started = performance.now();
  if (!existsSync(join(cfg.model, 'config.json'))) throw new Error(`model: ${cfg.model}: no config.json (expected a Hugging Face model folder)`);
  const ck = loadBaseModel(cfg.model, cfg.quantize, resolve(o.outDir));
  const tokenizer = Tokenizer.load(cfg.model);
  const eosId = tokenizer.eosId ?? ck.config.eosTokenIds[0];
  if (eosId === undefined) throw new Error(`model: ${cfg.model}: neither tokenizer_config.json nor config.json names an eos token`);
  const codec = new PromptCodec(tokenizer, resolveTemplate(cfg.template), ck.config.eosTokenIds);
  const data = o.problems ? null : loadTrainData(cfg.data);
  const rng = new Rng(cfg.seed);

  // Examples from the training problems' reference solutions; a held-out slice for validation.
  const withSolution = (o.problems ?? data!.train).filter((p) => p.canonicalSolution);
  const shuffled = rng.fork('val split').shuffled(withSolution);
  const nVal = Math.round(shuffled.length * cfg.valFraction);
  const toExample = (p: typeof withSolution[number]) => {
    const code = p.canonicalSolution!.replace(/\r\n?/g, '\n');
    return sftExample(codec, p, cfg.responseFormat === 'fenced' ? `\`\`\`python\n${code.trim()}\n\`\`\`` : code, eosId);
  };
  const all = shuffled.map(toExample);
  if (cfg.correctionExamples) {
    const scorer = new Scorer({ security: 'off' });
    try {
      const extra = await correctionExamples(shuffled.slice(nVal), scorer, rng.fork('corrections'));
      all.push(...rng.fork('corrections order').shuffled(extra.map((e) => sftExample(codec, e.problem, e.response, eosId))));
    } finally {
      await scorer.close();
    }
  }
  const fits = (e: Sequence) => e.tokens.length <= cfg.maxSeqLen;
  const val = all.slice(0, nVal).filter(fits), train = all.slice(nVal).filter(fits);
  const dropped = all.length - val.length - train.length;
  if (train.length === 0) throw new Error(`no SFT example fits maxSeqLen ${cfg.maxSeqLen} (${all.length} examples)`);

  const folder = RunFolder.create(o.outDir, { trainer: 'sft', ...cfg, examples: { train: train.length, val: val.length, dropped_too_long: dropped,
    ...(data ? { split_fingerprint: data.split.fingerprint } : { given_problems: o.problems!.length, given_fingerprint: fnv1a64(o.problems!.map((p) => p.id).join('\n')).toString(16) }) } });
  const adapter = cfg.mode === 'lora'
    ? (cfg.adapter ? loadAdapter(cfg.adapter, ck.config) : LoraAdapter.init(ck.config, cfg.lora as Partial<LoraConfig>, Number(rng.fork('lora').uint32())))
    : null;
  const policy = new PolicyGraph(ck, { lora: adapter?.config, dropout: true, dropoutSeed: rng.fork('dropout').int(16384), recompute: cfg.recompute, session: { threads: cfg.threads || undefined } });
  const paramList = adapter ? adapter.parameters() : policy.trainable.map((name) => ({ name, data: ck.weights.get(name)!.data, decay: ck.weights.get(name)!.shape.length === 2 }));
  const params: Record<string, Float32Array> = Object.fromEntries(paramList.map((p) => [p.name, p.data]));
  const adam = new AdamW(paramList, { lr: cfg.lr, weightDecay: cfg.weightDecay });
  // Dropout is drawn in the graph from generators seeded by the run's seed; validation feeds keep = 1.
  const dropping = adapter !== null && adapter.config.dropout > 0;
  const keepFeed = (keep: number) => (): Record<string, Feed> => ({ [LORA_DROPOUT_KEEP]: Float32Array.of(keep) });
  const extraFeeds = dropping ? keepFeed(1 - adapter.config.dropout) : undefined;
  const noDropout = dropping ? keepFeed(1) : undefined;

  // Micro-batches: `batchSize` examples' worth of packed rows each; `gradAccum` of them per step.
  const microBatches = (examples: Sequence[]): TokenBatch[] => {
    const out: TokenBatch[] = [];
    for (let i = 0; i < examples.length; i += cfg.batchSize) {
      const group = examples.slice(i, i + cfg.batchSize);
      out.push(packedBatch(cfg.packing ? packExamples(group, cfg.maxSeqLen) : group.map((e) => [e])));
    }
    return out;
  };
  const valBatches = microBatches(val);
  const stepsPerEpoch = Math.ceil(Math.ceil(train.length / cfg.batchSize) / cfg.gradAccum);
  const totalSteps = Math.min(cfg.maxSteps ?? Infinity, stepsPerEpoch * cfg.epochs);
  const progress = new Progress('sft', totalSteps, { quiet: o.quiet, every: Math.max(1, Math.floor(totalSteps / 20)) });
  const save = (dir: string) => {
    if (adapter) saveAdapter(dir, adapter, { baseModelNameOrPath: cfg.model });
    else saveModelFolder(dir, ck, cfg.model);
  };
  let best = Infinity, lastVal: number | null = null, step = 0, trainLoss = NaN, tokens = 0;
  const validate = async () => {
    if (valBatches.length === 0) return null;
    const v = await policy.sftLoss(valBatches, params, noDropout);
    if (v < best) { best = v; save(folder.path('best')); }
    return v;
  };
  outer: for (let epoch = 1; epoch <= cfg.epochs; epoch++) {
    const batches = microBatches(rng.fork(`epoch ${epoch}`).shuffled(train));
    for (let i = 0; i < batches.length; i += cfg.gradAccum) {
      if (step >= totalSteps) break outer;
      const group = batches.slice(i, i + cfg.gradAccum);
      const r = await policy.sftStep(group, params, extraFeeds);
      const grads = paramList.map((p) => r.grads.get(p.name)!);
      clipGradNorm(grads, cfg.gradClip);
      step++;
      const lr = linearWarmupLr(cfg.lr, step - 1, cfg.warmupSteps, totalSteps, cfg.lrSchedule);
      adam.update(grads, lr);
      trainLoss = r.stats.loss;
      tokens += r.counted;
      const endOfEpoch = i + cfg.gradAccum >= batches.length;
      if (step % cfg.evalEvery === 0 || endOfEpoch || step === totalSteps) lastVal = await validate();
      folder.appendMetrics({ step, epoch, loss: trainLoss, lr, tokens, ...(lastVal !== null && (step % cfg.evalEvery === 0 || endOfEpoch || step === totalSteps) ? { val_loss: lastVal } : {}) });
      progress.update(step, { loss: trainLoss, val: lastVal });
    }
  }
  const finalDir = folder.writeFinal(save);
  if (valBatches.length === 0) save(folder.path('best'));
  writeJson(folder.path('result.json'), { steps: step, train_loss: trainLoss, val_loss: lastVal, best_val_loss: Number.isFinite(best) ? best : null });
  await releaseSessions(policy.graph);
  return { finalDir, bestDir: folder.path('best'), steps: step, valLoss: lastVal, bestValLoss: Number.isFinite(best) ? best : null, trainLoss, seconds: (performance.now() - started) / 1000 };
}

/** A fully fine-tuned model as a Hugging Face folder: weights, config and the base's tokenizer files. */
function saveModelFolder(dir: string, ck: Checkpoint, baseDir: string): void {
  saveCheckpoint(dir, ck.config, ck.weights);
  for (const f of ['tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) {
    if (existsSync(join(baseDir, f))) copyFileSync(join(baseDir, f), join(dir, f));
  }
}
