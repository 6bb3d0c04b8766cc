// Every differentiable op's gradient against central finite differences, in float64, on real ONNX Runtime.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as op from '../../src/engine/ops.js';
import {
  Graph, attention, attentionUnfused, clamp, headTokenLogProbs, linear, rope, rotary, swiglu, crossEntropy, defineGrad, entropy, gradients, maximum, minimum, rmsNorm, run, silu, tokenLogProbs,
  tokenLogProbsUnfused, withCustomGradient, type Tensor,
} from '../../src/engine/index.js';
import { checkOp } from './helpers.js';

const pos = { lo: 0.5, hi: 2 };

describe('elementwise gradients', () => {
  it('Add with broadcasting', async () => {
    await checkOp('add', [{ name: 'a', shape: [2, 3, 4] }, { name: 'b', shape: [4] }], ([a, b]) => op.add(a, b));
    await checkOp('add2', [{ name: 'a', shape: [3, 1] }, { name: 'b', shape: [2, 1, 4] }], ([a, b]) => op.add(a, b));
  });
  it('Sub, Mul, Div with broadcasting', async () => {
    await checkOp('sub', [{ name: 'a', shape: [3, 1] }, { name: 'b', shape: [1, 4] }], ([a, b]) => op.sub(a, b));
    await checkOp('mul', [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }], ([a, b]) => op.mul(a, b));
    await checkOp('div', [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [3], ...pos }], ([a, b]) => op.div(a, b));
    await checkOp('rsub', [{ name: 'a', shape: [5] }], ([a]) => op.sub(1, op.mul(a, 3)));
  });
  it('Pow with constant and tensor exponents', async () => {
    await checkOp('pow2', [{ name: 'a', shape: [2, 3] }], ([a]) => op.pow(a, 2));
    await checkOp('pow3', [{ name: 'a', shape: [2, 3], ...pos }], ([a]) => op.pow(a, -1.5));
    await checkOp('powt', [{ name: 'a', shape: [2, 3], ...pos }, { name: 'b', shape: [3] }], ([a, b]) => op.pow(a, b));
  });
  it('unary ops', async () => {
    const cases: [string, (x: op.Operand & object) => ReturnType<typeof op.neg>, boolean][] = [
      ['neg', op.neg, false], ['exp', op.exp, false], ['log', op.log, true], ['sqrt', op.sqrt, true],
      ['reciprocal', op.reciprocal, true], ['sigmoid', op.sigmoid, false], ['tanh', op.tanh, false],
      ['relu', op.relu, false], ['identity', op.identity, false],
    ];
    for (const [name, f, positive] of cases) {
      await checkOp(name, [{ name: 'x', shape: [3, 4], ...(positive ? pos : {}) }], ([x]) => f(x));
    }
  });
  it('Cast through float32 (loose: float32 rounding)', async () => {
    await checkOp('cast', [{ name: 'x', shape: [6] }], ([x]) => op.cast(op.mul(op.cast(x, 'float32'), 1), 'float64'), { eps: 1e-3, tol: 1e-3 });
  });
  it('Where picks gradients per element and broadcasts', async () => {
    await checkOp('where', [{ name: 'c', shape: [2, 3], noGrad: true }, { name: 'a', shape: [2, 3] }, { name: 'b', shape: [3] }],
      ([c, a, b]) => op.where(op.greater(c, 0), a, b));
  });
});

