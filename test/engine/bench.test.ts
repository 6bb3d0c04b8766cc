// The benchmark functions run and report consistent figures (tiny sizes: this checks plumbing, not speed).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DecoderTrainBench, measureMatmulGflops, measureMlpStep } from '../../src/engine/index.js';
import { benchEngine } from '../../src/bench/engine.js';
import { ModelTrainBench } from '../../src/bench/model-train.js';
import { parameterCount } from '../../src/model/config.js';
import { tinyModel } from '../../src/model/weights.js';

describe('engine benchmarks', () => {
  it('measureMatmulGflops counts 2n³ per MatMul in the chain', async () => {
    const r = await measureMatmulGflops({ n: 128, chain: 3, iters: 2, warmup: 1 });
    assert.equal(r.flopsPerRun, 2 * 128 ** 3 * 3);
    assert.ok(r.gflops > 0 && Number.isFinite(r.gflops));
    assert.ok(Math.abs(r.gflops - r.flopsPerRun / (r.msPerRun * 1e6)) < 1e-9);
    const c = await measureMatmulGflops({ n: 64, chain: 1, returnOutput: true, weights: 'initializers', iters: 2, warmup: 1 });
    assert.equal(c.weights, 'initializers');
  });
  it('measureMlpStep reports a forward+backward step and the optimizer time', async () => {
    const r = await measureMlpStep({ rows: 64, dim: 32, hidden: 64, iters: 2, warmup: 1 });
    assert.equal(r.params, 2 * 32 * 64);
    assert.ok(r.msPerStep > 0 && r.msOptimizer > 0 && r.gflopsWithOptimizer < r.gflops);
  });
  it('DecoderTrainBench steps a tiny decoder (every variant) and counts its FLOPs', async () => {
    const cfg = { layers: 1, dim: 16, heads: 2, ffn: 24, vocab: 32, batch: 2, seq: 8 };
    const losses: number[] = [];
    for (const v of [{}, { normKernel: false, rotary: false, headLoss: false }, { causalBlocks: 3 }, { unfusedAttention: true, contribOps: false }]) {
      const b = await DecoderTrainBench.create(cfg, v, { threads: 1 });
      const t = await b.step();
      losses.push(t.loss);
      assert.ok(t.fwdBwdMs > 0 && t.optimizerMs >= 0 && Number.isFinite(t.loss));
      assert.equal(b.params, 2 * 32 * 16 + 3 * 16 + 4 * 16 * 16 + 3 * 24 * 16);
      assert.equal(b.modelFlops, 6 * b.params * 16);
      await b.release();
    }
    // The same model and data: every variant starts from the same loss.
    for (const l of losses) assert.ok(Math.abs(l - losses[0]) < 1e-4, `${l} vs ${losses[0]}`);
  });
  it('ModelTrainBench steps the trainers\' graph and counts 6 × params (full) or 4 × base + 6 × adapter (LoRA) per token', async () => {
    const ck = tinyModel({ numLayers: 1, seed: 1 });
    const before = ck.weights.get('model.layers.0.mlp.up_proj.weight')!.data.slice();
    const base = parameterCount(ck.config), tokens = 2 * 8;
    const full = ModelTrainBench.create(ck, { batch: 2, seq: 8, session: { threads: 1 } });
    assert.equal(full.modelFlops, 6 * base * tokens);
    assert.equal(full.trainableParams, base);
    const a = await full.step(), b = await full.step();
    assert.ok(a.totalMs > 0 && b.loss < a.loss, `loss ${a.loss} → ${b.loss}`);
    assert.deepEqual(ck.weights.get('model.layers.0.mlp.up_proj.weight')!.data, before, 'the checkpoint is not trained in place');
    await full.release();
    // r 2 on q, k, v, o: r × (in + out) each, k and v with 2 of 4 heads (64 → 32).
    const lora = ModelTrainBench.create(ck, { batch: 2, seq: 8, lora: { r: 2 }, session: { threads: 1 } });
    assert.equal(lora.trainableParams, 2 * (128 + 96 + 96 + 128));
    assert.equal(lora.modelFlops, (4 * base + 6 * lora.trainableParams) * tokens);
    assert.ok(Number.isFinite((await lora.step()).loss));
    await lora.release();
  });
  it('benchEngine --quick reports every figure the issue asks for', async () => {
    const r = await benchEngine({ quick: true, threads: 1 });
    for (const k of ['matmul_gflops', 'train_tokens_per_s', 'train_utilization', 'sampling_tokens_per_s_batch1', 'sampling_tokens_per_s_batch16',
      'decode_ms_per_token_ctx128', 'decode_ms_per_token_ctx1024', 'model_train_step_ms', 'model_train_tokens_per_s', 'model_train_utilization',
      'model_lora_train_step_ms', 'model_lora_train_tokens_per_s', 'model_lora_train_utilization'] as const) {
      assert.ok(typeof r[k] === 'number' && r[k] > 0 && Number.isFinite(r[k]), `${k}: ${r[k]}`);
    }
    assert.equal(r.deepseek_1_3b, null);
    assert.match(r.deepseek_1_3b_skipped ?? '', /quick/);
  });
});
