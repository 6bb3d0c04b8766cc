// A disk cache of quantized checkpoints: the first load of a folder with a given quantization reads and
// quantizes it (quantized.ts) and writes one safetensors file of the result; later loads read that file
// (float tensors F32, int8 data I8, 4-bit data U8, scales F32) instead of quantizing again. The key hashes
// the checkpoint's files (names, sizes, modification times), the quantize config and the cache format, so an
// edited checkpoint or another mode gets its own file. Only forward copies are stored: int8's backward reads
// qT transposed in the graph, nbits4's dequantizes the forward copy. A checkpoint read from the cache leaves
// its quantized weights in the file (QuantizedWeight.fromFile): sessions that bake them in have ONNX Runtime
// read the file, and JS reads a weight only where it is fed.

import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { FileSlice, NBITS_BLOCK, QuantizedWeight, quantizedNames, type QuantMode } from '../engine/index.js';
import type { ModelConfig } from './config.js';
import { loadConfig } from './config.js';
import { openCheckpointTensors, quantizedTensorNames, type QuantizeConfig, type QuantizedWeights } from './quantized.js';
import { SafetensorsFile, writeSafetensorsRaw, type RawTensorToWrite } from './safetensors.js';
import { checkpointFiles, expectedTensors, fastRandomTensor, type Checkpoint, type Weights } from './weights.js';
import { fnv1a64 } from '../random.js';

const FORMAT = 'securecoderl-quantized-checkpoint';
const VERSION = 2; // 2: no 4-bit backward copies

/** The cache file for DIR under `q` in `cacheDir`. */
export function quantizedCachePath(dir: string, q: QuantizeConfig, cacheDir: string): string {
  const files = [...new Set(checkpointFiles(dir).values()), join(dir, 'config.json')].sort();
  const stamp = files.map((f) => { const s = statSync(f); return [f, s.size, s.mtimeMs]; });
  const key = fnv1a64(JSON.stringify({ FORMAT, VERSION, dir: resolve(dir), q, stamp })).toString(16).padStart(16, '0');
  return join(cacheDir, `${q.mode}-${key}.safetensors`);
}

export interface CachedLoad {
  checkpoint: Checkpoint;
  /** The cache file read or written. */
  path: string;
  /** True when it was read from the cache. */
  hit: boolean;
  seconds: number;
}

/** DIR's checkpoint quantized as `q`, through the cache in `cacheDir`. */
export function loadQuantizedCached(dir: string, q: QuantizeConfig, cacheDir: string): CachedLoad {
  const t0 = performance.now();
  if (q.mode === 'none') throw new Error('loadQuantizedCached: mode is none (nothing to cache)');
  const path = quantizedCachePath(dir, q, cacheDir);
  if (existsSync(path)) {
    return { checkpoint: readQuantizedCache(path, dir, q), path, hit: true, seconds: (performance.now() - t0) / 1000 };
  }
  mkdirSync(cacheDir, { recursive: true });
  const config = loadConfig(dir);
  const source = openCheckpointTensors(dir, config);
  try {
    writeAtomically(path, config, q, (name) => source.read(name));
  } finally {
    source.close();
  }
  return { checkpoint: readQuantizedCache(path, dir, q), path, hit: false, seconds: (performance.now() - t0) / 1000 };
}

/** A source tensor, by name: float32 (quantized as it is written, if the config quantizes it) or a weight
 * already quantized. Asked for one tensor at a time, in the file's name order. */
type TensorSource = (name: string, shape: readonly number[]) => Float32Array | QuantizedWeight;

function writeAtomically(path: string, config: ModelConfig, q: QuantizeConfig, source: TensorSource): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeQuantizedFile(tmp, config, q, source);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
}

/**
 * `ck` (quantized) written to `path` and read back with its quantized weights left in the file: sessions
 * that bake them in read the file themselves, so JS holds them only where they are fed (int8, or nbits4 fed
 * to a training graph), loaded on first use. The file must outlive every session built from the result.
 */
export function quantizedOnDisk(ck: Checkpoint, path: string): Checkpoint {
  if (!ck.quantization || !ck.quantized?.size) throw new Error('quantizedOnDisk: the checkpoint is not quantized');
  writeAtomically(path, ck.config, ck.quantization, (name) => ck.weights.get(name)?.data ?? ck.quantized!.get(name)!);
  return { ...readQuantizedFile(path, ck.config, ck.quantization), dir: ck.dir };
}

/**
 * Seeded random weights of `config` (fastRandomTensor's, the values of randomQuantizedCheckpoint with
 * `fast`) quantized as `q` straight into the file at `path`, one tensor at a time, and read back as
 * quantizedOnDisk does: a benchmark-sized model is never whole in memory, even quantized.
 */
export function randomQuantizedOnDisk(config: ModelConfig, q: QuantizeConfig, path: string, seed = 0, initScale = 0.5): Checkpoint {
  if (q.mode === 'none') throw new Error('randomQuantizedOnDisk: mode is none');
  const index = new Map([...expectedTensors(config).keys()].map((name, k) => [name, k]));
  writeAtomically(path, config, q, (name, shape) => fastRandomTensor(name, shape, seed * 100003 + index.get(name)!, initScale));
  return readQuantizedFile(path, config, q);
}

