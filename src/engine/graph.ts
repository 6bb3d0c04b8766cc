// The graph: an append-only list of ONNX nodes over symbolic tensors, plus its inputs (fed from JS at
// run time), initializers (frozen weights baked into the model) and named outputs.
// Nodes are appended in creation order, which is always a valid topological order.

import {
  allocate, arrayFits, canonicalDim, dimFactors, dtypeOfArray, Tensor,
  type ArrayOf, type Dim, type DType, type Shape, type TensorKind, type TypedArray,
} from './tensor.js';
import { FileSlice } from './file-slice.js';

/** An ONNX attribute value. Ints and floats are told apart explicitly because JS numbers are not. */
export type Attr =
  | { kind: 'int'; value: number }
  | { kind: 'float'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'ints'; value: readonly number[] }
  | { kind: 'floats'; value: readonly number[] }
  | { kind: 'tensor'; dtype: DType; dims: readonly number[]; data: TypedArray };

export const int = (value: number): Attr => ({ kind: 'int', value });
export const float = (value: number): Attr => ({ kind: 'float', value });
export const ints = (value: readonly number[]): Attr => ({ kind: 'ints', value });
export const str = (value: string): Attr => ({ kind: 'string', value });

export interface Node {
  readonly id: number;
  readonly op: string;
  /** '' for the standard ONNX domain, 'com.microsoft' for ONNX Runtime's contrib ops. */
  readonly domain: string;
  readonly inputs: readonly Tensor[];
  readonly outputs: readonly Tensor[];
  readonly attrs: Readonly<Record<string, Attr>>;
}

export interface GraphOptions {
  name?: string;
  /**
   * Allow ONNX Runtime contrib ops (com.microsoft) where they are faster, e.g. FusedMatMul for
   * transposed batched matmuls. They have float32 kernels only, so float64 graphs never use them.
   */
  contribOps?: boolean;
}

export class Graph {
  readonly name: string;
  readonly contribOps: boolean;
  readonly nodes: Node[] = [];
  readonly inputs: Tensor[] = [];
  /** Initializers and constants: tensors whose data is part of the model. */
  readonly values = new Map<Tensor, TypedArray>();
  /** Initializers whose data stays in a file (written as ONNX external data that refers to it). */
  readonly fileValues = new Map<Tensor, FileSlice>();
  readonly outputs = new Map<string, Tensor>();
  private nextId = 0;
  private readonly names = new Set<string>();
  private readonly constCache = new Map<string, Tensor>();
  /** For each symbolic dim, a tensor and axis that carry it at run time (inputs preferred). */
  private readonly dimSources = new Map<string, { t: Tensor; axis: number }>();
  private readonly dimTensors = new Map<string, Tensor>();

  constructor(opts: GraphOptions = {}) {
    this.name = opts.name ?? 'graph';
    this.contribOps = opts.contribOps ?? false;
  }

  private newTensor(dtype: DType, shape: Shape, kind: TensorKind, producer: Node | null, name?: string): Tensor {
    const id = this.nextId++;
    const n = name ?? `_t${id}`;
    if (this.names.has(n)) throw new Error(`graph ${this.name}: tensor name '${n}' is already used`);
    this.names.add(n);
    const t = new Tensor(this, id, dtype, shape.map(canonicalDim), kind, producer, n);
    t.shape.forEach((d, axis) => {
      if (typeof d !== 'string') return;
      const cur = this.dimSources.get(d);
      if (!cur || (kind === 'input' && cur.t.kind !== 'input')) this.dimSources.set(d, { t, axis });
    });
    return t;
  }

  /** A tensor fed from JS at run time (trainable weights, token ids, KV cache, masks). */
  input(name: string, dtype: DType, shape: Shape): Tensor {
    const t = this.newTensor(dtype, shape, 'input', null, name);
    this.inputs.push(t);
    return t;
  }

  /**
   * A frozen weight stored in the model; its data is referenced, not copied, until serialisation. `dtype`
   * is needed only for uint8 data (a Uint8Array otherwise reads as bool).
   */
  initializer(name: string, data: TypedArray, shape: readonly number[], dtype: DType = dtypeOfArray(data)): Tensor {
    checkLength(name, data, shape);
    if (!arrayFits(data, dtype)) throw new Error(`initializer ${name}: ${dtypeOfArray(data)} data cannot hold ${dtype}`);
    const t = this.newTensor(dtype, shape, 'initializer', null, name);
    this.values.set(t, data);
    return t;
  }

  /** A frozen weight whose data is `slice` of a file (raw little-endian `dtype` values); nothing is read
   * into JS: ONNX Runtime reads the file when a session is created. */
  fileInitializer(name: string, slice: FileSlice, shape: readonly number[], dtype: DType): Tensor {
    const n = shape.reduce((p, d) => p * d, 1);
    if (slice.byteLength !== n * allocate(dtype, 0).BYTES_PER_ELEMENT) {
      throw new Error(`initializer ${name}: ${slice.byteLength} bytes of ${slice.path} do not hold ${dtype} [${shape.join(', ')}]`);
    }
    const t = this.newTensor(dtype, shape, 'initializer', null, name);
    this.fileValues.set(t, slice);
    return t;
  }

