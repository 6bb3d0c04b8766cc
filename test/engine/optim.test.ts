// AdamW and gradient clipping: against the textbook update, exact save/restore, and a real training loop.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  AdamW, Graph, clipGradNorm, compile, crossEntropy, globalNorm, gradients, linear,
  decodeSafetensors, encodeSafetensors, type Param,
} from '../../src/engine/index.js';
import * as op from '../../src/engine/ops.js';
import { rng } from './helpers.js';

const rand32 = (r: () => number, n: number, s = 1) => Float32Array.from({ length: n }, () => (r() * 2 - 1) * s);
// The bytes of an array's own elements (the moments may be views into the optimizer kernel's memory).
const bytes = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('AdamW', () => {
  it('matches the textbook update (decoupled decay, bias correction) over several steps', () => {
    const r = rng(3);
    const w = rand32(r, 50), b = rand32(r, 5);
    const ref = { w: Float64Array.from(w), b: Float64Array.from(b) };
    const refM = { w: new Float64Array(50), b: new Float64Array(5) }, refV = { w: new Float64Array(50), b: new Float64Array(5) };
    const cfg = { lr: 0.01, beta1: 0.8, beta2: 0.95, eps: 1e-6, weightDecay: 0.1 };
    const opt = new AdamW([{ name: 'w', data: w }, { name: 'b', data: b, decay: false }], cfg);
    for (let t = 1; t <= 5; t++) {
      const gw = rand32(r, 50), gb = rand32(r, 5);
      opt.update({ w: gw, b: gb }, cfg.lr * t); // a schedule: lr changes per step
      const lr = cfg.lr * t;
      for (const [k, g, decay] of [['w', gw, true], ['b', gb, false]] as const) {
        for (let i = 0; i < g.length; i++) {
          if (decay) ref[k][i] -= lr * cfg.weightDecay * ref[k][i];
          refM[k][i] = cfg.beta1 * refM[k][i] + (1 - cfg.beta1) * g[i];
          refV[k][i] = cfg.beta2 * refV[k][i] + (1 - cfg.beta2) * g[i] ** 2;
          const mHat = refM[k][i] / (1 - cfg.beta1 ** t), vHat = refV[k][i] / (1 - cfg.beta2 ** t);
          ref[k][i] -= (lr * mHat) / (Math.sqrt(vHat) + cfg.eps);
        }
      }
    }
    for (const [k, got] of [['w', w], ['b', b]] as const) {
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - ref[k][i]) < 1e-6, `${k}[${i}]: ${got[i]} vs ${ref[k][i]}`);
    }
    assert.equal(opt.step, 5);
  });

  it('the WebAssembly kernel (moments in its memory, or staged) is bit-identical to the JS loop', () => {
    const r = rng(9);
    // Odd and even lengths, a tensor across the kernel's 16384-element chunks, one without decay.
    const sizes = [1, 2, 7, 16383, 40001];
    const init = sizes.map((n) => rand32(r, n));
    const grads = [1, 2, 3, 4].map(() => sizes.map((n) => rand32(r, n, 1e-2)));
    const runMode = (mode: 'js' | 'resident' | 'staged') => {
      AdamW.useWasm = mode === 'resident';
      const params: Param[] = init.map((d, k) => ({ name: `p${k}`, data: d.slice(), decay: k !== 2 }));
      const opt = new AdamW(params, { lr: 0.01, weightDecay: 0.1, eps: 1e-6 });
      AdamW.useWasm = mode !== 'js';
      grads.forEach((g, t) => opt.update(g, 0.01 * (t + 1)));
      return { params, opt };
    };
    try {
      const js = runMode('js');
      for (const mode of ['resident', 'staged'] as const) {
        const w = runMode(mode);
        sizes.forEach((_, k) => {
          assert.deepEqual(bytes(w.params[k].data), bytes(js.params[k].data), `${mode}: p${k}`);
          assert.deepEqual(bytes(w.opt.m[k]), bytes(js.opt.m[k]), `${mode}: m${k}`);
          assert.deepEqual(bytes(w.opt.v[k]), bytes(js.opt.v[k]), `${mode}: v${k}`);
        });
      }
    } finally {
      AdamW.useWasm = true;
    }
  });

  it('refuses missing or mis-sized gradients and bad state', () => {
    const opt = new AdamW([{ name: 'w', data: new Float32Array(3) }], { lr: 1 });
    assert.throws(() => opt.update({}), /gradient for 'w' missing/);
    assert.throws(() => opt.update([new Float32Array(2)]), /length 2 \(want 3\)/);
    const other = new AdamW([{ name: 'w', data: new Float32Array(4) }], { lr: 1 });
    assert.throws(() => other.loadState(opt.saveState()), /wrong size/);
    assert.throws(() => opt.loadState(encodeSafetensors({ x: new Float32Array(1) }, { format: 'nope' })), /unknown format/);
  });
});

