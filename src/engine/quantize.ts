// Quantized frozen weights, in the layouts ONNX Runtime's quantized kernels read (see qlinear.ts):
//
// - int8: symmetric per output channel. W[o, i] ≈ scale[o] · q[o, i], scale = max|W[o, :]| / 127 rounded
//   *up* to a float16 value (so |q| ≤ 127 without clipping, and GGUF's Q8_0 holds it exactly). Stored as
//   qT = qᵀ [in, out] for `com.microsoft.DynamicQuantizeMatMul` (B is [K, N] with one scale per column N).
// - nbits4: symmetric blocks of 32 along the input axis, llama.cpp's Q4_0 rule: d = m / −8 with m the
//   block's value of largest magnitude (sign kept), rounded away from zero to a float16 value; code =
//   clamp(round(x / d) + 8, 0, 15), value = d · (code − 8). Packed two codes per byte, the lower index in
//   the low nibble, as `com.microsoft.MatMulNBits` reads B [N, blocks, 16] (zero point 8 by default).
//
// The backward product of a linear layer (dX = dY · W) needs W the other way round. For int8,
// `QuantizedWeight.backward` builds q itself [out, in] on demand (the same scales, applied to dY first):
// exactly the forward's weights. nbits4 has no backward copy: the training graph dequantizes the forward
// copy, one weight at a time, and multiplies in float32 (qlinear.ts) — the exact gradient of the forward.

import type { FileSlice } from './file-slice.js';

export type QuantMode = 'int8' | 'nbits4';
export const QUANT_MODES: readonly QuantMode[] = ['int8', 'nbits4'];
export const NBITS_BLOCK = 32;

/** int8 forward layout: qT [in, out] and one scale per output channel. */
export interface Int8Forward { qT: Int8Array; scale: Float32Array }
/** 4-bit layout of a matrix [rows, cols] quantized along cols: packed [rows, blocks, 16], scales [rows, blocks]. */
export interface NBits4Matrix { rows: number; cols: number; packed: Uint8Array; scales: Float32Array }

/** int8 backward: q [out, in] (the forward's scales are applied to dY). */
export type QuantBackward = { mode: 'int8'; q: Int8Array };

/** A frozen weight W [out, in] (Hugging Face's linear layout) stored quantized. Its forward arrays are held
 * in JS, or stay in a file (`fromFile`: a quantized checkpoint's cache) until something reads `forward`;
 * sessions that bake the weight in read the file themselves (`source`), so they never need the JS copy. */
export class QuantizedWeight {
  private bwd: QuantBackward | null;
  private fwd: Int8Forward | NBits4Matrix | null;

  private constructor(
    readonly mode: QuantMode,
    readonly outFeatures: number,
    readonly inFeatures: number,
    /** int8: Int8Forward; nbits4: W [out, in] in blocks along in. Null: read from `source` on first use. */
    forward: Int8Forward | NBits4Matrix | null,
    backward: QuantBackward | null = null,
    /** Where the forward arrays lie on disk (int8: qT, scale; nbits4: packed, scales), raw little-endian. */
    readonly source: readonly FileSlice[] | null = null,
  ) {
    this.fwd = forward;
    this.bwd = backward;
  }

  /** The forward arrays (read from `source` into JS on first use when the weight came from a file). */
  get forward(): Int8Forward | NBits4Matrix {
    this.fwd ??= readForward(this.mode, this.outFeatures, this.inFeatures, this.source!);
    return this.fwd;
  }

  /** The forward arrays in their stored order (int8: qT, scale; nbits4: packed, scales). */
  forwardArrays(): [Int8Array | Uint8Array, Float32Array] {
    const f = this.forward;
    return this.mode === 'int8' ? [(f as Int8Forward).qT, (f as Int8Forward).scale] : [(f as NBits4Matrix).packed, (f as NBits4Matrix).scales];
  }

  /** Whether the forward arrays are in JS. */
  get loaded(): boolean { return this.fwd !== null; }

  /** A weight whose forward arrays are `slices` of a file (int8: qT [in, out] int8, scale [out] float32;
   * nbits4: packed [out, blocks, 16] uint8, scales [out, blocks] float32), checked by size only. */
  static fromFile(mode: QuantMode, out: number, inF: number, slices: readonly FileSlice[], where = 'quantized weight'): QuantizedWeight {
    const blocks = Math.ceil(inF / NBITS_BLOCK);
    const want = mode === 'int8' ? [out * inF, out * 4] : [out * blocks * NBITS_BLOCK / 2, out * blocks * 4];
    if (slices.length !== 2 || slices.some((s, i) => s.byteLength !== want[i])) {
      throw new Error(`${where}: ${mode} data of ${slices.map((s) => s.byteLength).join(' and ')} bytes does not fit [${out}, ${inF}] (expected ${want.join(' and ')})`);
    }
    return new QuantizedWeight(mode, out, inF, null, null, slices);
  }

