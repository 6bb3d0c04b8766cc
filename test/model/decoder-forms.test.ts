// The decoder's fast training forms (swiglu, ORT's RotaryEmbedding kernel, causal-block attention) against
// its standard-op forms on every architecture variant: logits, and the gradients of a LoRA adapter on all
// seven modules and of every base weight, equal within float32 rounding (measured: logits ≤ 3e-7,
// gradients ≤ 1.1e-6 of their scale). Two masks the trainers feed: a left-padded batch (real positions
// compared: a padding row that sees no key is garbage in both forms) and packed SFT rows with
// block-diagonal masks (every position compared, padding included).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compile, crossEntropy, gradients, Graph, releaseSessions, type Feed } from '../../src/engine/index.js';
import { appendDecoder, decoderInputs, type DecoderOptions } from '../../src/model/decoder.js';
import { LORA_MODULES, LoraAdapter } from '../../src/model/lora.js';
import { Rng } from '../../src/random.js';
import { tinyModel, type Checkpoint } from '../../src/model/weights.js';
import { packedBatch, tokenBatch, type TokenBatch } from '../../src/train/batch.js';
import { relErr } from './helpers.js';
import { VARIANTS } from './variants.js';

interface FormsRun { logits: Float32Array; grads: Map<string, Float32Array>; ops: Set<string> }

/** One graph (LoRA on every module and every base weight trainable), run on each batch. */
async function runForms(ck: Checkpoint, adapter: LoraAdapter, opts: DecoderOptions, batches: TokenBatch[]): Promise<FormsRun[]> {
  const g = new Graph({ name: `forms-${opts.forms}`, contribOps: true });
  const t = appendDecoder(g, ck, decoderInputs(g, ck.config, false), { ...opts, lora: adapter.config, weightsAs: 'inputs' });
  const targets = g.input('targets', 'int64', ['batch', 'seq']);
  const lossMask = g.input('loss_mask', 'float32', ['batch', 'seq']);
  const loss = crossEntropy(t.logits, targets, lossMask);
  const params = [...t.trainable.values()];
  gradients(loss, params).forEach((d, i) => g.output(`grad:${params[i].name}`, d));
  g.output('logits', t.logits);
  const exe = await compile(g, ['logits', ...params.map((p) => `grad:${p.name}`)], { threads: 1 });
  const weights: Record<string, Feed> = Object.fromEntries([...ck.weights].map(([n, w]) => [n, w.data]));
  const out: FormsRun[] = [];
  for (const b of batches) {
    const dims = [b.batch, b.seq];
    const r = await exe.run({
      input_ids: { data: b.ids, dims }, position_ids: { data: b.positions, dims }, targets: { data: b.targets, dims },
      attn_bias: { data: b.attnBias, dims: [b.batch, 1, 1, b.seq, b.seq] }, loss_mask: { data: b.mask, dims },
      ...weights, ...adapter.feeds(),
    });
    out.push({
      logits: r.logits.data as Float32Array,
      grads: new Map(params.map((p) => [p.name, r[`grad:${p.name}`].data as Float32Array])),
      ops: new Set(g.nodes.map((n) => n.op)),
    });
  }
  await releaseSessions(g);
  return out;
}

/** The logits of the positions `keep` says to compare ([batch, seq] → the rows kept, concatenated). */
function kept(logits: Float32Array, b: TokenBatch, V: number, keep: (row: number, j: number) => boolean): Float32Array {
  const out: number[] = [];
  for (let r = 0; r < b.batch; r++) for (let j = 0; j < b.seq; j++) if (keep(r, j)) out.push(...logits.subarray((r * b.seq + j) * V, (r * b.seq + j + 1) * V));
  return Float32Array.from(out);
}

function batches(V: number): { padded: TokenBatch; packed: TokenBatch } {
  const rng = new Rng(7);
  const seq = (n: number, lossStart = 1) => ({ tokens: Array.from({ length: n }, () => rng.int(V)), lossStart });
  // Lengths 12, 5, 9: 11 positions, two rows left-padded, uneven blocks.
  const padded = tokenBatch([seq(12), seq(5), seq(9)]);
  // Rows of 5 + 4 + 3 and 7 tokens (left-padded to 12), each example its own block of the mask.
  const packed = packedBatch([[seq(5, 2), seq(4), seq(3)], [seq(7, 3)]]);
  return { padded, packed };
}

async function compareForms(ck: Checkpoint, fast: DecoderOptions): Promise<void> {
  const V = ck.config.vocabSize;
  const adapter = LoraAdapter.init(ck.config, { r: 4, alpha: 8, dropout: 0, targetModules: [...LORA_MODULES] }, 3);
  const rng = new Rng(4);
  for (const p of adapter.pairs.values()) for (let i = 0; i < p.B.length; i++) p.B[i] = 0.2 * rng.normal();
  const { padded, packed } = batches(V);
  const [fp, fk] = await runForms(ck, adapter, fast, [padded, packed]);
  const [sp, sk] = await runForms(ck, adapter, { forms: 'standard' }, [padded, packed]);
  assert.ok(fp.ops.has('RotaryEmbedding') && !sp.ops.has('RotaryEmbedding'), 'the fast graph uses the kernel, the standard one does not');
  const real = (r: number, j: number) => j >= padded.pad[r];
  const errs = { padded: relErr(kept(fp.logits, padded, V, real), kept(sp.logits, padded, V, real)), packed: relErr(fk.logits, sk.logits) };
  for (const [k, e] of Object.entries(errs)) assert.ok(e < 1e-6, `${k} logits: relative error ${e}`);
  for (const [f, s, which] of [[fp, sp, 'padded'], [fk, sk, 'packed']] as const) {
    for (const [name, d] of s.grads) {
      const e = relErr(f.grads.get(name)!, d);
      assert.ok(e < 1e-5, `${which} gradient of ${name}: relative error ${e}`);
    }
  }
}

describe('decoder forms', () => {
  for (const [name, opts] of Object.entries(VARIANTS)) {
    it(`${name}: fast forms give the standard forms' logits and LoRA and weight gradients`, async () => {
      await compareForms(tinyModel(opts), {});
    });
  }

  it('three causal blocks (uneven over 11 and 12 positions) agree too', async () => {
    await compareForms(tinyModel(VARIANTS.llama), { causalBlocks: 3 });
  });
});
