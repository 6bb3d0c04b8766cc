// A minimal safetensors codec (8-byte little-endian header length, JSON header, raw little-endian data)
// for float32/float64/int64 tensors: used for optimizer state. The model module reads the full format
// (bf16, f16, shards) itself.

export interface NamedArray {
  dtype: 'F32' | 'F64' | 'I64';
  shape: readonly number[];
  data: Float32Array | Float64Array | BigInt64Array;
}

const DTYPE_OF = (a: NamedArray['data']): NamedArray['dtype'] =>
  a instanceof Float32Array ? 'F32' : a instanceof Float64Array ? 'F64' : 'I64';

export function encodeSafetensors(tensors: Readonly<Record<string, NamedArray['data'] | NamedArray>>,
  metadata: Readonly<Record<string, string>> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const blocks: Uint8Array[] = [];
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const data = ArrayBuffer.isView(t) ? t : t.data;
    const shape = ArrayBuffer.isView(t) ? [t.length] : t.shape;
    header[name] = { dtype: DTYPE_OF(data), shape, data_offsets: [offset, offset + data.byteLength] };
    blocks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    offset += data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // keep the data 8-byte aligned
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let o = 8 + head.length;
  for (const b of blocks) { out.set(b, o); o += b.length; }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error('safetensors: shorter than its 8-byte header length');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.length) throw new Error(`safetensors: header length ${n} exceeds the file (${bytes.length} bytes)`);
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Record<string, unknown>;
  const base = 8 + n;
  const tensors: Record<string, NamedArray> = {};
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') { metadata = v as Record<string, string>; continue; }
    const { dtype, shape, data_offsets: [a, b] } = v as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const raw = bytes.slice(base + a, base + b); // a copy: aligned and owned
    const data = dtype === 'F32' ? new Float32Array(raw.buffer) : dtype === 'F64' ? new Float64Array(raw.buffer)
      : dtype === 'I64' ? new BigInt64Array(raw.buffer) : null;
    if (!data) throw new Error(`safetensors: tensor '${name}' has dtype ${dtype}; this reader handles F32, F64, I64`);
    tensors[name] = { dtype: dtype as NamedArray['dtype'], shape, data };
  }
  return { tensors, metadata };
}
