// Checkpoint weights in Hugging Face layout: reading `model.safetensors` or a sharded
// `model.safetensors.index.json` (any of F32/F16/BF16 on disk, float32 in memory), checking every expected
// tensor against the config, and creating / saving tiny models with seeded random weights.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configToJson, loadConfig, type ModelConfig, type TorchDtype } from './config.js';
import { Rng } from '../random.js';
import { SafetensorsFile, writeSafetensors, type StorageDtype, type TensorToWrite } from './safetensors.js';
import type { QuantizedWeight } from '../engine/index.js';
import type { QuantizeConfig } from './quantized.js';

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

/** Tensors by Hugging Face name (e.g. `model.layers.0.self_attn.q_proj.weight`), float32. */
export type Weights = Map<string, WeightTensor>;

/** Every tensor a config implies, with its shape, in Hugging Face names. */
export function expectedTensors(c: ModelConfig): Map<string, number[]> {
  const m = new Map<string, number[]>();
  const D = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim, F = c.intermediateSize;
  m.set('model.embed_tokens.weight', [c.vocabSize, D]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [D]);
    m.set(`${p}.self_attn.q_proj.weight`, [q, D]);
    m.set(`${p}.self_attn.k_proj.weight`, [kv, D]);
    m.set(`${p}.self_attn.v_proj.weight`, [kv, D]);
    m.set(`${p}.self_attn.o_proj.weight`, [D, q]);
    if (c.qkvBias) {
      m.set(`${p}.self_attn.q_proj.bias`, [q]);
      m.set(`${p}.self_attn.k_proj.bias`, [kv]);
      m.set(`${p}.self_attn.v_proj.bias`, [kv]);
    }
    if (c.oBias) m.set(`${p}.self_attn.o_proj.bias`, [D]);
    if (c.qkNorm) {
      m.set(`${p}.self_attn.q_norm.weight`, [c.headDim]);
      m.set(`${p}.self_attn.k_norm.weight`, [c.headDim]);
    }
    m.set(`${p}.post_attention_layernorm.weight`, [D]);
    m.set(`${p}.mlp.gate_proj.weight`, [F, D]);
    m.set(`${p}.mlp.up_proj.weight`, [F, D]);
    m.set(`${p}.mlp.down_proj.weight`, [D, F]);
    if (c.mlpBias) {
      m.set(`${p}.mlp.gate_proj.bias`, [F]);
      m.set(`${p}.mlp.up_proj.bias`, [F]);
      m.set(`${p}.mlp.down_proj.bias`, [D]);
    }
  }
  m.set('model.norm.weight', [D]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, D]);
  return m;
}

/** Maps each tensor name to the safetensors file holding it (one file, or the shards of an index). */
export function checkpointFiles(dir: string): Map<string, string> {
  const single = join(dir, 'model.safetensors');
  const index = join(dir, 'model.safetensors.index.json');
  const where = new Map<string, string>();
  if (existsSync(index)) {
    let json: { weight_map?: Record<string, string> };
    try { json = JSON.parse(readFileSync(index, 'utf8')) as typeof json; } catch (e) { throw new Error(`${index}: not valid JSON (${(e as Error).message})`); }
    if (!json.weight_map || typeof json.weight_map !== 'object') throw new Error(`${index}: field 'weight_map' is missing (expected { tensor name: shard file })`);
    for (const [name, file] of Object.entries(json.weight_map)) {
      if (typeof file !== 'string' || file.includes('/') || file.includes('\\')) throw new Error(`${index}: weight_map['${name}'] must be a file name in the same folder, got ${JSON.stringify(file)}`);
      where.set(name, join(dir, file));
    }
    return where;
  }
  if (existsSync(single)) {
    const f = new SafetensorsFile(single);
    try { for (const name of f.tensors.keys()) where.set(name, single); } finally { f.close(); }
    return where;
  }
  throw new Error(`${dir}: no model.safetensors or model.safetensors.index.json`);
}

/**
 * Reads the weights a config needs from DIR (single file or shards), converted to float32, checking every
 * name and shape. Extra tensors (e.g. rotary inv_freq buffers) are ignored; a tied checkpoint that still
 * stores lm_head.weight is accepted (the embedding is used, as Hugging Face does).
 */
