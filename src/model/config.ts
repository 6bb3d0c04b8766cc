// One typed description of a Llama-family decoder, read from a Hugging Face `config.json`.
// Covers Llama (incl. DeepSeek-Coder's linear RoPE scaling and Llama 3.x's "llama3" scaling and tied
// embeddings), Qwen2/2.5 (q/k/v biases) and Qwen3 (per-head q/k RMSNorm). Anything the decoder does not
// implement is refused with the file, the field and what was expected, never silently ignored.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The computation family: which tensors exist and how they are wired. */
export type Architecture = 'llama' | 'qwen2' | 'qwen3';

export type RopeScaling =
  | { type: 'none' }
  /** Positions divided by `factor` (DeepSeek-Coder: 4). */
  | { type: 'linear'; factor: number }
  /** Llama 3.1+ frequency-dependent scaling. */
  | { type: 'llama3'; factor: number; lowFreqFactor: number; highFreqFactor: number; originalMaxPositionEmbeddings: number };

export type TorchDtype = 'float32' | 'float16' | 'bfloat16';

export interface ModelConfig {
  architecture: Architecture;
  /** `model_type` as written in the file ('llama', 'qwen2', 'qwen3'). */
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling: RopeScaling;
  maxPositionEmbeddings: number;
  /** lm_head shares model.embed_tokens.weight. */
  tieWordEmbeddings: boolean;
  /** Biases on q_proj, k_proj, v_proj. */
  qkvBias: boolean;
  /** Bias on o_proj. */
  oBias: boolean;
  /** Biases on gate/up/down_proj. */
  mlpBias: boolean;
  /** Per-head RMSNorm of q and k before RoPE (Qwen3). */
  qkNorm: boolean;
  bosTokenId: number | null;
  /** One or more end-of-sequence ids. */
  eosTokenIds: number[];
  padTokenId: number | null;
  /** Storage dtype the checkpoint declares (weights are always computed in float32). */
  torchDtype: TorchDtype;
}

/** A configuration problem: names the file and the field. */
export class ConfigError extends Error {}

type Json = Record<string, unknown>;

function fail(file: string, field: string, msg: string): never {
  throw new ConfigError(`${file}: field '${field}' ${msg}`);
}

function posInt(c: Json, file: string, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (v === undefined || v === null) fail(file, key, 'is missing (expected a positive integer)');
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(file, key, `must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function posNum(c: Json, file: string, key: string, fallback?: number): number {
  const v = c[key] ?? fallback;
  if (v === undefined || v === null) fail(file, key, 'is missing (expected a positive number)');
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(file, key, `must be a positive number, got ${JSON.stringify(v)}`);
  return v;
}

function bool(c: Json, file: string, key: string, fallback: boolean): boolean {
  const v = c[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(file, key, `must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function optId(c: Json, file: string, key: string): number | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) fail(file, key, `must be a token id, got ${JSON.stringify(v)}`);
  return v;
}

function ids(c: Json, file: string, key: string): number[] {
  const v = c[key];
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) fail(file, key, `must be a token id or a list of ids, got ${JSON.stringify(v)}`);
  return list as number[];
}

const ARCH: Record<string, Architecture> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };

function parseRopeScaling(c: Json, file: string): RopeScaling {
  const rs = c.rope_scaling;
  if (rs === undefined || rs === null) return { type: 'none' };
  if (typeof rs !== 'object' || Array.isArray(rs)) fail(file, 'rope_scaling', `must be an object or null, got ${JSON.stringify(rs)}`);
  const r = rs as Json;
  const kind = r.rope_type ?? r.type;
  const where = `rope_scaling.${r.rope_type !== undefined ? 'rope_type' : 'type'}`;
  const factor = (): number => {
    const f = r.factor;
    if (typeof f !== 'number' || !Number.isFinite(f) || f <= 0) fail(file, 'rope_scaling.factor', `must be a positive number, got ${JSON.stringify(f)}`);
    return f;
  };
  switch (kind) {
    case 'default': return { type: 'none' };
    case 'linear': return { type: 'linear', factor: factor() };
    case 'llama3': {
      const num = (k: string) => {
        const v = r[k];
        if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) fail(file, `rope_scaling.${k}`, `must be a positive number, got ${JSON.stringify(v)}`);
        return v;
      };
      const lo = num('low_freq_factor'), hi = num('high_freq_factor');
      if (hi <= lo) fail(file, 'rope_scaling.high_freq_factor', `must exceed low_freq_factor (${lo}), got ${hi}`);
      return { type: 'llama3', factor: factor(), lowFreqFactor: lo, highFreqFactor: hi, originalMaxPositionEmbeddings: num('original_max_position_embeddings') };
    }
    default:
      fail(file, where, `is ${JSON.stringify(kind)}; supported: "default", "linear", "llama3" (dynamic, yarn, longrope are not implemented)`);
  }
}