const raw = (a: Float32Array | Int8Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** The cache file of a quantized checkpoint of `config`, each tensor made from `source` only when it is
 * written (a quantized weight's two arrays from one quantization). */
function writeQuantizedFile(path: string, config: ModelConfig, q: QuantizeConfig, source: TensorSource): void {
  if (q.mode === 'none') throw new Error('writeQuantizedFile: mode is none');
  const mode = q.mode;
  const names = quantizedTensorNames(config, q);
  const t = new Map<string, RawTensorToWrite>();
  const open = new Map<string, { w: QuantizedWeight; parts: number }>();
  const part = (name: string, shape: readonly number[], i: 0 | 1): Uint8Array => {
    let o = open.get(name);
    if (!o) {
      const s = source(name, shape);
      const w = s instanceof QuantizedWeight ? s : QuantizedWeight.quantize(mode, s, shape[0], shape[1]);
      if (w.mode !== mode || w.outFeatures !== shape[0] || w.inFeatures !== shape[1]) throw new Error(`${path}: '${name}' is ${w.mode} [${w.outFeatures}, ${w.inFeatures}], expected ${mode} [${shape.join(', ')}]`);
      o = { w, parts: 0 };
      open.set(name, o);
    }
    if (++o.parts === 2) open.delete(name);
    return raw(o.w.forwardArrays()[i]);
  };
  for (const [name, shape] of expectedTensors(config)) {
    if (!names.has(name)) {
      t.set(name, { dtype: 'F32', shape, bytes: () => raw(source(name, shape) as Float32Array) });
      continue;
    }
    const n = quantizedNames(name, { mode }).forward;
    const [out, inF] = shape, blocks = Math.ceil(inF / NBITS_BLOCK);
    if (mode === 'int8') {
      t.set(n[0], { dtype: 'I8', shape: [inF, out], bytes: () => part(name, shape, 0) });
      t.set(n[1], { dtype: 'F32', shape: [out], bytes: () => part(name, shape, 1) });
    } else {
      t.set(n[0], { dtype: 'U8', shape: [out * blocks * NBITS_BLOCK / 2], bytes: () => part(name, shape, 0) });
      t.set(n[1], { dtype: 'F32', shape: [out * blocks], bytes: () => part(name, shape, 1) });
    }
  }
  writeSafetensorsRaw(path, t, { format: FORMAT, version: String(VERSION), mode, embedding: String(q.embedding), head: String(q.head) });
}

/** Reads a cache file written by loadQuantizedCached for DIR's config: the float tensors into JS, the
 * quantized ones left in the file (QuantizedWeight.fromFile: read on first use, baked by ORT from the file). */
export function readQuantizedCache(path: string, dir: string, q: QuantizeConfig): Checkpoint {
  return { ...readQuantizedFile(path, loadConfig(dir), q), dir };
}

function readQuantizedFile(path: string, config: ModelConfig, q: QuantizeConfig): Checkpoint {
  const f = new SafetensorsFile(path);
  try {
    if (f.metadata.format !== FORMAT || f.metadata.version !== String(VERSION) || f.metadata.mode !== q.mode) {
      throw new Error(`${path}: not a version ${VERSION} ${q.mode} quantized checkpoint (metadata ${JSON.stringify(f.metadata)})`);
    }
    const weights: Weights = new Map();
    const quantized: QuantizedWeights = new Map();
    const f32 = (name: string) => { const b = f.readRaw(name); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
    const expected = expectedTensors(config);
    for (const [name, info] of f.tensors) {
      const m = /^(.*)\.(int8_qT|q4)$/.exec(name);
      if (!m) {
        if (/\.(int8_scale|q4_scales)$/.test(name)) continue;
        if (info.dtype !== 'F32') throw new Error(`${path}: tensor '${name}' is ${info.dtype}, expected F32`);
        weights.set(name, { shape: info.shape, data: f32(name) });
        continue;
      }
      const base = m[1];
      const shape = expected.get(base);
      if (!shape || shape.length !== 2) throw new Error(`${path}: quantized tensor '${base}' is not a matrix of this config`);
      const mode: QuantMode = m[2] === 'int8_qT' ? 'int8' : 'nbits4';
      if (mode !== q.mode) throw new Error(`${path}: tensor '${name}' is ${mode} in a ${q.mode} cache`);
      const dtypes = mode === 'int8' ? ['I8', 'F32'] : ['U8', 'F32'];
      const slice = (name: string, i: number) => {
        const t = f.info(name);
        const dtype = dtypes[i];
        if (t.dtype !== dtype) throw new Error(`${path}: tensor '${name}' is ${t.dtype}, expected ${dtype}`);
        return new FileSlice(path, t.begin, t.end - t.begin);
      };
      quantized.set(base, QuantizedWeight.fromFile(mode, shape[0], shape[1], quantizedNames(base, { mode }).forward.map(slice), `${path}: '${base}'`));
    }
    return { config, weights, quantized, quantization: q };
  } finally {
    f.close();
  }
}
