// Two runs of the same full fine-tuning SFT config, in one process, with 2 ONNX Runtime threads, write
// byte-identical metrics and weights. Full fine-tuning trains the embedding, whose gradient was a
// ScatterND-add whose threads raced: such runs drifted apart after a few steps (docs/train.md,
// Reproducibility). Micro-batches of several thousand tokens at hidden size 64 are past the size ORT splits over its
// threads.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DEFAULT_SFT_CONFIG, parseSftConfig, sft } from '../../src/train/sft.js';
import { SMALL_DATA, tinyModelDir } from './fixtures.js';

let modelDir = '';

async function run(): Promise<{ metrics: string; weights: Buffer }> {
  const out = mkdtempSync(join(tmpdir(), 'securecoderl-det-sft-'));
  const cfg = parseSftConfig({
    ...DEFAULT_SFT_CONFIG, model: modelDir, data: { ...SMALL_DATA, trainSize: 150 }, mode: 'full', epochs: 1, lr: 1e-3, batchSize: 16,
    gradAccum: 1, maxSeqLen: 1024, evalEvery: 4, valFraction: 0.1, maxSteps: 8, threads: 2,
  }, 'test config');
  await sft(cfg, { outDir: out, quiet: true });
  return { metrics: readFileSync(join(out, 'metrics.jsonl'), 'utf8'), weights: readFileSync(join(out, 'final', 'model.safetensors')) };
}

describe('reproducibility', () => {
  before(() => { modelDir = tinyModelDir({ hidden: 64 }); });

  it('two full fine-tuning SFT runs with 2 threads write byte-identical metrics and weights', async () => {
    const a = await run(), b = await run();
    assert.equal(b.metrics, a.metrics);
    assert.ok(b.weights.equals(a.weights), 'final/model.safetensors differs between the runs');
  });
});
