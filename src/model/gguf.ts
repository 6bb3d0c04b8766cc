// Export to GGUF (version 3), the single-file format llama.cpp and Ollama load: a header of typed
// key/value metadata and tensor descriptors, then the tensor data, each block aligned to 32 bytes.
// Weights are renamed to llama.cpp's tensor names and, for the `llama` architecture, q/k rows are permuted
// from Hugging Face's rotate-half layout to llama.cpp's interleaved-pair RoPE (Qwen uses the half layout,
// as Hugging Face does, and is not permuted). Llama 3 RoPE scaling becomes a `rope_freqs` tensor of
// per-frequency divisors; linear scaling becomes rope.scaling.{type,factor}. A LoRA adapter is merged first.

import { closeSync, openSync, readSync, fstatSync, writeSync } from 'node:fs';
import type { ModelConfig } from './config.js';
import { byteToChar } from './byte-level.js';
import { mergeLora, type LoraAdapter } from './lora.js';
import { inverseFrequencies } from './rope.js';
import { f32ToF16, f16ToF32 } from './safetensors.js';
import { ggufBlocks, GGUF_QUANT_TYPES, type GgufQuantType } from './gguf-quant.js';
import { dequantizeCheckpoint } from './quantized.js';
import type { Checkpoint } from './weights.js';

const ALIGN = 32;

// GGUF metadata value types.
const T = { U8: 0, I8: 1, U16: 2, I16: 3, U32: 4, I32: 5, F32: 6, BOOL: 7, STRING: 8, ARRAY: 9, U64: 10, I64: 11, F64: 12 } as const;
// ggml tensor types.
const GGML = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
// llama.cpp's general.file_type (LLAMA_FTYPE_ALL_F32, MOSTLY_F16, MOSTLY_Q4_0, MOSTLY_Q8_0).
const FILE_TYPE = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 7 } as const;

export type GgufValue =
  | { type: 'u32' | 'i32' | 'f32' | 'u64' | 'f64'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'array'; of: 'string'; value: string[] }
  | { type: 'array'; of: 'i32' | 'f32'; value: ArrayLike<number> };

export interface GgufTensor {
  name: string;
  /** Hugging Face order (outermost first); written reversed, as ggml's ne[]. */
  shape: number[];
  /** F32/F16: the values (empty for Q8_0/Q4_0). */
  data: Float32Array;
  type: 'F32' | 'F16' | GgufQuantType;
  /** Q8_0/Q4_0: ggml's blocks, row after row. */
  blocks?: Uint8Array;
}

/** Token vocabulary for the GGUF header (byte-level BPE, llama.cpp's "gpt2" model). */
export interface GgufVocab {
  tokens: string[];
  /** 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte (llama.cpp's token types). */
  types: number[];
  merges: string[];
  /** llama.cpp pre-tokenizer name ('gpt-2', 'deepseek-coder', 'qwen2', 'llama-bpe', …). */
  pre: string;
  bos?: number | null;
  eos?: number | null;
  pad?: number | null;
  addBos?: boolean;
  chatTemplate?: string;
}

export interface GgufExportOptions {
  /**
   * Storage type of matrices (default F32; norms, biases and rope_freqs always F32, as llama.cpp expects).
   * Q8_0 / Q4_0: a checkpoint quantized int8 / nbits4 is written exactly as it computes (its scales are
   * float16 values); other matrices are quantized here by the same rules (see gguf-quant.ts).
   */
  dtype?: 'F32' | 'F16' | GgufQuantType;
  /** Merged into the weights before export. */
  adapter?: LoraAdapter;
  vocab?: GgufVocab;
  name?: string;
}

const ARCH_NAME: Record<ModelConfig['architecture'], string> = { llama: 'llama', qwen2: 'qwen2', qwen3: 'qwen3' };