/** Parses a config.json object. `file` is only used in error messages. */
export function parseConfig(json: unknown, file = 'config.json'): ModelConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new ConfigError(`${file}: expected a JSON object`);
  const c = json as Json;
  const modelType = c.model_type;
  if (typeof modelType !== 'string') fail(file, 'model_type', `is missing; expected one of ${Object.keys(ARCH).join(', ')}`);
  const architecture = ARCH[modelType];
  if (!architecture) fail(file, 'model_type', `is ${JSON.stringify(modelType)}; supported: ${Object.keys(ARCH).join(', ')} (Llama, DeepSeek-Coder, Llama 3.x, Qwen2/2.5, Qwen3)`);

  const act = c.hidden_act ?? 'silu';
  if (act !== 'silu') fail(file, 'hidden_act', `is ${JSON.stringify(act)}; only "silu" (SwiGLU) is implemented`);

  const hiddenSize = posInt(c, file, 'hidden_size');
  const numHeads = posInt(c, file, 'num_attention_heads');
  const numKvHeads = posInt(c, file, 'num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) fail(file, 'num_key_value_heads', `(${numKvHeads}) must divide num_attention_heads (${numHeads})`);
  let headDim: number;
  if (c.head_dim !== undefined && c.head_dim !== null) headDim = posInt(c, file, 'head_dim');
  else {
    if (hiddenSize % numHeads !== 0) fail(file, 'hidden_size', `(${hiddenSize}) is not a multiple of num_attention_heads (${numHeads}) and no head_dim is given`);
    headDim = hiddenSize / numHeads;
  }
  if (headDim % 2 !== 0) fail(file, 'head_dim', `must be even for RoPE, got ${headDim}`);

  const partial = c.partial_rotary_factor;
  if (partial !== undefined && partial !== null && partial !== 1) fail(file, 'partial_rotary_factor', `is ${JSON.stringify(partial)}; only full rotary embeddings (1.0) are implemented`);
  if (architecture === 'qwen2' || architecture === 'qwen3') {
    if (c.use_sliding_window === true) fail(file, 'use_sliding_window', 'is true; sliding-window attention is not implemented');
  }
  if (c.sliding_window !== undefined && c.sliding_window !== null && architecture === 'llama') {
    fail(file, 'sliding_window', 'is set; sliding-window attention is not implemented');
  }
  const pretrainingTp = c.pretraining_tp;
  if (pretrainingTp !== undefined && pretrainingTp !== null && (typeof pretrainingTp !== 'number' || !Number.isInteger(pretrainingTp) || pretrainingTp < 1)) {
    fail(file, 'pretraining_tp', `must be a positive integer, got ${JSON.stringify(pretrainingTp)}`);
  }
  // pretraining_tp > 1 only splits the same matmuls into slices in Hugging Face; the result is identical.

  const attentionBias = bool(c, file, 'attention_bias', false);
  const dtypeRaw = c.torch_dtype ?? c.dtype ?? 'float32';
  if (dtypeRaw !== 'float32' && dtypeRaw !== 'float16' && dtypeRaw !== 'bfloat16') {
    fail(file, c.torch_dtype !== undefined ? 'torch_dtype' : 'dtype', `is ${JSON.stringify(dtypeRaw)}; expected "float32", "float16" or "bfloat16"`);
  }

  return {
    architecture,
    modelType,
    vocabSize: posInt(c, file, 'vocab_size'),
    hiddenSize,
    intermediateSize: posInt(c, file, 'intermediate_size'),
    numLayers: posInt(c, file, 'num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: posNum(c, file, 'rms_norm_eps', 1e-6),
    ropeTheta: posNum(c, file, 'rope_theta', 10000),
    ropeScaling: parseRopeScaling(c, file),
    maxPositionEmbeddings: posInt(c, file, 'max_position_embeddings', 2048),
    // LlamaConfig, Qwen2Config and Qwen3Config all default to untied (checkpoints state it explicitly).
    tieWordEmbeddings: bool(c, file, 'tie_word_embeddings', false),
    // Qwen2 always has q/k/v biases and none on o_proj; Llama and Qwen3 put attention_bias on all four.
    qkvBias: architecture === 'qwen2' ? true : attentionBias,
    oBias: architecture === 'qwen2' ? false : attentionBias,
    mlpBias: bool(c, file, 'mlp_bias', false),
    qkNorm: architecture === 'qwen3',
    bosTokenId: optId(c, file, 'bos_token_id'),
    eosTokenIds: ids(c, file, 'eos_token_id'),
    padTokenId: optId(c, file, 'pad_token_id'),
    torchDtype: dtypeRaw,
  };
}

/** Reads and parses DIR/config.json. */
export function loadConfig(dir: string): ModelConfig {
  const file = join(dir, 'config.json');
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch (e) { throw new ConfigError(`${file}: cannot read (${(e as Error).message})`); }
  let json: unknown;
  try { json = JSON.parse(text); } catch (e) { throw new ConfigError(`${file}: not valid JSON (${(e as Error).message})`); }
  return parseConfig(json, file);
}

const CLASS: Record<Architecture, string> = { llama: 'LlamaForCausalLM', qwen2: 'Qwen2ForCausalLM', qwen3: 'Qwen3ForCausalLM' };

/** The config.json object Hugging Face transformers would write for this config. */
export function configToJson(c: ModelConfig): Record<string, unknown> {
  const rs = c.ropeScaling;
  const ropeScaling = rs.type === 'none' ? null
    : rs.type === 'linear' ? { type: 'linear', rope_type: 'linear', factor: rs.factor }
      : { rope_type: 'llama3', factor: rs.factor, low_freq_factor: rs.lowFreqFactor, high_freq_factor: rs.highFreqFactor, original_max_position_embeddings: rs.originalMaxPositionEmbeddings };
  const out: Record<string, unknown> = {
    architectures: [CLASS[c.architecture]],
    model_type: c.modelType,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    hidden_act: 'silu',
    max_position_embeddings: c.maxPositionEmbeddings,
    rms_norm_eps: c.rmsNormEps,
    rope_theta: c.ropeTheta,
    rope_scaling: ropeScaling,
    tie_word_embeddings: c.tieWordEmbeddings,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds,
    torch_dtype: c.torchDtype,
  };
  if (c.padTokenId !== null) out.pad_token_id = c.padTokenId;
  if (c.architecture === 'llama' || c.architecture === 'qwen3') {
    out.attention_bias = c.qkvBias;
    if (c.qkvBias !== c.oBias) throw new ConfigError(`${c.modelType}: attention_bias covers q, k, v and o together; qkvBias and oBias must match`);
  } else if (!c.qkvBias || c.oBias) {
    throw new ConfigError('qwen2: q/k/v biases are always on and o_proj has none');
  }
  if (c.architecture === 'llama') out.mlp_bias = c.mlpBias;
  else if (c.mlpBias) throw new ConfigError(`${c.modelType}: mlp_bias is not a ${c.modelType} option`);
  if (c.architecture !== 'llama') out.use_sliding_window = false;
  return out;
}

/** Number of parameters (embedding counted once when tied). */
export function parameterCount(c: ModelConfig): number {
  const D = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim, F = c.intermediateSize;
  let layer = D * q + 2 * D * kv + q * D + 3 * D * F + 2 * D;
  if (c.qkvBias) layer += q + 2 * kv;
  if (c.oBias) layer += D;
  if (c.mlpBias) layer += 2 * F + D;
  if (c.qkNorm) layer += 2 * c.headDim;
  return c.vocabSize * D * (c.tieWordEmbeddings ? 1 : 2) + c.numLayers * layer + D;
}
