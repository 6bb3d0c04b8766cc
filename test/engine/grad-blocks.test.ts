// Whole-graph gradient checks: an MLP and a Llama-style decoder block (embedding, RMSNorm, RoPE,
// grouped-query causal attention, SwiGLU, tied LM head, cross-entropy), float64 against finite
// differences; then the same block in float32 with contrib ops and full ORT optimisation against it.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  Graph, attention, checkGradients, compile, crossEntropy, gradients, headTokenLogProbs, linear, rmsNorm, rope, rotary, swiglu,
  type DType, type Feed, type Tensor, type TypedArray,
} from '../../src/engine/index.js';
import * as op from '../../src/engine/ops.js';
import { rng, uniform } from './helpers.js';

describe('MLP', () => {
  it('gradients of all weights match finite differences', async () => {
    const g = new Graph({ name: 'mlp' });
    const x = g.input('x', 'float64', ['batch', 6]);
    const t = g.input('t', 'int64', ['batch']);
    const W1 = g.input('W1', 'float64', [6, 10]), b1 = g.input('b1', 'float64', [10]);
    const W2 = g.input('W2', 'float64', [4, 10]), b2 = g.input('b2', 'float64', [4]);
    const loss = crossEntropy(linear(op.tanh(op.add(op.matmul(x, W1), b1)), W2, b2), t);
    const r = rng(7);
    const feeds: Record<string, Feed> = {
      x: { data: uniform(r, 5 * 6), dims: [5, 6] }, t: { data: BigInt64Array.from([0, 3, 1, 1, 2].map(BigInt)), dims: [5] },
      W1: uniform(r, 60), b1: uniform(r, 10), W2: uniform(r, 40), b2: uniform(r, 4),
    };
    const res = await checkGradients(g, loss, [W1, b1, W2, b2], feeds);
    for (const c of res.tensors) assert.ok(c.relErr < 1e-7, `${c.name}: ${c.relErr}`);
  });
});

// ---- a tiny Llama-style block ----------------------------------------------------------------------

const V = 7, D = 8, H = 2, KV = 1, DH = 4, FF = 12, B = 2, S = 3;
const weightShapes: Record<string, number[]> = {
  E: [V, D], n1: [D], Wq: [H * DH, D], Wk: [KV * DH, D], Wv: [KV * DH, D], Wo: [D, H * DH],
  n2: [D], Wg: [FF, D], Wu: [FF, D], Wd: [D, FF], nf: [D],
};


/**
 * `fast`: the training graph's faster forms — RoPE by `rotary` (positions and half-width tables), attention in
 * causal blocks, the tied head and loss by `headTokenLogProbs` — which must compute the same as the others.
 */
function buildBlock(dtype: DType, contribOps: boolean, fast = false): { g: Graph; loss: Tensor; weights: Tensor[] } {
  const g = new Graph({ name: `block-${dtype}${fast ? '-fast' : ''}`, contribOps });
  const ids = g.input('ids', 'int64', ['batch', 'seq']);
  const targets = g.input('targets', 'int64', ['batch', 'seq']);
  const cos = g.input('cos', dtype, ['seq', DH]), sin = g.input('sin', dtype, ['seq', DH]);
  const mask = g.input('mask', dtype, ['seq', 'seq']); // 0 on and below the diagonal, −1e9 above
  const w: Record<string, Tensor> = {};
  for (const [name, shape] of Object.entries(weightShapes)) w[name] = g.input(name, dtype, shape);

  const x = op.gather(w.E, ids, 0); // [b, s, D]
  const h = rmsNorm(x, w.n1, 1e-6);
  const heads = (t: Tensor, n: number) => op.transpose(op.reshape(t, ['batch', 'seq', n, DH]), [0, 2, 1, 3]);
  const positions = g.input('positions', 'int64', ['batch', 'seq']);
  const cosH = g.input('cos_h', dtype, [S, DH / 2]), sinH = g.input('sin_h', dtype, [S, DH / 2]);
  const rot = (t: Tensor) => (fast ? rotary(t, positions, cosH, sinH) : rope(t, cos, sin));
  const q = rot(heads(linear(h, w.Wq), H)); // [b, H, s, DH]
  const k = rot(heads(linear(h, w.Wk), KV)); // [b, KV, s, DH]
  const v = heads(linear(h, w.Wv), KV);
  // Grouped-query attention: query heads [b, KV, H/KV, s, DH] against shared k, v [b, KV, 1, s, DH].
  const q5 = op.reshape(q, ['batch', KV, H / KV, 'seq', DH]);
  const k5 = op.unsqueeze(k, [2]), v5 = op.unsqueeze(v, [2]);
  const o = attention(q5, k5, v5, { mask, causalBlocks: fast ? 2 : 1 }); // [b, KV, H/KV, s, DH]
  const o2 = op.reshape(op.transpose(op.reshape(o, ['batch', H, 'seq', DH]), [0, 2, 1, 3]), ['batch', 'seq', H * DH]);
  const x1 = op.add(x, linear(o2, w.Wo));
  const h2 = rmsNorm(x1, w.n2, 1e-6);
  const x2 = op.add(x1, linear(swiglu(linear(h2, w.Wg), linear(h2, w.Wu)), w.Wd));
  const hf = rmsNorm(x2, w.nf, 1e-6);
  const loss = fast ? op.neg(op.mean(headTokenLogProbs(hf, w.E, targets))) : crossEntropy(linear(hf, w.E), targets); // tied embeddings
  return { g, loss, weights: Object.values(w) };
}