/** Rows of q or k reordered so that llama.cpp's pairwise RoPE equals Hugging Face's rotate_half. */
export function permuteForPairRope(data: Float32Array, heads: number, headDim: number, cols: number): Float32Array {
  const out = new Float32Array(data.length);
  const half = headDim / 2;
  for (let h = 0; h < heads; h++) {
    for (let j = 0; j < half; j++) {
      for (let t = 0; t < 2; t++) {
        const src = (h * headDim + t * half + j) * cols, dst = (h * headDim + 2 * j + t) * cols;
        out.set(data.subarray(src, src + cols), dst);
      }
    }
  }
  return out;
}

/** A vocabulary for a model without a tokenizer: the 256 byte-level characters, then placeholder tokens. */
export function placeholderVocab(vocabSize: number): GgufVocab {
  const tokens: string[] = [], types: number[] = [];
  for (let i = 0; i < vocabSize; i++) {
    if (i < 256) { tokens.push(byteToChar(i)); types.push(1); } else { tokens.push(`<|tok_${i}|>`); types.push(4); }
  }
  return { tokens, types, merges: [], pre: 'gpt-2' };
}

/** The tensors (llama.cpp names) and metadata for a checkpoint. */
export function ggufContent(ck0: Checkpoint, o: GgufExportOptions = {}): { metadata: Map<string, GgufValue>; tensors: GgufTensor[] } {
  const mtype = o.dtype ?? 'F32';
  const quantType = (GGUF_QUANT_TYPES as readonly string[]).includes(mtype) ? mtype as GgufQuantType : null;
  // A quantized checkpoint: its own quantized weights for the matching type; otherwise their values as floats
  // (merging an adapter needs floats too).
  const floatCk = ck0.quantized?.size && (o.adapter || !quantType) ? dequantizeCheckpoint(ck0) : ck0;
  const ck = o.adapter ? mergeLora(floatCk, o.adapter) : floatCk;
  const c = ck.config;
  const arch = ARCH_NAME[c.architecture];
  const md = new Map<string, GgufValue>();
  const u32 = (value: number): GgufValue => ({ type: 'u32', value });
  const f32 = (value: number): GgufValue => ({ type: 'f32', value });
  md.set('general.architecture', { type: 'string', value: arch });
  md.set('general.name', { type: 'string', value: o.name ?? 'securecoderl-model' });
  md.set('general.file_type', u32(FILE_TYPE[mtype]));
  md.set('general.alignment', u32(ALIGN));
  md.set(`${arch}.vocab_size`, u32(c.vocabSize));
  md.set(`${arch}.context_length`, u32(c.maxPositionEmbeddings));
  md.set(`${arch}.embedding_length`, u32(c.hiddenSize));
  md.set(`${arch}.block_count`, u32(c.numLayers));
  md.set(`${arch}.feed_forward_length`, u32(c.intermediateSize));
  md.set(`${arch}.attention.head_count`, u32(c.numHeads));
  md.set(`${arch}.attention.head_count_kv`, u32(c.numKvHeads));
  md.set(`${arch}.attention.key_length`, u32(c.headDim));
  md.set(`${arch}.attention.value_length`, u32(c.headDim));
  md.set(`${arch}.rope.dimension_count`, u32(c.headDim));
  md.set(`${arch}.rope.freq_base`, f32(c.ropeTheta));
  md.set(`${arch}.attention.layer_norm_rms_epsilon`, f32(c.rmsNormEps));
  if (c.ropeScaling.type === 'linear') {
    md.set(`${arch}.rope.scaling.type`, { type: 'string', value: 'linear' });
    md.set(`${arch}.rope.scaling.factor`, f32(c.ropeScaling.factor));
  }
  if (c.mlpBias) throw new Error('GGUF export: mlp biases are not supported by llama.cpp\'s llama graph');

  const v = o.vocab ?? placeholderVocab(c.vocabSize);
  if (v.tokens.length > c.vocabSize) throw new Error(`GGUF export: the tokenizer has ${v.tokens.length} tokens, the model's vocabulary only ${c.vocabSize}`);
  const tokens = [...v.tokens], types = [...v.types];
  for (let i = tokens.length; i < c.vocabSize; i++) { tokens.push(`[PAD${i}]`); types.push(5); }
  md.set('tokenizer.ggml.model', { type: 'string', value: 'gpt2' });
  md.set('tokenizer.ggml.pre', { type: 'string', value: v.pre });
  md.set('tokenizer.ggml.tokens', { type: 'array', of: 'string', value: tokens });
  md.set('tokenizer.ggml.token_type', { type: 'array', of: 'i32', value: types });
  md.set('tokenizer.ggml.merges', { type: 'array', of: 'string', value: v.merges });
  const bos = v.bos ?? c.bosTokenId, eos = v.eos ?? c.eosTokenIds[0] ?? null, pad = v.pad ?? c.padTokenId;
  if (bos !== null && bos !== undefined) md.set('tokenizer.ggml.bos_token_id', u32(bos));
  if (eos !== null && eos !== undefined) md.set('tokenizer.ggml.eos_token_id', u32(eos));
  if (pad !== null && pad !== undefined) md.set('tokenizer.ggml.padding_token_id', u32(pad));
  md.set('tokenizer.ggml.add_bos_token', { type: 'bool', value: v.addBos ?? false });
  if (v.chatTemplate) md.set('tokenizer.chat_template', { type: 'string', value: v.chatTemplate });

  const tensors: GgufTensor[] = [];
  const W = (hf: string) => {
    const w = ck.weights.get(hf);
    if (!w) throw new Error(`GGUF export: weights lack '${hf}'`);
    return w;
  };
  // llama: q and k rows (and biases) reordered per head (`heads`) for llama.cpp's pairwise RoPE.
  const permute = c.architecture === 'llama';
  const add = (name: string, hf: string, matrix: boolean, heads?: number) => {
    const reorder = permute && heads !== undefined;
    if (matrix && quantType) {
      const q = ck.quantized?.get(hf);
      const src = q ?? { data: W(hf).data, shape: W(hf).shape };
      const rows = q ? q.outFeatures : W(hf).shape[0];
      const order = reorder ? Int32Array.from(permuteForPairRope(Float32Array.from({ length: rows }, (_, i) => i), heads, c.headDim, 1)) : null;
      tensors.push({ name, shape: q ? [q.outFeatures, q.inFeatures] : W(hf).shape, data: new Float32Array(0), type: quantType, blocks: ggufBlocks(src, quantType, order, `${name} (${hf})`) });
      return;
    }
    const w = W(hf);
    const data = reorder ? permuteForPairRope(w.data, heads, c.headDim, w.data.length / w.shape[0]) : w.data;
    tensors.push({ name, shape: w.shape, data, type: matrix ? mtype as 'F32' | 'F16' : 'F32' });
  };

  add('token_embd.weight', 'model.embed_tokens.weight', true);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`, b = `blk.${i}`;
    add(`${b}.attn_norm.weight`, `${p}.input_layernorm.weight`, false);
    add(`${b}.attn_q.weight`, `${p}.self_attn.q_proj.weight`, true, c.numHeads);
    add(`${b}.attn_k.weight`, `${p}.self_attn.k_proj.weight`, true, c.numKvHeads);
    add(`${b}.attn_v.weight`, `${p}.self_attn.v_proj.weight`, true);
    add(`${b}.attn_output.weight`, `${p}.self_attn.o_proj.weight`, true);
    if (c.qkvBias) {
      add(`${b}.attn_q.bias`, `${p}.self_attn.q_proj.bias`, false, c.numHeads);
      add(`${b}.attn_k.bias`, `${p}.self_attn.k_proj.bias`, false, c.numKvHeads);
      add(`${b}.attn_v.bias`, `${p}.self_attn.v_proj.bias`, false);
    }
    if (c.oBias) add(`${b}.attn_output.bias`, `${p}.self_attn.o_proj.bias`, false);
    if (c.qkNorm) {
      add(`${b}.attn_q_norm.weight`, `${p}.self_attn.q_norm.weight`, false);
      add(`${b}.attn_k_norm.weight`, `${p}.self_attn.k_norm.weight`, false);
    }
    add(`${b}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`, false);
    add(`${b}.ffn_gate.weight`, `${p}.mlp.gate_proj.weight`, true);
    add(`${b}.ffn_up.weight`, `${p}.mlp.up_proj.weight`, true);
    add(`${b}.ffn_down.weight`, `${p}.mlp.down_proj.weight`, true);
  }
  add('output_norm.weight', 'model.norm.weight', false);
  if (!c.tieWordEmbeddings) add('output.weight', 'lm_head.weight', true);
  if (c.ropeScaling.type === 'llama3') {
    const plain = inverseFrequencies({ ...c, ropeScaling: { type: 'none' } });
    const scaled = inverseFrequencies(c);
    tensors.push({ name: 'rope_freqs.weight', shape: [c.headDim / 2], data: Float32Array.from(plain, (f, i) => f / scaled[i]), type: 'F32' });
  }
  return { metadata: md, tensors };
}

// ---- writer -------------------------------------------------------------------------------------

class Bytes {
  private chunks: Buffer[] = [];
  length = 0;
  push(b: Buffer): void { this.chunks.push(b); this.length += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v); this.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(b); }
  u64(v: number): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(b); }
  f64(v: number): void { const b = Buffer.alloc(8); b.writeDoubleLE(v); this.push(b); }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.push(b); }
  concat(): Buffer { return Buffer.concat(this.chunks); }
}

function writeValue(out: Bytes, v: GgufValue): void {
  switch (v.type) {
    case 'u32': out.u32(T.U32); out.u32(v.value); return;
    case 'i32': out.u32(T.I32); out.i32(v.value); return;
    case 'f32': out.u32(T.F32); out.f32(v.value); return;
    case 'u64': out.u32(T.U64); out.u64(v.value); return;
    case 'f64': out.u32(T.F64); out.f64(v.value); return;
    case 'bool': out.u32(T.BOOL); out.push(Buffer.from([v.value ? 1 : 0])); return;
    case 'string': out.u32(T.STRING); out.str(v.value); return;
    case 'array':
      out.u32(T.ARRAY);
      if (v.of === 'string') { out.u32(T.STRING); out.u64(v.value.length); for (const s of v.value) out.str(s); return; }
      out.u32(v.of === 'i32' ? T.I32 : T.F32); out.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) (v.of === 'i32' ? out.i32(v.value[i]) : out.f32(v.value[i]));
  }
}

const pad = (n: number) => (ALIGN - (n % ALIGN)) % ALIGN;

/** Writes metadata and tensors as a GGUF v3 file, converting and writing one tensor at a time. */
export function writeGguf(path: string, metadata: ReadonlyMap<string, GgufValue>, tensors: readonly GgufTensor[]): void {
  const head = new Bytes();
  head.push(Buffer.from('GGUF', 'ascii'));
  head.u32(3);
  head.u64(tensors.length);
  head.u64(metadata.size);
  for (const [k, v] of metadata) { head.str(k); writeValue(head, v); }
  let offset = 0;
  for (const t of tensors) {
    const n = t.shape.reduce((p, d) => p * d, 1);
    if (t.blocks ? t.type === 'F32' || t.type === 'F16' : n !== t.data.length) throw new Error(`GGUF: tensor ${t.name} has ${t.data.length} values for [${t.shape.join(', ')}] (${t.type})`);
    head.str(t.name);
    head.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) head.u64(d);
    head.u32(GGML[t.type]);
    head.u64(offset);
    offset += t.blocks ? t.blocks.length : n * (t.type === 'F32' ? 4 : 2);
    offset += pad(offset);
  }
  const fd = openSync(path, 'w');
  try {
    const h = head.concat();
    writeAll(fd, h);
    writeAll(fd, Buffer.alloc(pad(h.length)));
    for (const t of tensors) {
      let b: Buffer;
      if (t.blocks) b = Buffer.from(t.blocks.buffer, t.blocks.byteOffset, t.blocks.byteLength);
      else if (t.type === 'F32') b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      else {
        b = Buffer.alloc(t.data.length * 2);
        for (let i = 0; i < t.data.length; i++) b.writeUInt16LE(f32ToF16(t.data[i]), 2 * i);
      }
      writeAll(fd, b);
      writeAll(fd, Buffer.alloc(pad(b.length)));
    }
  } finally {
    closeSync(fd);
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** Exports a checkpoint (with an optional adapter merged) to a GGUF file for llama.cpp / Ollama. */
export function exportGguf(path: string, ck: Checkpoint, o: GgufExportOptions = {}): void {
  const { metadata, tensors } = ggufContent(ck, o);
  writeGguf(path, metadata, tensors);
}

// ---- reader (for checks) --------------------------------------------------------------------------

export interface GgufFile {
  version: number;
  metadata: Map<string, unknown>;
  tensors: { name: string; dims: number[]; type: number; offset: number }[];
  dataStart: number;
}

/** Parses a GGUF header (metadata and tensor descriptors). */
export function readGgufHeader(path: string): GgufFile {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const buf = Buffer.alloc(Math.min(size, 64 << 20));
    readSync(fd, buf, 0, buf.length, 0);
    let p = 0;
    const u32 = () => { const v = buf.readUInt32LE(p); p += 4; return v; };
    const u64 = () => { const v = Number(buf.readBigUInt64LE(p)); p += 8; return v; };
    const str = () => { const n = u64(); const s = buf.toString('utf8', p, p + n); p += n; return s; };
    const scalar = (t: number): unknown => {
      switch (t) {
        case T.U8: return buf.readUInt8(p++);
        case T.I8: return buf.readInt8(p++);
        case T.U16: { const v = buf.readUInt16LE(p); p += 2; return v; }
        case T.I16: { const v = buf.readInt16LE(p); p += 2; return v; }
        case T.U32: return u32();
        case T.I32: { const v = buf.readInt32LE(p); p += 4; return v; }
        case T.F32: { const v = buf.readFloatLE(p); p += 4; return v; }
        case T.BOOL: return buf.readUInt8(p++) !== 0;
        case T.STRING: return str();
        case T.U64: return u64();
        case T.I64: { const v = Number(buf.readBigInt64LE(p)); p += 8; return v; }
        case T.F64: { const v = buf.readDoubleLE(p); p += 8; return v; }
        case T.ARRAY: { const et = u32(); const n = u64(); return Array.from({ length: n }, () => scalar(et)); }
      }
      throw new Error(`${path}: unknown GGUF value type ${t}`);
    };
    if (buf.toString('ascii', 0, 4) !== 'GGUF') throw new Error(`${path}: not a GGUF file`);
    p = 4;
    const version = u32();
    const nt = u64(), nk = u64();
    const metadata = new Map<string, unknown>();
    for (let i = 0; i < nk; i++) { const k = str(); metadata.set(k, scalar(u32())); }
    const tensors: GgufFile['tensors'] = [];
    for (let i = 0; i < nt; i++) {
      const name = str();
      const nd = u32();
      const dims = Array.from({ length: nd }, u64);
      tensors.push({ name, dims, type: u32(), offset: u64() });
    }
    const align = (metadata.get('general.alignment') as number | undefined) ?? ALIGN;
    return { version, metadata, tensors, dataStart: p + ((align - (p % align)) % align) };
  } finally {
    closeSync(fd);
  }
}

/** Reads one F32/F16 tensor of a GGUF file as float32 (for checks). */
export function readGgufTensor(path: string, file: GgufFile, name: string): Float32Array {
  const t = file.tensors.find((x) => x.name === name);
  if (!t) throw new Error(`${path}: no tensor ${name}`);
  const n = t.dims.reduce((a, b) => a * b, 1);
  const width = t.type === GGML.F32 ? 4 : t.type === GGML.F16 ? 2 : 0;
  if (!width) throw new Error(`${path}: tensor ${name} has ggml type ${t.type}; only F32/F16 are read here`);
  const buf = Buffer.alloc(n * width);
  const fd = openSync(path, 'r');
  try { readSync(fd, buf, 0, buf.length, file.dataStart + t.offset); } finally { closeSync(fd); }
  return Float32Array.from({ length: n }, (_, i) => (width === 4 ? buf.readFloatLE(4 * i) : f16ToF32(buf.readUInt16LE(2 * i))));
}
