// ONNX serialisation: a minimal protobuf writer and the ModelProto encoding of a Graph, pruned to the
// requested outputs. Field numbers follow onnx/onnx.proto. Large initializers are referenced, not
// copied, until the single final concatenation (or can go to an external data file for > 2 GB models).

import type { Attr, Graph, Node } from './graph.js';
import { ONNX_DTYPE, type Tensor, type TypedArray } from './tensor.js';
import { basename } from 'node:path';

export const OPSET = 18;
const IR_VERSION = 8; // the IR version that goes with opset 18

// ---- protobuf writer ---------------------------------------------------------------------------

const WIRE_VARINT = 0, WIRE_LEN = 2, WIRE_FIXED32 = 5;

/** Accumulates small writes in a byte list; big byte blocks and sub-messages are kept as references. */
class PB {
  private parts: Uint8Array[] = [];
  private small: number[] = [];
  private done = 0; // bytes in `parts`

  get length(): number { return this.done + this.small.length; }

  private flush(): void {
    if (this.small.length) { this.parts.push(Uint8Array.from(this.small)); this.done += this.small.length; this.small = []; }
  }

  private varint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= 0x7fffffff) {
      while (v > 0x7f) { this.small.push((v & 0x7f) | 0x80); v >>>= 7; }
      this.small.push(v);
      return;
    }
    // int64 as two's complement, 10 bytes for negatives (protobuf's encoding of negative int64).
    let b = BigInt.asUintN(64, BigInt(v));
    while (b > 0x7fn) { this.small.push(Number(b & 0x7fn) | 0x80); b >>= 7n; }
    this.small.push(Number(b));
  }

  private tag(field: number, wire: number): void { this.varint((field << 3) | wire); }

  int(field: number, v: number | bigint): this { this.tag(field, WIRE_VARINT); this.varint(v); return this; }

  float(field: number, v: number): this {
    this.tag(field, WIRE_FIXED32);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.small.push(...b);
    return this;
  }

  bytes(field: number, b: Uint8Array): this {
    this.tag(field, WIRE_LEN);
    this.varint(b.length);
    if (b.length < 256) { for (const x of b) this.small.push(x); return this; }
    this.flush();
    this.parts.push(b);
    this.done += b.length;
    return this;
  }

  string(field: number, s: string): this { return this.bytes(field, new TextEncoder().encode(s)); }

  message(field: number, m: PB): this {
    m.flush();
    this.tag(field, WIRE_LEN);
    this.varint(m.length);
    this.flush();
    for (const part of m.parts) this.parts.push(part); // (a spread overflows the stack past ~10^5 parts)
    this.done += m.done;
    return this;
  }

  finish(): Uint8Array {
    this.flush();
    if (this.length > 2 ** 31 - 1) throw new Error(`ONNX model is ${this.length} bytes; protobuf allows < 2 GiB: use external data`);
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const p of this.parts) { out.set(p, o); o += p.length; }
    return out;
  }
}

// ---- ONNX messages -----------------------------------------------------------------------------

const bytesOf = (a: TypedArray): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

function tensorProto(name: string, t: { dtype: Tensor['dtype']; dims: readonly number[]; data?: TypedArray; byteLength?: number },
  external?: { location: string; offset: number }): PB {
  const m = new PB();
  for (const d of t.dims) m.int(1, d);
  m.int(2, ONNX_DTYPE[t.dtype]);
  if (name) m.string(8, name);
  if (external) {
    const entry = (k: string, v: string) => new PB().string(1, k).string(2, v);
    m.message(13, entry('location', external.location));
    m.message(13, entry('offset', String(external.offset)));
    m.message(13, entry('length', String(t.data?.byteLength ?? t.byteLength)));
    m.int(14, 1); // data_location = EXTERNAL
  } else {
    m.bytes(9, bytesOf(t.data!));
  }
  return m;
}

function valueInfo(name: string, t: Tensor): PB {
  const shape = new PB();
  for (const d of t.shape) shape.message(1, typeof d === 'number' ? new PB().int(1, d) : new PB().string(2, d));
  const tensorType = new PB().int(1, ONNX_DTYPE[t.dtype]).message(2, shape);
  return new PB().string(1, name).message(2, new PB().message(1, tensorType));
}

const ATTR_TYPE = { float: 1, int: 2, string: 3, tensor: 4, floats: 6, ints: 7 } as const;

function attribute(name: string, a: Attr): PB {
  const m = new PB().string(1, name).int(20, ATTR_TYPE[a.kind]);
  switch (a.kind) {
    case 'float': m.float(2, a.value); break;
    case 'int': m.int(3, a.value); break;
    case 'string': m.string(4, a.value); break;
    case 'tensor': m.message(5, tensorProto('', a)); break;
    case 'floats': for (const v of a.value) m.float(7, v); break;
    case 'ints': for (const v of a.value) m.int(8, v); break;
  }
  return m;
}

// ---- model -------------------------------------------------------------------------------------

export interface EncodeOptions {
  /** Graph outputs to compute (by name); nodes not needed for them are left out. */
  outputs: readonly string[];
  /** Declare every intermediate tensor's shape, so ONNX Runtime checks our shape inference (tests). */
  valueInfo?: boolean;
  /** Initializers of at least this many bytes go to an external data file (see `external`). */
  externalThreshold?: number;
  /** File name (relative to the model file) of the external data. */
  externalLocation?: string;
}

