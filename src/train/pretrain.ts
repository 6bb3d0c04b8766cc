// `train pretrain`: a tiny Llama trained from scratch, the model the trainers' presets start from (no
// pretrained checkpoint can be downloaded on these machines). The recipe of test/model/scratch-train.test.ts
// made a run: a byte-level BPE trained on the texts (`<|endoftext|>` = id 0 joins the documents and is the
// model's bos and eos), seeded weights, next-token cross-entropy on random windows of the token
// stream, full-weight AdamW through the engine (every weight a graph input, gradients returned to JS),
// linear warmup then cosine decay, held-out loss against the unigram baseline, and a Hugging Face model
// folder the rest of the project loads. Same config and texts → byte-identical model and tokenizer files.

import { renameSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join } from 'node:path';
import { AdamW, clipGradNorm, compile, globalNorm, crossEntropy, gradients, Graph, releaseSessions, type Feed, type SessionOptions } from '../engine/index.js';
import { saveTrainedTokenizer, tokenizerJson, trainBpe, type TrainedBpe } from '../model/bpe-trainer.js';
import type { ModelConfig } from '../model/config.js';
import { appendDecoder, attentionBias, decoderInputs } from '../model/decoder.js';
import { Tokenizer } from '../model/tokenizer.js';
import { expectedTensors, saveCheckpoint, tinyConfig, type Checkpoint, type Weights } from '../model/weights.js';
import { Rng } from '../random.js';
import { expect, isNonNegativeInt, isPositiveInt, mergeConfig } from './config.js';
import { Progress, RunFolder, writeJson } from './run.js';

/** The special token that separates documents; id 0, the model's bos and eos. */
export const END_OF_TEXT = '<|endoftext|>';

/** Shape of the model (a Llama: RMSNorm, grouped-query attention with RoPE, SwiGLU). */
export interface PretrainModelShape {
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  /** Key/value heads (grouped-query attention); divides numHeads. */
  numKvHeads: number;
  /** SwiGLU width. */
  intermediateSize: number;
  /** Longest sequence the model's config.json declares (≥ seqLen). */
  maxPositionEmbeddings: number;
  /** The LM head shares the embedding matrix. */
  tieWordEmbeddings: boolean;
}

export interface PretrainConfig {
  /** Seeds the weights and the training windows. */
  seed: number;
  /** The BPE trained on the training documents: vocabSize counts the 256 bytes and `<|endoftext|>`. */
  tokenizer: { vocabSize: number };
  model: PretrainModelShape;
  /** Optimizer steps. */
  steps: number;
  /** Windows per step. */
  batchSize: number;
  /** Tokens per window. */
  seqLen: number;
  /** Peak learning rate, reached after warmupSteps (linear from lr/warmupSteps). */
  lr: number;
  warmupSteps: number;
  /** Cosine decay from lr to lr·minLrRatio at the last step. */
  minLrRatio: number;
  /** AdamW's decoupled weight decay, on matrices only (not on norm weights). */
  weightDecay: number;
  /** Clip the global gradient norm to this (0: no clipping). */
  gradClip: number;
  /** Share of the documents held out for the held-out loss (every ~1/fraction-th document, any seed). */
  heldoutFraction: number;
  /** Held-out loss every this many steps (and after the last). */
  evalEvery: number;
  /** The held-out loss averages this many batches of windows spread evenly over the held-out tokens. */
  evalBatches: number;
  /** ONNX Runtime intra-op threads; 0 = all cores. Results are bit-reproducible for a given thread count. */
  threads: number;
}

/**
 * Defaults, measured on this project's 2-core machine (shared with other work, load ~3.8) with the standard
 * corpus (APPS+ solutions, MBPP code and 4 MB of standard-library sources: 1.66M training tokens at
 * vocabulary 1024): 869,504 parameters; ~65 ms per step of 8 × 128 tokens on idle cores, 100–200 ms under
 * that load; the whole run (reading, tokenizer, 600 steps, 7 evaluations, writing) took 110 s. Held-out
 * loss 3.29 nats per token against 5.90 for the unigram baseline (7.44 before training). Peak lr 6e-3 ended
 * at 3.67 and 1e-2 at 4.20 (with the earlier 0.02 embedding init, where 3e-3 gave 3.50 and 2e-3 3.44); 900
 * steps at 6e-3 reached 3.38. See docs/train.md.
 */
