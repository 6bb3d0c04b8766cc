// Graph building, shape inference, serialisation and sessions, on real ONNX Runtime.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  FileSlice, Graph, canonicalDim, compile, dimDivide, dimProduct, encodeModel, run,
} from '../../src/engine/index.js';
import * as op from '../../src/engine/ops.js';

const f32 = (...v: number[]) => Float32Array.from(v);

describe('dimension algebra', () => {
  it('keeps products canonical and divides them', () => {
    assert.equal(canonicalDim('seq*batch'), 'batch*seq');
    assert.equal(dimProduct(['batch', 4, 'seq', 2]), '8*batch*seq');
    assert.equal(dimDivide('8*batch*seq', 4), '2*batch*seq');
    assert.equal(dimDivide('batch*seq', 'seq'), 'batch');
    assert.equal(dimProduct([3, 4]), 12);
    assert.throws(() => dimDivide('batch', 'seq'), /cannot divide/);
  });
});

describe('shape inference', () => {
  it('infers shapes with symbolic dims through the op set', () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 'seq', 8]);
    const W = g.input('W', 'float32', [16, 8]);
    assert.deepEqual(op.matmul(x, W, { transB: true }).shape, ['batch', 'seq', 16]);
    assert.deepEqual(op.reshape(x, [-1, 8]).shape, ['batch*seq', 8]);
    assert.deepEqual(op.reshape(x, ['batch', 'seq', 2, 4]).shape, ['batch', 'seq', 2, 4]);
    const past = g.input('past', 'float32', ['batch', 'past', 8]);
    assert.deepEqual(op.concat([past, x], 1).shape, ['batch', 'past+seq', 8]);
    assert.deepEqual(op.slice(x, [1], [-1], [Infinity]).shape, ['batch', 1, 8]);
    assert.deepEqual(op.sum(x, [1], true).shape, ['batch', 1, 8]);
    assert.deepEqual(op.gather(W, g.input('ids', 'int64', ['batch', 'seq']), 0).shape, ['batch', 'seq', 8]);
  });
  it('refuses mismatches with a message that names the shapes', () => {
    const g = new Graph({ name: 'bad' });
    const a = g.input('a', 'float32', ['batch', 4]);
    const b = g.input('b', 'float32', ['n', 4]);
    assert.throws(() => op.add(a, b), /\[batch, 4\] and \[n, 4\] do not broadcast/);
    assert.throws(() => op.matmul(a, b), /inner dims differ/);
    assert.throws(() => op.reshape(a, [3, 4]), /cannot become/);
    assert.throws(() => op.add(a, g.input('c', 'float64', [4])), /dtypes differ/);
    assert.throws(() => g.input('a', 'float32', [1]), /already used/);
    g.output('out', op.exp(a));
    assert.throws(() => g.input('out', 'float32', [1]), /already used/);
    assert.throws(() => g.output('out', op.neg(a)), /already bound/);
    assert.throws(() => new Graph().dimTensor('nope'), /no tensor carries symbolic dimension 'nope'/);
  });
  it('is confirmed by ONNX Runtime (strict shape inference over declared value_info)', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', ['batch', 'seq', 6]);
    const [bad] = g.addNode('Relu', [x], {}, [{ dtype: 'float32', shape: ['batch', 'seq', 5] }]);
    g.output('bad', op.exp(bad));
    await assert.rejects(compile(g, ['bad'], { valueInfo: true }), /ShapeInferenceError/);
  });
});

