// Bit-identical results with several intra-op threads: an embedding's gradient (the Gather gradient) is the
// float32 sum of its rows' updates in index order, in every run. Its first form, ScatterND with reduction
// 'add', split the rows over ORT's threads, which added to shared rows unsynchronised: with 2 threads almost
// every run of this graph gave other sums, some with updates lost (docs/train.md, Reproducibility).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gradients, Graph, run } from '../../src/engine/index.js';
import * as op from '../../src/engine/ops.js';
import { rng } from './helpers.js';

describe('determinism with 2 intra-op threads', () => {
  it("an embedding's gradient is the in-order float32 sum of its rows' updates, in every run", async () => {
    // Enough ids that ORT splits the work over its threads (it runs ~1,000 rows of 128 on one), drawn so
    // that a few rows take most of them (as frequent tokens do).
    const V = 1024, D = 128, N = 6144;
    const g = new Graph();
    const E = g.input('E', 'float32', [V, D]);
    const ids = g.input('ids', 'int64', [N]);
    const w = g.input('w', 'float32', [N, D]);
    const [dE] = gradients(op.sum(op.mul(op.gather(E, ids, 0), w)), [E]);
    g.output('dE', dE);
    const r = rng(3);
    const idv = BigInt64Array.from({ length: N }, () => BigInt(Math.floor(r() * r() * V)));
    const wv = Float32Array.from({ length: N * D }, () => 2 * r() - 1);
    // d(sum(E[ids] · w))/dE: row ids[n] gets w[n], added in order n = 0, 1, … in float32.
    const expected = new Float32Array(V * D);
    for (let n = 0; n < N; n++) {
      const row = Number(idv[n]);
      for (let j = 0; j < D; j++) expected[row * D + j] = Math.fround(expected[row * D + j] + wv[n * D + j]);
    }
    for (let k = 0; k < 64; k++) {
      const out = (await run(g, ['dE'], { E: new Float32Array(V * D), ids: idv, w: wv }, { threads: 2 })).dE.data as Float32Array;
      const bad = out.findIndex((x, i) => x !== expected[i]);
      assert.equal(bad, -1, `run ${k}: element ${bad} is ${out[bad]}, the in-order sum ${expected[bad]}`);
    }
  });
});
