// A disk cache of quantized checkpoints: the first load of a folder with a given quantization reads and
// quantizes it (quantized.ts) and writes one safetensors file of the result; later loads read that file
// (float tensors F32, int8 data I8, 4-bit data U8, scales F32) instead of quantizing again. The key hashes
// the checkpoint's files (names, sizes, modification times), the quantize config and the cache format, so an
// edited checkpoint or another mode gets its own file. Only forward copies are stored: int8's backward reads
// qT transposed in the graph, nbits4's dequantizes the forward copy.

import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { QuantizedWeight, quantizedNames, type Int8Forward, type NBits4Matrix, type QuantMode } from '../engine/index.js';
import { loadConfig } from './config.js';
import { loadQuantizedCheckpoint, type QuantizeConfig, type QuantizedWeights } from './quantized.js';
import { SafetensorsFile, writeSafetensorsRaw, type RawTensorToWrite } from './safetensors.js';
import { checkpointFiles, expectedTensors, type Checkpoint, type Weights } from './weights.js';
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
  const ck = loadQuantizedCheckpoint(dir, q);
  mkdirSync(cacheDir, { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeQuantizedCache(tmp, ck);
    renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  return { checkpoint: ck, path, hit: false, seconds: (performance.now() - t0) / 1000 };
}

const raw = (a: Float32Array | Int8Array | Uint8Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Writes a quantized checkpoint's tensors (float and quantized) as one safetensors file. */
export function writeQuantizedCache(path: string, ck: Checkpoint): void {
  const t = new Map<string, RawTensorToWrite>();
  for (const [name, w] of ck.weights) t.set(name, { dtype: 'F32', shape: w.shape, bytes: raw(w.data) });
  for (const [name, w] of ck.quantized ?? []) {
    const n = quantizedNames(name, w);
    if (w.mode === 'int8') {
      const f = w.forward as Int8Forward;
      t.set(n.forward[0], { dtype: 'I8', shape: [w.inFeatures, w.outFeatures], bytes: raw(f.qT) });
      t.set(n.forward[1], { dtype: 'F32', shape: [w.outFeatures], bytes: raw(f.scale) });
    } else {
      const m = w.forward as NBits4Matrix;
      t.set(n.forward[0], { dtype: 'U8', shape: [m.packed.length], bytes: m.packed });
      t.set(n.forward[1], { dtype: 'F32', shape: [m.scales.length], bytes: raw(m.scales) });
    }
  }
  const q = ck.quantization!;
  writeSafetensorsRaw(path, t, { format: FORMAT, version: String(VERSION), mode: q.mode, embedding: String(q.embedding), head: String(q.head) });
}

/** Reads a cache file written by writeQuantizedCache for DIR's config. */
export function readQuantizedCache(path: string, dir: string, q: QuantizeConfig): Checkpoint {
  const config = loadConfig(dir);
  const f = new SafetensorsFile(path);
  try {
    if (f.metadata.format !== FORMAT || f.metadata.version !== String(VERSION) || f.metadata.mode !== q.mode) {
      throw new Error(`${path}: not a version ${VERSION} ${q.mode} quantized checkpoint (metadata ${JSON.stringify(f.metadata)})`);
    }
    const weights: Weights = new Map();
    const quantized: QuantizedWeights = new Map();
    const bytes = (name: string) => f.readRaw(name);
    const f32 = (name: string) => { const b = bytes(name); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
    const seen = new Set<string>();
    for (const [name, info] of f.tensors) {
      if (seen.has(name)) continue;
      const m = /^(.*)\.(int8_qT|q4)$/.exec(name);
      if (!m) {
        if (/\.(int8_scale|q4_scales)$/.test(name)) continue;
        if (info.dtype !== 'F32') throw new Error(`${path}: tensor '${name}' is ${info.dtype}, expected F32`);
        weights.set(name, { shape: info.shape, data: f32(name) });
        continue;
      }
      const base = m[1];
      const shape = expectedTensors(config).get(base);
      if (!shape || shape.length !== 2) throw new Error(`${path}: quantized tensor '${base}' is not a matrix of this config`);
      const mode: QuantMode = m[2] === 'int8_qT' ? 'int8' : 'nbits4';
      if (mode !== q.mode) throw new Error(`${path}: tensor '${name}' is ${mode} in a ${q.mode} cache`);
      let w: QuantizedWeight;
      if (mode === 'int8') {
        const b = bytes(`${base}.int8_qT`);
        w = QuantizedWeight.fromArrays('int8', shape[0], shape[1], { qT: new Int8Array(b.buffer, b.byteOffset, b.byteLength), scale: f32(`${base}.int8_scale`) }, null, `${path}: '${base}'`);
      } else {
        const fwd: NBits4Matrix = { rows: shape[0], cols: shape[1], packed: bytes(`${base}.q4`), scales: f32(`${base}.q4_scales`) };
        w = QuantizedWeight.fromArrays('nbits4', shape[0], shape[1], fwd, null, `${path}: '${base}'`);
      }
      quantized.set(base, w);
    }
    return { config, weights, quantized, quantization: q, dir };
  } finally {
    f.close();
  }
}
