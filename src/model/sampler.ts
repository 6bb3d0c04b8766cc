// Batched sampling with a KV cache: prompts are left-padded and prefilled once, then one token per row per
// step. Logit processing follows Hugging Face's order: repetition penalty, temperature, top-k, top-p.
//
// Log-probabilities returned per token:
// - `logprobs`: log softmax(logits / temperature)[token] over the full vocabulary — exactly what a trainer's
//   graph computes from the same logits and temperature, so the first PPO ratio is 1 (the reference code
//   compares truncated-distribution probabilities with raw ones, which biases the ratio from the start).
// - `sampledLogprobs`: the log-probability under the distribution actually drawn from (after repetition
//   penalty, top-k and top-p renormalisation).
// Per-token work in JS does not grow with the context: repetition penalties touch only the row's distinct
// seen tokens, stop strings are checked on a short decoded tail, and the cache is never copied.

import type { CausalLM } from './causal-lm.js';
import { Rng } from '../random.js';

export interface SamplingOptions {
  maxNewTokens: number;
  /** 0 means greedy (argmax); default 1. */
  temperature?: number;
  /** Nucleus sampling mass (default 1: off). */
  topP?: number;
  /** Keep the k most likely tokens (default 0: off). */
  topK?: number;
  /** Hugging Face's repetition penalty over prompt and generated tokens (default 1: off). */
  repetitionPenalty?: number;
  /** End a row when its generated text contains one of these (needs `decode`). */
  stop?: string[];
  /** End a row at these ids (default: the model config's eos ids). */
  eosTokenIds?: number[];
  /** Seed for the per-row generators (default 0); or pass `rng`, whose `prompt <row>` forks are used;
   * or `rowRngs`, one generator per row (a row's draws then do not depend on its batch). */
  seed?: number;
  rng?: Rng;
  rowRngs?: readonly Rng[];
  /** Token ids → text, for stop strings and `text` in the result (e.g. tokenizer.decode). */
  decode?: (ids: number[]) => string;
  /** Fed for rows that have finished (default: their eos id or 0). */
  padTokenId?: number;
  /** Called as soon as a row finishes (eos, stop string or length), with its generated ids, while the rest
   * of the batch is still being sampled (a trainer starts scoring it then). */
  onRowDone?: (row: number, tokens: readonly number[], reason: FinishReason) => void;
}

export type FinishReason = 'eos' | 'stop' | 'length';

export interface SampleResult {
  /** Generated ids per row (an ending eos or stop-completing token included). */
  tokens: number[][];
  /** log softmax(logits / T)[token] per generated token (T = 1 when greedy). */
  logprobs: number[][];
  /** Log-probability under the processed distribution that was sampled (0 when greedy). */
  sampledLogprobs: number[][];
  finishReason: FinishReason[];
  /** Decoded completions, cut before the first stop string (when `decode` is given). */
  text?: string[];
  /** Decode steps run (after the prefill). */
  steps: number;
}