export const DEFAULT_PRETRAIN_CONFIG: PretrainConfig = {
  seed: 0,
  tokenizer: { vocabSize: 1024 },
  model: { hiddenSize: 128, numLayers: 4, numHeads: 4, numKvHeads: 2, intermediateSize: 352, maxPositionEmbeddings: 1024, tieWordEmbeddings: true },
  steps: 600,
  batchSize: 8,
  seqLen: 128,
  lr: 3e-3,
  warmupSteps: 30,
  minLrRatio: 0.1,
  weightDecay: 0.01,
  gradClip: 1,
  heldoutFraction: 0.05,
  evalEvery: 100,
  evalBatches: 8,
  threads: 0,
};

/** Throws `where: field: expected …` for the first value out of range. */
export function checkPretrainConfig(c: PretrainConfig, where: string): void {
  const positive = (path: string, v: number) => expect(isPositiveInt(v), where, path, 'a positive integer', v);
  expect(isNonNegativeInt(c.seed) && Number.isSafeInteger(c.seed), where, 'seed', 'a non-negative integer', c.seed);
  expect(Number.isInteger(c.tokenizer.vocabSize) && c.tokenizer.vocabSize >= 257, where, 'tokenizer.vocabSize', 'an integer ≥ 257 (256 bytes + <|endoftext|>)', c.tokenizer.vocabSize);
  const m = c.model;
  for (const k of ['hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'intermediateSize', 'maxPositionEmbeddings'] as const) positive(`model.${k}`, m[k]);
  expect(m.hiddenSize % m.numHeads === 0, where, 'model.hiddenSize', `a multiple of model.numHeads (${m.numHeads})`, m.hiddenSize);
  expect((m.hiddenSize / m.numHeads) % 2 === 0, where, 'model.hiddenSize', `hiddenSize / numHeads even (RoPE rotates pairs; numHeads ${m.numHeads})`, m.hiddenSize);
  expect(m.numHeads % m.numKvHeads === 0, where, 'model.numHeads', `a multiple of model.numKvHeads (${m.numKvHeads})`, m.numHeads);
  for (const k of ['steps', 'batchSize', 'seqLen', 'evalEvery', 'evalBatches'] as const) positive(k, c[k]);
  expect(c.seqLen <= m.maxPositionEmbeddings, where, 'seqLen', `at most model.maxPositionEmbeddings (${m.maxPositionEmbeddings})`, c.seqLen);
  expect(c.lr > 0, where, 'lr', 'a positive number', c.lr);
  expect(isNonNegativeInt(c.warmupSteps), where, 'warmupSteps', 'a non-negative integer', c.warmupSteps);
  expect(c.minLrRatio >= 0 && c.minLrRatio <= 1, where, 'minLrRatio', 'a number in [0, 1]', c.minLrRatio);
  expect(c.weightDecay >= 0, where, 'weightDecay', 'a non-negative number', c.weightDecay);
  expect(c.gradClip >= 0, where, 'gradClip', 'a non-negative number (0: no clipping)', c.gradClip);
  expect(c.heldoutFraction > 0 && c.heldoutFraction <= 0.5, where, 'heldoutFraction', 'a number in (0, 0.5]', c.heldoutFraction);
  expect(isNonNegativeInt(c.threads), where, 'threads', 'a non-negative integer (0: all cores)', c.threads);
}

/** A user's config (a parsed file or preset) merged over the defaults and range-checked; errors name the field. */
export function parsePretrainConfig(json: unknown, where: string): PretrainConfig {
  const c = mergeConfig(DEFAULT_PRETRAIN_CONFIG, json, where);
  checkPretrainConfig(c, where);
  return c;
}

/** The learning rate of step `step` (0-based): linear warmup to lr, then cosine decay to lr·minLrRatio. */
export function pretrainLr(c: PretrainConfig, step: number): number {
  if (step < c.warmupSteps) return (c.lr * (step + 1)) / c.warmupSteps;
  const progress = Math.min(1, (step - c.warmupSteps) / Math.max(1, c.steps - 1 - c.warmupSteps));
  return c.lr * (c.minLrRatio + (1 - c.minLrRatio) * 0.5 * (1 + Math.cos(Math.PI * progress)));
}

export interface PretrainResult {
  /** outDir/model: config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json. */
  modelDir: string;
  /** Mean next-token cross-entropy (nats) on the held-out windows after the last step, and before the first. */
  heldoutLoss: number;
  initialHeldoutLoss: number;
  /** The same targets under the training tokens' unigram frequencies (add-one smoothed). */
  unigramLoss: number;
  /** Tokens trained on (steps × batchSize × seqLen). */
  tokens: number;
  /** Tokens in the training and held-out streams. */
  corpusTokens: { train: number; heldout: number };
  parameters: number;
  /** Wall time of the whole run (tokenizer, training, evaluation, writing). */
  seconds: number;
  steps: number;
}

/** Whether document `i` is held out: floor(i·f) steps up, so ~f of the documents, spread evenly. */
export function isHeldout(i: number, fraction: number): boolean {
  return Math.floor((i + 1) * fraction) > Math.floor(i * fraction);
}

/** Each document's tokens followed by `<|endoftext|>` (id 0). */
function tokenStream(tok: Tokenizer, docs: readonly string[]): Int32Array {
  const parts = docs.map((d) => tok.encode(d));
  const out = new Int32Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; out[at++] = 0; }
  return out;
}

/** The model config for a shape and vocabulary: a Llama with <|endoftext|> (id 0) as bos and eos. */
export function pretrainModelConfig(c: PretrainConfig, vocabSize: number): ModelConfig {
  const m = c.model;
  return tinyConfig({
    architecture: 'llama', vocabSize, hiddenSize: m.hiddenSize, numLayers: m.numLayers, numHeads: m.numHeads,
    numKvHeads: m.numKvHeads, intermediateSize: m.intermediateSize, maxPositionEmbeddings: m.maxPositionEmbeddings,
    tieWordEmbeddings: m.tieWordEmbeddings, bosTokenId: 0, eosTokenIds: [0], padTokenId: null,
  });
}

/**
 * Seeded initial weights: norm weights 1, every matrix ~ N(0, 1/shape[1]) — 1/fan_in, and 1/hiddenSize for
 * the embedding (and an untied LM head), so the first logits are of order 1. Measured with the default
 * config: embedding std 0.02 (the scratch test's) ended at held-out 3.50, 0.1 at 3.28, 0.2 at 3.19;
 * o_proj and down_proj scaled by 1/sqrt(2·layers) (GPT-2's) did not help (3.62), nor did 0.02 for every
 * matrix (3.93).
 */
export function initialWeights(config: ModelConfig, rng: Rng): Weights {
  const w: Weights = new Map();
  for (const [name, shape] of expectedTensors(config)) {
    const n = shape.reduce((p, d) => p * d, 1);
    const data = new Float32Array(n);
    if (shape.length === 1) data.fill(1);
    else {
      const std = 1 / Math.sqrt(shape[1]); // fan_in; hiddenSize for the embedding [vocab, hidden]
      for (let i = 0; i < n; i++) data[i] = std * rng.normal();
    }
    w.set(name, { shape, data });
  }
  return w;
}

/** Start positions of up to `count` windows of seqLen + 1 tokens spread evenly over `ids`. */
function evenWindows(ids: Int32Array, seqLen: number, count: number): number[] {
  const last = ids.length - seqLen - 1;
  const n = Math.min(count, Math.floor((ids.length - 1) / seqLen));
  return Array.from({ length: n }, (_, i) => (n === 1 ? 0 : Math.floor((i * last) / (n - 1))));
}

/** Add-one unigram cross-entropy of the windows' targets under the training stream's token counts. */
function unigramLoss(train: Int32Array, held: Int32Array, starts: readonly number[], seqLen: number, vocab: number): number {
  const counts = new Float64Array(vocab).fill(1);
  for (const t of train) counts[t]++;
  const total = counts.reduce((s, x) => s + x, 0);
  let loss = 0, n = 0;
  for (const s of starts) for (let j = 1; j <= seqLen; j++, n++) loss -= Math.log(counts[held[s + j]] / total);
  return loss / n;
}

/**
 * Pretrains a tiny model on `texts` (documents) and writes a run folder to outDir: config.json, metrics.jsonl
 * (`{ step, loss, lr, tokens, grad_norm }` each step, `heldout_loss` every evalEvery steps and at the end),
 * summary.json (the result) and model/, a Hugging Face model folder. Refuses a folder that holds a run.
 */
export async function pretrain(config: PretrainConfig, o: { outDir: string; texts: readonly string[]; quiet?: boolean; runName?: string }): Promise<PretrainResult> {
  const started = performance.now();
  checkPretrainConfig(config, 'pretrain config');
  const c = structuredClone(config);
  const docs = o.texts.filter((t) => t.length > 0);
  const heldDocs = docs.filter((_, i) => isHeldout(i, c.heldoutFraction));
  const trainDocs = docs.filter((_, i) => !isHeldout(i, c.heldoutFraction));
  if (heldDocs.length === 0 || trainDocs.length === 0) {
    throw new Error(`pretrain: ${docs.length} non-empty document(s) cannot be split into training and held-out sets at heldoutFraction ${c.heldoutFraction}; give more texts`);
  }
  const folder = RunFolder.create(o.outDir, { trainer: 'pretrain', run_name: o.runName ?? basename(o.outDir), ...c });
  const say = (line: string) => { if (!o.quiet) process.stderr.write(`${line}\n`); };

  // Tokenizer, trained on the training documents only.
  const bpe = trainBpe(trainDocs, { vocabSize: c.tokenizer.vocabSize, specialTokens: [END_OF_TEXT] });
  const tok = new Tokenizer(tokenizerJson(bpe), { eos_token: END_OF_TEXT, bos_token: END_OF_TEXT });
  const vocab = bpe.vocab.size;
  const trainIds = tokenStream(tok, trainDocs), heldIds = tokenStream(tok, heldDocs);
  if (trainIds.length < c.seqLen + 1) throw new Error(`pretrain: the training texts give ${trainIds.length} tokens, fewer than seqLen + 1 (${c.seqLen + 1})`);
  if (heldIds.length < c.seqLen + 1) {
    throw new Error(`pretrain: the held-out documents give ${heldIds.length} tokens, fewer than seqLen + 1 (${c.seqLen + 1}); raise heldoutFraction or give more texts`);
  }
  say(`pretrain: ${trainDocs.length} training documents (${trainIds.length} tokens), ${heldDocs.length} held out (${heldIds.length} tokens), vocabulary ${vocab}`);

  // Model and graphs: every weight a graph input, loss and gradients out.
  const rng = new Rng(c.seed);
  const modelConfig = pretrainModelConfig(c, vocab);
  const ck: Checkpoint = { config: modelConfig, weights: initialWeights(modelConfig, rng.fork('init')) };
  const g = new Graph({ name: 'pretrain', contribOps: true });
  const t = appendDecoder(g, ck, decoderInputs(g, modelConfig, false), { weightsAs: 'inputs' });
  const targets = g.input('targets', 'int64', ['batch', 'seq']);
  const loss = crossEntropy(t.logits, targets);
  const params = [...t.trainable.values()];
  const grads = gradients(loss, params);
  g.output('loss', loss);
  grads.forEach((d, i) => g.output(`grad:${params[i].name}`, d));
  const session: SessionOptions = { threads: c.threads === 0 ? availableParallelism() : c.threads };
  const gradNames = params.map((p) => `grad:${p.name}`);
  const trainExe = await compile(g, ['loss', ...gradNames], session);
  const evalExe = await compile(g, ['loss'], session);
  const weightFeeds: Record<string, Feed> = Object.fromEntries(params.map((p) => [p.name, ck.weights.get(p.name)!.data]));
  const adam = new AdamW(params.map((p) => {
    const w = ck.weights.get(p.name)!;
    return { name: p.name, data: w.data, decay: w.shape.length === 2 };
  }), { lr: c.lr, weightDecay: c.weightDecay });
  const parameters = params.reduce((n, p) => n + ck.weights.get(p.name)!.data.length, 0);

  const masks = new Map<number, Float32Array>();
  const positions = BigInt64Array.from({ length: c.batchSize * c.seqLen }, (_, i) => BigInt(i % c.seqLen));
  const feedsFor = (ids: Int32Array, starts: readonly number[]): Record<string, Feed> => {
    const B = starts.length, S = c.seqLen;
    const x = new BigInt64Array(B * S), y = new BigInt64Array(B * S);
    starts.forEach((s, b) => { for (let j = 0; j < S; j++) { x[b * S + j] = BigInt(ids[s + j]); y[b * S + j] = BigInt(ids[s + j + 1]); } });
    let mask = masks.get(B);
    if (!mask) { mask = attentionBias(B, S, 0, null, 0, new Uint8Array(B * S).fill(1)); masks.set(B, mask); }
    return {
      input_ids: { data: x, dims: [B, S] }, targets: { data: y, dims: [B, S] },
      position_ids: { data: positions.subarray(0, B * S), dims: [B, S] }, attn_bias: { data: mask, dims: [B, 1, 1, S, S] },
      ...weightFeeds,
    };
  };

  const evalStarts = evenWindows(heldIds, c.seqLen, c.evalBatches * c.batchSize);
  const heldoutLoss = async (): Promise<number> => {
    let sum = 0;
    for (let i = 0; i < evalStarts.length; i += c.batchSize) {
      const batch = evalStarts.slice(i, i + c.batchSize);
      const out = await evalExe.run(feedsFor(heldIds, batch));
      sum += (out.loss.data as Float32Array)[0] * batch.length;
    }
    return sum / evalStarts.length;
  };
  const unigram = unigramLoss(trainIds, heldIds, evalStarts, c.seqLen, vocab);
  const tokensPerStep = c.batchSize * c.seqLen;
  let initialHeldout = NaN, heldout = NaN;
  try {
    heldout = initialHeldout = await heldoutLoss();
    say(`pretrain: ${parameters} parameters; held-out loss ${initialHeldout.toFixed(3)} before training, unigram ${unigram.toFixed(3)}`);
    const windows = rng.fork('windows');
    const progress = new Progress('pretrain', c.steps, { quiet: o.quiet, every: c.evalEvery });
    for (let step = 1; step <= c.steps; step++) {
      const starts = Array.from({ length: c.batchSize }, () => windows.int(trainIds.length - c.seqLen));
      const out = await trainExe.run(feedsFor(trainIds, starts));
      const stepLoss = (out.loss.data as Float32Array)[0];
      if (!Number.isFinite(stepLoss)) throw new Error(`pretrain: the loss became ${stepLoss} at step ${step} (lower lr, or raise warmupSteps)`);
      const gs = gradNames.map((n) => out[n].data as Float32Array);
      const gradNorm = c.gradClip > 0 ? clipGradNorm(gs, c.gradClip) : globalNorm(gs);
      const lr = pretrainLr(c, step - 1);
      adam.update(gs, lr);
      const record: { step: number } & Record<string, number> = { step, loss: stepLoss, lr, tokens: step * tokensPerStep, grad_norm: gradNorm };
      if (step % c.evalEvery === 0 || step === c.steps) record.heldout_loss = heldout = await heldoutLoss();
      folder.appendMetrics(record);
      progress.update(step, { loss: stepLoss, heldout_loss: record.heldout_loss });
    }
  } finally {
    await releaseSessions(g);
  }

  // The model folder, written whole then renamed into place.
  const modelDir = folder.path('model');
  const tmp = folder.path('.model.tmp');
  rmSync(tmp, { recursive: true, force: true });
  writeModelFolder(tmp, modelConfig, ck.weights, bpe);
  rmSync(modelDir, { recursive: true, force: true });
  renameSync(tmp, modelDir);

  const result: PretrainResult = {
    modelDir, heldoutLoss: heldout, initialHeldoutLoss: initialHeldout, unigramLoss: unigram,
    tokens: c.steps * tokensPerStep, corpusTokens: { train: trainIds.length, heldout: heldIds.length },
    parameters, seconds: (performance.now() - started) / 1000, steps: c.steps,
  };
  writeJson(folder.path('summary.json'), result);
  say(`pretrain: held-out loss ${heldout.toFixed(3)} (unigram ${unigram.toFixed(3)}, initial ${initialHeldout.toFixed(3)}) in ${result.seconds.toFixed(1)} s → ${modelDir}`);
  return result;
}

/** config.json + model.safetensors, tokenizer.json + tokenizer_config.json, generation_config.json. */
function writeModelFolder(dir: string, config: ModelConfig, weights: Weights, bpe: TrainedBpe): void {
  saveCheckpoint(dir, config, weights);
  saveTrainedTokenizer(dir, bpe, { eosToken: END_OF_TEXT, bosToken: END_OF_TEXT, modelMaxLength: config.maxPositionEmbeddings });
  writeJson(join(dir, 'generation_config.json'), { bos_token_id: 0, eos_token_id: 0 });
}
