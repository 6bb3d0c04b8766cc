// Quantized frozen weights: the quantizers against their definitions, ORT's DynamicQuantizeMatMul and
// MatMulNBits (forward and backward products) against float64 products with the dequantized weights,
// and the quantizedLinear gradient rule against finite differences in float64 (reference form).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as op from '../../src/engine/ops.js';
import {
  blockedHead, checkGradients, gradients, Graph, halfCeil, linear, quantizedFeeds, quantizedGather, quantizedHeadLogProbs, quantizedLinear, quantizedTensors, QuantizedWeight, run, tokenLogProbs,
  type Feed, type QuantMode,
} from '../../src/engine/index.js';
import { rng } from './helpers.js';

function randn(r: () => number, n: number, std = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** y = x · Wᵀ in float64, x [m, k], W [n, k]. */
function matmulT(x: ArrayLike<number>, W: ArrayLike<number>, m: number, k: number, n: number): Float64Array {
  const y = new Float64Array(m * n);
  for (let i = 0; i < m; i++) for (let j = 0; j < n; j++) {
    let s = 0;
    for (let t = 0; t < k; t++) s += x[i * k + t] * W[j * k + t];
    y[i * n + j] = s;
  }
  return y;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += b[i] ** 2; }
  return Math.sqrt(num / den);
}

describe('quantizers', () => {
  it('halfCeil gives the smallest float16 value ≥ x', () => {
    assert.equal(halfCeil(1), 1);
    assert.equal(halfCeil(1 + 2 ** -11), 1 + 2 ** -10);
    assert.equal(halfCeil(3e-8), 2 ** -24); // subnormal step
    assert.equal(halfCeil(0), 0);
    assert.throws(() => halfCeil(70000), /float16/);
  });

  it('int8: per output channel, |q| ≤ 127, error ≤ half a step, backward copy is the exact transpose', () => {
    const r = rng(3);
    const out = 5, inF = 7;
    const W = randn(r, out * inF);
    W.fill(0, 2 * inF, 3 * inF); // an all-zero row
    const q = QuantizedWeight.quantize('int8', W, out, inF);
    const f = q.forward as { qT: Int8Array; scale: Float32Array };
    const Wd = q.dequantize();
    for (let o = 0; o < out; o++) {
      let m = 0;
      for (let i = 0; i < inF; i++) m = Math.max(m, Math.abs(W[o * inF + i]));
      assert.ok(f.scale[o] >= m / 127 && f.scale[o] <= (m / 127) * (1 + 2 ** -10) + 2 ** -24, `scale ${o}`);
      for (let i = 0; i < inF; i++) assert.ok(Math.abs(Wd[o * inF + i] - W[o * inF + i]) <= f.scale[o] / 2 + 1e-7);
    }
    assert.ok(f.qT.every((v) => v >= -127 && v <= 127));
    // the backward copy is q [out, in] itself: exactly the forward's weights
    const b = q.backward().q;
    for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) assert.equal(b[o * inF + i], f.qT[i * out + o]);
  });

  it('nbits4: Q4_0 blocks (d = m / −8), codes in 0..15, padding past cols, error ≤ half a step', () => {
    const r = rng(4);
    const out = 3, inF = 40; // the second block is partial (8 values)
    const W = randn(r, out * inF);
    const q = QuantizedWeight.quantize('nbits4', W, out, inF);
    const m = q.forward as { packed: Uint8Array; scales: Float32Array };
    assert.equal(m.packed.length, out * 2 * 16);
    const Wd = q.dequantize();
    for (let o = 0; o < out; o++) for (let b = 0; b < 2; b++) {
      const d = m.scales[o * 2 + b];
      let big = 0;
      for (let j = b * 32; j < Math.min(inF, b * 32 + 32); j++) if (Math.abs(W[o * inF + j]) > Math.abs(big)) big = W[o * inF + j];
      assert.ok(Math.sign(d) === -Math.sign(big) && Math.abs(d) >= Math.abs(big) / 8, 'block scale');
      for (let j = b * 32; j < Math.min(inF, b * 32 + 32); j++) assert.ok(Math.abs(Wd[o * inF + j] - W[o * inF + j]) <= Math.abs(d) / 2 + 1e-6);
    }
    // padded codes are 8 (value 0): the second block's bytes past 8 values are 0x88
    assert.ok(m.packed.subarray(16 + 4, 32).every((b) => b === 0x88));
    // no backward copy: the backward pass dequantizes this one
    assert.throws(() => q.backward(), /nbits4 weights have no backward copy/);
  });
});

