// The base model a trainer starts from: the checkpoint folder, its frozen weights quantized as the run's
// `quantize` field says (int8 / 4-bit, see src/model/quantized.ts). Sampling, old and reference log-probs and
// the LoRA updates all read this one checkpoint, so they see the same quantized base (the first PPO ratio is
// exactly 1: the kernels round each row's activations on their own, whatever batch the row is in).

import { dirname, join } from 'node:path';
import { loadQuantizedCached } from '../model/quant-cache.js';
import { parseQuantizeMode, DEFAULT_QUANTIZE, type QuantizeConfig } from '../model/quantized.js';
import { loadCheckpoint, type Checkpoint } from '../model/weights.js';
import { expect } from './config.js';

export { DEFAULT_QUANTIZE, type QuantizeConfig };

/** Checks a config's `quantize` field (`where`: the file, for the error). */
export function checkQuantizeConfig(q: QuantizeConfig, where: string, lora = true): void {
  parseQuantizeMode(q.mode, `${where}: quantize.mode`);
  expect(typeof q.embedding === 'boolean', where, 'quantize.embedding', 'a boolean', q.embedding);
  expect(typeof q.head === 'boolean', where, 'quantize.head', 'a boolean', q.head);
  expect(q.mode === 'none' || lora, where, 'quantize.mode', "'none' for full fine-tuning (a quantized base is frozen: train it with LoRA)", q.mode);
}

/** Where a run's quantized base is cached: next to the run, shared by the runs in the same parent folder. */
export function quantizedCacheDir(runDir: string): string {
  return join(dirname(runDir), '.quantized');
}

/**
 * DIR's checkpoint with the run's quantization: read from the cache next to the run (`runDir`), or quantized
 * from DIR and written there for the next run.
 */
export function loadBaseModel(dir: string, q: QuantizeConfig, runDir: string, log?: (line: string) => void): Checkpoint {
  if (q.mode === 'none') return loadCheckpoint(dir);
  const r = loadQuantizedCached(dir, q, quantizedCacheDir(runDir));
  log?.(`base model quantized ${q.mode}: ${r.hit ? 'read from' : 'written to'} ${r.path} in ${r.seconds.toFixed(1)} s`);
  return r.checkpoint;
}
