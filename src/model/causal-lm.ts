// A loaded model ready for inference: the decoder graph (with cache inputs) compiled into ONNX Runtime
// sessions, full-sequence logits, and prefill / one-token decode steps against a JS-owned KV cache.

import { compile, Graph, type Executable, type Feed, type Output, type SessionOptions } from '../engine/index.js';
import type { ModelConfig } from './config.js';
import { appendDecoder, attentionBias, decoderInputs, leftPad, type DecoderTensors } from './decoder.js';
import { KVCache } from './kv-cache.js';
import type { LoraAdapter } from './lora.js';
import { loadAdapter } from './peft.js';
import { loadQuantizedCheckpoint, quantizedInputFeeds, type QuantizeConfig } from './quantized.js';
import { loadCheckpoint, type Checkpoint } from './weights.js';

/** A prefill runs at most this many positions per session run. Measured at the DeepSeek-Coder-1.3B shape
 * (nbits4, batch 1, 512 tokens): see docs/model.md. */
export const PREFILL_CHUNK = 128;

export interface CausalLMOptions {
  /** A LoRA adapter applied unmerged (its A/B arrays are fed each run, so training updates show at once). */
  adapter?: LoraAdapter;
  /** ONNX Runtime session options (threads, …). */
  session?: SessionOptions;
  /**
   * 'initializers' (default): the base weights are baked into each session (ORT prepacks them: the fastest
   * decode, one copy of the weights per session). 'inputs': fed from the checkpoint's arrays at every run
   * without a copy (sessions share the one JS copy; decode is slower) — the low-memory mode.
   */
  baseWeights?: 'initializers' | 'inputs';
}

export class CausalLM {
  readonly config: ModelConfig;
  readonly opts: CausalLMOptions;
  readonly graph: Graph;
  private readonly t: DecoderTensors;
  private decodeExe: Promise<Executable> | null = null;
  private baseFeeds: Record<string, Feed> = {};
  private fullExe: Promise<Executable> | null = null;

  constructor(readonly checkpoint: Checkpoint, opts: CausalLMOptions = {}) {
    this.config = checkpoint.config;
    this.opts = opts;
    const g = new Graph({ name: 'causal-lm', contribOps: true });
    this.t = appendDecoder(g, checkpoint, decoderInputs(g, this.config, true), { lora: opts.adapter?.config, weightsAs: opts.baseWeights === 'inputs' ? 'inputs' : 'initializers' });
    // int8 quantized weights are always fed (decoder.ts); float ones when baseWeights is 'inputs'.
    this.baseFeeds = {
      ...(opts.baseWeights === 'inputs' ? Object.fromEntries([...checkpoint.weights].map(([name, w]) => [name, { data: w.data, dims: w.shape }])) : {}),
      ...quantizedInputFeeds(checkpoint),
    };
    g.output('logits', this.t.logits);
    g.output('logits_last', this.t.lastLogits);
    this.t.newK.forEach((k, i) => g.output(`new_k.${i}`, k));
    this.t.newV.forEach((v, i) => g.output(`new_v.${i}`, v));
    this.graph = g;
  }

  /** Loads DIR (config.json + safetensors), optionally with a PEFT adapter folder and quantized frozen weights. */
  static load(dir: string, o: { adapter?: string; session?: SessionOptions; quantize?: QuantizeConfig } = {}): CausalLM {
    const ck = o.quantize && o.quantize.mode !== 'none' ? loadQuantizedCheckpoint(dir, o.quantize) : loadCheckpoint(dir);
    const adapter = o.adapter ? loadAdapter(o.adapter, ck.config) : undefined;
    return new CausalLM(ck, { adapter, session: o.session });
  }

  get adapter(): LoraAdapter | undefined { return this.opts.adapter; }

  private decode(): Promise<Executable> {
    const names = ['logits_last', ...this.t.newK.map((_, i) => `new_k.${i}`), ...this.t.newV.map((_, i) => `new_v.${i}`)];
    this.decodeExe ??= compile(this.graph, names, this.opts.session);
    return this.decodeExe;
  }

  /** The adapter's A/B arrays and, with base weights as inputs, the base weights (all without a copy). */
  private loraFeeds(): Record<string, Feed> {
    return { ...this.baseFeeds, ...(this.opts.adapter ? this.opts.adapter.feeds() : {}) };
  }

