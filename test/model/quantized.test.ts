// Quantized frozen weights in the model: on a random model of each architecture, the quantized CausalLM
// against the float model with the same (dequantized) weights and against the float32 original (KL and
// loss change, reported), KV-cache decoding, loading bf16 folders tensor by tensor, random quantized
// checkpoints generated layer by layer.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CausalLM } from '../../src/model/causal-lm.js';
import { compareModels } from '../../src/model/quant-eval.js';
import {
  dequantizeCheckpoint, loadQuantizedCheckpoint, quantizeCheckpoint, quantizedTensorNames, randomQuantizedCheckpoint, type QuantizeConfig,
} from '../../src/model/quantized.js';
import { createTinyModel, loadCheckpoint, randomWeights, tinyConfig, tinyModel } from '../../src/model/weights.js';
import { Rng } from '../../src/random.js';
import { relErr, tempDir } from './helpers.js';
import { VARIANTS } from './variants.js';

const session = { threads: 1 };
const windows = (V: number, n: number, len: number, seed: number) => {
  const r = new Rng(seed);
  return Array.from({ length: n }, () => Array.from({ length: len }, () => r.int(V)));
};

describe('quantized decoder', () => {
  const modes: QuantizeConfig[] = [
    { mode: 'int8', embedding: false, head: false },
    { mode: 'nbits4', embedding: false, head: false },
    { mode: 'int8', embedding: true, head: true },
    { mode: 'nbits4', embedding: true, head: true },
  ];
  for (const [name, v] of Object.entries(VARIANTS)) {
    it(`${name}: quantized logits match the float model on the dequantized weights; KL and loss change against float32 reported`, async () => {
      const ck = tinyModel({ ...v, intermediateSize: 128 });
      const ref = new CausalLM(ck, { session });
      const ws = windows(ck.config.vocabSize, 3, 24, 1);
      for (const q of modes) {
        const qck = quantizeCheckpoint(ck, q);
        assert.equal(qck.quantized!.size, quantizedTensorNames(ck.config, q).size);
        const lm = new CausalLM(qck, { session });
        const deq = new CausalLM(dequantizeCheckpoint(qck), { session });
        const [a] = await lm.logits([ws[0]]);
        const [b] = await deq.logits([ws[0]]);
        // only the kernels' rounding of the activations separates them
        const e = relErr(a, b);
        assert.ok(e < (q.mode === 'int8' ? 0.02 : 0.05), `${q.mode} kernel vs dequantized float: ${e}`);
        const c = await compareModels(ref, lm, ws);
        const tag = `${name} ${q.mode}${q.embedding ? '+emb+head' : ''}`;
        process.stderr.write(`# ${tag}: KL ${c.klMean.toExponential(2)} (max ${c.klMax.toExponential(2)}), loss ${c.lossRef.toFixed(4)} → ${c.lossQuant.toFixed(4)} (${(100 * c.lossChange).toFixed(3)}%), top-1 ${(100 * c.top1Agreement).toFixed(1)}%\n`);
        assert.ok(c.klMean < (q.mode === 'int8' ? 2e-3 : 5e-2), `${tag}: KL ${c.klMean}`);
        if (q.mode === 'int8') assert.ok(Math.abs(c.lossChange) < 0.01, `${tag}: loss change ${c.lossChange}`);
      }
    });
  }

  it('KV-cache decoding of a quantized model equals its full forward pass (row-wise activation rounding)', async () => {
    for (const mode of ['int8', 'nbits4'] as const) {
      const ck = quantizeCheckpoint(tinyModel({ ...VARIANTS.llama }), { mode, embedding: true, head: true });
      const lm = new CausalLM(ck, { session });
      const rows = [[5, 9, 200, 17, 3, 3, 80], [44, 2, 9]];
      const full = await lm.logits(rows.map((r) => [...r, 7, 11]));
      const cache = lm.newCache(2, 16);
      const V = ck.config.vocabSize;
      const first = await lm.prefill(cache, rows);
      const second = await lm.step(cache, [7, 7]);
      const third = await lm.step(cache, [11, 11]);
      rows.forEach((r, b) => {
        const L = r.length;
        for (const [got, pos] of [[first, L - 1], [second, L], [third, L + 1]] as const) {
          const e = relErr(got.subarray(b * V, (b + 1) * V), full[b].subarray(pos * V, (pos + 1) * V));
          assert.ok(e < 2e-3, `${mode} row ${b} position ${pos}: ${e}`);
        }
      });
    }
  });

  it('loads a bf16 folder quantizing tensor by tensor: the same weights and logits as quantizing the loaded float checkpoint', async () => {
    const dir = tempDir('quant-load');
    createTinyModel(dir, { ...VARIANTS.qwen2, dtype: 'bfloat16' });
    for (const mode of ['int8', 'nbits4'] as const) {
      const q: QuantizeConfig = { mode, embedding: true, head: false };
      const a = loadQuantizedCheckpoint(dir, q);
      const b = quantizeCheckpoint(loadCheckpoint(dir), q);
      assert.deepEqual([...a.weights.keys()].sort(), [...b.weights.keys()].sort());
      for (const [name, w] of a.quantized!) assert.deepEqual([...w.dequantize()], [...b.quantized!.get(name)!.dequantize()], name);
      const lm = CausalLM.load(dir, { quantize: q, session });
      const [x] = await lm.logits([[1, 2, 3, 4]]);
      const [y] = await new CausalLM(b, { session }).logits([[1, 2, 3, 4]]);
      assert.deepEqual([...x], [...y]);
    }
  });

  it('random quantized checkpoints are the random float weights quantized (generated tensor by tensor)', () => {
    const config = tinyConfig({ numLayers: 2 });
    const none = randomQuantizedCheckpoint(config, { mode: 'none', embedding: false, head: false }, 3);
    const plain = randomWeights(config, 3);
    for (const [name, w] of plain) assert.deepEqual([...none.weights.get(name)!.data], [...w.data], name);
    const q = randomQuantizedCheckpoint(config, { mode: 'int8', embedding: false, head: true }, 3);
    const want = quantizeCheckpoint({ config, weights: plain }, { mode: 'int8', embedding: false, head: true });
    assert.deepEqual([...q.quantized!.keys()].sort(), [...want.quantized!.keys()].sort());
    for (const [name, w] of q.quantized!) assert.deepEqual([...w.dequantize()], [...want.quantized!.get(name)!.dequantize()], name);
    assert.ok(!q.weights.has('lm_head.weight') && q.weights.has('model.embed_tokens.weight'));
  });
});
