// A trainer run with `recompute` (activation recomputation) follows the run without it: LoRA SFT with
// in-graph dropout, whose masks the rebuilt blocks must draw again as the forward drew them.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { DEFAULT_SFT_CONFIG, parseSftConfig, sft } from '../../src/train/sft.js';
import { SMALL_DATA, tinyModelDir } from './fixtures.js';

let modelDir = '';

describe('trainers with recompute', () => {
  before(() => { modelDir = tinyModelDir({ hidden: 64 }); });

  it('LoRA SFT with dropout: the same losses step by step, and the option recorded', async () => {
    const losses: number[][] = [];
    for (const recompute of [false, true]) {
      const out = mkdtempSync(join(tmpdir(), 'securecoderl-sft-rc-'));
      const config = parseSftConfig({
        ...DEFAULT_SFT_CONFIG, model: modelDir, data: SMALL_DATA, epochs: 2, lr: 1e-2, batchSize: 4, gradAccum: 1, maxSeqLen: 2048,
        evalEvery: 100, valFraction: 0, threads: 1, recompute, lora: { ...DEFAULT_SFT_CONFIG.lora, dropout: 0.2 },
      }, 'test');
      await sft(config, { outDir: out, quiet: true });
      assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).recompute, recompute);
      losses.push(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((m) => typeof m.loss === 'number').map((m) => m.loss as number));
    }
    assert.ok(losses[0].length >= 4, `${losses[0].length} steps`);
    assert.equal(losses[1].length, losses[0].length);
    losses[0].forEach((l, i) => assert.ok(Math.abs(losses[1][i] - l) <= 1e-5 * Math.abs(l), `step ${i}: ${l} without, ${losses[1][i]} with recompute`));
  });
});