  /** A small constant (cached by value). Numbers are converted to the dtype's array type. */
  constant(values: readonly number[] | TypedArray, dtype: DType, shape: readonly number[] = [values.length]): Tensor {
    const data = toArray(values, dtype);
    checkLength('constant', data, shape);
    const key = data.length <= 64 ? `${dtype}|${shape.join(',')}|${Array.from(data as ArrayLike<unknown>).join(',')}` : null;
    const hit = key !== null ? this.constCache.get(key) : undefined;
    if (hit) return hit;
    const t = this.newTensor(dtype, shape, 'constant', null);
    this.values.set(t, data);
    if (key !== null) this.constCache.set(key, t);
    return t;
  }

  scalar(value: number, dtype: DType): Tensor {
    return this.constant([value], dtype, []);
  }

  /** Appends a node; `outs` gives each output's dtype and (already inferred) shape. */
  addNode(op: string, inputs: readonly Tensor[], attrs: Record<string, Attr>,
    outs: readonly { dtype: DType; shape: Shape }[], domain = ''): Tensor[] {
    for (const t of inputs) {
      if (t.graph !== this) throw new Error(`${op}: input ${t.name} belongs to graph ${t.graph.name}, not ${this.name}`);
    }
    const outputs: Tensor[] = [];
    const node: Node = { id: this.nodes.length, op, domain, inputs: [...inputs], outputs, attrs };
    for (const o of outs) outputs.push(this.newTensor(o.dtype, o.shape, 'node', node));
    this.nodes.push(node);
    return outputs;
  }

  /** Names a tensor as a graph output; a run returns only the outputs it asks for. */
  output(name: string, t: Tensor): Tensor {
    if (t.graph !== this) throw new Error(`output ${name}: tensor belongs to another graph`);
    const cur = this.outputs.get(name);
    if (cur && cur !== t) throw new Error(`graph ${this.name}: output '${name}' is already bound to ${cur.name}`);
    if (this.names.has(name) && !cur && t.name !== name) throw new Error(`graph ${this.name}: output name '${name}' is already a tensor name`);
    this.outputs.set(name, t);
    this.names.add(name); // an ONNX value name from now on
    return t;
  }

  findInput(name: string): Tensor | undefined {
    return this.inputs.find((t) => t.name === name);
  }

  /**
   * A 1-D int64 tensor holding `dims` at run time. Symbolic dims are read with Shape() from a tensor that
   * carries them. Where the input's shape `like` has the same dim at the same axis, `copyValue` is written
   * instead (Reshape's 0 = "keep this dim", Expand's 1 = "broadcast"), which costs nothing at run time.
   */
  shapeTensor(dims: readonly Dim[], like?: readonly (Dim | null)[], copyValue?: number): Tensor {
    const pieces: Tensor[] = [];
    let run: number[] = [];
    const flush = () => { if (run.length) { pieces.push(this.constant(run, 'int64')); run = []; } };
    dims.forEach((d0, i) => {
      if (d0 === -1) { run.push(-1); return; }
      const d = canonicalDim(d0);
      if (typeof d === 'number') { run.push(d); return; }
      if (like && copyValue !== undefined && like[i] === d) { run.push(copyValue); return; }
      flush();
      pieces.push(this.dimTensor(d));
    });
    flush();
    if (pieces.length === 0) return this.constant([], 'int64', [0]); // a scalar's shape
    if (pieces.length === 1) return pieces[0];
    return this.addNode('Concat', pieces, { axis: int(0) }, [{ dtype: 'int64', shape: [dims.length] }])[0];
  }

  /** A 1-element int64 tensor with the run-time value of a symbolic dim. */
  dimTensor(d: string): Tensor {
    const hit = this.dimTensors.get(d);
    if (hit) return hit;
    let t: Tensor;
    const src = this.dimSources.get(d);
    if (src) {
      t = this.addNode('Shape', [src.t], { start: int(src.axis), end: int(src.axis + 1) }, [{ dtype: 'int64', shape: [1] }])[0];
    } else if (dimFactors(d).syms.length > 1 || dimFactors(d).coef !== 1) {
      // A product such as 'batch*seq' that no tensor carries: multiply its factors.
      const f = dimFactors(d);
      const parts = f.syms.map((s) => this.dimTensor(s));
      if (f.coef !== 1) parts.push(this.constant([f.coef], 'int64'));
      t = parts.reduce((a, b) => this.addNode('Mul', [a, b], {}, [{ dtype: 'int64', shape: [1] }])[0]);
    } else {
      throw new Error(`graph ${this.name}: no tensor carries symbolic dimension '${d}'; declare an input with it`);
    }
    this.dimTensors.set(d, t);
    return t;
  }
}

function toArray(values: readonly number[] | TypedArray, dtype: DType): TypedArray {
  if (!Array.isArray(values)) {
    if (dtypeOfArray(values as TypedArray) !== dtype) throw new Error(`constant: array is ${dtypeOfArray(values as TypedArray)}, expected ${dtype}`);
    return values as TypedArray;
  }
  const a = allocate(dtype, values.length);
  if (dtype === 'int64') values.forEach((v, i) => { (a as ArrayOf['int64'])[i] = BigInt(v); });
  else (a as Float32Array | Float64Array | Uint8Array).set(values);
  return a;
}

function checkLength(what: string, data: TypedArray, shape: readonly number[]): void {
  const n = shape.reduce((p, d) => p * d, 1);
  if (data.length !== n) throw new Error(`${what}: data has ${data.length} elements, shape [${shape.join(', ')}] needs ${n}`);
}
