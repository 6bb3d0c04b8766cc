// The KV cache, owned by JS: per layer one Float32Array for keys and one for values, time-major
// [capacity, batch, kv_heads, head_dim]. A step feeds the first `length` rows as a subarray (no copy) and
// ONNX Runtime writes the step's new rows straight into the next rows of the same buffers (preallocated
// outputs), so nothing proportional to the context is copied in JS per generated token.

import type { ModelConfig } from './config.js';

export class KVCache {
  readonly k: Float32Array[] = [];
  readonly v: Float32Array[] = [];
  /** Rows filled so far (the `past` of the next step). */
  length = 0;
  /** [batch, capacity]: 1 where the key at that cache row is a real token, 0 for padding. */
  valid: Uint8Array;
  /** The position id the next token of each row gets. */
  readonly nextPosition: number[];
  /** Floats per time step (batch · kv_heads · head_dim). */
  readonly rowSize: number;

  constructor(readonly config: ModelConfig, readonly batch: number, public capacity: number) {
    if (!Number.isInteger(batch) || batch <= 0) throw new Error(`KVCache: batch must be a positive integer, got ${batch}`);
    if (!Number.isInteger(capacity) || capacity <= 0) throw new Error(`KVCache: capacity must be a positive integer, got ${capacity}`);
    this.rowSize = batch * config.numKvHeads * config.headDim;
    for (let i = 0; i < config.numLayers; i++) {
      this.k.push(new Float32Array(capacity * this.rowSize));
      this.v.push(new Float32Array(capacity * this.rowSize));
    }
    this.valid = new Uint8Array(batch * capacity);
    this.nextPosition = new Array<number>(batch).fill(0);
  }

  /** Makes room for `extra` more steps, growing (by doubling, a rare copy) when needed. */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.capacity) return;
    let cap = this.capacity;
    while (cap < need) cap *= 2;
    for (let i = 0; i < this.k.length; i++) {
      const k = new Float32Array(cap * this.rowSize); k.set(this.k[i].subarray(0, this.length * this.rowSize)); this.k[i] = k;
      const v = new Float32Array(cap * this.rowSize); v.set(this.v[i].subarray(0, this.length * this.rowSize)); this.v[i] = v;
    }
    const valid = new Uint8Array(this.batch * cap);
    for (let b = 0; b < this.batch; b++) valid.set(this.valid.subarray(b * this.capacity, b * this.capacity + this.length), b * cap);
    this.valid = valid;
    this.capacity = cap;
  }

  /** Feeds for the cached rows: `past_k.i` / `past_v.i` as [length, batch, kv, hd] views. */
  pastFeeds(): Record<string, { data: Float32Array; dims: number[] }> {
    const dims = [this.length, this.batch, this.config.numKvHeads, this.config.headDim];
    const f: Record<string, { data: Float32Array; dims: number[] }> = {};
    const n = this.length * this.rowSize;
    for (let i = 0; i < this.k.length; i++) {
      f[`past_k.${i}`] = { data: this.k[i].subarray(0, n), dims };
      f[`past_v.${i}`] = { data: this.v[i].subarray(0, n), dims };
    }
    return f;
  }

  /** Preallocated outputs `new_k.i` / `new_v.i`: views of the next `seq` rows (call reserve first). */
  newRowOutputs(seq: number): Record<string, { data: Float32Array; dims: number[] }> {
    const dims = [seq, this.batch, this.config.numKvHeads, this.config.headDim];
    const a = this.length * this.rowSize, b = (this.length + seq) * this.rowSize;
    const f: Record<string, { data: Float32Array; dims: number[] }> = {};
    for (let i = 0; i < this.k.length; i++) {
      f[`new_k.${i}`] = { data: this.k[i].subarray(a, b), dims };
      f[`new_v.${i}`] = { data: this.v[i].subarray(a, b), dims };
    }
    return f;
  }

  /** Bytes held by the buffers. */
  get bytes(): number {
    return 2 * this.k.length * this.capacity * this.rowSize * 4;
  }
}
