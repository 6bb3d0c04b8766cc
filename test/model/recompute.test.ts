// Activation recomputation (`recompute`): the same losses and gradients as keeping the activations, for
// every architecture, full fine-tuning and LoRA (with in-graph dropout, whose masks the recomputation must
// draw again identically), PPO with a value head and an int8 base; and the backward reads nothing of a
// block's forward but its input.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Graph, recomputed, gradients, releaseSessions, rmsNorm, run, type Tensor } from '../../src/engine/index.js';
import * as op from '../../src/engine/ops.js';
import { LORA_DROPOUT_KEEP } from '../../src/model/decoder.js';
import { LoraAdapter, LORA_MODULES } from '../../src/model/lora.js';
import { quantizeCheckpoint } from '../../src/model/quantized.js';
import { tinyModel, type Checkpoint } from '../../src/model/weights.js';
import { tokenBatch } from '../../src/train/batch.js';
import { PolicyGraph, type Params, type PolicyGraphOptions, type StepResult } from '../../src/train/policy.js';
import { VARIANTS } from './variants.js';

const batches = () => [tokenBatch([0, 1, 2].map((b) => ({ tokens: Array.from({ length: 11 + 4 * b }, (_, i) => (i * 41 + b * 13 + 7) % 256), lossStart: 2 })))];

/** Largest |a − b| / max(|b|, 1e-3) over every gradient, and the losses. */
function compare(a: StepResult, b: StepResult): number {
  assert.deepEqual([...a.grads.keys()].sort(), [...b.grads.keys()].sort());
  let worst = Math.abs(a.stats.loss - b.stats.loss) / Math.abs(b.stats.loss);
  for (const [name, ga] of a.grads) {
    const gb = b.grads.get(name)!;
    let scale = 1e-3;
    for (const v of gb) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < ga.length; i++) worst = Math.max(worst, Math.abs(ga[i] - gb[i]) / scale);
  }
  return worst;
}

async function bothWays(ck: Checkpoint, o: { lora?: LoraAdapter; dropout?: boolean; valueHead?: boolean; grpo?: PolicyGraphOptions['grpo'] },
  step: (p: PolicyGraph, params: Params) => Promise<StepResult>): Promise<number> {
  const results: StepResult[] = [];
  for (const recompute of [false, true]) {
    const p = new PolicyGraph(ck, { lora: o.lora?.config, dropout: o.dropout, dropoutSeed: 3, valueHead: o.valueHead, grpo: o.grpo, recompute, session: { threads: 1 } });
    const params: Params = o.lora
      ? { ...o.lora.feeds(), ...(o.valueHead ? { 'v_head.summary.weight': new Float32Array(ck.config.hiddenSize).fill(0.01), 'v_head.summary.bias': Float32Array.of(0.1) } : {}) }
      : Object.fromEntries(p.trainable.map((n) => [n, ck.weights.get(n)!.data]));
    results.push(await step(p, params));
    await releaseSessions(p.graph);
  }
  return compare(results[1], results[0]);
}

function adapterFor(ck: Checkpoint, dropout: number): LoraAdapter {
  const a = LoraAdapter.init(ck.config, { r: 4, alpha: 8, dropout, targetModules: [...LORA_MODULES] }, 9);
  for (const p of a.pairs.values()) p.B.forEach((_, i, b) => { b[i] = 0.04 * Math.sin(0.9 * i + 2); });
  return a;
}

