// Trainers over a quantized base (int8 and 4-bit frozen weights): the first PPO ratio is exactly 1 however
// rows are regrouped, and KL is 0 against an identical reference; a PPO run and an SFT (LoRA) run take the
// `quantize` option; full fine-tuning of a quantized base is refused with the field named.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { loadQuantizedCheckpoint } from '../../src/model/quantized.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo } from '../../src/train/ppo.js';
import { DEFAULT_SFT_CONFIG, parseSftConfig, sft } from '../../src/train/sft.js';
import { checkFirstRatioIsOne, SMALL_DATA, tinyModelDir } from './fixtures.js';

let modelDir = '';

describe('trainers over a quantized base', () => {
  before(() => { modelDir = tinyModelDir({ hidden: 64 }); });

  for (const mode of ['int8', 'nbits4'] as const) {
    it(`${mode}: the first PPO ratio is exactly 1 for any regrouping of the rows; KL 0 against an identical reference`, async () => {
      const ck = loadQuantizedCheckpoint(modelDir, { mode, embedding: true, head: true });
      assert.ok(ck.quantized!.size > 0);
      await checkFirstRatioIsOne(ck, { targetModules: ['q_proj', 'v_proj', 'gate_proj', 'down_proj'], baseWeights: 'inputs', threads: 2 });
    });
  }

  it('a PPO run with quantize int8 trains, records the option and caches the quantized base next to the run', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'securecoderl-ppo-q-')), 'run');
    const config = parsePpoConfig({
      ...DEFAULT_PPO_CONFIG, model: modelDir, data: SMALL_DATA, episodes: 4, batchSize: 4, miniBatchSize: 2, ppoEpochs: 1, lr: 1e-2,
      maxPromptTokens: 4000, sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 8 },
      lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }, saveEvery: 1, threads: 2, quantize: { mode: 'int8', embedding: false, head: false },
    }, 'test config');
    const r = await ppo({ config, outDir: out }, { quiet: true });
    assert.equal(r.steps, 1);
    const saved = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual(saved.quantize, { mode: 'int8', embedding: false, head: false });
    const m = JSON.parse(readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n')[0]);
    assert.ok(Number.isFinite(m.policy_loss) && Number.isFinite(m.kl));
    const cached = readdirSync(join(out, '..', '.quantized'));
    assert.equal(cached.length, 1);
    assert.match(cached[0], /^int8-[0-9a-f]{16}\.safetensors$/);
  });

  it('LoRA SFT over an nbits4 base lowers the training loss; full fine-tuning of a quantized base is refused', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-sft-q-'));
    const base = { ...DEFAULT_SFT_CONFIG, model: modelDir, data: SMALL_DATA, epochs: 3, lr: 1e-2, batchSize: 4, maxSeqLen: 2048, evalEvery: 100, valFraction: 0, threads: 2 };
    const r = await sft(parseSftConfig({ ...base, quantize: { mode: 'nbits4', embedding: false, head: false } }, 'test'), { outDir: out, quiet: true });
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)).filter((x) => typeof x.loss === 'number');
    assert.ok(metrics.at(-1).loss < metrics[0].loss, `loss ${metrics[0].loss} → ${metrics.at(-1).loss}`);
    assert.ok(r.finalDir);
    assert.throws(() => parseSftConfig({ ...base, mode: 'full', quantize: { mode: 'int8', embedding: false, head: false } }, 'cfg.json'), /cfg\.json: quantize\.mode: expected 'none' for full fine-tuning/);
    assert.throws(() => parsePpoConfig({ ...DEFAULT_PPO_CONFIG, model: modelDir, quantize: { mode: 'int4', embedding: false, head: false } }, 'cfg.json'), /cfg\.json: quantize\.mode: expected one of none, int8, nbits4/);
  });
});