export function loadWeights(dir: string, config: ModelConfig): Weights {
  const files = checkpointFiles(dir);
  const expected = expectedTensors(config);
  const missing = [...expected.keys()].filter((n) => !files.has(n));
  if (missing.length) {
    throw new Error(`${dir}: checkpoint lacks ${missing.length} tensor(s) the config needs, e.g. ${missing.slice(0, 3).join(', ')}`);
  }
  const open = new Map<string, SafetensorsFile>();
  const weights: Weights = new Map();
  try {
    for (const [name, shape] of expected) {
      const path = files.get(name)!;
      let f = open.get(path);
      if (!f) { f = new SafetensorsFile(path); open.set(path, f); }
      const info = f.info(name);
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new Error(`${path}: tensor '${name}' has shape [${info.shape.join(', ')}], the config implies [${shape.join(', ')}]`);
      }
      weights.set(name, { shape, data: f.readFloat32(name) });
    }
  } finally {
    for (const f of open.values()) f.close();
  }
  return weights;
}

/** A config and its weights: what the decoder is built from. */
export interface Checkpoint {
  config: ModelConfig;
  /** Float32 tensors (all of them, or those left float when `quantized` holds the rest). */
  weights: Weights;
  /** Frozen weights stored quantized (quantized.ts), absent from `weights`. */
  quantized?: Map<string, QuantizedWeight>;
  /** How `quantized` was made. */
  quantization?: QuantizeConfig;
  /** The folder it was read from, if any. */
  dir?: string;
}

/** Reads DIR/config.json and its weights. */
export function loadCheckpoint(dir: string): Checkpoint {
  const config = loadConfig(dir);
  return { config, weights: loadWeights(dir, config), dir };
}

const STORAGE: Record<TorchDtype, StorageDtype> = { float32: 'F32', float16: 'F16', bfloat16: 'BF16' };

export interface SaveOptions {
  /** Storage dtype (default: the config's torchDtype). */
  dtype?: TorchDtype;
  /** Split into shards of at most this many bytes with a model.safetensors.index.json (default: one file). */
  maxShardBytes?: number;
}