describe('running graphs', () => {
  it('computes with frozen initializers and fed inputs', async () => {
    const g = new Graph({ name: 'lin' });
    const x = g.input('x', 'float32', ['batch', 3]);
    const W = g.initializer('W', f32(1, 2, 3, 4, 5, 6), [2, 3]);
    g.output('y', op.matmul(x, W, { transB: true }));
    const out = await run(g, ['y'], { x: { data: f32(1, 0, 1, 0, 1, 0), dims: [2, 3] } });
    assert.deepEqual([...out.y.data as Float32Array], [4, 10, 2, 5]);
    assert.deepEqual(out.y.dims, [2, 2]);
  });

  it('caches sessions per graph, outputs and options', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    g.output('a', op.exp(x));
    g.output('b', op.neg(x));
    const e1 = await compile(g, ['a']), e2 = await compile(g, ['a']), e3 = await compile(g, ['a', 'b']);
    assert.equal(e1, e2);
    assert.notEqual(e1, e3);
    assert.notEqual(await compile(g, ['a'], { threads: 1 }), e1);
  });

  it('prunes to the requested outputs: unneeded inputs need no feed', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]), y = g.input('y', 'float32', [2]);
    g.output('fx', op.mul(x, 2));
    g.output('fy', op.mul(y, 3));
    const enc = encodeModel(g, { outputs: ['fx'] });
    assert.deepEqual(enc.inputs.map((t) => t.name), ['x']);
    const out = await run(g, ['fx'], { x: f32(1, 2) });
    assert.deepEqual([...out.fx.data as Float32Array], [2, 4]);
  });

  it('validates feeds: missing, dtype, rank, fixed dims, symbolic consistency', async () => {
    const g = new Graph({ name: 'v' });
    const a = g.input('a', 'float32', ['n', 2]), b = g.input('b', 'float32', ['n']);
    g.output('s', op.add(op.sum(a, [1]), b));
    const exe = await compile(g, ['s']);
    await assert.rejects(exe.run({ a: { data: f32(1, 2), dims: [1, 2] } }), /input 'b'.*was not fed/);
    await assert.rejects(exe.run({ a: { data: new Float64Array(2), dims: [1, 2] }, b: f32(0) }), /fed float64/);
    await assert.rejects(exe.run({ a: { data: f32(1, 2, 3), dims: [1, 3] }, b: { data: f32(0), dims: [1] } }), /axis 1 is 3, expected 2/);
    await assert.rejects(exe.run({ a: { data: f32(1, 2), dims: [1, 2] }, b: { data: f32(0, 0), dims: [2] } }), /'n' is 2 here but 1/);
    await assert.rejects(exe.run({ a: f32(1, 2), b: f32(0) }), /symbolic shape/);
    const ok = await exe.run({ a: { data: f32(1, 2, 3, 4), dims: [2, 2] }, b: { data: f32(10, 20), dims: [2] } });
    assert.deepEqual([...ok.s.data as Float32Array], [13, 27]);
  });

  it('returns the same tensor under two names, and an input as an output', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [2]);
    const y = op.exp(x);
    g.output('y1', y); g.output('y2', y); g.output('xcopy', x);
    const out = await run(g, ['y1', 'y2', 'xcopy'], { x: f32(0, 1) });
    assert.deepEqual([...out.y1.data as Float32Array], [...out.y2.data as Float32Array]);
    assert.deepEqual([...out.xcopy.data as Float32Array], [0, 1]);
  });

  it('runs symbolic reshapes, KV-cache style concat and last-position slices', async () => {
    const g = new Graph();
    const past = g.input('past', 'float32', ['batch', 'past', 2]);
    const x = g.input('x', 'float32', ['batch', 'seq', 2]);
    const mask = g.input('mask', 'float32', ['batch', 'past+seq']);
    const all = op.concat([past, x], 1); // [batch, past+seq, 2]
    g.output('masked', op.mul(all, op.unsqueeze(mask, [-1])));
    g.output('last', op.reshape(op.slice(x, [1], [-1], [Infinity]), ['batch', 2]));
    g.output('flat', op.reshape(all, [-1, 2]));
    const out = await run(g, ['masked', 'last', 'flat'], {
      past: { data: f32(1, 1, 2, 2), dims: [2, 1, 2] },
      x: { data: f32(3, 3, 4, 4, 5, 5, 6, 6), dims: [2, 2, 2] },
      mask: { data: f32(1, 0, 1, 1, 1, 0), dims: [2, 3] },
    });
    assert.deepEqual(out.masked.dims, [2, 3, 2]);
    assert.deepEqual([...out.masked.data as Float32Array], [1, 1, 0, 0, 4, 4, 2, 2, 5, 5, 0, 0]);
    assert.deepEqual([...out.last.data as Float32Array], [4, 4, 6, 6]);
    assert.deepEqual(out.flat.dims, [6, 2]);
  });

  it('handles int64 and bool: comparisons, Where, Range, Cast', async () => {
    const g = new Graph();
    const n = g.input('n', 'int64', []);
    const r = op.range(g, 0, n); // [0, 1, …, n−1]
    const causal = op.less(op.unsqueeze(r, [1]), op.unsqueeze(r, [0])); // j > i above the diagonal
    g.output('mask', op.where(causal, -1e9, op.mul(op.cast(r, 'float32'), 0)));
    const out = await run(g, ['mask'], { n: BigInt64Array.from([3n]) });
    assert.deepEqual(out.mask.dims, [3, 3]);
    assert.deepEqual([...out.mask.data as Float32Array].map((v) => (v < -1 ? 1 : 0)), [0, 1, 1, 0, 0, 1, 0, 0, 0]);
  });

  it('writes large initializers to external data and loads them back', async () => {
    const g = new Graph({ name: 'ext' });
    const W = g.initializer('W', Float32Array.from({ length: 3000 }, (_, i) => i), [3000]);
    const small = g.initializer('s', f32(2), [1]);
    g.output('y', op.mul(W, small));
    const enc = encodeModel(g, { outputs: ['y'], externalThreshold: 1000 });
    assert.equal(enc.external?.blocks.length, 1);
    const exe = await compile(g, ['y'], { externalThreshold: 1000 });
    assert.ok(exe.modelBytes < 1000, `model proto should not embed W (${exe.modelBytes} bytes)`);
    const out = await exe.run({});
    assert.equal((out.y.data as Float32Array)[2999], 5998);
  });

  it('encodes a graph of 200,000 nodes (the size of a 6.7B training graph in blocks)', () => {
    const g = new Graph({ name: 'many' });
    let x = g.input('x', 'float32', [1]);
    for (let i = 0; i < 200_000; i++) x = op.add(x, 1);
    g.output('y', x);
    assert.ok(encodeModel(g, { outputs: ['y'] }).bytes.length > 200_000 * 20);
  });

  it('bakes initializers from a file in place, beside external data, and leaves nothing behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'file-init-'));
    try {
      const W = Float32Array.from({ length: 6 }, (_, i) => i + 1);
      const file = join(dir, 'w.bin');
      const bytes = new Uint8Array(13 + 24 + 8); // W at an odd offset, then one int64
      bytes.set(new Uint8Array(W.buffer), 13);
      new DataView(bytes.buffer).setBigInt64(37, 7n, true);
      writeFileSync(file, bytes);
      const g = new Graph({ name: 'file' });
      const x = g.input('x', 'float32', [1, 2]);
      const w = g.fileInitializer('W', new FileSlice(file, 13, 24), [2, 3], 'float32');
      const big = g.initializer('big', new Float32Array(3000).fill(0.5), [3000]);
      const k = g.fileInitializer('k', new FileSlice(file, 37, 8), [], 'int64');
      g.output('y', op.add(op.matmul(x, w), op.sum(big, [0])));
      g.output('k', k);
      const exe = await compile(g, ['y', 'k'], { externalThreshold: 1000 });
      const out = await exe.run({ x: { data: f32(1, 10), dims: [1, 2] } });
      assert.deepEqual([...(out.y.data as Float32Array)], [41 + 1500, 52 + 1500, 63 + 1500]);
      assert.equal((out.k.data as BigInt64Array)[0], 7n);
      assert.deepEqual(readdirSync(dir), ['w.bin'], 'the model and its data file were removed');
      assert.throws(() => g.fileInitializer('bad', new FileSlice(file, 0, 10), [3], 'float32'), /10 bytes of .* do not hold float32 \[3\]/);
      const other = mkdtempSync(join(tmpdir(), 'file-init-other-'));
      try {
        writeFileSync(join(other, 'v.bin'), new Uint8Array(4));
        g.output('z', op.add(k, op.cast(g.fileInitializer('v', new FileSlice(join(other, 'v.bin'), 0, 4), [], 'float32'), 'int64')));
        await assert.rejects(compile(g, ['z', 'y']), /refer to files in 2 folders/);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('feeds subarray views without copying the whole buffer (a time-major KV cache prefix)', async () => {
    const g = new Graph();
    const past = g.input('past', 'float32', ['t', 2]);
    g.output('s', op.sum(past, [0]));
    const cache = Float32Array.from({ length: 20 }, (_, i) => i); // room for 10 steps of 2 values
    const out = await run(g, ['s'], { past: { data: cache.subarray(0, 6), dims: [3, 2] } });
    assert.deepEqual([...out.s.data as Float32Array], [0 + 2 + 4, 1 + 3 + 5]);
    const out2 = await run(g, ['s'], { past: { data: cache.subarray(4, 8), dims: [2, 2] } });
    assert.deepEqual([...out2.s.data as Float32Array], [4 + 6, 5 + 7]);
  });

  it('fills preallocated output buffers in place', async () => {
    const g = new Graph();
    const x = g.input('x', 'float32', [3]);
    g.output('y', op.mul(x, 2));
    const exe = await compile(g, ['y']);
    const buf = new Float32Array(3);
    const out = await exe.run({ x: f32(1, 2, 3) }, { y: { data: buf, dims: [3] } });
    assert.equal(out.y.data, buf);
    assert.deepEqual([...buf], [2, 4, 6]);
  });

  it('denormal-as-zero flushes the creating thread (checked in a child process)', () => {
    const script = `
      const { Graph, run, exp } = await import(${JSON.stringify(new URL('../../src/engine/index.js', import.meta.url).href)});
      const tiny = () => 1e-300 * 1e-10;
      const before = String(tiny()); // formatted now: under DAZ a stored denormal also reads as 0
      const g = new Graph(); const x = g.input('x', 'float32', [1]); g.output('y', exp(x));
      await run(g, ['y'], { x: new Float32Array(1) }, { denormalAsZero: process.argv[1] === 'on' });
      console.log(JSON.stringify([before, String(tiny())]));`;
    const go = (mode: string) => (JSON.parse(spawnSync(process.execPath, ['--input-type=module', '-e', script, mode], { encoding: 'utf8' }).stdout) as string[]);
    // Compared as strings: this test process has created sessions, so its own doubles are flushed too.
    const [before, after] = go('on');
    assert.ok(before === '1e-310' && after === '0', `denormals on: ${before} → ${after}`);
    const [, kept] = go('off');
    assert.equal(kept, '1e-310', 'denormals off: JS doubles keep their denormals');
  });
});