describe('reduction and normaliser gradients', () => {
  it('ReduceSum over some, kept and all axes', async () => {
    await checkOp('sum1', [{ name: 'x', shape: [2, 3, 4] }], ([x]) => op.sum(x, [1]));
    await checkOp('sum02k', [{ name: 'x', shape: [2, 3, 4] }], ([x]) => op.sum(x, [0, 2], true));
    await checkOp('sumall', [{ name: 'x', shape: [2, 3] }], ([x]) => op.sum(x));
  });
  it('ReduceMax', async () => {
    await checkOp('max', [{ name: 'x', shape: [3, 5] }], ([x]) => op.max(x, [-1]));
    await checkOp('maxk', [{ name: 'x', shape: [3, 5] }], ([x]) => op.max(x, [0], true));
  });
  it('mean with static and symbolic dims', async () => {
    await checkOp('mean', [{ name: 'x', shape: [3, 4] }], ([x]) => op.mean(x, [1], true));
    await checkOp('meansym', [{ name: 'x', shape: ['n', 4], dims: [3, 4] }], ([x]) => op.mean(x, [0]));
  });
  it('ReduceLogSumExp, and its forward is stable for large logits', async () => {
    await checkOp('lse', [{ name: 'x', shape: [3, 5] }], ([x]) => op.logSumExp(x, [-1]));
    await checkOp('lsek', [{ name: 'x', shape: [3, 5] }], ([x]) => op.logSumExp(x, [0], true));
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    g.output('y', op.logSumExp(x, [0]));
    const y = (await run(g, ['y'], { x: Float32Array.from([1000, 1001, 999]) })).y.data[0] as number;
    assert.ok(Math.abs(y - (1001 + Math.log(1 + Math.exp(-1) + Math.exp(-2)))) < 1e-3, `logsumexp = ${y}`);
  });
  it('Softmax and LogSoftmax', async () => {
    await checkOp('softmax', [{ name: 'x', shape: [2, 3, 5] }], ([x]) => op.softmax(x, -1));
    await checkOp('softmax1', [{ name: 'x', shape: [2, 3, 5] }], ([x]) => op.softmax(x, 1));
    await checkOp('logsoftmax', [{ name: 'x', shape: [4, 6] }], ([x]) => op.logSoftmax(x, -1));
  });
});

describe('matmul gradients', () => {
  it('2-D Gemm with every transpose combination and alpha', async () => {
    for (const [tA, tB] of [[false, false], [true, false], [false, true], [true, true]]) {
      const a = tA ? [4, 3] : [3, 4], b = tB ? [5, 4] : [4, 5];
      await checkOp(`gemm${+tA}${+tB}`, [{ name: 'a', shape: a }, { name: 'b', shape: b }],
        ([x, y]) => op.matmul(x, y, { transA: tA, transB: tB, alpha: 0.5 }));
    }
  });
  it('N-D × 2-D (MatMul and the flattened Gemm with transB)', async () => {
    await checkOp('nd2', [{ name: 'x', shape: [2, 3, 4] }, { name: 'w', shape: [4, 5] }], ([x, w]) => op.matmul(x, w));
    await checkOp('nd2t', [{ name: 'x', shape: ['b', 3, 4], dims: [2, 3, 4] }, { name: 'w', shape: [5, 4] }],
      ([x, w]) => op.matmul(x, w, { transB: true }));
  });
  it('batched with transposes, broadcasting and an inexact alpha', async () => {
    await checkOp('bmm', [{ name: 'q', shape: [2, 2, 3, 4] }, { name: 'k', shape: [2, 2, 5, 4] }],
      ([q, k]) => op.matmul(q, k, { transB: true, alpha: 1 / 3 }));
    await checkOp('bmmT', [{ name: 'a', shape: [2, 4, 3] }, { name: 'b', shape: [2, 4, 5] }],
      ([a, b]) => op.matmul(a, b, { transA: true }));
    await checkOp('bcast', [{ name: 'a', shape: [2, 1, 3, 4] }, { name: 'b', shape: [3, 4, 5] }], ([a, b]) => op.matmul(a, b));
  });
});