async function kernelProducts(mode: QuantMode, m: number, k: number, n: number, seed: number) {
  const r = rng(seed);
  const W = randn(r, n * k, 1 / Math.sqrt(k));
  const q = QuantizedWeight.quantize(mode, W, n, k);
  const x = randn(r, m * k), dy = randn(r, m * n);
  const g = new Graph({ name: `q-${mode}`, contribOps: true });
  const X = g.input('x', 'float32', ['batch', 'seq', k]);
  const qt = quantizedTensors(g, 'w', q, 'initializers');
  const y = quantizedLinear(X, qt);
  const [dx] = gradients(y, [X], { seed: g.input('dy', 'float32', ['batch', 'seq', n]) });
  g.output('y', y); g.output('dx', dx);
  const out = await run(g, ['y', 'dx'], { x: { data: x, dims: [1, m, k] }, dy: { data: dy, dims: [1, m, n] } }, { threads: 1 });
  const Wd = q.dequantize(), Wb = Wd; // both modes' backward products compute with the forward's weights
  const WbT = new Float64Array(k * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < k; j++) WbT[j * n + i] = Wb[i * k + j];
  return {
    y: out.y.data as Float32Array, dx: out.dx.data as Float32Array, dims: out.y.dims,
    yRef: matmulT(x, Wd, m, k, n), dxRef: matmulT(dy, WbT, m, n, k), yFloat: matmulT(x, W, m, k, n),
  };
}