  /**
   * Logits at every position of each row (rows of different lengths are left-padded into one batch):
   * for each row a Float32Array [len, vocab], row-major.
   */
  async logits(rows: readonly (readonly number[])[]): Promise<Float32Array[]> {
    this.checkTokens(rows);
    const p = leftPad(rows);
    this.fullExe ??= compile(this.graph, ['logits'], this.opts.session);
    const exe = await this.fullExe;
    const c = this.config;
    const emptyPast = new Float32Array(0);
    const feeds: Record<string, Feed> = {
      input_ids: { data: p.ids, dims: [p.batch, p.seq] },
      position_ids: { data: p.positions, dims: [p.batch, p.seq] },
      attn_bias: { data: attentionBias(p.batch, p.seq, 0, null, 0, p.valid), dims: [p.batch, 1, 1, p.seq, p.seq] },
      ...this.loraFeeds(),
    };
    for (let i = 0; i < c.numLayers; i++) {
      feeds[`past_k.${i}`] = { data: emptyPast, dims: [p.batch, c.numKvHeads, 0, c.headDim] };
      feeds[`past_v.${i}`] = { data: emptyPast, dims: [p.batch, c.numKvHeads, 0, c.headDim] };
    }
    const out = await exe.run(feeds);
    const all = out.logits.data as Float32Array;
    const V = c.vocabSize;
    return rows.map((r, b) => all.slice((b * p.seq + p.pad[b]) * V, (b + 1) * p.seq * V));
  }

  /** A cache for `batch` rows with room for `capacity` tokens (it grows if needed). */
  newCache(batch: number, capacity: number): KVCache {
    return new KVCache(this.config, batch, capacity);
  }

  /**
   * Runs the prompts (left-padded to one length) into an empty cache; returns the last position's logits
   * [batch, vocab].
   */
  async prefill(cache: KVCache, rows: readonly (readonly number[])[]): Promise<Float32Array> {
    if (cache.length !== 0) throw new Error('prefill: the cache is not empty');
    if (rows.length !== cache.batch) throw new Error(`prefill: ${rows.length} rows for a cache of batch ${cache.batch}`);
    this.checkTokens(rows);
    const p = leftPad(rows);
    cache.reserve(p.seq);
    for (let b = 0; b < p.batch; b++) cache.nextPosition[b] = p.seq - p.pad[b];
    // In chunks of PREFILL_CHUNK positions (each attends to the cache so far): a long prompt's activations
    // and new rows are one chunk's at a time.
    let logits: Float32Array | null = null;
    for (let at = 0; at < p.seq; at += PREFILL_CHUNK) {
      const n = Math.min(PREFILL_CHUNK, p.seq - at);
      const cut = <T extends BigInt64Array | Uint8Array>(a: T): T => {
        if (n === p.seq) return a;
        const out = new (a.constructor as { new (n: number): T })(p.batch * n);
        for (let b = 0; b < p.batch; b++) out.set(a.subarray(b * p.seq + at, b * p.seq + at + n) as never, b * n);
        return out;
      };
      logits = await this.run(cache, cut(p.ids), cut(p.positions), n, cut(p.valid));
    }
    return logits!;
  }

  /** Appends one token per row and returns the next logits [batch, vocab]. */
  async step(cache: KVCache, tokens: readonly number[]): Promise<Float32Array> {
    if (tokens.length !== cache.batch) throw new Error(`step: ${tokens.length} tokens for a cache of batch ${cache.batch}`);
    this.checkTokens([tokens]);
    cache.reserve(1);
    const ids = new BigInt64Array(cache.batch), pos = new BigInt64Array(cache.batch);
    for (let b = 0; b < cache.batch; b++) {
      ids[b] = BigInt(tokens[b]);
      pos[b] = BigInt(cache.nextPosition[b]++);
    }
    return this.run(cache, ids, pos, 1, new Uint8Array(cache.batch).fill(1));
  }

  private async run(cache: KVCache, ids: BigInt64Array, positions: BigInt64Array, seq: number, newValid: Uint8Array): Promise<Float32Array> {
    const exe = await this.decode();
    const B = cache.batch;
    const { feeds: past, rows } = cache.pastFeeds();
    const feeds: Record<string, Feed> = {
      input_ids: { data: ids, dims: [B, seq] },
      position_ids: { data: positions, dims: [B, seq] },
      attn_bias: { data: attentionBias(B, seq, rows, cache.valid, cache.capacity, newValid), dims: [B, 1, 1, seq, rows + seq] },
      ...past,
      ...this.loraFeeds(),
    };
    const fresh = cache.newRows(seq);
    const dims = [B, this.config.numKvHeads, seq, this.config.headDim];
    const into: Record<string, Output> = {};
    fresh.k.forEach((data, i) => { into[`new_k.${i}`] = { data, dims }; });
    fresh.v.forEach((data, i) => { into[`new_v.${i}`] = { data, dims }; });
    const out = await exe.run(feeds, into);
    const at = cache.length;
    cache.append(fresh.k, fresh.v, seq);
    for (let b = 0; b < B; b++) cache.valid.set(newValid.subarray(b * seq, (b + 1) * seq), b * cache.capacity + at);
    return out.logits_last.data as Float32Array;
  }

  private checkTokens(rows: readonly (readonly number[])[]): void {
    const V = this.config.vocabSize;
    for (const r of rows) for (const t of r) {
      if (!Number.isInteger(t) || t < 0 || t >= V) throw new Error(`token id ${t} is outside the vocabulary (0..${V - 1})`);
    }
  }
}
