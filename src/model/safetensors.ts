// The safetensors file format as checkpoints use it: an 8-byte little-endian header length, a JSON header
// mapping each tensor name to { dtype, shape, data_offsets: [begin, end] } (offsets relative to the end of
// the header) plus an optional "__metadata__" string map, then the raw little-endian data.
// Reading is per tensor from an open file (multi-GiB checkpoints never sit in memory whole); every float
// dtype is converted to float32. Writing takes float32 data and stores F32, F16 or BF16.

import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

export type StorageDtype = 'F32' | 'F16' | 'BF16';

export interface TensorInfo {
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

const BYTES: Record<string, number> = { F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U8: 1, BOOL: 1 };

/** An open safetensors file: its header parsed, tensors read on demand. */
export class SafetensorsFile {
  readonly tensors = new Map<string, TensorInfo>();
  readonly metadata: Record<string, string> = {};
  private fd: number | null;

  constructor(readonly path: string) {
    this.fd = openSync(path, 'r');
    try {
      const size = fstatSync(this.fd).size;
      const lenBuf = Buffer.alloc(8);
      if (size < 8 || readSync(this.fd, lenBuf, 0, 8, 0) !== 8) throw new Error(`${path}: not a safetensors file (shorter than 8 bytes)`);
      const n = Number(lenBuf.readBigUInt64LE(0));
      if (n <= 0 || 8 + n > size) throw new Error(`${path}: header length ${n} does not fit the file (${size} bytes)`);
      const head = Buffer.alloc(n);
      readSync(this.fd, head, 0, n, 8);
      let header: Record<string, unknown>;
      try { header = JSON.parse(head.toString('utf8')) as Record<string, unknown>; } catch (e) { throw new Error(`${path}: header is not JSON (${(e as Error).message})`); }
      const base = 8 + n;
      for (const [name, v] of Object.entries(header)) {
        if (name === '__metadata__') { Object.assign(this.metadata, v as Record<string, string>); continue; }
        const t = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
        if (typeof t.dtype !== 'string' || !Array.isArray(t.shape) || !Array.isArray(t.data_offsets) || t.data_offsets.length !== 2) {
          throw new Error(`${path}: tensor '${name}' has a malformed header entry ${JSON.stringify(v)}`);
        }
        const [a, b] = t.data_offsets as number[];
        const shape = t.shape as number[];
        const count = shape.reduce((p, d) => p * d, 1);
        const width = BYTES[t.dtype];
        if (width === undefined) throw new Error(`${path}: tensor '${name}' has unknown dtype ${t.dtype}`);
        if (b - a !== count * width || base + b > size || a < 0) {
          throw new Error(`${path}: tensor '${name}' (${t.dtype} [${shape.join(', ')}]) has data_offsets [${a}, ${b}] that do not match its size or the file`);
        }
        this.tensors.set(name, { dtype: t.dtype, shape, begin: base + a, end: base + b });
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  has(name: string): boolean { return this.tensors.has(name); }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new Error(`${this.path}: no tensor '${name}'`);
    return t;
  }

  /** The raw bytes of a tensor. */
  readRaw(name: string): Uint8Array {
    const t = this.info(name);
    if (this.fd === null) throw new Error(`${this.path}: file is closed`);
    const out = new Uint8Array(t.end - t.begin);
    let off = 0;
    while (off < out.length) {
      const got = readSync(this.fd, out, off, Math.min(out.length - off, 1 << 30), t.begin + off);
      if (got <= 0) throw new Error(`${this.path}: unexpected end of file reading '${name}'`);
      off += got;
    }
    return out;
  }

  /** A tensor as float32 (from F32, F16, BF16 or F64). */
  readFloat32(name: string): Float32Array {
    const t = this.info(name);
    return toFloat32(this.readRaw(name), t.dtype, `${this.path}: tensor '${name}'`);
  }

  close(): void {
    if (this.fd !== null) { closeSync(this.fd); this.fd = null; }
  }
}

/** Converts little-endian raw data of a float dtype to float32. */
export function toFloat32(raw: Uint8Array, dtype: string, what = 'tensor'): Float32Array {
  const n = raw.length / (BYTES[dtype] ?? 1);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const out = new Float32Array(n);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat32(4 * i, true);
      return out;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = dv.getFloat64(8 * i, true);
      return out;
    case 'BF16': {
      const u = new Uint32Array(out.buffer);
      for (let i = 0; i < n; i++) u[i] = dv.getUint16(2 * i, true) << 16;
      return out;
    }
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(dv.getUint16(2 * i, true));
      return out;
    default:
      throw new Error(`${what}: dtype ${dtype} is not a float type (expected F32, F16, BF16 or F64)`);
  }
}

export function f16ToF32(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 → bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function f32ToBf16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  if ((u & 0x7f800000) === 0x7f800000 && (u & 0x7fffff)) return (u >>> 16) | 0x40;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}

/** float32 → IEEE half bits, rounding to nearest even, with subnormals, overflow to ±inf. */
export function f32ToF16(x: number): number {
  f32[0] = x;
  const u = u32[0];
  const sign = (u >>> 16) & 0x8000;
  const exp = (u >>> 23) & 0xff;
  let mant = u & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 31) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    const half = 1 << (shift - 1);
    const rem = mant & ((1 << shift) - 1);
    let v = mant >>> shift;
    if (rem > half || (rem === half && (v & 1))) v++;
    return sign | v;
  }
  let v = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && (v & 1))) v++; // may carry into the exponent, as it should
  return sign | v;
}

