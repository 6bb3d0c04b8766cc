// LoRA training through a quantized frozen base (the trainers' PolicyGraph): the gradients of every LoRA
// matrix against (1) the float model on the dequantized weights — the exact gradient of the function the
// quantized forward computes, up to the kernels' activation rounding — and (2) central finite differences
// of the quantized forward itself along the gradient's direction. (The rule's algebra is checked exactly,
// in float64, in test/engine/quant.test.ts.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LoraAdapter, LORA_MODULES } from '../../src/model/lora.js';
import { dequantizeCheckpoint, quantizeCheckpoint, randomQuantizedCheckpoint } from '../../src/model/quantized.js';
import { quantizedOnDisk, randomQuantizedOnDisk } from '../../src/model/quant-cache.js';
import { tinyModel } from '../../src/model/weights.js';
import { tokenBatch } from '../../src/train/batch.js';
import { PolicyGraph } from '../../src/train/policy.js';
import { releaseSessions } from '../../src/engine/index.js';
import { VARIANTS } from './variants.js';
import { tempDir } from './helpers.js';
import { join } from 'node:path';

function cosine(a: Float64Array, b: Float64Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i]; }
  return ab / Math.sqrt(aa * bb);
}

describe('LoRA through a quantized base', () => {
  for (const mode of ['int8', 'nbits4'] as const) {
    it(`${mode}: LoRA gradients match the dequantized float model's and finite differences of the quantized forward`, async () => {
      const base = tinyModel({ ...VARIANTS.qwen3, intermediateSize: 128, seed: 21 });
      const qck = quantizeCheckpoint(base, { mode, embedding: true, head: false });
      const adapter = LoraAdapter.init(base.config, { r: 4, alpha: 8, dropout: 0, targetModules: [...LORA_MODULES] }, 4);
      for (const p of adapter.pairs.values()) p.B.forEach((_, i, a) => { a[i] = 0.05 * Math.sin(0.7 * i + 1); });
      const seqs = [0, 1, 2].map((b) => ({ tokens: Array.from({ length: 14 + 3 * b }, (_, i) => (i * 37 + b * 11 + 5) % 256), lossStart: 2 }));
      const batches = [tokenBatch(seqs)];
      const names = adapter.parameters().map((p) => p.name);
      const flat = (m: Map<string, Float32Array>) => Float64Array.from(names.flatMap((n) => [...m.get(n)!]));

      const quant = new PolicyGraph(qck, { lora: adapter.config, session: { threads: 1 } });
      const float = new PolicyGraph(dequantizeCheckpoint(qck), { lora: adapter.config, session: { threads: 1 } });
      const gq = flat((await quant.sftStep(batches, adapter.feeds())).grads);
      const gf = flat((await float.sftStep(batches, adapter.feeds())).grads);
      const cos = cosine(gq, gf);
      let num = 0, den = 0;
      for (let i = 0; i < gq.length; i++) { num += (gq[i] - gf[i]) ** 2; den += gf[i] ** 2; }
      const rel = Math.sqrt(num / den);
      process.stderr.write(`# ${mode}: quantized vs dequantized-float LoRA gradient: relative error ${rel.toExponential(2)}, cosine ${cos.toFixed(6)}\n`);
      assert.ok(rel < 0.02, `relative error ${rel}`); // (nbits4 was 6% with a requantized backward copy)

      // Directional central difference of the quantized forward's loss along v = g / |g|.
      const norm = Math.sqrt(gq.reduce((s, x) => s + x * x, 0));
      const params = adapter.parameters();
      const shift = (eps: number) => {
        let k = 0;
        for (const p of params) for (let i = 0; i < p.data.length; i++) p.data[i] += eps * (gq[k++] / norm);
      };
      const eps = 0.05;
      const saved = params.map((p) => p.data.slice());
      shift(eps); const lp = await quant.sftLoss(batches, adapter.feeds());
      params.forEach((p, i) => p.data.set(saved[i]));
      shift(-eps); const lm = await quant.sftLoss(batches, adapter.feeds());
      params.forEach((p, i) => p.data.set(saved[i]));
      const numeric = (lp - lm) / (2 * eps);
      process.stderr.write(`# ${mode}: directional derivative ${norm.toExponential(4)} (autodiff) vs ${numeric.toExponential(4)} (finite differences)\n`);
      assert.ok(Math.abs(numeric - norm) / norm < (mode === 'int8' ? 0.02 : 0.05), `autodiff ${norm} vs finite differences ${numeric}`);
      await releaseSessions(quant.graph);
      await releaseSessions(float.graph);
    });
  }

  it('fed quantized weights (int8: backward by an in-graph transpose; nbits4As inputs; embedding and head quantized) give the baked graph\'s loss and LoRA gradients', async () => {
    const base = tinyModel({ ...VARIANTS.qwen3, intermediateSize: 128, seed: 22 });
    for (const mode of ['int8', 'nbits4'] as const) {
      const qck = quantizeCheckpoint(base, { mode, embedding: true, head: true });
      const adapter = LoraAdapter.init(base.config, { r: 4, alpha: 8, dropout: 0, targetModules: [...LORA_MODULES] }, 5);
      for (const p of adapter.pairs.values()) p.B.forEach((_, i, a) => { a[i] = 0.05 * Math.cos(0.3 * i); });
      const batches = [tokenBatch([0, 1].map((b) => ({ tokens: Array.from({ length: 12 + 2 * b }, (_, i) => (i * 29 + b * 7 + 3) % 256), lossStart: 1 })))];
      const baked = new PolicyGraph(qck, { lora: adapter.config, session: { threads: 1 } });
      const fed = new PolicyGraph(qck, { lora: adapter.config, baseWeights: 'inputs', nbits4As: 'inputs', session: { threads: 1 } });
      const rb = await baked.sftStep(batches, adapter.feeds()), rf = await fed.sftStep(batches, adapter.feeds());
      // int8 fed from the one JS copy: no backward copy is built (the graph transposes qT)
      if (mode === 'int8') assert.ok([...qck.quantized!.values()].every((w) => !w.hasBackward), 'int8 backward copies built');
      let num = 0, den = 0;
      for (const p of adapter.parameters()) {
        const a = rb.grads.get(p.name)!, b = rf.grads.get(p.name)!;
        for (let i = 0; i < a.length; i++) { num += (a[i] - b[i]) ** 2; den += a[i] ** 2; }
      }
      const rel = Math.sqrt(num / den);
      // int8 is fed in both graphs (decoder.ts); nbits4 fed is dequantized to float by MatMulNBits (rounding)
      assert.ok(rel < (mode === 'int8' ? 1e-5 : 0.02), `${mode}: fed vs baked gradients, relative difference ${rel}`);
      assert.ok(Math.abs(rf.stats.loss - rb.stats.loss) < (mode === 'int8' ? 1e-5 : 1e-2) * Math.abs(rb.stats.loss), `${mode}: loss ${rf.stats.loss} vs ${rb.stats.loss}`);
      await releaseSessions(baked.graph);
      await releaseSessions(fed.graph);
    }
  });

  it('weights left in a file (a cache hit, or written tensor by tensor) train exactly as weights held in JS, baked or fed', async () => {
    const dir = tempDir('quant-file-train');
    const base = tinyModel({ ...VARIANTS.llama, intermediateSize: 128, seed: 23 });
    for (const mode of ['int8', 'nbits4'] as const) {
      const q = { mode, embedding: true, head: true };
      const inJs = quantizeCheckpoint(base, q);
      const onDisk = quantizedOnDisk(inJs, join(dir, `${mode}.safetensors`));
      const adapter = LoraAdapter.init(base.config, { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'down_proj'] }, 6);
      for (const p of adapter.pairs.values()) p.B.forEach((_, i, a) => { a[i] = 0.05 * Math.sin(0.2 * i); });
      const batches = [tokenBatch([{ tokens: Array.from({ length: 13 }, (_, i) => (i * 31 + 9) % 256), lossStart: 1 }])];
      for (const nbits4As of ['initializers', 'inputs'] as const) {
        const a = new PolicyGraph(inJs, { lora: adapter.config, nbits4As, session: { threads: 1 } });
        const b = new PolicyGraph(onDisk, { lora: adapter.config, nbits4As, session: { threads: 1 } });
        const ra = await a.sftStep(batches, adapter.feeds()), rb = await b.sftStep(batches, adapter.feeds());
        assert.equal(rb.stats.loss, ra.stats.loss, `${mode} ${nbits4As}: loss`);
        for (const p of adapter.parameters()) assert.deepEqual([...rb.grads.get(p.name)!], [...ra.grads.get(p.name)!], `${mode} ${nbits4As}: ${p.name}`);
        // JS reads a weight from the file only to feed it: int8 always, nbits4 when fed
        assert.equal([...onDisk.quantized!.values()].every((w) => w.loaded), mode === 'int8' || nbits4As === 'inputs', `${mode} ${nbits4As}: weights read into JS`);
        await releaseSessions(a.graph);
        await releaseSessions(b.graph);
      }
    }
    // A benchmark shape's random weights written straight to a file hold what randomQuantizedCheckpoint builds in memory.
    const q = { mode: 'nbits4' as const, embedding: true, head: false };
    const streamed = randomQuantizedOnDisk(base.config, q, join(dir, 'random.safetensors'), 4);
    const built = randomQuantizedCheckpoint(base.config, q, 4, 0.5, { fast: true });
    assert.deepEqual([...streamed.quantized!.keys()].sort(), [...built.quantized!.keys()].sort());
    for (const [name, w] of built.quantized!) assert.deepEqual([...streamed.quantized!.get(name)!.dequantize()], [...w.dequantize()], name);
    for (const [name, w] of built.weights) assert.deepEqual([...streamed.weights.get(name)!.data], [...w.data], name);
  });
});
