// The Llama-family decoder as an engine graph: token embedding, N blocks of (RMSNorm → grouped-query
// attention with RoPE → residual, RMSNorm → SwiGLU MLP → residual), a final RMSNorm and the LM head.
// Variants by config: q/k/v (and o) biases, per-head q/k RMSNorm (Qwen3), tied embeddings, RoPE scaling.
// Frozen weights are initializers; LoRA matrices and the value head are graph inputs; LoRA dropout masks are
// drawn inside the graph.
// By default the layers take the engine's fast training forms (swiglu, rotary, causal-block attention
// without a cache); `forms: 'standard'` builds the same function from standard ops.
//
// Layouts: activations [batch, seq, ...]; attention [batch, kv_heads, rep, seq, head_dim] against keys and
// values [batch, kv_heads, 1, ·, head_dim]. The KV cache is fed per layer as [batch, kv_heads, past,
// head_dim] (a JS buffer passed without a copy, `past` its capacity, unused rows masked); a step returns only
// its new rows [batch, kv_heads, seq, head_dim], which JS writes into the buffer.

import {
  attention, blockedHead, dropoutMask, Graph, recomputed, headTokenLogProbs, linear, quantizedGather, quantizedHeadLogProbs, quantizedLinear, quantizedTensors, rmsNorm, rotary, silu, swiglu, tokenLogProbs,
  type QuantizedTensors, type Tensor,
} from '../engine/index.js';
import * as op from '../engine/ops.js';
import type { ModelConfig } from './config.js';
import { loraInputName, modulePath, moduleShape, type LoraConfig, type LoraModule, loraLayers } from './lora.js';
import { applyRope, ropeTables, rotaryTables } from './rope.js';
import type { Checkpoint } from './weights.js';

/** Additive mask value for a key a query may not see. */
export const MASKED = -1e9;

export interface DecoderInputs {
  /** int64 [batch, seq] */
  ids: Tensor;
  /** int64 [batch, seq]: each token's position (left padding shifts them) */
  positions: Tensor;
  /** float32 [batch, 1, 1, seq, past+seq] (or [batch, 1, 1, seq, seq] without a cache): 0 or MASKED */
  mask: Tensor;
  /** Per layer, float32 [batch, kv_heads, past, head_dim]: the cache rows (keys after RoPE). */
  pastK?: Tensor[];
  pastV?: Tensor[];
}

/** The graph input holding LoRA dropout's keep probability ([1]) when `dropout` is on. */
export const LORA_DROPOUT_KEEP = 'lora_dropout_keep';

export interface DecoderOptions {
  /** LoRA on these modules: A/B become graph inputs named by loraInputName. */
  lora?: LoraConfig;
  /** LoRA dropout drawn in the graph, one mask per module (as PEFT), with the keep probability fed as
   * LORA_DROPOUT_KEEP ([1]: 1 − p to train, 1 to validate). Training only. */
  dropout?: boolean;
  /** Seeds the masks' generators, in [0, 16384): each module's is dropoutSeed·1024 + its index, exact in the
   * float attribute ORT reads [0]. */
  dropoutSeed?: number;
  /** Add a scalar value head (inputs `v_head.summary.weight` [1, D] and `v_head.summary.bias` [1]). */
  valueHead?: boolean;
  /**
   * 'inputs' makes every base weight a trainable graph input named as in the checkpoint (full training,
   * e.g. from scratch: feed `checkpoint.weights` arrays, which AdamW then updates in place). Default
   * 'initializers' (frozen, baked into the model).
   */
  weightsAs?: 'initializers' | 'inputs';
  /**
   * nbits4 quantized weights: 'initializers' (default; MatMulNBits prepacks them: fast, but a copy inside
   * each session) or 'inputs' (fed from the JS arrays by `quantizedInputFeeds(ck, { nbits4: true })`: no
   * copy per session; MatMulNBits then dequantizes B every run — cheap next to a long sequence's product,
   * slow for decode steps).
   */
  nbits4As?: 'initializers' | 'inputs';
  /**
   * 'fast' (default): the engine's training forms — the MLP gating by `swiglu` (one gradient rule), RoPE by
   * `rotary` (ORT's RotaryEmbedding kernel, forward and backward, in float32 graphs with contribOps) and,
   * without a KV cache, attention in `causalBlocks` query blocks. 'standard': silu then mul, RoPE by slices
   * and whole-square attention, all standard ops — the reference the tests hold the fast forms to (the
   * same function, float32 rounding apart).
   */
  forms?: 'fast' | 'standard';
  /**
   * Query row blocks of the no-cache attention with 'fast' forms (default 2; 1: the whole square). A block
   * skips only keys after its last query, which a causal mask hides: attentionBias's (left padding) and
   * packedBatch's (block-diagonal, one example per block) are causal, so the skipped scores are ones the
   * softmax gives weight 0 anyway. A fully masked query row (left padding) averages over its block's keys
   * instead of all keys: garbage either way, and never read by a real row. Use 1 for a mask that shows a
   * query a later key.
   */
  causalBlocks?: number;
  /**
   * Activation recomputation: each block is a `recomputed` region, so a backward pass rebuilds one block's
   * activations at a time from its input instead of holding every block's from the forward (at
   * DeepSeek-Coder-1.3B's shape, sequence 512: ~2.6 GiB less peak memory, for one more forward of the
   * blocks per backward). Changes nothing without gradients.
   */
  recompute?: boolean;
}