describe('gradient clipping', () => {
  it('scales to the max norm only when above it, and reports the norm before', () => {
    const a = Float32Array.from([3, 0]), b = Float32Array.from([4]);
    assert.equal(globalNorm([a, b]), 5);
    assert.equal(clipGradNorm([a, b], 10), 5);
    assert.deepEqual([...a, ...b], [3, 0, 4]);
    assert.equal(clipGradNorm([a, b], 1), 5);
    assert.ok(Math.abs(globalNorm([a, b]) - 1) < 1e-6);
  });
});

describe('training with ORT gradients', () => {
  // A 2-layer MLP classifier; trainable weights are inputs fed from the same Float32Arrays AdamW updates.
  async function setup() {
    const g = new Graph({ name: 'mlp-train' });
    const x = g.input('x', 'float32', ['batch', 8]), t = g.input('t', 'int64', ['batch']);
    const W1 = g.input('W1', 'float32', [16, 8]), b1 = g.input('b1', 'float32', [16]), W2 = g.input('W2', 'float32', [4, 16]);
    const loss = crossEntropy(linear(op.tanh(linear(x, W1, b1)), W2), t);
    const wrt = [W1, b1, W2];
    gradients(loss, wrt).forEach((d, i) => g.output(`d${wrt[i].name}`, d));
    g.output('loss', loss);
    const exe = await compile(g, ['loss', 'dW1', 'db1', 'dW2']);
    const r = rng(5);
    const data = { x: { data: rand32(r, 32 * 8), dims: [32, 8] }, t: { data: BigInt64Array.from({ length: 32 }, () => BigInt(Math.floor(r() * 4))), dims: [32] } };
    const init = { W1: rand32(r, 128, 0.3), b1: new Float32Array(16), W2: rand32(r, 64, 0.3) };
    const stepFn = async (params: Param[], opt: AdamW) => {
      const feeds = { ...data, ...Object.fromEntries(params.map((p) => [p.name, p.data])) };
      const out = await exe.run(feeds);
      const grads = ['dW1', 'db1', 'dW2'].map((n) => out[n].data as Float32Array);
      clipGradNorm(grads, 1.0);
      opt.update(grads);
      return Number(out.loss.data[0]);
    };
    const fresh = (): Param[] => [{ name: 'W1', data: init.W1.slice() }, { name: 'b1', data: init.b1.slice(), decay: false }, { name: 'W2', data: init.W2.slice() }];
    return { stepFn, fresh };
  }

  it('save, restore, continue gives bit-identical parameters to an uninterrupted run', async () => {
    const { stepFn, fresh } = await setup();
    const cfg = { lr: 0.05, weightDecay: 0.01 };
    const pa = fresh(), optA = new AdamW(pa, cfg);
    for (let i = 0; i < 10; i++) await stepFn(pa, optA);

    const pb = fresh(), optB = new AdamW(pb, cfg);
    for (let i = 0; i < 4; i++) await stepFn(pb, optB);
    const saved = optB.saveState();
    const savedParams = encodeSafetensors(Object.fromEntries(pb.map((p) => [p.name, p.data])));
    // A new optimizer and new parameter arrays, restored only from bytes.
    const { tensors } = decodeSafetensors(savedParams);
    const pc: Param[] = fresh().map((p) => ({ ...p, data: tensors[p.name].data as Float32Array }));
    const optC = new AdamW(pc, cfg);
    optC.loadState(saved);
    assert.equal(optC.step, 4);
    for (let i = 4; i < 10; i++) await stepFn(pc, optC);

    for (let k = 0; k < pa.length; k++) {
      assert.deepEqual(bytes(pc[k].data), bytes(pa[k].data), `${pa[k].name} differs after resume`);
      assert.deepEqual(bytes(optC.m[k]), bytes(optA.m[k]));
      assert.deepEqual(bytes(optC.v[k]), bytes(optA.v[k]));
    }
  });

  it('lowers the loss', async () => {
    const { stepFn, fresh } = await setup();
    const p = fresh(), opt = new AdamW(p, { lr: 0.05 });
    const first = await stepFn(p, opt);
    let last = first;
    for (let i = 0; i < 60; i++) last = await stepFn(p, opt);
    assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
  });
});