/** Writes config.json and model.safetensors (or shards + index) in Hugging Face layout. */
export function saveCheckpoint(dir: string, config: ModelConfig, weights: Weights, opts: SaveOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const torchDtype = opts.dtype ?? config.torchDtype;
  const dtype = STORAGE[torchDtype];
  writeFileSync(join(dir, 'config.json'), `${JSON.stringify(configToJson({ ...config, torchDtype }), null, 2)}\n`);
  const expected = expectedTensors(config);
  const tensors = new Map<string, TensorToWrite>();
  for (const [name, shape] of expected) {
    const w = weights.get(name);
    if (!w) throw new Error(`saveCheckpoint: weights lack '${name}'`);
    if (w.shape.join() !== shape.join()) throw new Error(`saveCheckpoint: '${name}' is [${w.shape.join(', ')}], expected [${shape.join(', ')}]`);
    tensors.set(name, { shape, data: w.data, dtype });
  }
  const width = dtype === 'F32' ? 4 : 2;
  if (!opts.maxShardBytes) {
    writeSafetensors(join(dir, 'model.safetensors'), tensors, { format: 'pt' });
    return;
  }
  const shards: [string, TensorToWrite][][] = [[]];
  let size = 0, total = 0;
  for (const entry of [...tensors.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const bytes = entry[1].data.length * width;
    if (size > 0 && size + bytes > opts.maxShardBytes) { shards.push([]); size = 0; }
    shards[shards.length - 1].push(entry);
    size += bytes; total += bytes;
  }
  const weightMap: Record<string, string> = {};
  const pad = (n: number) => String(n).padStart(5, '0');
  shards.forEach((entries, i) => {
    const file = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
    writeSafetensors(join(dir, file), new Map(entries), { format: 'pt' });
    for (const [name] of entries) weightMap[name] = file;
  });
  writeFileSync(join(dir, 'model.safetensors.index.json'), `${JSON.stringify({ metadata: { total_size: total }, weight_map: weightMap }, null, 2)}\n`);
}

/** Shape and options of a tiny model; unspecified fields get small defaults. */
export interface TinyModelOptions extends Partial<ModelConfig> {
  seed?: number;
  /** Standard deviation of the random matrices (default 0.5/sqrt(fan_in): logits of order 1). */
  initScale?: number;
}

/** A config with small defaults (a Llama of 2 layers, d 64, 4 heads, 2 kv heads, vocab 256). */
export function tinyConfig(o: Partial<ModelConfig> = {}): ModelConfig {
  const arch = o.architecture ?? 'llama';
  const numHeads = o.numHeads ?? 4;
  const hiddenSize = o.hiddenSize ?? 64;
  return {
    architecture: arch,
    modelType: o.modelType ?? arch,
    vocabSize: 256,
    hiddenSize,
    intermediateSize: 128,
    numLayers: 2,
    numHeads,
    numKvHeads: 2,
    headDim: hiddenSize / numHeads,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    ropeScaling: { type: 'none' },
    maxPositionEmbeddings: 2048,
    tieWordEmbeddings: false,
    qkvBias: arch === 'qwen2',
    oBias: false,
    mlpBias: false,
    qkNorm: arch === 'qwen3',
    bosTokenId: 1,
    eosTokenIds: [2],
    padTokenId: null,
    torchDtype: 'float32',
    ...o,
  };
}

/**
 * Random weights for a config, from a seeded PRNG: matrices ~ N(0, scale²/fan_in), biases ~ N(0, 0.1²),
 * norm weights ~ 1 + N(0, 0.1²) (not exactly 1, so a wrong norm wiring shows in tests).
 */
export function randomWeights(config: ModelConfig, seed = 0, initScale = 0.5): Weights {
  const rng = new Rng(seed);
  const w: Weights = new Map();
  for (const [name, shape] of expectedTensors(config)) w.set(name, { shape, data: randomTensor(name, shape, rng, initScale) });
  return w;
}

/** One tensor of `randomWeights`, drawn from `rng` (tensors are drawn in expectedTensors order). */
export function randomTensor(name: string, shape: readonly number[], rng: Rng, initScale = 0.5): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  if (name.endsWith('norm.weight')) for (let i = 0; i < n; i++) data[i] = 1 + 0.1 * rng.normal();
  else if (name.endsWith('.bias')) for (let i = 0; i < n; i++) data[i] = 0.1 * rng.normal();
  else {
    const std = name === 'model.embed_tokens.weight' ? 1 : initScale / Math.sqrt(shape[1]);
    for (let i = 0; i < n; i++) data[i] = std * rng.normal();
  }
  return data;
}

/**
 * The same layout of random weights drawn much faster (~1 ns per value instead of ~25 on these machines):
 * uniform values of the same standard deviations from a seeded xorshift32 stream. For benchmark models of
 * billions of parameters, whose values do not matter; tests use `randomTensor`.
 */
export function fastRandomTensor(name: string, shape: readonly number[], seed: number, initScale = 0.5): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const data = new Float32Array(n);
  let x = (seed ^ 0x9e3779b9) >>> 0 || 1;
  const [mean, std] = name.endsWith('norm.weight') ? [1, 0.1] : name.endsWith('.bias') ? [0, 0.1]
    : [0, name === 'model.embed_tokens.weight' ? 1 : initScale / Math.sqrt(shape[1])];
  const k = (2 * Math.sqrt(3) * std) / 4294967296; // uniform on [−√3·std, √3·std)
  const lo = mean - Math.sqrt(3) * std;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    data[i] = lo + (x >>> 0) * k;
  }
  return data;
}

/** A tiny model (config + seeded random weights) in memory. */
export function tinyModel(o: TinyModelOptions = {}): Checkpoint {
  const { seed, initScale, ...cfg } = o;
  const config = tinyConfig(cfg);
  return { config, weights: randomWeights(config, seed ?? 0, initScale ?? 0.5) };
}

/**
 * Creates a tiny model and saves it to DIR in Hugging Face layout (config.json + model.safetensors).
 * With a non-float32 torchDtype the weights are rounded to that dtype in memory too, so the returned
 * checkpoint equals what loading DIR gives.
 */
export function createTinyModel(dir: string, o: TinyModelOptions & SaveOptions = {}): Checkpoint {
  const { maxShardBytes, dtype, ...rest } = o;
  const ck = tinyModel({ ...rest, torchDtype: dtype ?? rest.torchDtype ?? 'float32' });
  saveCheckpoint(dir, ck.config, ck.weights, { maxShardBytes });
  return loadCheckpoint(dir);
}
