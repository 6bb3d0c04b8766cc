// Batched sampling with the KV cache: seeded, log-probs equal to a full forward pass with the temperature
// applied (first PPO ratio 1), greedy = argmax of the full forward, the processed distribution matches
// empirical draws, Hugging Face's repetition penalty, stop strings and eos, and flat per-token cost.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CausalLM } from '../../src/model/causal-lm.js';
import { Rng } from '../../src/random.js';
import { generate, sampleRow } from '../../src/model/sampler.js';
import { tinyModel } from '../../src/model/weights.js';
import { VARIANTS } from './variants.js';

const PROMPTS = [[1, 2, 3, 4, 5, 6], [7, 8], [9, 10, 11, 12]];
/** A stand-in detokenizer for stop-string tests: token t → one letter. */
const letters = (ids: number[]) => ids.map((t) => String.fromCharCode(97 + (t % 26))).join('');

function logSoftmax(row: Float32Array, T: number): Float64Array {
  let m = -Infinity;
  for (const v of row) m = Math.max(m, v / T);
  let z = 0;
  for (const v of row) z += Math.exp(v / T - m);
  return Float64Array.from(row, (v) => v / T - m - Math.log(z));
}

/** The straightforward sampler (the full sort it replaced): the processed candidates in order with their
 * probabilities, and the draw from one `rng.float()`. */
function referenceRow(raw: Float32Array, T: number, topK: number, topP: number, penalty: number, seen: number[] | null, rng: Rng | null) {
  const V = raw.length;
  const work = Float64Array.from(raw);
  if (seen) for (const s of seen) work[s] = work[s] < 0 ? work[s] * penalty : work[s] / penalty;
  for (let i = 0; i < V; i++) work[i] /= T;
  let order = Array.from(work.keys()).sort((a, b) => work[b] - work[a] || a - b);
  if (topK > 0 && topK < V) order = order.slice(0, topK);
  const m = work[order[0]];
  let sum = 0;
  for (const i of order) sum += Math.exp(work[i] - m);
  if (topP < 1) {
    let cum = 0, keep = 0;
    for (const i of order) { cum += Math.exp(work[i] - m) / sum; keep++; if (cum >= topP) break; }
    order = order.slice(0, Math.max(1, keep));
    sum = 0;
    for (const i of order) sum += Math.exp(work[i] - m);
  }
  const probs = new Map(order.map((i) => [i, Math.exp(work[i] - m) / sum]));
  let token = -1;
  if (rng) {
    let u = rng.float() * sum;
    token = order[order.length - 1];
    for (const i of order) { u -= Math.exp(work[i] - m); if (u < 0) { token = i; break; } }
  }
  return { order, probs, token };
}

