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
 */
export function sampleRow(raw: Float32Array, T: number, topK: number, topP: number, penalty: number, seen: readonly number[] | null,
  rng: Rng, work: Float64Array = new Float64Array(raw.length), order: number[] = []): { token: number; logprob: number; sampledLogprob: number } {
  const V = raw.length;
  // log softmax(raw / T) for the reported log-prob (T = 1 when greedy).
  const tr = T > 0 ? T : 1;
  let mx = -Infinity;
  for (let i = 0; i < V; i++) { const v = raw[i] / tr; if (v > mx) mx = v; }
  let z = 0;
  for (let i = 0; i < V; i++) z += Math.exp(raw[i] / tr - mx);
  const logZ = mx + Math.log(z);

  // Processed scores: repetition penalty (on raw logits, as Hugging Face), then temperature.
  for (let i = 0; i < V; i++) work[i] = raw[i];
  if (seen) for (const s of seen) work[s] = work[s] < 0 ? work[s] * penalty : work[s] / penalty;
  if (T === 0) {
    let best = 0;
    for (let i = 1; i < V; i++) if (work[i] > work[best]) best = i;
    return { token: best, logprob: raw[best] / tr - logZ, sampledLogprob: 0 };
  }
  for (let i = 0; i < V; i++) work[i] /= T;

  // Candidates sorted by score (top-k first narrows what is sorted).
  order.length = 0;
  if (topK > 0 && topK < V) {
    // Threshold = the k-th largest score, by a partial selection over a copy.
    const sorted = kthLargest(work, topK);
    for (let i = 0; i < V; i++) if (work[i] >= sorted) order.push(i);
  } else {
    for (let i = 0; i < V; i++) order.push(i);
  }
  order.sort((a, b) => work[b] - work[a] || a - b);
  if (topK > 0 && order.length > topK) order.length = topK;
  let m2 = work[order[0]], sum = 0;
  for (const i of order) sum += Math.exp(work[i] - m2);
  if (topP < 1) {
    let cum = 0, keep = 0;
    for (const i of order) { cum += Math.exp(work[i] - m2) / sum; keep++; if (cum >= topP) break; }
    order.length = Math.max(1, keep);
    sum = 0;
    for (const i of order) sum += Math.exp(work[i] - m2);
  }
  let u = rng.float() * sum, token = order[order.length - 1];
  for (const i of order) { u -= Math.exp(work[i] - m2); if (u < 0) { token = i; break; } }
  m2 = work[order[0]];
  return { token, logprob: raw[token] / T - logZ, sampledLogprob: work[token] - m2 - Math.log(sum) };
}

/** The k-th largest value of a (quickselect on a copy). */
function kthLargest(a: Float64Array, k: number): number {
  const c = Float64Array.from(a);
  let lo = 0, hi = c.length - 1;
  const target = k - 1;
  while (lo < hi) {
    const pivot = c[(lo + hi) >> 1];
    let i = lo, j = hi;
    while (i <= j) {
      while (c[i] > pivot) i++;
      while (c[j] < pivot) j--;
      if (i <= j) { const t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
    }
    if (target <= j) hi = j; else if (target >= i) lo = i; else break;
  }
  return c[target];
}