export interface DecoderTensors {
  /** [batch, seq, vocab] */
  logits: Tensor;
  /** [batch, vocab]: the last position's logits (the LM head runs on that row only) */
  lastLogits: Tensor;
  /** [batch, seq, hidden] after the final norm */
  hidden: Tensor;
  /** The LM head's weight [vocab, hidden] (the embedding when tied), for fused head + log-prob regions;
   * null when the head is quantized (`headQuantized`). `headLogits` / `headLogProbs` take either. */
  head: Tensor | null;
  /** The quantized LM head, when the checkpoint quantizes it. */
  headQuantized?: QuantizedTensors;
  /** Per layer, the new cache rows [batch, kv_heads, seq, head_dim] (keys after RoPE). */
  newK: Tensor[];
  newV: Tensor[];
  /** [batch, seq] when `valueHead` */
  values?: Tensor;
  /** Graph inputs that are trainable (LoRA A/B, value head, base weights with weightsAs 'inputs'), by name. */
  trainable: Map<string, Tensor>;
}

/**
 * Appends the decoder to `g`, reading `inputs`. Weights from `ck` become initializers (shared if the graph
 * already has them, so two decoders in one graph — policy and reference — can share a checkpoint).
 */
export function appendDecoder(g: Graph, ck: Checkpoint, inputs: DecoderInputs, opts: DecoderOptions = {}): DecoderTensors {
  const c = ck.config;
  const H = c.numHeads, KV = c.numKvHeads, hd = c.headDim, rep = H / KV;
  const trainable = new Map<string, Tensor>();
  const init = (name: string): Tensor => {
    let byName = initializers.get(g);
    if (!byName) { byName = new Map(); initializers.set(g, byName); }
    const existing = byName.get(name);
    if (existing) return existing;
    const w = ck.weights.get(name);
    if (!w) throw new Error(`decoder: weights lack '${name}'`);
    let t: Tensor;
    if (opts.weightsAs === 'inputs') {
      t = g.input(name, 'float32', w.shape);
      trainable.set(name, t);
    } else {
      t = g.initializer(name, w.data, w.shape);
    }
    byName.set(name, t);
    return t;
  };
  // Quantized frozen weights: int8 is always a graph input (fed from the one JS copy: as fast as baked in,
  // and no copy per session — callers feed `quantizedInputFeeds(ck)`); nbits4 is always an initializer
  // (MatMulNBits prepacks only a constant B; fed, it dequantizes to float every run, measured at 0.74×
  // float32's rate against 1.4× prepacked).
  const qinit = (name: string): QuantizedTensors | null => {
    const w = ck.quantized?.get(name);
    if (!w) return null;
    let byName = quantizedByGraph.get(g);
    if (!byName) { byName = new Map(); quantizedByGraph.set(g, byName); }
    let t = byName.get(name);
    if (!t) {
      t = quantizedTensors(g, name, w, w.mode === 'int8' ? 'inputs' : opts.nbits4As ?? 'initializers');
      byName.set(name, t);
    }
    return t;
  };
  const loraSet = new Set<string>();
  if (opts.lora) for (const l of loraLayers(opts.lora, c)) for (const m of opts.lora.targetModules) loraSet.add(modulePath(l, m));
  const loraScale = opts.lora ? opts.lora.alpha / opts.lora.r : 0;
  const keep = opts.dropout && opts.lora ? g.input(LORA_DROPOUT_KEEP, 'float32', [1]) : null;
  // Per module, its A/B inputs and its mask's seed: made on the first call, found on a recomputation's.
  const adapters = new Map<string, { A: Tensor; B: Tensor; seed: number }>();

  const proj = (x: Tensor, layer: number, m: LoraModule, bias: boolean): Tensor => {
    const path = modulePath(layer, m);
    const q = qinit(`${path}.weight`);
    const b = bias ? init(`${path}.bias`) : undefined;
    const y = q ? quantizedLinear(x, q, b) : linear(x, init(`${path}.weight`), b);
    if (!loraSet.has(path)) return y;
    let ad = adapters.get(path);
    if (!ad) {
      const [out, inF] = moduleShape(c, m);
      const r = opts.lora!.r;
      ad = {
        A: g.input(loraInputName(path, 'A'), 'float32', [r, inF]),
        B: g.input(loraInputName(path, 'B'), 'float32', [out, r]),
        seed: (opts.dropoutSeed ?? 0) * 1024 + adapters.size,
      };
      adapters.set(path, ad);
      trainable.set(ad.A.name, ad.A); trainable.set(ad.B.name, ad.B);
    }
    const xd = keep ? op.mul(x, dropoutMask(x, keep, ad.seed)) : x;
    return op.add(y, op.matmul(linear(xd, ad.A), ad.B, { transB: true, alpha: loraScale })); // the scale in the product: no extra pass
  };

  const fast = (opts.forms ?? 'fast') === 'fast';
  const rope = fast ? rotaryRope(g, inputs.positions, c) : standardRope(g, inputs.positions, c);
  const mlpGate = fast ? swiglu : (gate: Tensor, up: Tensor) => op.mul(silu(gate), up);
  const causalBlocks = fast && !inputs.pastK ? (opts.causalBlocks ?? 2) : 1;
  const qEmbed = qinit('model.embed_tokens.weight');
  let x = qEmbed ? quantizedGather(qEmbed, inputs.ids) : op.gather(init('model.embed_tokens.weight'), inputs.ids, 0); // [b, s, D]
  const newK: Tensor[] = [], newV: Tensor[] = [];
  const block = (i: number, x: Tensor): Tensor => {
    const p = `model.layers.${i}`;
    const h = rmsNorm(x, init(`${p}.input_layernorm.weight`), c.rmsNormEps);
    let q = op.reshape(proj(h, i, 'q_proj', c.qkvBias), ['batch', 'seq', H, hd]);
    let k = op.reshape(proj(h, i, 'k_proj', c.qkvBias), ['batch', 'seq', KV, hd]);
    const v = op.reshape(proj(h, i, 'v_proj', c.qkvBias), ['batch', 'seq', KV, hd]);
    if (c.qkNorm) {
      q = rmsNorm(q, init(`${p}.self_attn.q_norm.weight`), c.rmsNormEps);
      k = rmsNorm(k, init(`${p}.self_attn.k_norm.weight`), c.rmsNormEps);
    }
    const q5 = op.reshape(rope(q), ['batch', KV, rep, 'seq', hd]); // [b, KV, rep, s, hd]
    const kN = rope(k); // [b, KV, s, hd]
    const vN = op.transpose(v, [0, 2, 1, 3]);
    if (newK.length === i) { newK.push(kN); newV.push(vN); } // (a recomputation's copies are not the cache's)
    let o: Tensor;
    if (inputs.pastK && inputs.pastV) {
      // Split attention: scores against the cached rows and against the new rows are computed separately
      // and softmaxed together, so the cache is only read (never concatenated or transposed: no copy).
      const pk = op.unsqueeze(inputs.pastK[i], [2]), pv = op.unsqueeze(inputs.pastV[i], [2]); // [b, KV, 1, past, hd]
      const scale = 1 / Math.sqrt(hd);
      const sPast = op.matmul(q5, pk, { transB: true, alpha: scale }); // [b, KV, rep, s, past]
      const sNew = op.matmul(q5, op.unsqueeze(kN, [2]), { transB: true, alpha: scale }); // [b, KV, rep, s, s]
      const P = op.softmax(op.add(op.concat([sPast, sNew], -1), inputs.mask), -1);
      const [pPast, pNew] = op.split(P, ['past', 'seq'], -1);
      o = op.add(op.matmul(pPast, pv), op.matmul(pNew, op.unsqueeze(vN, [2])));
    } else {
      o = attention(q5, op.unsqueeze(kN, [2]), op.unsqueeze(vN, [2]), { mask: inputs.mask, causalBlocks }); // [b, KV, rep, s, hd]
    }
    const o2 = op.reshape(op.transpose(o, [0, 3, 1, 2, 4]), ['batch', 'seq', H * hd]);
    const x1 = op.add(x, proj(o2, i, 'o_proj', c.oBias));
    const h2 = rmsNorm(x1, init(`${p}.post_attention_layernorm.weight`), c.rmsNormEps);
    const gated = mlpGate(proj(h2, i, 'gate_proj', c.mlpBias), proj(h2, i, 'up_proj', c.mlpBias));
    return op.add(x1, proj(gated, i, 'down_proj', c.mlpBias));
  };
  for (let i = 0; i < c.numLayers; i++) {
    x = opts.recompute ? recomputed(`block ${i}`, [x], ([xi]) => [block(i, xi)])[0] : block(i, x);
  }
  const hidden = rmsNorm(x, init('model.norm.weight'), c.rmsNormEps);
  const headName = c.tieWordEmbeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
  const headQuantized = qinit(headName) ?? undefined;
  const head = headQuantized ? null : init(headName);
  const applyHead = (h: Tensor) => (headQuantized ? quantizedLinear(h, headQuantized) : linear(h, head!));
  const logits = applyHead(hidden);
  const last = op.squeeze(op.slice(hidden, [1], [-1], [Number.MAX_SAFE_INTEGER]), [1]); // [b, D]
  const lastLogits = applyHead(last);
  const out: DecoderTensors = { logits, lastLogits, hidden, head, headQuantized, newK, newV, trainable };
  if (opts.valueHead) {
    const w = g.input('v_head.summary.weight', 'float32', [1, c.hiddenSize]);
    const b = g.input('v_head.summary.bias', 'float32', [1]);
    trainable.set(w.name, w); trainable.set(b.name, b);
    out.values = op.squeeze(linear(hidden, w, b), [-1]);
  }
  return out;
}

