// Quantized checkpoints: which frozen weights of a decoder are stored quantized (the engine's
// QuantizedWeight: int8 per output channel or 4-bit blocks), and building such a checkpoint without a
// float32 copy of the whole model alive — from a float checkpoint in memory, tensor by tensor from a
// safetensors folder (bf16/fp16/fp32 on disk), or from seeded random weights generated layer by layer.
// Norms, biases and (unless asked) the embedding and LM head stay float32.

import { quantizedFeeds, QuantizedWeight, QUANT_MODES, type Feed, type QuantMode } from '../engine/index.js';
import type { ModelConfig } from './config.js';
import { loadConfig } from './config.js';
import { SafetensorsFile } from './safetensors.js';
import { checkpointFiles, expectedTensors, fastRandomTensor, loadCheckpoint, randomTensor, type Checkpoint, type Weights } from './weights.js';
import { Rng } from '../random.js';

export type QuantizeMode = 'none' | QuantMode;
export const QUANTIZE_MODES: readonly QuantizeMode[] = ['none', ...QUANT_MODES];

/** What to quantize. The seven linear weights of every block always; the embedding and the head unless asked not to. */
export interface QuantizeConfig {
  mode: QuantizeMode;
  /** The token embedding (for a tied model: the shared embedding/head tensor). Default true. */
  embedding: boolean;
  /** The LM head (for a tied model: the shared tensor). Default true. */
  head: boolean;
}

/** Float32 by default; a chosen mode quantizes the embedding and the head too (the lean configuration measured
 * by `bench quantize`: held-out loss and KL in docs/model.md). `embedding`/`head` mean nothing for 'none'. */
export const DEFAULT_QUANTIZE: QuantizeConfig = { mode: 'none', embedding: true, head: true };

const LINEAR = /^model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)\.weight$/;

/** Checks a mode name (from a flag or a config file). */
export function parseQuantizeMode(v: unknown, where: string): QuantizeMode {
  if (typeof v !== 'string' || !(QUANTIZE_MODES as readonly string[]).includes(v)) {
    throw new Error(`${where}: expected one of ${QUANTIZE_MODES.join(', ')}, got ${JSON.stringify(v)}`);
  }
  return v as QuantizeMode;
}

/** Names of the tensors a config quantizes (Hugging Face names, each [out, in]). */
export function quantizedTensorNames(c: ModelConfig, q: QuantizeConfig): Set<string> {
  const out = new Set<string>();
  if (q.mode === 'none') return out;
  for (const name of expectedTensors(c).keys()) if (LINEAR.test(name)) out.add(name);
  const tied = c.tieWordEmbeddings;
  if (q.embedding || (tied && q.head)) out.add('model.embed_tokens.weight');
  if (!tied && q.head) out.add('lm_head.weight');
  return out;
}

/** The quantized weights of a checkpoint, by Hugging Face name. */
export type QuantizedWeights = Map<string, QuantizedWeight>;

/** Replaces the chosen float weights of `ck` by quantized ones (the float arrays are dropped from the result). */
export function quantizeCheckpoint(ck: Checkpoint, q: QuantizeConfig): Checkpoint {
  if (q.mode === 'none') return ck;
  if (ck.quantized?.size) throw new Error('quantizeCheckpoint: the checkpoint is already quantized');
  const names = quantizedTensorNames(ck.config, q);
  const weights: Weights = new Map();
  const quantized: QuantizedWeights = new Map();
  for (const [name, w] of ck.weights) {
    if (names.has(name)) quantized.set(name, QuantizedWeight.quantize(q.mode, w.data, w.shape[0], w.shape[1]));
    else weights.set(name, w);
  }
  return { ...ck, weights, quantized, quantization: q };
}

/** DIR's checkpoint files (single file or shards; F32/F16/BF16) open for reading tensors of `config` one at a
 * time, in float32, each checked against the shape the config implies. Close it when done. */
export function openCheckpointTensors(dir: string, config: ModelConfig): { read(name: string): Float32Array; close(): void } {
  const files = checkpointFiles(dir);
  const expected = expectedTensors(config);
  const open = new Map<string, SafetensorsFile>();
  return {
    read(name: string): Float32Array {
      const shape = expected.get(name);
      if (!shape) throw new Error(`${dir}: '${name}' is not a tensor of this config`);
      const path = files.get(name);
      if (!path) throw new Error(`${dir}: checkpoint lacks tensor '${name}' that the config needs`);
      let f = open.get(path);
      if (!f) { f = new SafetensorsFile(path); open.set(path, f); }
      const info = f.info(name);
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`${path}: tensor '${name}' has shape [${info.shape.join(', ')}], the config implies [${shape.join(', ')}]`);
      }
      return f.readFloat32(name);
    },
    close(): void { for (const f of open.values()) f.close(); },
  };
}