function blockFeeds(dtype: DType): Record<string, Feed> {
  const r = rng(11);
  const F = (a: Float64Array): TypedArray => (dtype === 'float64' ? a : Float32Array.from(a));
  const feeds: Record<string, Feed> = {
    ids: { data: BigInt64Array.from([1, 5, 5, 0, 6, 2].map(BigInt)), dims: [B, S] },
    targets: { data: BigInt64Array.from([5, 5, 3, 6, 2, 4].map(BigInt)), dims: [B, S] },
  };
  const cos = new Float64Array(S * DH), sin = new Float64Array(S * DH), mask = new Float64Array(S * S);
  for (let p = 0; p < S; p++) {
    for (let i = 0; i < DH; i++) {
      const ang = p / 10000 ** ((2 * (i % (DH / 2))) / DH);
      cos[p * DH + i] = Math.cos(ang); sin[p * DH + i] = Math.sin(ang);
    }
    for (let j = 0; j < S; j++) mask[p * S + j] = j > p ? -1e9 : 0;
  }
  feeds.cos = { data: F(cos), dims: [S, DH] }; feeds.sin = { data: F(sin), dims: [S, DH] };
  feeds.mask = { data: F(mask), dims: [S, S] };
  const cosH = new Float64Array(S * DH / 2), sinH = new Float64Array(S * DH / 2);
  for (let p = 0; p < S; p++) for (let i = 0; i < DH / 2; i++) { cosH[p * DH / 2 + i] = cos[p * DH + i]; sinH[p * DH / 2 + i] = sin[p * DH + i]; }
  feeds.cos_h = F(cosH); feeds.sin_h = F(sinH);
  feeds.positions = { data: BigInt64Array.from([0, 1, 2, 0, 1, 2].map(BigInt)), dims: [B, S] };
  for (const [name, shape] of Object.entries(weightShapes)) {
    const n = shape.reduce((p, d) => p * d, 1);
    feeds[name] = F(name.startsWith('n') ? uniform(r, n, 0.5, 1.5) : uniform(r, n, -0.5, 0.5));
  }
  return feeds;
}

describe('decoder block', () => {
  it('every weight gradient matches finite differences (float64)', async () => {
    const { g, loss, weights } = buildBlock('float64', false);
    const res = await checkGradients(g, loss, weights, blockFeeds('float64'));
    for (const c of res.tensors) assert.ok(c.relErr < 1e-6, `${c.name}: relative error ${c.relErr}`);
    if (process.env.ENGINE_VERBOSE) console.log(res.tensors);
    assert.ok(res.worstRelErr < 1e-6);
  });

  it('the fast forms (rotary, causal blocks, head + log-probs region) in float64: finite differences', async () => {
    const { g, loss, weights } = buildBlock('float64', false, true);
    const res = await checkGradients(g, loss, weights, blockFeeds('float64'));
    for (const c of res.tensors) assert.ok(c.relErr < 1e-6, `${c.name}: relative error ${c.relErr}`);
  });

  for (const fast of [false, true]) it(`float32 with contrib ops and full optimisation agrees with float64${fast ? ' (fast forms in float32: RotaryEmbedding kernel, causal blocks, head region)' : ''}`, async () => {
    const ref = buildBlock('float64', false), f32 = buildBlock('float32', true, fast);
    const outs = (b: typeof ref) => {
      const grads = gradients(b.loss, b.weights);
      b.g.output('loss', b.loss);
      grads.forEach((t, i) => b.g.output(`grad:${b.weights[i].name}`, t));
      return ['loss', ...b.weights.map((t) => `grad:${t.name}`)];
    };
    const names = outs(ref); outs(f32);
    assert.ok(f32.g.nodes.some((n) => n.op === 'FusedMatMul'), 'float32 graph should use FusedMatMul');
    assert.equal(f32.g.nodes.some((n) => n.op === 'RotaryEmbedding'), fast);
    const a = await (await compile(ref.g, names, { optimization: 'basic', denormalAsZero: false, valueInfo: true })).run(blockFeeds('float64'));
    const b = await (await compile(f32.g, names, { optimization: 'all', valueInfo: true })).run(blockFeeds('float32'));
    for (const name of names) {
      const x = a[name].data as Float64Array, y = b[name].data as Float32Array;
      let err = 0, scale = 0;
      for (let i = 0; i < x.length; i++) { err = Math.max(err, Math.abs(x[i] - y[i])); scale = Math.max(scale, Math.abs(x[i])); }
      assert.ok(err <= 1e-4 * scale, `${name}: max error ${err} vs scale ${scale}`);
    }
  });
});
