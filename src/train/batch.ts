// Token sequences (prompt + response) as a batch of next-token predictions: inputs are tokens[0..n−2],
// targets tokens[1..n−1], left-padded to one length as the sampler pads its prompts; a 0/1 weight per
// target says which predictions a loss counts (the response's, or a target's in SFT).

import { attentionBias, leftPad, MASKED } from '../model/decoder.js';

/** One sequence and the index of its first token that a loss counts (tokens before it are context). */
export interface Sequence {
  tokens: readonly number[];
  /** Index in `tokens` of the first counted token (≥ 1). */
  lossStart: number;
}

export interface TokenBatch {
  batch: number;
  seq: number;
  ids: BigInt64Array;
  positions: BigInt64Array;
  attnBias: Float32Array;
  targets: BigInt64Array;
  /** 1 where the target is counted, [batch, seq] */
  mask: Float32Array;
  /** Left padding per row. */
  pad: number[];
  /** Counted targets in the batch. */
  counted: number;
}

/**
 * `padTo` pads rows to at least that length: a row's log-probs then do not depend on which rows share its
 * batch (the same layout gives bit-identical results), which keeps the first PPO ratio exactly 1 when the
 * trainer regroups the rollout's rows into minibatches.
 */
export function tokenBatch(seqs: readonly Sequence[], padId = 0, padTo = 0): TokenBatch {
  if (seqs.length === 0) throw new Error('tokenBatch: no sequences');
  for (const s of seqs) {
    if (s.tokens.length < 2) throw new Error(`tokenBatch: a sequence needs at least 2 tokens, got ${s.tokens.length}`);
    if (!(s.lossStart >= 1 && s.lossStart <= s.tokens.length)) throw new Error(`tokenBatch: lossStart ${s.lossStart} outside 1..${s.tokens.length}`);
  }
  const p = leftPad(seqs.map((s) => s.tokens.slice(0, -1)), padId, padTo);
  const targets = new BigInt64Array(p.batch * p.seq), mask = new Float32Array(p.batch * p.seq);
  let counted = 0;
  seqs.forEach((s, b) => {
    for (let j = 0; j + 1 < s.tokens.length; j++) {
      const at = b * p.seq + p.pad[b] + j;
      targets[at] = BigInt(s.tokens[j + 1]);
      if (j + 1 >= s.lossStart) { mask[at] = 1; counted++; }
    }
  });
  return {
    batch: p.batch, seq: p.seq, ids: p.ids, positions: p.positions, targets, mask, pad: p.pad, counted,
    attnBias: attentionBias(p.batch, p.seq, 0, null, 0, p.valid),
  };
}

/** The counted positions' values of row `b` of a [batch, seq] output, in order. */
export function countedValues(batch: TokenBatch, out: Float32Array, b: number): Float64Array {
  const vals: number[] = [];
  for (let j = 0; j < batch.seq; j++) if (batch.mask[b * batch.seq + j]) vals.push(out[b * batch.seq + j]);
  return Float64Array.from(vals);
}

/** Fills the counted positions of row `b` of a [batch, seq] array with `values`, in order. */
export function setCounted(batch: TokenBatch, into: Float32Array, b: number, values: ArrayLike<number>): void {
  let k = 0;
  for (let j = 0; j < batch.seq; j++) if (batch.mask[b * batch.seq + j]) into[b * batch.seq + j] = values[k++];
  if (k !== values.length) throw new Error(`setCounted: row ${b} counts ${k} positions, got ${values.length} values`);
}

/** Consecutive chunks of at most `size` items. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Several short examples packed into one row: positions restart at 0 for each, and attention stays within
 * an example (a block-diagonal causal mask), so packing changes no example's log-probs. Each example's
 * targets from its `lossStart` on are counted; an example's last token predicts nothing.
 */
export function packedBatch(rows: readonly (readonly Sequence[])[]): TokenBatch {
  if (rows.length === 0) throw new Error('packedBatch: no rows');
  const lens = rows.map((r) => r.reduce((s, e) => s + e.tokens.length, 0));
  const S = Math.max(...lens), B = rows.length;
  const ids = new BigInt64Array(B * S), positions = new BigInt64Array(B * S).fill(1n), targets = new BigInt64Array(B * S);
  const mask = new Float32Array(B * S), segment = new Int32Array(B * S).fill(-1);
  const pad: number[] = [];
  let counted = 0;
  rows.forEach((examples, b) => {
    let at = S - lens[b];
    pad.push(at);
    examples.forEach((e, k) => {
      for (let j = 0; j < e.tokens.length; j++, at++) {
        const i = b * S + at;
        ids[i] = BigInt(e.tokens[j]);
        positions[i] = BigInt(j);
        segment[i] = k;
        if (j + 1 < e.tokens.length) {
          targets[i] = BigInt(e.tokens[j + 1]);
          if (j + 1 >= e.lossStart) { mask[i] = 1; counted++; }
        }
      }
    });
  });
  const attnBias = new Float32Array(B * S * S).fill(MASKED);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < S; i++) {
      const si = segment[b * S + i];
      if (si < 0) continue;
      for (let j = 0; j <= i; j++) if (segment[b * S + j] === si) attnBias[(b * S + i) * S + j] = 0;
    }
  }
  // A padded query row sees nothing; let it see itself so its softmax stays finite (it is never counted).
  for (let b = 0; b < B; b++) for (let i = 0; i < pad[b]; i++) attnBias[(b * S + i) * S + i] = 0;
  return { batch: B, seq: S, ids, positions, attnBias, targets, mask, pad, counted };
}

/** Greedy first-fit packing of examples (in the given order) into rows of at most `maxLen` tokens. */
export function packExamples<T extends Sequence>(examples: readonly T[], maxLen: number): T[][] {
  const rows: T[][] = [], room: number[] = [];
  for (const e of examples) {
    if (e.tokens.length > maxLen) throw new Error(`packExamples: an example of ${e.tokens.length} tokens exceeds the row length ${maxLen}`);
    const r = room.findIndex((left) => left >= e.tokens.length);
    if (r >= 0) { rows[r].push(e); room[r] -= e.tokens.length; } else { rows.push([e]); room.push(maxLen - e.tokens.length); }
  }
  return rows;
}