  /** Quantizes W [out, in] (row-major float32). */
  static quantize(mode: QuantMode, W: Float32Array, out: number, inF: number): QuantizedWeight {
    if (W.length !== out * inF) throw new Error(`quantize: ${W.length} values for a [${out}, ${inF}] weight`);
    return mode === 'int8' ? new QuantizedWeight('int8', out, inF, quantizeInt8(W, out, inF))
      : new QuantizedWeight('nbits4', out, inF, quantizeNBits4(W, out, inF));
  }

  /** From stored arrays (a cache file), checking their sizes. */
  static fromArrays(mode: QuantMode, out: number, inF: number, forward: Int8Forward | NBits4Matrix, backward: QuantBackward | null = null, where = 'quantized weight'): QuantizedWeight {
    if (mode === 'int8') {
      const f = forward as Int8Forward;
      if (!(f.qT instanceof Int8Array) || f.qT.length !== out * inF || f.scale.length !== out) throw new Error(`${where}: int8 arrays do not fit [${out}, ${inF}] (qT ${f.qT.length}, scale ${f.scale.length})`);
      if (backward && (backward.mode !== 'int8' || backward.q.length !== out * inF)) throw new Error(`${where}: int8 backward copy does not fit [${out}, ${inF}]`);
    } else {
      checkNBits4(forward as NBits4Matrix, out, inF, where);
      if (backward) throw new Error(`${where}: nbits4 weights have no backward copy`);
    }
    return new QuantizedWeight(mode, out, inF, forward, backward);
  }

  get hasBackward(): boolean { return this.bwd !== null; }

  /** int8: the copy the backward product dX = dY · W reads (built on first use, then kept). */
  backward(): QuantBackward {
    if (this.mode !== 'int8') throw new Error('nbits4 weights have no backward copy: the backward pass dequantizes the forward copy');
    this.bwd ??= { mode: 'int8', q: transposeInt8((this.forward as Int8Forward).qT, this.inFeatures, this.outFeatures) };
    return this.bwd;
  }

  /** The weights the forward computes with, W' [out, in] in float32 (tests, GGUF checks). */
  dequantize(): Float32Array {
    if (this.mode === 'int8') {
      const { qT, scale } = this.forward as Int8Forward;
      const W = new Float32Array(this.outFeatures * this.inFeatures);
      for (let i = 0; i < this.inFeatures; i++) for (let o = 0; o < this.outFeatures; o++) W[o * this.inFeatures + i] = scale[o] * qT[i * this.outFeatures + o];
      return W;
    }
    return dequantizeNBits4(this.forward as NBits4Matrix);
  }

  /** Bytes of the forward copy (in JS or in its file) and of the backward copy once built. */
  get storedBytes(): number {
    return this.source && !this.fwd ? this.source.reduce((n, s) => n + s.byteLength, 0) + (this.bwd?.q.byteLength ?? 0) : this.bytes;
  }

  /** Bytes held in JS (forward copy unless it is still on disk, and the backward copy once built). */
  get bytes(): number {
    const f = this.fwd === null ? 0 : this.forwardArrays().reduce((n, a) => n + a.byteLength, 0);
    const b = this.bwd ? this.bwd.q.byteLength : 0;
    return f + b;
  }
}

function readForward(mode: QuantMode, rows: number, cols: number, [a, b]: readonly FileSlice[]): Int8Forward | NBits4Matrix {
  const bytes = a.read(), scale = b.read();
  const floats = new Float32Array(scale.buffer, scale.byteOffset, scale.byteLength / 4);
  return mode === 'int8' ? { qT: new Int8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), scale: floats }
    : { rows, cols, packed: bytes, scales: floats };
}

function checkNBits4(m: NBits4Matrix, rows: number, cols: number, where: string): void {
  const blocks = Math.ceil(cols / NBITS_BLOCK);
  if (m.rows !== rows || m.cols !== cols || m.packed.length !== rows * blocks * NBITS_BLOCK / 2 || m.scales.length !== rows * blocks) {
    throw new Error(`${where}: nbits4 arrays do not fit [${rows}, ${cols}] (packed ${m.packed.length}, scales ${m.scales.length}; expected ${rows * blocks * NBITS_BLOCK / 2}, ${rows * blocks})`);
  }
}

