// The benchmark functions run and report consistent figures (tiny sizes: this checks plumbing, not speed).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { measureMatmulGflops, measureMlpStep } from '../../src/engine/index.js';

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
});
