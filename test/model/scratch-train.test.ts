// A tiny model trained from scratch on the bundled Python (APPS+ reference solutions) learns: with our BPE
// tokenizer and full-weight AdamW through the engine, held-out cross-entropy falls well below the unigram
// baseline (the entropy of the training token frequencies) within a small step budget.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { AdamW, clipGradNorm, compile, crossEntropy, gradients, Graph, type Feed } from '../../src/engine/index.js';
import { trainBpe } from '../../src/model/bpe-trainer.js';
import { appendDecoder, attentionBias, decoderInputs } from '../../src/model/decoder.js';
import { Rng } from '../../src/random.js';
import { Tokenizer } from '../../src/model/tokenizer.js';
import { tokenizerJson } from '../../src/model/bpe-trainer.js';
import { tinyModel } from '../../src/model/weights.js';

const dataFile = fileURLToPath(new URL('../../../data/apps_plus/valid_500.json', import.meta.url));
const STEPS = Number(process.env.SCRATCH_STEPS ?? 250), SEQ = 64, BATCH = 8, VOCAB = 512;

describe('training from scratch', () => {
  it('held-out loss falls well below the unigram baseline', async () => {
    const programs = (JSON.parse(readFileSync(dataFile, 'utf8')) as { canonical_solution: string }[]).map((p) => p.canonical_solution);
    const train = programs.slice(0, 450), held = programs.slice(450);
    const bpe = trainBpe(train, { vocabSize: VOCAB });
    const tok = new Tokenizer(tokenizerJson(bpe), { eos_token: '<|endoftext|>' });
    const stream = (ps: string[]) => ps.flatMap((p) => [...tok.encode(p), 0]);
    const trainIds = stream(train), heldIds = stream(held);

    // Unigram baseline: cross-entropy of held-out tokens under the training token frequencies (add-one).
    const counts = new Float64Array(VOCAB).fill(1);
    for (const t of trainIds) counts[t]++;
    const total = counts.reduce((s, c) => s + c, 0);
    let unigram = 0;
    for (const t of heldIds) unigram -= Math.log(counts[t] / total);
    unigram /= heldIds.length;

    const ck = tinyModel({ vocabSize: VOCAB, hiddenSize: 64, numHeads: 4, numKvHeads: 2, intermediateSize: 192, numLayers: 2, tieWordEmbeddings: true, seed: 1, initScale: 1 });
    for (const w of ck.weights.values()) if (w.shape.length === 2 && w.shape[0] === VOCAB) w.data.forEach((_, i, a) => { a[i] *= 0.02; });
    const g = new Graph({ name: 'scratch', contribOps: true });
    const t = appendDecoder(g, ck, decoderInputs(g, ck.config, false), { weightsAs: 'inputs' });
    const targets = g.input('targets', 'int64', ['batch', 'seq']);
    const loss = crossEntropy(t.logits, targets);
    const params = [...t.trainable.values()];
    const grads = gradients(loss, params);
    g.output('loss', loss);
    grads.forEach((d, i) => g.output(`grad:${params[i].name}`, d));
    const trainExe = await compile(g, ['loss', ...params.map((p) => `grad:${p.name}`)], { threads: 2 });
    const evalExe = await compile(g, ['loss'], { threads: 2 });
    const adam = new AdamW(params.map((p) => ({ name: p.name, data: ck.weights.get(p.name)!.data, decay: ck.weights.get(p.name)!.shape.length === 2 })), { lr: 4e-3, weightDecay: 0.01 });

    const mask = attentionBias(BATCH, SEQ, 0, null, 0, new Uint8Array(BATCH * SEQ).fill(1));
    const positions = BigInt64Array.from({ length: BATCH * SEQ }, (_, i) => BigInt(i % SEQ));
    const weights: Record<string, Feed> = Object.fromEntries(params.map((p) => [p.name, ck.weights.get(p.name)!.data]));
    const batchFeeds = (ids: number[], starts: number[]): Record<string, Feed> => {
      const x = new BigInt64Array(BATCH * SEQ), y = new BigInt64Array(BATCH * SEQ);
      starts.forEach((s, b) => { for (let j = 0; j < SEQ; j++) { x[b * SEQ + j] = BigInt(ids[s + j]); y[b * SEQ + j] = BigInt(ids[s + j + 1]); } });
      return {
        input_ids: { data: x, dims: [BATCH, SEQ] }, targets: { data: y, dims: [BATCH, SEQ] },
        position_ids: { data: positions, dims: [BATCH, SEQ] }, attn_bias: { data: mask, dims: [BATCH, 1, 1, SEQ, SEQ] }, ...weights,
      };
    };
    const heldLoss = async () => {
      let s = 0, n = 0;
      for (let start = 0; start + BATCH * SEQ + 1 < heldIds.length && n < 4; start += BATCH * SEQ, n++) {
        const out = await evalExe.run(batchFeeds(heldIds, Array.from({ length: BATCH }, (_, b) => start + b * SEQ)));
        s += (out.loss.data as Float32Array)[0];
      }
      return s / n;
    };
    const before = await heldLoss();
    const rng = new Rng(7);
    const t0 = performance.now();
    for (let step = 0; step < STEPS; step++) {
      const out = await trainExe.run(batchFeeds(trainIds, Array.from({ length: BATCH }, () => rng.int(trainIds.length - SEQ - 1))));
      const gs = params.map((p) => out[`grad:${p.name}`].data as Float32Array);
      clipGradNorm(gs, 1.0);
      adam.update(gs, Number(process.env.SCRATCH_LR ?? 4e-3) * Math.min(1, (step + 1) / 10));
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = await heldLoss();
    if (process.env.MODEL_VERBOSE) console.log({ unigram, before, after, seconds, tokens: trainIds.length });
    assert.ok(before > unigram, `an untrained model is worse than unigram (${before} vs ${unigram})`);
    assert.ok(after < 0.8 * unigram, `held-out loss ${after.toFixed(3)} vs unigram ${unigram.toFixed(3)} after ${STEPS} steps (${seconds.toFixed(1)} s)`);
  });
});