describe('quantized kernels against float64 products with the dequantized weights', () => {
  it('int8 (rows of x quantized, MatMulInteger u8·s8): forward x·W\'ᵀ and backward dY·W\'', async () => {
    const p = await kernelProducts('int8', 24, 96, 40, 5);
    assert.deepEqual(p.dims, [1, 24, 40]);
    const ey = relErr(p.y, p.yRef), edx = relErr(p.dx, p.dxRef);
    // only the activations' rounding remains (per row: half of max|row| / 127)
    assert.ok(ey < 0.02, `forward ${ey}`);
    assert.ok(edx < 0.02, `backward ${edx}`);
    // and the weights' own rounding is visible against the float weights, but small
    assert.ok(relErr(p.yRef, p.yFloat) < 0.02);
  });

  it('nbits4 MatMulNBits: forward and backward (layout [N, blocks, 16], zero point 8, K not a multiple of 32)', async () => {
    const p = await kernelProducts('nbits4', 16, 80, 64, 6);
    const ey = relErr(p.y, p.yRef), edx = relErr(p.dx, p.dxRef);
    assert.ok(ey < 0.02, `forward ${ey}`);
    assert.ok(edx < 0.02, `backward ${edx}`);
    assert.ok(relErr(p.yRef, p.yFloat) < 0.15);
  });

  it('weights fed as inputs: int8 gives the same products as initializers; nbits4 (an unpacked B: float compute) agrees to its rounding', async () => {
    for (const mode of ['int8', 'nbits4'] as const) {
      const r = rng(7);
      const W = randn(r, 32 * 64, 0.1);
      const q = QuantizedWeight.quantize(mode, W, 32, 64);
      const x = randn(r, 8 * 64);
      const dy = randn(r, 8 * 32);
      const outs: Float32Array[] = [], dxs: Float32Array[] = [];
      for (const as of ['initializers', 'inputs'] as const) {
        const g = new Graph({ name: `q-${as}`, contribOps: true });
        const X = g.input('x', 'float32', [8, 64]);
        const qt = quantizedTensors(g, 'w', q, as);
        const y = quantizedLinear(X, qt);
        const [dx] = gradients(y, [X], { seed: g.input('dy', 'float32', [8, 32]) });
        g.output('y', y); g.output('dx', dx);
        // a fed int8 weight's backward reads qT transposed in the graph: nothing more is fed
        if (as === 'inputs' && mode === 'int8') assert.deepEqual(g.inputs.map((t) => t.name).sort(), ['dy', 'w.int8_qT', 'w.int8_scale', 'x']);
        const feeds: Record<string, Feed> = { x, dy, ...(as === 'inputs' ? quantizedFeeds('w', q) : {}) };
        const res = await run(g, ['y', 'dx'], feeds, { threads: 1 });
        outs.push(res.y.data as Float32Array); dxs.push(res.dx.data as Float32Array);
      }
      if (mode === 'int8') {
        assert.deepEqual([...outs[1]], [...outs[0]], mode);
        assert.deepEqual([...dxs[1]], [...dxs[0]], `${mode} dx`);
      } else {
        assert.ok(relErr(outs[1], outs[0]) < 0.02, `${mode}: ${relErr(outs[1], outs[0])}`);
      }
    }
  });

  it('a row\'s products do not depend on the other rows of its batch (forward: both modes; backward: int8, and nbits4 to float rounding)', async () => {
    for (const mode of ['int8', 'nbits4'] as const) {
      const r = rng(10);
      const k = 64, n = 96, rows = 5;
      const q = QuantizedWeight.quantize(mode, randn(r, n * k, 0.1), n, k);
      const g = new Graph({ name: `q-inv-${mode}`, contribOps: true });
      const X = g.input('x', 'float32', ['batch', 'seq', k]);
      const y = quantizedLinear(X, quantizedTensors(g, 'w', q, 'initializers'));
      const [dx] = gradients(y, [X], { seed: g.input('dy', 'float32', ['batch', 'seq', n]) });
      g.output('y', y); g.output('dx', dx);
      // rows of very different magnitudes: a per-tensor scale would change with the company a row keeps
      const x = randn(r, rows * k), dy = randn(r, rows * n);
      for (let i = 0; i < k; i++) x[2 * k + i] *= 50;
      const all = await run(g, ['y', 'dx'], { x: { data: x, dims: [rows, 1, k] }, dy: { data: dy, dims: [rows, 1, n] } }, { threads: 2 });
      for (let b = 0; b < rows; b++) {
        const one = await run(g, ['y', 'dx'], { x: { data: x.slice(b * k, (b + 1) * k), dims: [1, 1, k] }, dy: { data: dy.slice(b * n, (b + 1) * n), dims: [1, 1, n] } }, { threads: 2 });
        assert.deepEqual([...(one.y.data as Float32Array)], [...(all.y.data as Float32Array).slice(b * n, (b + 1) * n)], `${mode} y row ${b}`);
        const dxOne = one.dx.data as Float32Array, dxAll = (all.dx.data as Float32Array).slice(b * k, (b + 1) * k);
        // nbits4's backward is a float MatMul on the dequantized weights, whose rounding (as float32 weights')
        // may depend on the number of rows
        if (mode === 'int8') assert.deepEqual([...dxOne], [...dxAll], `${mode} dx row ${b}`);
        else assert.ok(relErr(dxOne, dxAll) < 1e-6, `${mode} dx row ${b}: ${relErr(dxOne, dxAll)}`);
      }
    }
  });

  it('nbits4 backward of a weight wider than one dequantization block (rows in pieces): dY·W\' exactly, baked or fed', async () => {
    const r = rng(12);
    const n = 2100, k = 2048; // 4.3M weights: two pieces of at most 2^22
    const q = QuantizedWeight.quantize('nbits4', randn(r, n * k, 0.05), n, k);
    const dy = randn(r, 2 * n);
    const Wd = q.dequantize();
    const want = new Float64Array(2 * k);
    for (let b = 0; b < 2; b++) for (let o = 0; o < n; o++) { const v = dy[b * n + o]; for (let i = 0; i < k; i++) want[b * k + i] += v * Wd[o * k + i]; }
    for (const as of ['initializers', 'inputs'] as const) {
      const g = new Graph({ name: `q-wide-${as}`, contribOps: true });
      const X = g.input('x', 'float32', [2, k]);
      const [dx] = gradients(quantizedLinear(X, quantizedTensors(g, 'w', q, as)), [X], { seed: g.input('dy', 'float32', [2, n]) });
      g.output('dx', dx);
      assert.ok(g.nodes.filter((nd) => nd.op === 'MatMul' || nd.op === 'Gemm').length >= 2, 'the backward product was not split');
      const res = await run(g, ['dx'], { x: new Float32Array(2 * k), dy, ...(as === 'inputs' ? quantizedFeeds('w', q) : {}) }, { threads: 1 });
      assert.ok(relErr(res.dx.data as Float32Array, want) < 1e-6, `${as}: ${relErr(res.dx.data as Float32Array, want)}`);
    }
  });

  it('a fed nbits4 weight wider than one block: the forward in row pieces is x·W\'ᵀ (float compute)', async () => {
    const r = rng(14);
    const n = 2100, k = 2048;
    const q = QuantizedWeight.quantize('nbits4', randn(r, n * k, 0.05), n, k);
    const x = randn(r, 2 * k);
    const want = matmulT(x, q.dequantize(), 2, k, n);
    const g = new Graph({ name: 'q-wide-forward', contribOps: true });
    g.output('y', quantizedLinear(g.input('x', 'float32', [2, k]), quantizedTensors(g, 'w', q, 'inputs')));
    assert.equal(g.nodes.filter((nd) => nd.op === 'MatMulNBits').length, 2, 'the fed forward was not split');
    const res = await run(g, ['y'], { x, ...quantizedFeeds('w', q) }, { threads: 1 });
    assert.ok(relErr(res.y.data as Float32Array, want) < 1e-5, `${relErr(res.y.data as Float32Array, want)}`);
  });

  it('quantizedHeadLogProbs (vocabulary blocks, no [.., vocab] tensor) gives the head\'s log-softmax at the targets and its gradient', async () => {
    const r = rng(15);
    const V = 300, k = 64, B = 2, S = 5; // blocks of 64 rows: 5, the last one 44
    const q = QuantizedWeight.quantize('nbits4', randn(r, V * k, 0.3), V, k);
    const h = randn(r, B * S * k);
    const t = BigInt64Array.from([0, 63, 64, 127, 128, 255, 256, 299, 17, 200], BigInt); // block edges included
    const d = randn(r, B * S);
    const g = new Graph({ name: 'q-head', contribOps: true });
    const H = g.input('h', 'float32', [B, S, k]), T = g.input('t', 'int64', [B, S]), D = g.input('d', 'float32', [B, S]);
    const w = quantizedTensors(g, 'w', q, 'inputs');
    assert.equal(blockedHead(w), false, 'one default block holds 65,536 rows of 64');
    const from = g.nodes.length;
    const blocked = quantizedHeadLogProbs(H, w, T, { rows: 64 });
    g.output('blocked', blocked);
    g.output('d_blocked', gradients(blocked, [H], { seed: D })[0]);
    const wide = g.nodes.slice(from).filter((nd) => nd.outputs.some((o) => o.shape.at(-1) === V));
    assert.deepEqual(wide.map((nd) => nd.op), [], 'vocabulary-wide tensors in the blocked form');
    const ref = tokenLogProbs(quantizedLinear(H, w), T);
    g.output('ref', ref);
    g.output('d_ref', gradients(ref, [H], { seed: D })[0]);
    const res = await run(g, ['ref', 'blocked', 'd_ref', 'd_blocked'], { h, t, d, ...quantizedFeeds('w', q) }, { threads: 1 });
    const [a, b] = [res.ref.data as Float32Array, res.blocked.data as Float32Array];
    assert.ok(relErr(b, Float64Array.from(a)) < 1e-5, `log-probs ${relErr(b, Float64Array.from(a))}`);
    const [da, db] = [res.d_ref.data as Float32Array, res.d_blocked.data as Float32Array];
    assert.ok(relErr(db, Float64Array.from(da)) < 1e-5, `gradient ${relErr(db, Float64Array.from(da))}`);
    assert.throws(() => quantizedHeadLogProbs(H, quantizedTensors(g, 'w2', q, 'initializers'), T, { rows: 64 }), /not a fed 4-bit weight wider than one block/);
  });

  it('quantizedGather gives the dequantized rows', async () => {
    for (const mode of ['int8', 'nbits4'] as const) {
      const r = rng(8);
      const W = randn(r, 10 * 48);
      const q = QuantizedWeight.quantize(mode, W, 10, 48);
      for (const as of ['initializers', 'inputs'] as const) {
        const g = new Graph({ name: 'qg', contribOps: true });
        const ids = g.input('ids', 'int64', ['batch', 'seq']);
        g.output('rows', quantizedGather(quantizedTensors(g, 'e', q, as), ids));
        const idx = [3, 0, 9, 3];
        const feeds: Record<string, Feed> = { ids: { data: BigInt64Array.from(idx, BigInt), dims: [2, 2] }, ...(as === 'inputs' ? quantizedFeeds('e', q) : {}) };
        const out = (await run(g, ['rows'], feeds)).rows;
        assert.deepEqual(out.dims, [2, 2, 48]);
        const Wd = q.dequantize();
        const want = idx.flatMap((t) => [...Wd.subarray(t * 48, (t + 1) * 48)]);
        assert.deepEqual([...(out.data as Float32Array)], want, `${mode} ${as}`);
      }
    }
  });
});

