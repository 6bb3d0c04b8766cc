import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdamW } from '../../src/engine/index.js';
import { LoraAdapter } from '../../src/model/lora.js';
import { tinyConfig } from '../../src/model/weights.js';
import { restoreCheckpoint, saveCheckpoint, type LogLines, type PolicyState } from '../../src/train/checkpoint.js';
import { RunFolder, SAMPLES_FILE } from '../../src/train/run.js';

describe('RL checkpoints', () => {
  const model = tinyConfig();
  const policy = (): PolicyState => {
    const adapter = LoraAdapter.init(model, { r: 2 }, 1);
    const params = [...adapter.pairs.values()].flatMap((p) => [{ name: `${p.path}.A`, data: p.A }, { name: `${p.path}.B`, data: p.B }]);
    return { adapter, adam: new AdamW(params, { lr: 1e-3 }), baseModel: 'tiny' };
  };
  const log = (step: number): LogLines => ({ metrics: { step, reward_mean: step / 10 }, samples: Array.from({ length: 8 }, (_, i) => ({ step, i })) });
  const write = (folder: RunFolder, step: number) => { folder.appendMetrics(log(step).metrics); folder.appendSamples(log(step).samples); };

  it('a resume rewrites the checkpointed step\'s lines, whatever a kill after the checkpoint left of them', () => {
    const uninterrupted = (() => {
      const folder = RunFolder.create(mkdtempSync(join(tmpdir(), 'securecoderl-ckpt-a-')), { trainer: 'grpo', run_name: 'ckpt' });
      for (const step of [1, 2]) write(folder, step);
      return folder;
    })();
    // Killed after checkpoint 2 at three moments: before its lines, after its metrics line and one sample,
    // after a line of step 3 (its checkpoint not written).
    for (const cut of ['none', 'partial', 'next'] as const) {
      const folder = RunFolder.create(mkdtempSync(join(tmpdir(), 'securecoderl-ckpt-b-')), { trainer: 'grpo', run_name: 'ckpt' });
      write(folder, 1);
      saveCheckpoint(folder, 1, policy(), {}, log(1), 2);
      saveCheckpoint(folder, 2, policy(), {}, log(2), 2);
      if (cut !== 'none') { folder.appendMetrics(log(2).metrics); folder.appendSamples(log(2).samples.slice(0, 1)); }
      if (cut === 'next') { folder.appendSamples(log(2).samples.slice(1)); folder.appendMetrics(log(3).metrics); }
      const state = restoreCheckpoint(folder, policy(), model);
      assert.equal(state?.step, 2);
      for (const file of ['metrics.jsonl', SAMPLES_FILE]) {
        assert.equal(readFileSync(join(folder.dir, file), 'utf8'), readFileSync(join(uninterrupted.dir, file), 'utf8'), `${cut}: ${file}`);
      }
    }
  });

  it('a half-written last line is dropped before the step\'s lines are written again', () => {
    const folder = RunFolder.create(mkdtempSync(join(tmpdir(), 'securecoderl-ckpt-c-')), { trainer: 'grpo', run_name: 'ckpt' });
    write(folder, 1);
    saveCheckpoint(folder, 1, policy(), {}, log(1), 2);
    writeFileSync(join(folder.dir, SAMPLES_FILE), `${readFileSync(join(folder.dir, SAMPLES_FILE), 'utf8')}{"step": 2, "i`);
    restoreCheckpoint(folder, policy(), model);
    const samples = readFileSync(join(folder.dir, SAMPLES_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(samples, log(1).samples);
  });
});