/** Encodes float32 data as little-endian bytes of the storage dtype. */
export function fromFloat32(data: Float32Array, dtype: StorageDtype): Uint8Array {
  if (dtype === 'F32') {
    const out = new Uint8Array(data.length * 4);
    const dv = new DataView(out.buffer);
    for (let i = 0; i < data.length; i++) dv.setFloat32(4 * i, data[i], true);
    return out;
  }
  const out = new Uint8Array(data.length * 2);
  const dv = new DataView(out.buffer);
  const conv = dtype === 'BF16' ? f32ToBf16 : f32ToF16;
  for (let i = 0; i < data.length; i++) dv.setUint16(2 * i, conv(data[i]), true);
  return out;
}

export interface TensorToWrite {
  shape: readonly number[];
  data: Float32Array;
  /** Storage dtype (default F32). */
  dtype?: StorageDtype;
}

/** One tensor of a file being written: its header fields and its bytes, produced when it is written. */
interface TensorEntry { dtype: string; shape: readonly number[]; byteLength: number; bytes: () => Uint8Array }

/** Writes a safetensors file: tensors in name order, the header padded with spaces to 8 bytes, each
 * tensor's bytes produced and written one at a time. */
function writeEntries(path: string, entries: [string, TensorEntry][], metadata: Readonly<Record<string, string>>): void {
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of entries) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.byteLength] };
    offset += t.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
  const head = Buffer.from(json, 'utf8');
  const fd = openSync(path, 'w');
  try {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(head.length));
    writeAll(fd, len);
    writeAll(fd, head);
    for (const [, t] of entries) writeAll(fd, t.bytes());
  } finally {
    closeSync(fd);
  }
}

/** Writes float tensors (stored as their `dtype`, F32 by default), converted one at a time. */
export function writeSafetensors(path: string, tensors: ReadonlyMap<string, TensorToWrite> | Readonly<Record<string, TensorToWrite>>,
  metadata: Readonly<Record<string, string>> = {}): void {
  const given = (tensors instanceof Map ? [...tensors.entries()] : Object.entries(tensors)) as [string, TensorToWrite][];
  writeEntries(path, given.map(([name, t]) => {
    const n = t.shape.reduce((p, d) => p * d, 1);
    if (n !== t.data.length) throw new Error(`safetensors: tensor '${name}' has ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    const dtype = t.dtype ?? 'F32';
    return [name, { dtype, shape: t.shape, byteLength: n * BYTES[dtype], bytes: () => fromFloat32(t.data, dtype) }];
  }), metadata);
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) off += writeSync(fd, b, off, b.length - off);
}

/** A tensor written as raw little-endian bytes of its dtype (e.g. quantized I8 / U8 data). */
export interface RawTensorToWrite {
  dtype: 'F32' | 'I8' | 'U8';
  shape: readonly number[];
  /** The bytes, or a function that makes them when the tensor is written (tensors are written in name order). */
  bytes: Uint8Array | (() => Uint8Array);
}

/** Writes raw tensors (quantized data), each checked against its dtype and shape. */
export function writeSafetensorsRaw(path: string, tensors: ReadonlyMap<string, RawTensorToWrite>, metadata: Readonly<Record<string, string>> = {}): void {
  writeEntries(path, [...tensors.entries()].map(([name, t]) => {
    const byteLength = t.shape.reduce((p, d) => p * d, 1) * BYTES[t.dtype];
    const bytes = () => {
      const b = typeof t.bytes === 'function' ? t.bytes() : t.bytes;
      if (b.length !== byteLength) throw new Error(`safetensors: tensor '${name}' (${t.dtype} [${t.shape.join(', ')}]) has ${b.length} bytes, expected ${byteLength}`);
      return b;
    };
    if (typeof t.bytes !== 'function') bytes();
    return [name, { dtype: t.dtype, shape: t.shape, byteLength, bytes }];
  }), metadata);
}