describe('activation recomputation', () => {
  for (const [name, v] of Object.entries(VARIANTS)) {
    it(`${name}: full fine-tuning's SFT loss and gradients are unchanged`, async () => {
      const ck = tinyModel({ ...v, intermediateSize: 96 });
      const worst = await bothWays(ck, {}, (p, params) => p.sftStep(batches(), params));
      assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
    });
  }

  it('LoRA with in-graph dropout: the recomputed blocks draw the forward\'s masks (same gradients, over two runs)', async () => {
    const ck = tinyModel({ ...VARIANTS.qwen3, intermediateSize: 96 });
    const lora = adapterFor(ck, 0.3);
    const keep = () => ({ [LORA_DROPOUT_KEEP]: Float32Array.of(0.7) });
    // Two runs in a row: the second draws the generators' next masks, in the forward and the copy alike.
    const worst = await bothWays(ck, { lora, dropout: true }, async (p, params) => {
      const first = await p.sftStep(batches(), params, keep);
      const second = await p.sftStep(batches(), params, keep);
      assert.notEqual(first.stats.loss, second.stats.loss, 'the masks did not change between runs');
      return second;
    });
    assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
  });

  it('LoRA PPO with a value head, over an int8 base', async () => {
    const base = tinyModel({ ...VARIANTS.llama, intermediateSize: 96 });
    for (const ck of [base, quantizeCheckpoint(base, { mode: 'int8', embedding: true, head: false })]) {
      const lora = adapterFor(ck, 0);
      const items = [0, 1].map((b) => {
        const tokens = Array.from({ length: 10 + 3 * b }, (_, i) => (i * 23 + b * 5 + 1) % 256);
        const n = tokens.length - 4;
        return {
          tokens, lossStart: 4, oldLogprobs: Array.from({ length: n }, (_, i) => -2 - 0.1 * i),
          advantages: Array.from({ length: n }, (_, i) => Math.cos(i + b)), oldValues: new Array<number>(n).fill(0.05), returns: new Array<number>(n).fill(0.5),
        };
      });
      const worst = await bothWays(ck, { lora, valueHead: true }, (p, params) => p.ppoStep(items, params));
      assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
    }
  });

  it('LoRA GSPO with a KL term (the graph\'s third loss: its own recomputation)', async () => {
    const ck = tinyModel({ ...VARIANTS.qwen2, intermediateSize: 96 });
    const items = [0, 1, 2].map((b) => {
      const tokens = Array.from({ length: 9 + 2 * b }, (_, i) => (i * 31 + b * 17 + 3) % 256);
      const n = tokens.length - 3;
      return { tokens, lossStart: 3, oldLogprobs: Array.from({ length: n }, (_, i) => -1.5 - 0.05 * i), refLogprobs: Array.from({ length: n }, (_, i) => -1.6 - 0.04 * i), advantage: b - 1 };
    });
    const grpo = { clipLow: 0.2, clipHigh: 0.28, level: 'sequence' as const, lossType: 'grpo' as const, beta: 0.04 };
    const worst = await bothWays(ck, { lora: adapterFor(ck, 0), grpo }, (p, params) => p.grpoStep(items, params));
    assert.ok(worst < 1e-5, `largest relative difference ${worst}`);
  });

  it('the backward reads only each block\'s input from the forward', () => {
    const ck = tinyModel({ ...VARIANTS.llama, intermediateSize: 96 });
    const lora = adapterFor(ck, 0);
    const held = (recompute: boolean) => {
      const p = new PolicyGraph(ck, { lora: lora.config, recompute });
      const g = p.graph;
      const loss = g.outputs.get('sft_loss')!;
      const forwardEnd = loss.producer!.id;
      // Activations: float tensors with a sequence axis made by the forward and read after the loss.
      const read = new Set<Tensor>();
      for (const n of g.nodes.slice(forwardEnd + 1)) {
        for (const t of n.inputs) if (t.producer && t.producer.id < forwardEnd && t.dtype === 'float32' && t.shape.includes('seq')) read.add(t);
      }
      return read.size;
    };
    const layers = ck.config.numLayers;
    const kept = held(false), rebuilt = held(true);
    // Kept: dozens per block. Rebuilt: each block's input, plus what the head and the loss's own backward read.
    assert.ok(kept > 10 * layers, `without recomputation the backward reads ${kept} forward activations`);
    process.stderr.write(`# kept ${kept} rebuilt ${rebuilt}\n`);
    assert.ok(rebuilt <= layers + 8, `with recomputation the backward reads ${rebuilt} forward activations`);
  });

  it('a recomputed region of custom-gradient parts: float64 gradients equal the plain graph\'s, weight gradients first', async () => {
    const build = (recompute: boolean) => {
      const g = new Graph({ name: 'r' });
      const x = g.input('x', 'float64', [2, 'n', 4]);
      const w1 = g.input('w1', 'float64', [4, 4]);
      const w2 = g.input('w2', 'float64', [4]);
      const body = ([h]: readonly Tensor[]) => [op.add(h, op.tanh(op.matmul(rmsNorm(h, w2, 1e-6), w1)))];
      let y = x;
      for (let i = 0; i < 3; i++) y = recompute ? recomputed(`b${i}`, [y], body)[0] : body([y])[0];
      const loss = op.sum(op.mul(y, y));
      g.output('loss', loss);
      gradients(loss, [x, w1, w2]).forEach((d, i) => g.output(`d${i}`, d));
      return g;
    };
    const feeds = {
      x: { data: Float64Array.from({ length: 24 }, (_, i) => Math.sin(i)), dims: [2, 3, 4] },
      w1: { data: Float64Array.from({ length: 16 }, (_, i) => 0.3 * Math.cos(i)), dims: [4, 4] },
      w2: { data: Float64Array.from({ length: 4 }, (_, i) => 1 + 0.1 * i), dims: [4] },
    };
    const outs = ['loss', 'd0', 'd1', 'd2'];
    // Each region's weight gradients come before its input's: every region's part of dW1 is an ancestor of
    // dX (otherwise ORT defers the weight products, keeping their operands alive through later regions).
    const rg = build(true);
    const ancestors = new Set<Tensor>();
    const stack = [rg.outputs.get('d0')!];
    while (stack.length) {
      const t = stack.pop()!;
      if (ancestors.has(t)) continue;
      ancestors.add(t);
      if (t.producer) stack.push(...t.producer.inputs);
    }
    const dw1 = rg.outputs.get('d1')!;
    const parts = dw1.producer?.op === 'Sum' ? dw1.producer.inputs : [dw1];
    assert.equal(parts.length, 3, 'one part of dW1 per region');
    assert.ok(parts.every((t) => ancestors.has(t)), 'a region\'s weight gradient is not computed before its input gradient');
    const [a, b] = [await run(build(false), outs, feeds), await run(rg, outs, feeds)];
    for (const k of outs) {
      const da = a[k].data as Float64Array, db = b[k].data as Float64Array;
      for (let i = 0; i < da.length; i++) assert.ok(Math.abs(da[i] - db[i]) <= 1e-12 * Math.max(1, Math.abs(da[i])), `${k}[${i}]: ${da[i]} vs ${db[i]}`);
    }
  });
});