/** Generates continuations for a batch of token prompts. */
export async function generate(lm: CausalLM, prompts: readonly (readonly number[])[], o: SamplingOptions): Promise<SampleResult> {
  const B = prompts.length;
  const V = lm.config.vocabSize;
  const T = o.temperature ?? 1;
  const topK = o.topK ?? 0, topP = o.topP ?? 1, penalty = o.repetitionPenalty ?? 1;
  if (!(T >= 0)) throw new Error(`sampling: temperature must be ≥ 0, got ${T}`);
  if (!(topP > 0 && topP <= 1)) throw new Error(`sampling: top_p must be in (0, 1], got ${topP}`);
  if (!Number.isInteger(topK) || topK < 0) throw new Error(`sampling: top_k must be a non-negative integer, got ${topK}`);
  if (!(penalty > 0)) throw new Error(`sampling: repetition penalty must be > 0, got ${penalty}`);
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 0) throw new Error(`sampling: maxNewTokens must be a non-negative integer, got ${o.maxNewTokens}`);
  const stops = (o.stop ?? []).filter((s) => s.length > 0);
  if (stops.length && !o.decode) throw new Error('sampling: stop strings need a decode function');
  const eos = new Set(o.eosTokenIds ?? lm.config.eosTokenIds);
  if (o.rowRngs && o.rowRngs.length !== B) throw new Error(`sampling: rowRngs has ${o.rowRngs.length} generators for ${B} prompts`);
  const base = o.rng ?? new Rng(o.seed ?? 0);
  const rngs = o.rowRngs ? [...o.rowRngs] : prompts.map((_, i) => base.fork(`prompt ${i}`));
  const maxStop = Math.max(0, ...stops.map((s) => s.length));

  const tokens: number[][] = prompts.map(() => []);
  const logprobs: number[][] = prompts.map(() => []);
  const sampledLogprobs: number[][] = prompts.map(() => []);
  const finish: (FinishReason | null)[] = prompts.map(() => null);
  // Distinct tokens seen per row (for the repetition penalty): a membership array and a list.
  const seen = penalty !== 1 ? prompts.map((p) => { const m = new Uint8Array(V); const list: number[] = []; for (const t of p) if (!m[t]) { m[t] = 1; list.push(t); } return { m, list }; }) : null;

  const result = (steps: number): SampleResult => {
    const r: SampleResult = { tokens, logprobs, sampledLogprobs, finishReason: finish.map((f) => f ?? 'length'), steps };
    if (o.decode) {
      r.text = tokens.map((ids) => {
        const text = o.decode!(ids);
        let cut = text.length;
        for (const s of stops) { const i = text.indexOf(s); if (i >= 0 && i < cut) cut = i; }
        return text.slice(0, cut);
      });
    }
    return r;
  };
  if (o.maxNewTokens === 0) return result(0);

  const cache = lm.newCache(B, Math.max(...prompts.map((p) => p.length)) + o.maxNewTokens);
  let logits = await lm.prefill(cache, prompts);
  const work = new Float64Array(V);
  const order: number[] = [];
  let steps = 0;
  for (let t = 0; t < o.maxNewTokens; t++) {
    const next: number[] = [];
    for (let b = 0; b < B; b++) {
      if (finish[b]) { next.push(o.padTokenId ?? tokens[b][tokens[b].length - 1] ?? 0); continue; }
      const row = logits.subarray(b * V, (b + 1) * V);
      const { token, logprob, sampledLogprob } = sampleRow(row, T, topK, topP, penalty, seen?.[b].list ?? null, rngs[b], work, order);
      tokens[b].push(token); logprobs[b].push(logprob); sampledLogprobs[b].push(sampledLogprob);
      if (seen && !seen[b].m[token]) { seen[b].m[token] = 1; seen[b].list.push(token); }
      if (eos.has(token)) finish[b] = 'eos';
      else if (stops.length) {
        const tail = o.decode!(tokens[b].slice(-(maxStop + 1)));
        if (stops.some((s) => tail.includes(s))) finish[b] = 'stop';
      }
      if (finish[b]) o.onRowDone?.(b, tokens[b], finish[b]!);
      next.push(token);
    }
    if (t === o.maxNewTokens - 1) finish.forEach((f, b) => { if (!f) o.onRowDone?.(b, tokens[b], 'length'); });
    if (finish.every((f) => f !== null) || t === o.maxNewTokens - 1) break;
    logits = await lm.step(cache, next);
    steps++;
  }
  return result(steps);
}

/**
 * One row's choice from raw logits: repetition penalty on `seen` ids, temperature (0 = argmax), top-k, top-p,
 * then a draw from `rng`. `work` (length V) and `order` are scratch buffers reused across calls.
 *
 * Cost per token is O(V) plus the kept candidates: with top-k and top-p off, one pass for the max, one for the
 * sum and one for the draw (tokens walked in index order); with top-k, a size-k heap over one pass; with
 * top-p only, the tokens within a score margin of the max (enough to hold the nucleus, grown if not) are the
 * only ones sorted. The candidate set, its order (descending score, ties by lower index) and normalisation
 * are those of a full sort, so every path but the plain one draws the same tokens as a full sort would.
 */