describe('quantizedLinear gradient rule (float64 reference form)', () => {
  for (const mode of ['int8', 'nbits4'] as const) {
    it(`${mode}: d loss / d x and d loss / d (LoRA A, B) through the frozen quantized weight against finite differences`, async () => {
      const r = rng(9);
      const k = 64, n = 32, rank = 4;
      const q = QuantizedWeight.quantize(mode, randn(r, n * k, 0.2), n, k);
      const g = new Graph({ name: `qgrad-${mode}` });
      const x = g.input('x', 'float64', [2, 3, k]);
      const A = g.input('A', 'float64', [rank, k]);
      const B = g.input('B', 'float64', [n, rank]);
      const h = op.add(quantizedLinear(x, quantizedTensors(g, 'w', q, 'initializers')), op.matmul(linear(x, A), B, { transB: true, alpha: 2 }));
      const y = quantizedLinear(op.tanh(h), quantizedTensors(g, 'w2', QuantizedWeight.quantize(mode, randn(r, k * n, 0.2), k, n), 'initializers'));
      const loss = op.sum(op.mul(y, y));
      const f64 = (n0: number) => Float64Array.from(randn(r, n0, 0.5));
      const res = await checkGradients(g, loss, [x, A, B], { x: { data: f64(2 * 3 * k), dims: [2, 3, k] }, A: f64(rank * k), B: f64(n * rank) });
      // both modes' backward products compute with the forward's weights: the exact gradient
      const tol = 1e-6;
      for (const t of res.tensors) assert.ok(t.relErr < tol, `${t.name}: ${t.relErr}`);
      if (mode === 'int8') assert.ok(res.worstRelErr < 1e-6);
    });
  }

  it('asking for a gradient of the quantized weight is an error', () => {
    const g = new Graph({ name: 'qfrozen' });
    const x = g.input('x', 'float64', [2, 32]);
    const s = g.input('s', 'float32', [4]);
    const q = QuantizedWeight.quantize('int8', new Float32Array(4 * 32).fill(0.5), 4, 32);
    const qt = quantizedTensors(g, 'w', q, 'initializers');
    const fake = { ...qt, forward: [qt.forward[0], s] };
    const y = quantizedLinear(x, fake);
    assert.throws(() => gradients(op.sum(y), [s]), /float64|no gradient|cannot differentiate/);
  });
});