/**
 * Reads DIR's weights, quantizing each chosen tensor as it is read, so at most one tensor is in float32
 * beyond the float weights that stay.
 */
export function loadQuantizedWeights(dir: string, config: ModelConfig, q: QuantizeConfig): { weights: Weights; quantized: QuantizedWeights } {
  if (q.mode === 'none') throw new Error('loadQuantizedWeights: mode is none');
  const names = quantizedTensorNames(config, q);
  const weights: Weights = new Map();
  const quantized: QuantizedWeights = new Map();
  const source = openCheckpointTensors(dir, config);
  try {
    for (const [name, shape] of expectedTensors(config)) {
      const data = source.read(name);
      if (names.has(name)) quantized.set(name, QuantizedWeight.quantize(q.mode as QuantMode, data, shape[0], shape[1]));
      else weights.set(name, { shape, data });
    }
  } finally {
    source.close();
  }
  return { weights, quantized };
}

/** DIR/config.json and its weights, quantized as `q` says (plain float32 for mode 'none'). */
export function loadQuantizedCheckpoint(dir: string, q: QuantizeConfig): Checkpoint {
  const config = loadConfig(dir);
  if (q.mode === 'none') return loadCheckpoint(dir);
  const { weights, quantized } = loadQuantizedWeights(dir, config, q);
  return { config, weights, quantized, quantization: q, dir };
}

/**
 * Seeded random weights (weights.ts's `randomWeights` distribution and order, so mode 'none' gives the same
 * values) with the chosen tensors quantized as each is generated: a 1.3B model never exists in float32.
 */
export function randomQuantizedCheckpoint(config: ModelConfig, q: QuantizeConfig, seed = 0, initScale = 0.5, o: { fast?: boolean } = {}): Checkpoint {
  const rng = new Rng(seed);
  const names = quantizedTensorNames(config, q);
  const weights: Weights = new Map();
  const quantized: QuantizedWeights = new Map();
  let k = 0;
  for (const [name, shape] of expectedTensors(config)) {
    // fast: uniform values of the same spread (fastRandomTensor), for benchmark-sized models
    const data = o.fast ? fastRandomTensor(name, shape, seed * 100003 + k++, initScale) : randomTensor(name, shape, rng, initScale);
    if (names.has(name)) quantized.set(name, QuantizedWeight.quantize(q.mode as QuantMode, data, shape[0], shape[1]));
    else weights.set(name, { shape, data });
  }
  return q.mode === 'none' ? { config, weights } : { config, weights, quantized, quantization: q };
}

/** Parameters of a checkpoint (float tensors and quantized matrices alike). */
export function checkpointParameters(ck: Checkpoint): number {
  let n = 0;
  for (const w of ck.weights.values()) n += w.data.length;
  for (const w of ck.quantized?.values() ?? []) n += w.outFeatures * w.inFeatures;
  return n;
}

/** Bytes of a checkpoint's weights (float32 tensors plus quantized copies); `inJs`: only those held in JS,
 * not quantized weights still in their file (QuantizedWeight.fromFile). */
export function checkpointBytes(ck: Checkpoint, o: { inJs?: boolean } = {}): number {
  let bytes = 0;
  for (const w of ck.weights.values()) bytes += w.data.byteLength;
  for (const w of ck.quantized?.values() ?? []) bytes += o.inJs ? w.bytes : w.storedBytes;
  return bytes;
}

/**
 * Feeds for a decoder graph's quantized inputs: every int8 weight's forward arrays (its backward product
 * transposes them in the graph), and with `nbits4` every 4-bit weight's (its backward product dequantizes
 * them in the graph) for a graph built with nbits4As 'inputs' (see decoder.ts).
 */
export function quantizedInputFeeds(ck: Checkpoint, o: { nbits4?: boolean } = {}): Record<string, Feed> {
  const out: Record<string, Feed> = {};
  for (const [name, w] of ck.quantized ?? []) if (w.mode === 'int8' || o.nbits4) Object.assign(out, quantizedFeeds(name, w));
  return out;
}

/** A float checkpoint holding the quantized weights' dequantized values (W', what the forward computes
 * with): the reference the quantized kernels are tested against, and a float export of a quantized model. */
export function dequantizeCheckpoint(ck: Checkpoint): Checkpoint {
  const weights: Weights = new Map(ck.weights);
  for (const [name, w] of ck.quantized ?? []) weights.set(name, { shape: [w.outFeatures, w.inFeatures], data: w.dequantize() });
  return { config: ck.config, weights, dir: ck.dir };
}