export function sampleRow(raw: Float32Array, T: number, topK: number, topP: number, penalty: number, seen: readonly number[] | null,
  rng: Rng, work: Float64Array = new Float64Array(raw.length), order: number[] = []): { token: number; logprob: number; sampledLogprob: number } {
  const V = raw.length;
  // log softmax(raw / T) for the reported log-prob (T = 1 when greedy).
  const tr = T > 0 ? T : 1;
  // raw / T is kept in `work` (the processed scores before the penalty's fix-up below).
  let mx = -Infinity;
  for (let i = 0; i < V; i++) { const v = raw[i] / tr; work[i] = v; if (v > mx) mx = v; }
  let z = 0;
  for (let i = 0; i < V; i++) z += Math.exp(work[i] - mx);
  const logZ = mx + Math.log(z);

  // Processed scores: repetition penalty (on raw logits, as Hugging Face), then temperature.
  const penalised = seen !== null && seen.length > 0 && penalty !== 1;
  if (T === 0) {
    if (!penalised) {
      let best = 0;
      for (let i = 1; i < V; i++) if (raw[i] > raw[best]) best = i;
      return { token: best, logprob: raw[best] / tr - logZ, sampledLogprob: 0 };
    }
    // work = raw / 1 = raw here.
    for (const s of seen!) work[s] = work[s] < 0 ? work[s] * penalty : work[s] / penalty;
    let best = 0;
    for (let i = 1; i < V; i++) if (work[i] > work[best]) best = i;
    return { token: best, logprob: raw[best] / tr - logZ, sampledLogprob: 0 };
  }
  // work = raw / T already; the seen ids are redone from raw exactly as copy → penalty → divide would (a
  // repeated id is penalised once per occurrence, as before).
  if (penalised) {
    const ids = seen!, pv = new Float64Array(ids.length);
    for (const s of ids) work[s] = raw[s];
    for (const s of ids) work[s] = work[s] < 0 ? work[s] * penalty : work[s] / penalty;
    for (let j = 0; j < ids.length; j++) pv[j] = work[ids[j]] / T;
    for (let j = 0; j < ids.length; j++) work[ids[j]] = pv[j];
  }

  const useTopK = topK > 0 && topK < V;
  if (!useTopK && topP >= 1) {
    // Plain softmax(work): max, sum, then one walk in index order. Without a penalty work = raw / T, so the
    // max and sum of the log-prob pass are the same numbers.
    let m = mx, sum = z;
    if (penalised) {
      m = -Infinity;
      for (let i = 0; i < V; i++) if (work[i] > m) m = work[i];
      sum = 0;
      for (let i = 0; i < V; i++) sum += Math.exp(work[i] - m);
    }
    let u = rng.float() * sum, token = -1, last = 0;
    for (let i = 0; i < V; i++) {
      const e = Math.exp(work[i] - m);
      if (e > 0) { last = i; u -= e; if (u < 0) { token = i; break; } }
    }
    if (token < 0) token = last;
    return { token, logprob: raw[token] / T - logZ, sampledLogprob: work[token] - m - Math.log(sum) };
  }

  // Candidates sorted by score, ties by lower index: a prefix of the full sorted order.
  order.length = 0;
  const byScore = (a: number, b: number) => work[b] - work[a] || a - b;
  if (useTopK) {
    topKIndices(work, topK, order);
    order.sort(byScore);
  } else {
    // Top-p only: every token with a score ≥ max − delta (ties included, so the set is a prefix of the full
    // order); a nucleus lies inside when the set's mass is ≥ top_p of the whole. The margin that guarantees
    // it is log(V / (Z · (1 − top_p))) with Z = Σ exp(score − max) ≥ 1; a smaller one is tried first.
    let m = -Infinity;
    for (let i = 0; i < V; i++) if (work[i] > m) m = work[i];
    let total = 0;
    for (let i = 0; i < V; i++) total += Math.exp(work[i] - m);
    const sure = Math.max(0, Math.log(V / (total * (1 - topP))));
    for (let delta = Math.min(4, sure); ; delta = delta >= sure ? Infinity : Math.min(2 * delta, sure)) {
      const thr = m - delta;
      order.length = 0;
      let mass = 0;
      for (let i = 0; i < V; i++) if (work[i] >= thr) { order.push(i); mass += Math.exp(work[i] - m); }
      if (mass < topP * total && delta !== Infinity) continue;
      order.sort(byScore);
      // The same walk as over the full order (the total as above); grown if rounding leaves it short.
      let cum = 0, keep = 0;
      for (const i of order) { cum += Math.exp(work[i] - m) / total; keep++; if (cum >= topP) break; }
      if (cum < topP && delta !== Infinity && order.length < V) continue;
      order.length = Math.max(1, keep);
      return draw(raw, T, logZ, work, order, rng);
    }
  }
  let m2 = work[order[0]], sum = 0;
  for (const i of order) sum += Math.exp(work[i] - m2);
  if (topP < 1) {
    let cum = 0, keep = 0;
    for (const i of order) { cum += Math.exp(work[i] - m2) / sum; keep++; if (cum >= topP) break; }
    order.length = Math.max(1, keep);
  }
  return draw(raw, T, logZ, work, order, rng);
}

/** The draw over sorted candidates `order` (renormalised): one cumulative walk. */
function draw(raw: Float32Array, T: number, logZ: number, work: Float64Array, order: number[], rng: Rng): { token: number; logprob: number; sampledLogprob: number } {
  const m2 = work[order[0]];
  let sum = 0;
  for (const i of order) sum += Math.exp(work[i] - m2);
  let u = rng.float() * sum, token = order[order.length - 1];
  for (const i of order) { u -= Math.exp(work[i] - m2); if (u < 0) { token = i; break; } }
  return { token, logprob: raw[token] / T - logZ, sampledLogprob: work[token] - m2 - Math.log(sum) };
}

/**
 * The k best indices of `a` (descending score, ties by lower index), unordered, into `out`: one pass with a
 * size-k min-heap whose root is the worst kept (lowest score, then highest index). Scanning in index order, a
 * later index with a score equal to the root's is worse, so only a strictly higher score replaces it.
 */
function topKIndices(a: Float64Array, k: number, out: number[]): void {
  const heap = out;
  heap.length = 0;
  // worse(x, y): x ranks below y.
  const worse = (x: number, y: number) => a[x] < a[y] || (a[x] === a[y] && x > y);
  const siftDown = (pos: number) => {
    const n = heap.length;
    for (;;) {
      const l = 2 * pos + 1, r = l + 1;
      let w = pos;
      if (l < n && worse(heap[l], heap[w])) w = l;
      if (r < n && worse(heap[r], heap[w])) w = r;
      if (w === pos) return;
      const t = heap[pos]; heap[pos] = heap[w]; heap[w] = t; pos = w;
    }
  };
  for (let i = 0; i < k; i++) heap.push(i);
  for (let p = (k >> 1) - 1; p >= 0; p--) siftDown(p);
  let root = a[heap[0]];
  for (let i = k, n = a.length; i < n; i++) {
    if (a[i] > root) { heap[0] = i; siftDown(0); root = a[heap[0]]; }
  }
}