describe('shape op gradients', () => {
  it('Reshape (with -1 and symbolic dims), Transpose, Unsqueeze, Squeeze', async () => {
    await checkOp('reshape', [{ name: 'x', shape: ['b', 'n', 6], dims: [2, 3, 6] }], ([x]) => op.reshape(x, ['b', 'n', 2, 3]));
    await checkOp('reshape-1', [{ name: 'x', shape: ['b', 'n', 6], dims: [2, 3, 6] }], ([x]) => op.reshape(x, [-1, 6]));
    await checkOp('toscalar', [{ name: 'x', shape: [1, 1] }], ([x]) => op.mul(op.reshape(x, []), op.reshape(x, [1])));
    await checkOp('transpose', [{ name: 'x', shape: [2, 3, 4] }], ([x]) => op.transpose(x, [2, 0, 1]));
    await checkOp('unsq', [{ name: 'x', shape: [2, 3] }], ([x]) => op.squeeze(op.mul(op.unsqueeze(x, [0, -1]), 2), [3]));
  });
  it('Concat and Split, also along a symbolic axis', async () => {
    await checkOp('concat', [{ name: 'a', shape: [2, 3] }, { name: 'b', shape: [2, 1] }], ([a, b]) => op.concat([a, b], 1));
    await checkOp('concatsym', [{ name: 'p', shape: ['past', 4], dims: [2, 4] }, { name: 's', shape: ['seq', 4], dims: [3, 4] }],
      ([p, s]) => op.concat([p, s], 0));
    await checkOp('split', [{ name: 'x', shape: [2, 5] }], ([x]) => {
      const [a, b] = op.split(x, [2, 3], 1);
      return op.add(op.sum(a, [1]), op.mul(op.sum(b, [1]), 2));
    });
  });
  it('Slice: static, negative starts, and symbolic dims', async () => {
    await checkOp('slice', [{ name: 'x', shape: [4, 6] }], ([x]) => op.slice(x, [1], [1], [4]));
    await checkOp('sliceneg', [{ name: 'x', shape: [4, 6] }], ([x]) => op.slice(x, [0, 1], [-3, -4], [-1, Infinity]));
    await checkOp('slicelast', [{ name: 'x', shape: ['b', 'seq', 3], dims: [2, 4, 3] }], ([x]) => op.slice(x, [1], [-1], [Infinity]));
    await checkOp('slicerest', [{ name: 'x', shape: ['seq', 3], dims: [5, 3] }], ([x]) => op.slice(x, [0], [2], [Infinity]));
  });
  it('Gather (embedding rows, repeated ids accumulate) and GatherElements', async () => {
    await checkOp('gather', [{ name: 'E', shape: [5, 3] }, { name: 'ids', shape: [2, 3], ints: [0, 4, 4, 1, 4, 0] }],
      ([E, ids]) => op.gather(E, ids, 0));
    await checkOp('gather3', [{ name: 'T', shape: [4, 2, 3] }, { name: 'ids', shape: [5], ints: [3, 0, 3, 3, 1] }],
      ([T, ids]) => op.gather(T, ids, 0));
    await checkOp('gatherel', [{ name: 'x', shape: [2, 3, 5] }, { name: 't', shape: [2, 3, 1], ints: [0, 4, 2, 2, 2, 1] }],
      ([x, t]) => op.gatherElements(x, t, -1));
  });
  it('Expand, static and symbolic', async () => {
    await checkOp('expand', [{ name: 'x', shape: [3, 1] }], ([x]) => op.expand(x, [2, 3, 4]));
    await checkOp('expandsym', [{ name: 'x', shape: [1, 4] }, { name: 'm', shape: ['n', 1], dims: [3, 1] }],
      ([x, m]) => op.mul(op.expand(x, ['n', 4]), m));
  });
});