const initializers = new WeakMap<Graph, Map<string, Tensor>>();
const quantizedByGraph = new WeakMap<Graph, Map<string, QuantizedTensors>>();

/** Logits of hidden states h [..., hidden] under the decoder's head (float or quantized). */
export function headLogits(t: DecoderTensors, h: Tensor): Tensor {
  return t.headQuantized ? quantizedLinear(h, t.headQuantized) : linear(h, t.head!);
}

/**
 * Log-probs of `targets` under the head applied to h: the fused head + log-softmax region for a float head
 * (no [.., vocab] gradient pass); for a fed 4-bit head wider than one block, `quantizedHeadLogProbs` (no
 * [.., vocab] tensor at all); otherwise the quantized product then `tokenLogProbs`.
 */
export function headLogProbs(t: DecoderTensors, h: Tensor, targets: Tensor): Tensor {
  if (!t.headQuantized) return headTokenLogProbs(h, t.head!, targets);
  return blockedHead(t.headQuantized) ? quantizedHeadLogProbs(h, t.headQuantized, targets) : tokenLogProbs(quantizedLinear(h, t.headQuantized), targets);
}

/** RoPE of x [batch, seq, heads, head_dim] as [batch, heads, seq, head_dim], by the engine's `rotary`. */
function rotaryRope(g: Graph, positions: Tensor, c: ModelConfig): (x: Tensor) => Tensor {
  const t = rotaryTables(g, positions, c);
  return (x) => rotary(op.transpose(x, [0, 2, 1, 3]), t.rows, t.cos, t.sin);
}