describe('sampler', () => {
  const ck = tinyModel({ ...VARIANTS.qwen2, initScale: 2 });
  const lm = new CausalLM(ck, { session: { threads: 1 } });
  const V = ck.config.vocabSize;

  it('is seeded, and its log-probs equal log softmax(logits/T) of a full forward pass (ratio 1)', async () => {
    const o = { maxNewTokens: 12, temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, eosTokenIds: [] };
    const a = await generate(lm, PROMPTS, { ...o, seed: 5 });
    const b = await generate(lm, PROMPTS, { ...o, seed: 5 });
    const c = await generate(lm, PROMPTS, { ...o, seed: 6 });
    assert.deepEqual(a.tokens, b.tokens);
    assert.deepEqual(a.logprobs, b.logprobs);
    assert.notDeepEqual(a.tokens, c.tokens);
    assert.deepEqual(a.finishReason, ['length', 'length', 'length']);
    let worst = 0;
    for (let r = 0; r < PROMPTS.length; r++) {
      assert.equal(a.tokens[r].length, 12);
      const [full] = await lm.logits([[...PROMPTS[r], ...a.tokens[r]]]);
      a.tokens[r].forEach((t, i) => {
        const pos = PROMPTS[r].length - 1 + i;
        const lp = logSoftmax(full.subarray(pos * V, (pos + 1) * V), 0.7)[t];
        worst = Math.max(worst, Math.abs(lp - a.logprobs[r][i]));
        assert.ok(a.sampledLogprobs[r][i] <= 1e-12 && a.sampledLogprobs[r][i] >= a.logprobs[r][i] - 20);
      });
    }
    assert.ok(worst < 1e-4, `|log-prob difference| up to ${worst}`);
  });

  it('greedy (temperature 0) follows the argmax of the full forward pass; top_k 1 is greedy too', async () => {
    const g = await generate(lm, PROMPTS, { maxNewTokens: 10, temperature: 0, eosTokenIds: [] });
    const k1 = await generate(lm, PROMPTS, { maxNewTokens: 10, temperature: 1.3, topK: 1, eosTokenIds: [], seed: 1 });
    assert.deepEqual(k1.tokens, g.tokens);
    for (let r = 0; r < PROMPTS.length; r++) {
      const [full] = await lm.logits([[...PROMPTS[r], ...g.tokens[r]]]);
      g.tokens[r].forEach((t, i) => {
        const pos = PROMPTS[r].length - 1 + i;
        const row = full.subarray(pos * V, (pos + 1) * V);
        assert.equal(t, row.indexOf(Math.max(...row)));
        assert.ok(Math.abs(g.logprobs[r][i] - logSoftmax(row, 1)[t]) < 1e-4);
      });
    }
  });

  it('draws from the processed distribution (temperature, top-k, top-p) in the right proportions', () => {
    const rng = new Rng(3);
    const raw = Float32Array.from({ length: 64 }, () => 2 * rng.normal());
    const T = 0.8, K = 10, P = 0.9;
    // Expected: softmax(raw/T) over the top 10, cut to the smallest prefix with mass ≥ 0.9, renormalised.
    const order = Array.from(raw.keys()).sort((a, b) => raw[b] - raw[a]).slice(0, K);
    const w = order.map((i) => Math.exp(raw[i] / T));
    const sumK = w.reduce((s, x) => s + x, 0);
    let cum = 0, keep = 0;
    for (const x of w) { cum += x / sumK; keep++; if (cum >= P) break; }
    const kept = order.slice(0, keep), sumP = w.slice(0, keep).reduce((s, x) => s + x, 0);
    const expected = new Map(kept.map((i, j) => [i, w[j] / sumP]));
    const counts = new Map<number, number>();
    const N = 20000, draw = new Rng(4);
    for (let n = 0; n < N; n++) {
      const { token, sampledLogprob } = sampleRow(raw, T, K, P, 1, null, draw);
      counts.set(token, (counts.get(token) ?? 0) + 1);
      if (n < 50) assert.ok(Math.abs(Math.exp(sampledLogprob) - expected.get(token)!) < 1e-9);
    }
    for (const [t, c] of counts) assert.ok(expected.has(t), `token ${t} is outside the nucleus`);
    for (const [t, p] of expected) {
      const f = (counts.get(t) ?? 0) / N;
      assert.ok(Math.abs(f - p) < 4 * Math.sqrt(p * (1 - p) / N) + 1e-3, `token ${t}: ${f} vs ${p}`);
    }
  });

  it('matches the full-sort reference on random logits: same candidates, probabilities and (sorted paths) draws', () => {
    const settings = [
      { T: 0.7, K: 50, P: 0.95, pen: 1.1 }, { T: 1, K: 0, P: 0.9, pen: 1 }, { T: 0.5, K: 0, P: 0.5, pen: 1.3 },
      { T: 1.3, K: 7, P: 1, pen: 1 }, { T: 1, K: 0, P: 0.999, pen: 1 }, { T: 2, K: 300, P: 0.8, pen: 1 },
    ];
    const gen = new Rng(11);
    for (let trial = 0; trial < 40; trial++) {
      const V = [1, 2, 17, 300, 4096][trial % 5];
      const scale = [0.1, 1, 3, 10][trial % 4];
      // Coarse values so that ties occur.
      const raw = Float32Array.from({ length: V }, () => Math.round(scale * gen.normal() * 4) / 4);
      const seen = Array.from({ length: Math.min(V, 5) }, () => gen.int(V)).filter((t, i, a) => a.indexOf(t) === i);
      for (const { T, K, P, pen } of settings) {
        const ref = referenceRow(raw, T, K, P, pen, seen, null);
        for (let seed = 0; seed < 20; seed++) {
          const r = sampleRow(raw, T, K, P, pen, seen, new Rng(seed));
          const want = referenceRow(raw, T, K, P, pen, seen, new Rng(seed));
          // The plain path (top-k ≥ V or off, top-p 1) walks in index order: its draws differ from the sorted walk's.
          if ((K > 0 && K < V) || P < 1) assert.equal(r.token, want.token, `V ${V} T ${T} K ${K} P ${P} seed ${seed}`);
          else assert.ok(ref.probs.has(r.token));
          if (seed === 0) assert.equal(ref.probs.size, (K > 0 && K < V) || P < 1 ? ref.order.length : V);
          assert.ok(Math.abs(Math.exp(r.sampledLogprob) - ref.probs.get(r.token)!) < 1e-12);
          assert.ok(Math.abs(r.logprob - logSoftmax(raw, T)[r.token]) < 1e-12);
        }
      }
    }
  });

  it('top-k and top-p off: draws from softmax(scores/T) over the whole vocabulary in the right proportions', () => {
    const rng = new Rng(21);
    const V = 40, raw = Float32Array.from({ length: V }, () => rng.normal());
    for (const [T, pen, seen] of [[1, 1, null], [0.6, 1.2, [0, 3, 5]]] as const) {
      const ref = referenceRow(raw, T, 0, 1, pen, seen ? [...seen] : null, null);
      assert.equal(ref.probs.size, V);
      const counts = new Float64Array(V), N = 20000, draw = new Rng(22);
      for (let n = 0; n < N; n++) {
        const r = sampleRow(raw, T, 0, 1, pen, seen, draw);
        counts[r.token]++;
        assert.ok(Math.abs(Math.exp(r.sampledLogprob) - ref.probs.get(r.token)!) < 1e-12);
        if (n < 50) assert.ok(Math.abs(r.logprob - logSoftmax(raw, T)[r.token]) < 1e-12);
      }
      for (const [t, p] of ref.probs) {
        const f = counts[t] / N;
        assert.ok(Math.abs(f - p) < 4 * Math.sqrt(p * (1 - p) / N) + 1e-3, `token ${t}: ${f} vs ${p}`);
      }
    }
  });

  it('edge cases: all-equal logits, a nucleus of one token, -inf logits, V = 1', () => {
    // All equal: top-k keeps the lowest indices; top-p keeps the shortest index-ordered prefix.
    const flat = new Float32Array(10).fill(0.5);
    for (let s = 0; s < 30; s++) {
      assert.ok(sampleRow(flat, 1, 3, 1, 1, null, new Rng(s)).token < 3);
      const r = sampleRow(flat, 1, 0, 0.35, 1, null, new Rng(s));
      assert.ok(r.token < 4, `${r.token}`); // 0.1 · 4 ≥ 0.35
      assert.ok(Math.abs(Math.exp(r.sampledLogprob) - 0.25) < 1e-12);
      assert.equal(r.token, referenceRow(flat, 1, 0, 0.35, 1, null, new Rng(s)).token);
      const f = sampleRow(flat, 1, 0, 1, 1, null, new Rng(s));
      assert.ok(Math.abs(f.sampledLogprob - Math.log(0.1)) < 1e-12 && f.token >= 0 && f.token < 10);
    }
    // One token holds the nucleus.
    const peaked = Float32Array.of(0, 30, 1, 2);
    for (let s = 0; s < 10; s++) {
      const r = sampleRow(peaked, 1, 0, 0.9, 1, null, new Rng(s));
      assert.equal(r.token, 1);
      assert.equal(r.sampledLogprob, 0);
    }
    // -inf logits are never drawn, on every path.
    const inf = Float32Array.of(-Infinity, 1, -Infinity, 0.5, -Infinity);
    for (let s = 0; s < 50; s++) {
      for (const [K, P] of [[0, 1], [0, 0.9], [2, 1], [4, 0.99], [0, 0.999999]]) {
        const r = sampleRow(inf, 1, K, P, 1, null, new Rng(s));
        assert.ok(r.token === 1 || r.token === 3, `K ${K} P ${P}: ${r.token}`);
        assert.equal(r.token, referenceRow(inf, 1, K, P, 1, null, new Rng(s)).token);
      }
    }
    // V = 1.
    for (const [K, P] of [[0, 1], [0, 0.5], [1, 1], [5, 0.9]]) {
      const r = sampleRow(Float32Array.of(-3), 0.7, K, P, 1.1, [0], new Rng(1));
      assert.equal(r.token, 0);
      assert.equal(r.sampledLogprob, 0);
      assert.ok(Math.abs(r.logprob) < 1e-12);
    }
  });

  it('repetition penalty as Hugging Face applies it: positive logits divided, negative multiplied', () => {
    const raw = Float32Array.of(2.0, 1.9, -1.0, -1.05);
    assert.equal(sampleRow(raw, 0, 0, 1, 1, null, new Rng(1)).token, 0);
    assert.equal(sampleRow(raw, 0, 0, 1, 1.1, [0], new Rng(1)).token, 1); // 2.0/1.1 < 1.9
    const r2 = Float32Array.of(-1.0, -1.05);
    assert.equal(sampleRow(r2, 0, 0, 1, 1.1, [0], new Rng(1)).token, 1); // −1.1 < −1.05
    // The reported log-prob ignores the penalty (it is softmax(raw/T) of the chosen token).
    const r = sampleRow(raw, 0, 0, 1, 1.1, [0], new Rng(1));
    assert.ok(Math.abs(r.logprob - logSoftmax(raw, 1)[1]) < 1e-12);
  });

  it('stops at eos and at stop strings, per row, and cuts the text before the stop string', async () => {
    const g = await generate(lm, PROMPTS, { maxNewTokens: 8, temperature: 0, eosTokenIds: [] });
    const eosRow0 = g.tokens[0][2];
    const e = await generate(lm, PROMPTS, { maxNewTokens: 8, temperature: 0, eosTokenIds: [eosRow0] });
    assert.equal(e.finishReason[0], 'eos');
    assert.deepEqual(e.tokens[0], g.tokens[0].slice(0, g.tokens[0].indexOf(eosRow0) + 1));
    const stop = letters(g.tokens[1].slice(3, 5));
    const s = await generate(lm, PROMPTS, { maxNewTokens: 8, temperature: 0, eosTokenIds: [], stop: [stop], decode: letters });
    const at = letters(g.tokens[1]).indexOf(stop);
    assert.equal(s.finishReason[1], 'stop');
    assert.equal(s.text![1], letters(g.tokens[1]).slice(0, at));
    assert.ok(s.tokens[1].length <= 5 && letters(s.tokens[1]).endsWith(stop));
    assert.deepEqual(s.tokens[2].slice(0, 3), g.tokens[2].slice(0, 3));
    await assert.rejects(generate(lm, PROMPTS, { maxNewTokens: 2, stop: ['x'] }), /stop strings need a decode function/);
  });

  it('per-token decode cost stays flat as the context grows (128 vs 1024 cached tokens)', async () => {
    const big = new CausalLM(tinyModel({ hiddenSize: 128, numHeads: 4, numKvHeads: 2, intermediateSize: 344, numLayers: 4, vocabSize: 2048, seed: 2 }), { session: { threads: 1 } });
    const msPerToken = async (ctx: number) => {
      const cache = big.newCache(1, ctx + 40);
      await big.prefill(cache, [Array.from({ length: ctx }, (_, i) => (i * 13) % 2048)]);
      for (let i = 0; i < 5; i++) await big.step(cache, [1]);
      const t0 = performance.now();
      for (let i = 0; i < 30; i++) await big.step(cache, [1]);
      return (performance.now() - t0) / 30;
    };
    // Interleaved, best of three each: the machine is shared.
    const short: number[] = [], long: number[] = [];
    for (let i = 0; i < 3; i++) { short.push(await msPerToken(128)); long.push(await msPerToken(1024)); }
    const ratio = Math.min(...long) / Math.min(...short);
    if (process.env.MODEL_VERBOSE) console.log({ short, long, ratio });
    assert.ok(ratio < 2.5, `1024-token context costs ${ratio.toFixed(2)}x the 128-token one per token`);
  });
});