describe('composites', () => {
  it('silu, rmsNorm, swiglu (custom rules: finite differences, and equal to the chained rules)', async () => {
    await checkOp('silu', [{ name: 'x', shape: [3, 4] }], ([x]) => silu(x));
    await checkOp('rmsnorm', [{ name: 'x', shape: [2, 3, 8] }, { name: 'w', shape: [8] }], ([x, w]) => rmsNorm(x, w, 1e-5));
    await checkOp('swiglu', [{ name: 'a', shape: [2, 3, 5] }, { name: 'b', shape: [2, 3, 5] }], ([a, b]) => swiglu(a, b));
    await checkOp('swiglu-bcast', [{ name: 'a', shape: [2, 3, 5] }, { name: 'b', shape: [5] }], ([a, b]) => swiglu(a, b));
    const g = new Graph();
    const x = g.input('x', 'float64', [2, 3, 8]), w = g.input('w', 'float64', [8]), b = g.input('b', 'float64', [2, 3, 8]);
    const chainRms = op.mul(op.mul(x, op.reciprocal(op.sqrt(op.add(op.mean(op.mul(x, x), [-1], true), 1e-5)))), w);
    const pairs: [Tensor, Tensor][] = [[rmsNorm(x, w, 1e-5), chainRms], [swiglu(x, b), op.mul(silu(x), b)]];
    const names: string[] = [];
    pairs.forEach(([p, q], i) => {
      const gp = gradients(op.sum(op.mul(p, b)), [x, w]), gq = gradients(op.sum(op.mul(q, b)), [x, w]);
      [p, ...gp].forEach((t, j) => { g.output(`p${i}_${j}`, t); g.output(`q${i}_${j}`, [q, ...gq][j]); names.push(`${i}_${j}`); });
    });
    const f = (n: number, s: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * s) + 0.2);
    const out = await run(g, names.flatMap((n) => [`p${n}`, `q${n}`]), { x: f(48, 1.1), w: f(8, 2.3), b: f(48, 0.7) }, { optimization: 'basic' });
    for (const n of names) {
      const p = out[`p${n}`].data as Float64Array, q = out[`q${n}`].data as Float64Array;
      p.forEach((v, i) => assert.ok(Math.abs(v - q[i]) < 1e-12 * Math.max(1, Math.abs(v)), `${n}[${i}]: ${v} vs ${q[i]}`));
    }
  });
  it('rope: finite differences, and equal to the slice-negate-concat form', async () => {
    const specs = [{ name: 'x', shape: [2, 3, 4, 6] }, { name: 'cos', shape: [4, 6], noGrad: true }, { name: 'sin', shape: [4, 6], noGrad: true }];
    await checkOp('rope', specs, ([x, c, s]) => rope(x, c, s));
    const g = new Graph();
    const x = g.input('x', 'float64', [2, 3]), c = g.input('c', 'float64', [3]), s = g.input('s', 'float64', [3]);
    assert.throws(() => rope(x, c, s), /fixed even number/);
    const y = g.input('y', 'float64', ['n', 4]), c4 = g.input('c4', 'float64', [4]), s4 = g.input('s4', 'float64', [4]);
    const ref = op.add(op.mul(y, c4), op.mul(op.concat([op.neg(op.slice(y, [-1], [2], [4])), op.slice(y, [-1], [0], [2])], -1), s4));
    g.output('a', rope(y, c4, s4)); g.output('b', ref);
    const out = await run(g, ['a', 'b'], { y: { data: Float64Array.from([1, 2, 3, 4, 5, 6, 7, 8]), dims: [2, 4] }, c4: Float64Array.from([0.1, 0.2, 0.3, 0.4]), s4: Float64Array.from([1, -1, 2, -2]) });
    assert.deepEqual([...out.a.data as Float64Array], [...out.b.data as Float64Array]);
  });
  it('rmsNorm with the composed forward: finite differences; kernel and composed agree in float32', async () => {
    await checkOp('rmsnorm-composed', [{ name: 'x', shape: [2, 3, 8] }, { name: 'w', shape: [8] }], ([x, w]) => rmsNorm(x, w, 1e-5, { kernel: false }));
    const g = new Graph({ contribOps: true });
    const x = g.input('x', 'float32', [2, 3, 8]), w = g.input('w', 'float32', [8]), b = g.input('b', 'float32', [2, 3, 8]);
    const names: string[] = [];
    for (const kernel of [true, false]) {
      const y = rmsNorm(x, w, 1e-5, { kernel });
      const [dx, dw] = gradients(op.sum(op.mul(y, b)), [x, w]);
      for (const [k, t] of [['y', y], ['dx', dx], ['dw', dw]] as const) { g.output(`${k}${kernel}`, t); names.push(`${k}${kernel}`); }
    }
    const f = (n: number, sc: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * sc) + 0.2);
    const out = await run(g, names, { x: f(48, 1.1), w: f(8, 2.3), b: f(48, 0.7) }, { valueInfo: true });
    for (const k of ['y', 'dx', 'dw']) {
      const p = out[`${k}true`].data as Float32Array, q = out[`${k}false`].data as Float32Array;
      p.forEach((v, i) => assert.ok(Math.abs(v - q[i]) < 1e-5 * Math.max(1, Math.abs(v)), `${k}[${i}]: ${v} vs ${q[i]}`));
    }
  });
  it('rotary: finite differences (standard form), and the float32 RotaryEmbedding kernel and its backward against it', async () => {
    const B = 2, H = 3, S = 4, D = 6, P = 9;
    const pos = [0, 1, 2, 3, 1, 1, 2, 7]; // a row with left padding: positions repeat, then jump
    const tables = (A: Float32ArrayConstructor | Float64ArrayConstructor) => {
      const c = new A(P * D / 2), s = new A(P * D / 2);
      for (let p = 0; p < P; p++) for (let i = 0; i < D / 2; i++) { const a = p / 10000 ** ((2 * i) / D); c[p * D / 2 + i] = Math.cos(a); s[p * D / 2 + i] = Math.sin(a); }
      return { c, s };
    };
    const t64 = tables(Float64Array);
    await checkOp('rotary', [{ name: 'x', shape: [B, H, 'seq', D], dims: [B, H, S, D] }, { name: 'pos', shape: [B, 'seq'], dims: [B, S], ints: pos },
      { name: 'c', shape: [P, D / 2], noGrad: true, values: [...t64.c] }, { name: 's', shape: [P, D / 2], noGrad: true, values: [...t64.s] }],
    ([x, p, c, s]) => rotary(x, p, c, s));
    const outs = async (dtype: 'float32' | 'float64') => {
      const g = new Graph({ contribOps: true });
      const x = g.input('x', dtype, [B, H, 'seq', D]), p = g.input('pos', 'int64', [B, 'seq']), r = g.input('r', dtype, [B, H, 'seq', D]);
      const c = g.input('c', dtype, [P, D / 2]), s = g.input('s', dtype, [P, D / 2]);
      const y = rotary(x, p, c, s);
      g.output('y', y); g.output('dx', gradients(op.sum(op.mul(y, r)), [x])[0]);
      assert.equal(g.nodes.some((n) => n.op === 'RotaryEmbedding'), dtype === 'float32');
      const A = dtype === 'float32' ? Float32Array : Float64Array;
      const t = tables(A);
      const f = (n: number, sc: number) => { const a = new A(n); for (let i = 0; i < n; i++) a[i] = Math.sin(i * sc); return a; };
      const o = await run(g, ['y', 'dx'], {
        x: { data: f(B * H * S * D, 1.7), dims: [B, H, S, D] }, r: { data: f(B * H * S * D, 0.3), dims: [B, H, S, D] },
        pos: { data: BigInt64Array.from(pos.map(BigInt)), dims: [B, S] }, c: t.c, s: t.s,
      }, { optimization: dtype === 'float32' ? 'all' : 'basic', valueInfo: true });
      return o;
    };
    const a = await outs('float32'), b = await outs('float64');
    for (const k of ['y', 'dx']) {
      const p = a[k].data as Float32Array, q = b[k].data as Float64Array;
      p.forEach((v, i) => assert.ok(Math.abs(v - q[i]) < 1e-6, `${k}[${i}]: ${v} vs ${q[i]}`));
    }
  });
  it('cross-entropy (plain and weighted) and token log-probs', async () => {
    const t = { name: 't', shape: [2, 3], ints: [1, 0, 4, 4, 2, 3] };
    await checkOp('ce', [{ name: 'z', shape: [2, 3, 5] }, t], ([z, tt]) => crossEntropy(z, tt));
    await checkOp('cew', [{ name: 'z', shape: [2, 3, 5] }, t, { name: 'w', shape: [2, 3], lo: 0, hi: 1 }],
      ([z, tt, w]) => crossEntropy(z, tt, w));
    await checkOp('lp', [{ name: 'z', shape: ['b', 'seq', 5], dims: [2, 3, 5] }, { ...t, shape: ['b', 'seq'], dims: [2, 3] }],
      ([z, tt]) => tokenLogProbs(z, tt));
  });
});

