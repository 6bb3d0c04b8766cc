// The KV cache, owned by JS: per layer one Float32Array for keys and one for values, laid out
// [batch, kv_heads, capacity, head_dim]. Each step feeds the whole buffers as graph inputs (zero-copy; rows
// not yet written are masked out) and gets back only the step's new rows [batch, kv_heads, seq, head_dim],
// which are written into place here. Nothing proportional to the context is copied per token, in JS or in
// ONNX Runtime (the decoder's split attention reads the cache where it lies).

import type { ModelConfig } from './config.js';

export class KVCache {
  k: Float32Array[] = [];
  v: Float32Array[] = [];
  /** Rows filled so far. */
  length = 0;
  /** [batch, capacity]: 1 where the cache row holds a real token, 0 for padding or not yet written. */
  valid: Uint8Array;
  /** The position id the next token of each row gets. */
  readonly nextPosition: number[];

  constructor(readonly config: ModelConfig, readonly batch: number, public capacity: number) {
    if (!Number.isInteger(batch) || batch <= 0) throw new Error(`KVCache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`KVCache: capacity must be a positive integer, got ${capacity}`);
    const n = batch * config.numKvHeads * capacity * config.headDim;
    for (let i = 0; i < config.numLayers; i++) { this.k.push(new Float32Array(n)); this.v.push(new Float32Array(n)); }
    this.valid = new Uint8Array(batch * capacity);
    this.nextPosition = new Array<number>(batch).fill(0);
  }

  /** Makes room for `extra` more rows, growing (doubling: a rare copy) when needed. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    const { numKvHeads: KV, headDim: hd } = this.config;
    const grow = (old: Float32Array) => {
      const a = new Float32Array(this.batch * KV * cap * hd);
      for (let bh = 0; bh < this.batch * KV; bh++) a.set(old.subarray(bh * this.capacity * hd, (bh * this.capacity + this.length) * hd), bh * cap * hd);
      return a;
    };
    this.k = this.k.map(grow);
    this.v = this.v.map(grow);
    const valid = new Uint8Array(this.batch * cap);
    for (let b = 0; b < this.batch; b++) valid.set(this.valid.subarray(b * this.capacity, b * this.capacity + this.length), b * cap);
    this.valid = valid;
    this.capacity = cap;
  }

  /**
   * Feeds `past_k.i` / `past_v.i`: the whole buffers [batch, kv, capacity, hd], or empty ones while nothing
   * is cached (a prefill then does no attention work against the cache). Returns the fed row count.
   */
  pastFeeds(): { feeds: Record<string, { data: Float32Array; dims: number[] }>; rows: number } {
    const rows = this.length === 0 ? 0 : this.capacity;
    const dims = [this.batch, this.config.numKvHeads, rows, this.config.headDim];
    const empty = new Float32Array(0);
    const feeds: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (let i = 0; i < this.k.length; i++) {
      feeds[`past_k.${i}`] = { data: rows ? this.k[i] : empty, dims };
      feeds[`past_v.${i}`] = { data: rows ? this.v[i] : empty, dims };
    }
    return { feeds, rows };
  }

  private rowsK: Float32Array[] = [];
  private rowsV: Float32Array[] = [];

  /**
   * Buffers for a step's new rows, [batch, kv, seq, hd] per layer, reused from step to step: the session
   * writes its new_k / new_v outputs there (no array per output per step for the garbage collector) and
   * `append` copies them into place.
   */
  newRows(seq: number): { k: Float32Array[]; v: Float32Array[] } {
    const n = this.batch * this.config.numKvHeads * seq * this.config.headDim;
    if ((this.rowsK[0]?.length ?? 0) < n) {
      this.rowsK = this.k.map(() => new Float32Array(n));
      this.rowsV = this.k.map(() => new Float32Array(n));
    }
    return { k: this.rowsK.map((a) => a.subarray(0, n)), v: this.rowsV.map((a) => a.subarray(0, n)) };
  }

  /** Writes a step's new rows (outputs [batch, kv, seq, hd] per layer) at rows length..length+seq-1. */
  append(newK: readonly Float32Array[], newV: readonly Float32Array[], seq: number): void {
    const { numKvHeads: KV, headDim: hd } = this.config;
    if (this.length + seq > this.capacity) throw new Error('KVCache: append past capacity (call reserve first)');
    for (let i = 0; i < this.k.length; i++) {
      for (let bh = 0; bh < this.batch * KV; bh++) {
        const dst = (bh * this.capacity + this.length) * hd;
        this.k[i].set(newK[i].subarray(bh * seq * hd, (bh + 1) * seq * hd), dst);
        this.v[i].set(newV[i].subarray(bh * seq * hd, (bh + 1) * seq * hd), dst);
      }
    }
    this.length += seq;
  }

  /** Bytes held by the buffers. */
  get bytes(): number {
    return 2 * this.k.length * this.k[0].length * 4;
  }
}