/** The same by standard ops (slices, negation, concatenation) on full-width tables. */
function standardRope(g: Graph, positions: Tensor, c: ModelConfig): (x: Tensor) => Tensor {
  const { cos, sin } = ropeTables(g, positions, c);
  return (x) => op.transpose(applyRope(x, cos, sin, c.headDim), [0, 2, 1, 3]);
}

/** The standard inputs of a decoder graph (names fed by CausalLM and the trainers). */
export function decoderInputs(g: Graph, c: ModelConfig, cache: boolean): DecoderInputs {
  const ids = g.input('input_ids', 'int64', ['batch', 'seq']);
  const positions = g.input('position_ids', 'int64', ['batch', 'seq']);
  if (!cache) return { ids, positions, mask: g.input('attn_bias', 'float32', ['batch', 1, 1, 'seq', 'seq']) };
  const pastK: Tensor[] = [], pastV: Tensor[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    pastK.push(g.input(`past_k.${i}`, 'float32', ['batch', c.numKvHeads, 'past', c.headDim]));
    pastV.push(g.input(`past_v.${i}`, 'float32', ['batch', c.numKvHeads, 'past', c.headDim]));
  }
  const mask = g.input('attn_bias', 'float32', ['batch', 1, 1, 'seq', 'past+seq']);
  return { ids, positions, mask, pastK, pastV };
}