describe('custom-gradient regions', () => {
  it('the fused token log-prob matches the plain chain rule, values and gradients', async () => {
    const t = { name: 't', shape: ['b', 'seq'], dims: [2, 3], ints: [1, 0, 4, 4, 2, 3] };
    await checkOp('lp-unfused', [{ name: 'z', shape: ['b', 'seq', 5], dims: [2, 3, 5] }, t], ([z, tt]) => tokenLogProbsUnfused(z, tt));
    const g = new Graph();
    const z = g.input('z', 'float64', [2, 3, 5]), tt = g.input('t', 'int64', [2, 3]);
    const a = tokenLogProbs(z, tt), b = tokenLogProbsUnfused(z, tt);
    const w = g.constant([1, -2, 3, 0.5, 1, 2], 'float64', [2, 3]);
    g.output('a', a); g.output('b', b);
    g.output('da', gradients(op.sum(op.mul(a, w)), [z])[0]);
    g.output('db', gradients(op.sum(op.mul(b, w)), [z])[0]);
    const zs = Float64Array.from({ length: 30 }, (_, i) => Math.sin(i) * 3);
    const out = await run(g, ['a', 'b', 'da', 'db'], { z: zs, t: BigInt64Array.from([1, 0, 4, 4, 2, 3].map(BigInt)) }, { optimization: 'basic' });
    for (const [p, q] of [['a', 'b'], ['da', 'db']]) {
      const x = out[p].data as Float64Array, y = out[q].data as Float64Array;
      x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 1e-12, `${p}[${i}] ${v} vs ${q} ${y[i]}`));
    }
  });
  it('head + token log-probs region: finite differences, and equal to tokenLogProbs(linear(h, W))', async () => {
    const t = { name: 't', shape: ['b', 'seq'], dims: [2, 3], ints: [1, 0, 4, 4, 2, 3] };
    await checkOp('headlp', [{ name: 'h', shape: ['b', 'seq', 4], dims: [2, 3, 4] }, { name: 'W', shape: [5, 4] }, t],
      ([h, W, tt]) => headTokenLogProbs(h, W, tt));
    const g = new Graph();
    const h = g.input('h', 'float64', [2, 3, 4]), W = g.input('W', 'float64', [5, 4]), tt = g.input('t', 'int64', [2, 3]);
    const a = headTokenLogProbs(h, W, tt), b = tokenLogProbs(linear(h, W), tt);
    const w = g.constant([1, -2, 3, 0.5, 1, 2], 'float64', [2, 3]);
    g.output('a', a); g.output('b', b);
    gradients(op.sum(op.mul(a, w)), [h, W]).forEach((x, i) => g.output(`da${i}`, x));
    gradients(op.sum(op.mul(b, w)), [h, W]).forEach((x, i) => g.output(`db${i}`, x));
    // A frozen head: only dh, and no weight-gradient matmul in the graph.
    const Wf = g.initializer('Wf', Float64Array.from({ length: 20 }, (_, i) => Math.cos(i)), [5, 4]);
    const nodesBefore = g.nodes.length;
    const [dhFrozen] = gradients(op.sum(headTokenLogProbs(h, Wf, tt)), [h]);
    assert.ok(!g.nodes.slice(nodesBefore).some((n) => n.op === 'Gemm' && n.attrs.transA?.kind === 'int' && n.attrs.transA.value === 1), 'no dW for a frozen head');
    g.output('dhf', dhFrozen);
    const out = await run(g, ['a', 'b', 'da0', 'db0', 'da1', 'db1', 'dhf'], {
      h: Float64Array.from({ length: 24 }, (_, i) => Math.sin(i) * 2), W: Float64Array.from({ length: 20 }, (_, i) => Math.cos(i * 0.7)),
      t: BigInt64Array.from([1, 0, 4, 4, 2, 3].map(BigInt)),
    }, { optimization: 'basic', valueInfo: true });
    for (const [p, q] of [['a', 'b'], ['da0', 'db0'], ['da1', 'db1']]) {
      const x = out[p].data as Float64Array, y = out[q].data as Float64Array;
      x.forEach((v, i) => assert.ok(Math.abs(v - y[i]) < 1e-12, `${p}[${i}] ${v} vs ${q} ${y[i]}`));
    }
    assert.equal(out.dhf.data.length, 24);
  });
  it('fused attention: finite differences with grouped-query broadcasting and a mask; equal to the chain rule', async () => {
    const specs = [
      { name: 'q', shape: [2, 1, 2, 3, 4] }, { name: 'k', shape: [2, 1, 1, 5, 4] }, { name: 'v', shape: [2, 1, 1, 5, 4] },
      { name: 'mask', shape: [3, 5], noGrad: true, lo: -3, hi: 0 },
    ];
    await checkOp('attn', specs, ([q, k, v, m]) => attention(q, k, v, { mask: m }));
    await checkOp('attn-nomask', specs.slice(0, 3), ([q, k, v]) => attention(q, k, v, { scale: 0.3 }));
    const g = new Graph();
    const [q, k, v] = specs.slice(0, 3).map((p) => g.input(p.name, 'float64', p.shape));
    const w = g.input('w', 'float64', [2, 1, 2, 3, 4]);
    const a = attention(q, k, v), b = attentionUnfused(q, k, v);
    const ga = gradients(op.sum(op.mul(a, w)), [q, k, v]), gb = gradients(op.sum(op.mul(b, w)), [q, k, v]);
    ga.forEach((t, i) => { g.output(`a${i}`, t); g.output(`b${i}`, gb[i]); });
    g.output('a', a); g.output('b', b);
    const f = (n: number, s: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(i * s));
    const out = await run(g, ['a', 'b', 'a0', 'b0', 'a1', 'b1', 'a2', 'b2'], { q: f(48, 1.3), k: f(40, 0.7), v: f(40, 2.1), w: f(48, 0.9) }, { optimization: 'basic' });
    for (const [x, y] of [['a', 'b'], ['a0', 'b0'], ['a1', 'b1'], ['a2', 'b2']]) {
      const p = out[x].data as Float64Array, r = out[y].data as Float64Array;
      p.forEach((val, i) => assert.ok(Math.abs(val - r[i]) < 1e-12, `${x}[${i}] ${val} vs ${r[i]}`));
    }
  });
  it('causal block attention: finite differences, and equal to the whole square (fixed, symbolic, uneven and short lengths)', async () => {
    const causal = (b: number, s: number, pad: number[] = []) => {
      const m: number[] = [];
      // Left padding hides the first pad[r] keys; every query keeps itself so no row is fully masked (a fully
      // masked row averages over its block's keys rather than all keys: meaningless either way).
      for (let r = 0; r < b; r++) for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) m.push(j > i || (j < (pad[r] ?? 0) && j !== i) ? -1e9 : 0);
      return m;
    };
    const specs = (S: number | string, dims: number) => [
      { name: 'q', shape: [2, 1, 2, S, 4], dims: [2, 1, 2, dims, 4] }, { name: 'k', shape: [2, 1, 1, S, 4], dims: [2, 1, 1, dims, 4] },
      { name: 'v', shape: [2, 1, 1, S, 4], dims: [2, 1, 1, dims, 4] },
    ];
    // Fixed length 7 in 3 blocks (3, 3, 1 rows), grouped-query heads, a [s, s] causal mask.
    await checkOp('cba-fixed', [...specs(7, 7), { name: 'mask', shape: [7, 7], noGrad: true, values: causal(1, 7) }],
      ([q, k, v, m]) => attention(q, k, v, { mask: m, causalBlocks: 3 }));
    // A model-style mask [b, 1, 1, s, s] with left padding, and a symbolic length.
    for (const n of [2, 4, 8]) {
      await checkOp(`cba-sym-${n}`, [...specs('seq', 5), { name: 'mask', shape: [2, 1, 1, 'seq', 'seq'], dims: [2, 1, 1, 5, 5], noGrad: true, values: causal(2, 5, [0, 2]) }],
        ([q, k, v, m]) => attention(q, k, v, { mask: m, causalBlocks: n }));
    }
    const g0 = new Graph();
    const [q0, k0, v0] = specs('seq', 3).map((p) => g0.input(p.name, 'float64', p.shape));
    assert.throws(() => attention(q0, k0, v0, { causalBlocks: 2 }), /needs the causal mask/);
    assert.throws(() => attention(q0, k0, v0, { causalBlocks: 0 }), /positive integer/);
    const kOther = g0.input('k2', 'float64', [2, 1, 1, 'past', 4]);
    assert.throws(() => attention(q0, kOther, kOther, { mask: g0.input('m0', 'float64', ['seq', 'seq']), causalBlocks: 2 }), /one length/);
    // Against the whole square, values and gradients, with a real padded causal mask, over several lengths.
    for (const [S, n] of [[5, 2], [5, 3], [6, 4], [2, 4], [1, 3], [9, 4]] as const) {
      const g = new Graph();
      const [q, k, v] = specs('seq', S).map((p) => g.input(p.name, 'float64', p.shape));
      const m = g.input('m', 'float64', [2, 1, 1, 'seq', 'seq']);
      const w = g.input('w', 'float64', [2, 1, 2, 'seq', 4]);
      const a = attention(q, k, v, { mask: m, causalBlocks: n }), b = attention(q, k, v, { mask: m });
      const ga = gradients(op.sum(op.mul(a, w)), [q, k, v]), gb = gradients(op.sum(op.mul(b, w)), [q, k, v]);
      ga.forEach((t, i) => { g.output(`a${i}`, t); g.output(`b${i}`, gb[i]); });
      g.output('a', a); g.output('b', b);
      const f = (len: number, sc: number) => Float64Array.from({ length: len }, (_, i) => Math.sin(i * sc));
      const mask = Float64Array.from(causal(2, S, [0, Math.min(1, S - 1)]));
      const out = await run(g, ['a', 'b', 'a0', 'b0', 'a1', 'b1', 'a2', 'b2'], {
        q: { data: f(16 * S, 1.3), dims: [2, 1, 2, S, 4] }, k: { data: f(8 * S, 0.7), dims: [2, 1, 1, S, 4] },
        v: { data: f(8 * S, 2.1), dims: [2, 1, 1, S, 4] }, w: { data: f(16 * S, 0.9), dims: [2, 1, 2, S, 4] },
        m: { data: mask, dims: [2, 1, 1, S, S] },
      }, { optimization: 'basic', valueInfo: true });
      for (const [x, y] of [['a', 'b'], ['a0', 'b0'], ['a1', 'b1'], ['a2', 'b2']]) {
        const p = out[x].data as Float64Array, r = out[y].data as Float64Array;
        assert.equal(p.length, r.length);
        p.forEach((val, i) => assert.ok(Math.abs(val - r[i]) < 1e-12, `S ${S}, ${n} blocks: ${x}[${i}] ${val} vs ${r[i]}`));
      }
    }
  });
  it('refuses a forward that reads undeclared tensors, or internals used outside', () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [3]), y = g.input('y', 'float64', [3]);
    assert.throws(() => withCustomGradient('leaky', [x], () => [op.mul(x, y)], () => [null]), /reads y/);
    let inner: Tensor | undefined;
    const [out] = withCustomGradient('sq', [x], () => { inner = op.mul(x, x); return [op.mul(inner, 2)]; }, (_i, _o, [d]) => [d]);
    assert.throws(() => gradients(op.sum(op.add(out, inner!)), [x]), /inside sq is used outside it/);
  });
});