export interface EncodedModel {
  bytes: Uint8Array;
  /** The graph inputs the pruned model needs, in order. */
  inputs: Tensor[];
  /** External data blocks (offsets are 4096-aligned) if any initializer went external. */
  external?: { location: string; size: number; blocks: { offset: number; data: Uint8Array }[] };
  /** Files that file-backed initializers (Graph.fileInitializer) refer to, by `location` (the file's name),
   * with the end of the furthest range read: the model file must be written next to them. */
  linked: { location: string; path: string; end: number }[];
}

/** The nodes, inputs and stored values needed to compute `outputs`, in graph order. */
export function prune(graph: Graph, outputs: readonly Tensor[]): { nodes: Node[]; inputs: Tensor[]; values: Tensor[] } {
  const need = new Set<Tensor>(outputs);
  const nodes = new Set<Node>();
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (!n.outputs.some((t) => need.has(t))) continue;
    nodes.add(n);
    for (const t of n.inputs) need.add(t);
  }
  return {
    nodes: graph.nodes.filter((n) => nodes.has(n)),
    inputs: graph.inputs.filter((t) => need.has(t)),
    values: [...graph.values.keys(), ...graph.fileValues.keys()].filter((t) => need.has(t)),
  };
}

export function encodeModel(graph: Graph, opts: EncodeOptions): EncodedModel {
  const outs = opts.outputs.map((name) => {
    const t = graph.outputs.get(name);
    if (!t) throw new Error(`graph ${graph.name}: no output named '${name}' (have: ${[...graph.outputs.keys()].join(', ')})`);
    return { name, t };
  });
  const { nodes, inputs, values } = prune(graph, outs.map((o) => o.t));

  // A node-produced tensor returned under one name is simply renamed; anything else gets an Identity.
  const rename = new Map<Tensor, string>();
  const identities: { from: Tensor; to: string }[] = [];
  const uses = new Map<Tensor, number>();
  for (const o of outs) uses.set(o.t, (uses.get(o.t) ?? 0) + 1);
  for (const o of outs) {
    if (o.t.name === o.name) continue;
    if (o.t.kind === 'node' && uses.get(o.t) === 1) rename.set(o.t, o.name);
    else identities.push({ from: o.t, to: o.name });
  }
  const nameOf = (t: Tensor) => rename.get(t) ?? t.name;

  const g = new PB();
  let contrib = false;
  nodes.forEach((n) => {
    const m = new PB();
    for (const t of n.inputs) m.string(1, nameOf(t));
    for (const t of n.outputs) m.string(2, nameOf(t));
    m.string(3, `n${n.id}_${n.op}`);
    m.string(4, n.op);
    for (const [k, a] of Object.entries(n.attrs)) m.message(5, attribute(k, a));
    if (n.domain) { m.string(7, n.domain); contrib = true; }
    g.message(1, m);
  });
  for (const { from, to } of identities) {
    g.message(1, new PB().string(1, nameOf(from)).string(2, to).string(3, `out_${to}`).string(4, 'Identity'));
  }
  g.string(2, graph.name);

  let external: EncodedModel['external'];
  const threshold = opts.externalThreshold ?? Infinity;
  const linked = new Map<string, EncodedModel['linked'][number]>(); // by path
  for (const t of values) {
    const dims = t.shape as number[];
    const slice = graph.fileValues.get(t);
    if (slice) {
      let file = linked.get(slice.path);
      if (!file) { file = { location: basename(slice.path), path: slice.path, end: 0 }; linked.set(slice.path, file); }
      file.end = Math.max(file.end, slice.offset + slice.byteLength);
      g.message(5, tensorProto(t.name, { dtype: t.dtype, dims, byteLength: slice.byteLength }, { location: file.location, offset: slice.offset }));
      continue;
    }
    const data = graph.values.get(t)!;
    if (data.byteLength >= threshold) {
      external ??= { location: opts.externalLocation ?? `${graph.name}.data`, size: 0, blocks: [] };
      const offset = Math.ceil(external.size / 4096) * 4096;
      external.blocks.push({ offset, data: bytesOf(data) });
      external.size = offset + data.byteLength;
      g.message(5, tensorProto(t.name, { dtype: t.dtype, dims, data }, { location: external.location, offset }));
    } else {
      g.message(5, tensorProto(t.name, { dtype: t.dtype, dims, data }));
    }
  }
  for (const t of inputs) g.message(11, valueInfo(t.name, t));
  for (const o of outs) g.message(12, valueInfo(o.name, o.t));
  if (opts.valueInfo) {
    for (const n of nodes) for (const t of n.outputs) if (!rename.has(t)) g.message(13, valueInfo(t.name, t));
  }

  const model = new PB().int(1, IR_VERSION).string(2, 'securecoderl').string(3, '0.1');
  model.message(7, g);
  model.message(8, new PB().string(1, '').int(2, OPSET));
  if (contrib) model.message(8, new PB().string(1, 'com.microsoft').int(2, 1));
  return { bytes: model.finish(), inputs, external, linked: [...linked.values()] };
}