// ---- feeds built in JS ---------------------------------------------------------------------------

/**
 * The additive attention mask [batch, 1, 1, seq, past+seq] for `seq` new tokens after `past` fed cache rows:
 * cache row j is visible iff `pastValid[b·pastStride + j]`; new token j is visible to new token i iff j ≤ i
 * and `newValid[b·seq + j]` (0 marks padding).
 */
export function attentionBias(batch: number, seq: number, past: number, pastValid: Uint8Array | null, pastStride: number, newValid: Uint8Array): Float32Array {
  const t = past + seq;
  const out = new Float32Array(batch * seq * t);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < seq; i++) {
      const row = (b * seq + i) * t;
      for (let j = 0; j < past; j++) out[row + j] = pastValid![b * pastStride + j] ? 0 : MASKED;
      for (let j = 0; j < seq; j++) out[row + past + j] = j <= i && newValid[b * seq + j] ? 0 : MASKED;
    }
  }
  return out;
}

/** A batch of token lists left-padded to one length: ids, positions (HF's cumsum − 1) and validity. */
export interface PaddedBatch {
  batch: number;
  seq: number;
  ids: BigInt64Array;
  positions: BigInt64Array;
  /** 1 for real tokens, 0 for padding, [batch, seq] */
  valid: Uint8Array;
  /** Left padding per row. */
  pad: number[];
}

/** Rows left-padded to the longest one (or to `minSeq` if that is longer). */
export function leftPad(rows: readonly (readonly number[])[], padId = 0, minSeq = 0): PaddedBatch {
  const batch = rows.length;
  if (batch === 0) throw new Error('leftPad: empty batch');
  const seq = Math.max(minSeq, ...rows.map((r) => r.length));
  if (seq === 0) throw new Error('leftPad: every row is empty');
  const ids = new BigInt64Array(batch * seq), positions = new BigInt64Array(batch * seq), valid = new Uint8Array(batch * seq);
  const pad: number[] = [];
  rows.forEach((r, b) => {
    const p = seq - r.length;
    pad.push(p);
    for (let j = 0; j < seq; j++) {
      const real = j >= p;
      ids[b * seq + j] = BigInt(real ? r[j - p] : padId);
      positions[b * seq + j] = BigInt(real ? j - p : 1); // HF fills padded positions with 1
      valid[b * seq + j] = real ? 1 : 0;
    }
  });
  return { batch, seq, ids, positions, valid, pad };
}