describe('PPO-style composites', () => {
  it('minimum, maximum, clamp (gradient to the selected operand), entropy', async () => {
    await checkOp('min', [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [4] }], ([a, b]) => minimum(a, b));
    await checkOp('max', [{ name: 'a', shape: [3, 4] }, { name: 'b', shape: [3, 1] }], ([a, b]) => maximum(a, b));
    await checkOp('clamp', [{ name: 'x', shape: [4, 5], lo: -2, hi: 2 }], ([x]) => clamp(x, -0.9, 0.7));
    await checkOp('entropy', [{ name: 'z', shape: [2, 3, 6] }], ([z]) => entropy(z));
  });
  it('a clipped PPO objective', async () => {
    // −mean(min(r·A, clamp(r, 1−ε, 1+ε)·A)) with r = exp(logp − old)
    await checkOp('ppo', [{ name: 'logp', shape: [8], lo: -0.4, hi: 0.4 }, { name: 'old', shape: [8], noGrad: true, lo: -0.1, hi: 0.1 }, { name: 'adv', shape: [8], noGrad: true }],
      ([lp, old, adv]) => {
        const r = op.exp(op.sub(lp, old));
        return op.neg(op.mean(minimum(op.mul(r, adv), op.mul(clamp(r, 0.8, 1.2), adv))));
      });
  });
});

describe('the checker', () => {
  it('catches a wrong gradient rule', async () => {
    // Replace Tanh's rule by d·(1 − y) (missing a factor y): the check must fail loudly.
    const right = defineGrad('Tanh', (n, [d]) => [op.mul(d!, op.sub(1, n.outputs[0]))]);
    try {
      await assert.rejects(checkOp('badtanh', [{ name: 'x', shape: [3, 4] }], ([x]) => op.tanh(x)), /relative error/);
    } finally {
      defineGrad('Tanh', right!);
    }
    await checkOp('tanh-again', [{ name: 'x', shape: [3, 4] }], ([x]) => op.tanh(x));
  });
});