// ---- float16 rounding of scales ---------------------------------------------------------------------

const HALF_MAX = 65504;

/** The smallest float16 value ≥ x (x ≥ 0), as a float32. */
export function halfCeil(x: number): number {
  if (!(x >= 0)) throw new Error(`halfCeil: ${x} is not a non-negative number`);
  if (x === 0) return 0;
  if (x > HALF_MAX) throw new Error(`quantize: scale ${x} exceeds float16's range (weights of magnitude > ${HALF_MAX * 127})`);
  const e = Math.max(Math.floor(Math.log2(x)), -14); // subnormals share the exponent −14
  const step = 2 ** (e - 10);
  const v = Math.ceil(x / step) * step; // 11 significant bits: exact in float32
  if (v > HALF_MAX) throw new Error(`quantize: scale ${x} exceeds float16's range`);
  return v;
}

// ---- int8 -----------------------------------------------------------------------------------------

function quantizeInt8(W: Float32Array, out: number, inF: number): Int8Forward {
  const qT = new Int8Array(out * inF), scale = new Float32Array(out);
  for (let o = 0; o < out; o++) {
    let m = 0;
    const row = o * inF;
    for (let i = 0; i < inF; i++) { const a = Math.abs(W[row + i]); if (a > m) m = a; }
    if (!Number.isFinite(m)) throw new Error(`quantize: row ${o} holds a non-finite value`);
    const s = halfCeil(m / 127);
    scale[o] = s;
    if (s === 0) continue;
    const inv = 1 / s;
    for (let i = 0; i < inF; i++) qT[i * out + o] = Math.max(-127, Math.min(127, Math.round(W[row + i] * inv)));
  }
  return { qT, scale };
}

function transposeInt8(a: Int8Array, rows: number, cols: number): Int8Array {
  const t = new Int8Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}

// ---- 4-bit blocks ---------------------------------------------------------------------------------

/** Quantizes one block of values (n ≤ 32, zero-padded) into `packed` at `at` (16 bytes); returns d. */
function quantizeBlock4(x: ArrayLike<number>, x0: number, n: number, packed: Uint8Array, at: number): number {
  let m = 0;
  for (let j = 0; j < n; j++) { const v = x[x0 + j]; if (Math.abs(v) > Math.abs(m)) m = v; }
  if (!Number.isFinite(m)) throw new Error('quantize: a block holds a non-finite value');
  const mag = halfCeil(Math.abs(m) / 8);
  const d = m > 0 ? -mag : mag; // d = m / −8, away from zero
  const inv = d === 0 ? 0 : 1 / d;
  for (let j = 0; j < NBITS_BLOCK; j += 2) {
    const c0 = j < n ? Math.max(0, Math.min(15, Math.round(x[x0 + j] * inv) + 8)) : 8;
    const c1 = j + 1 < n ? Math.max(0, Math.min(15, Math.round(x[x0 + j + 1] * inv) + 8)) : 8;
    packed[at + (j >> 1)] = c0 | (c1 << 4);
  }
  return d;
}

function quantizeNBits4(W: ArrayLike<number>, rows: number, cols: number): NBits4Matrix {
  const blocks = Math.ceil(cols / NBITS_BLOCK);
  const packed = new Uint8Array(rows * blocks * NBITS_BLOCK / 2), scales = new Float32Array(rows * blocks);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const c0 = b * NBITS_BLOCK;
      scales[r * blocks + b] = quantizeBlock4(W, r * cols + c0, Math.min(NBITS_BLOCK, cols - c0), packed, (r * blocks + b) * 16);
    }
  }
  return { rows, cols, packed, scales };
}

/** Dequantizes a 4-bit matrix into [rows, cols] float32. */
export function dequantizeNBits4(m: NBits4Matrix): Float32Array {
  const blocks = Math.ceil(m.cols / NBITS_BLOCK);
  const W = new Float32Array(m.rows * m.cols);
  for (let r = 0; r < m.rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const d = m.scales[r * blocks + b], at = (r * blocks + b) * 16;
      for (let j = 0; j < NBITS_BLOCK; j++) {
        const c = b * NBITS_BLOCK + j;
        if (c >= m.cols) break;
        const byte = m.packed[at + (j >> 1)];
        W[r * m.cols + c] = Math.fround(d * (((j & 1) ? byte >> 4 : byte & 15) - 8));
      }
    }
  }
  return W;
}

