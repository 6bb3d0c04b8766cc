// The op set: builder functions that infer each output's dtype and symbolic shape and append one ONNX
// node (occasionally a few). Everything the model and the losses need is composed from these.
// Each op here has a gradient rule in autodiff.ts, unless it only produces indices, masks or shapes.

import { float, int, ints, str, type Attr, type Graph } from './graph.js';
import {
  allocate, broadcastShapes, dimDivide, dimProduct, dimSum, normAxis, ONNX_DTYPE, Tensor,
  type Dim, type DType, type Shape,
} from './tensor.js';

export type Operand = Tensor | number;

const LARGE = Number.MAX_SAFE_INTEGER; // "to the end" for Slice; ONNX clamps it

function graphOf(...xs: Operand[]): Graph {
  const t = xs.find((x): x is Tensor => x instanceof Tensor);
  if (!t) throw new Error('an op needs at least one tensor operand');
  return t.graph;
}

/** A number becomes a scalar constant of the other operand's dtype. */
function lift(x: Operand, like: Tensor): Tensor {
  return x instanceof Tensor ? x : like.graph.scalar(x, like.dtype);
}

function node1(g: Graph, op: string, inputs: Tensor[], attrs: Parameters<Graph['addNode']>[2], dtype: DType, shape: Shape, domain = ''): Tensor {
  return g.addNode(op, inputs, attrs, [{ dtype, shape }], domain)[0];
}

function sameDtype(op: string, a: Tensor, b: Tensor): void {
  if (a.dtype !== b.dtype) throw new Error(`${op}: dtypes differ (${a.toString()} vs ${b.toString()})`);
}

const ints64 = (g: Graph, v: readonly number[]) => g.constant(v, 'int64');

// ---- elementwise -------------------------------------------------------------------------------

function binary(op: string, a0: Operand, b0: Operand, outDtype?: DType): Tensor {
  const g = graphOf(a0, b0);
  const a = a0 instanceof Tensor ? a0 : lift(a0, b0 as Tensor);
  const b = lift(b0, a);
  sameDtype(op, a, b);
  return node1(g, op, [a, b], {}, outDtype ?? a.dtype, broadcastShapes(a.shape, b.shape, op));
}

export const add = (a: Operand, b: Operand) => binary('Add', a, b);
export const sub = (a: Operand, b: Operand) => binary('Sub', a, b);
export const mul = (a: Operand, b: Operand) => binary('Mul', a, b);
export const div = (a: Operand, b: Operand) => binary('Div', a, b);
/** a ** b, elementwise (same dtype). */
export const pow = (a: Operand, b: Operand) => binary('Pow', a, b);
export const equal = (a: Operand, b: Operand) => binary('Equal', a, b, 'bool');
export const less = (a: Operand, b: Operand) => binary('Less', a, b, 'bool');
export const greater = (a: Operand, b: Operand) => binary('Greater', a, b, 'bool');

/** cond ? a : b, broadcasting all three. (Masking by adding −1e9 is faster for attention scores.) */
export function where(cond: Tensor, a0: Operand, b0: Operand): Tensor {
  if (cond.dtype !== 'bool') throw new Error(`Where: condition must be bool, got ${cond.toString()}`);
  const a = a0 instanceof Tensor ? a0 : lift(a0, b0 as Tensor);
  const b = lift(b0, a);
  sameDtype('Where', a, b);
  const shape = broadcastShapes(broadcastShapes(cond.shape, a.shape, 'Where'), b.shape, 'Where');
  return node1(cond.graph, 'Where', [cond, a, b], {}, a.dtype, shape);
}

function unary(op: string, x: Tensor): Tensor {
  return node1(x.graph, op, [x], {}, x.dtype, x.shape);
}

export const neg = (x: Tensor) => unary('Neg', x);
export const exp = (x: Tensor) => unary('Exp', x);
export const log = (x: Tensor) => unary('Log', x);
export const sqrt = (x: Tensor) => unary('Sqrt', x);
export const reciprocal = (x: Tensor) => unary('Reciprocal', x);
export const sigmoid = (x: Tensor) => unary('Sigmoid', x);
export const tanh = (x: Tensor) => unary('Tanh', x);
export const relu = (x: Tensor) => unary('Relu', x);
export const identity = (x: Tensor) => unary('Identity', x);
export const not = (x: Tensor) => unary('Not', x);

export function cast(x: Tensor, dtype: DType): Tensor {
  if (x.dtype === dtype) return x;
  return node1(x.graph, 'Cast', [x], { to: int(ONNX_DTYPE[dtype]) }, dtype, x.shape);
}

// ---- reductions and normalisers -----------------------------------------------------------------

function reduceAxes(x: Tensor, axes?: readonly number[]): number[] {
  const all = axes ?? x.shape.map((_, i) => i);
  return [...new Set(all.map((a) => normAxis(a, x.rank)))].sort((p, q) => p - q);
}

function reducedShape(x: Tensor, axes: number[], keepdims: boolean): Dim[] {
  const out: Dim[] = [];
  x.shape.forEach((d, i) => {
    if (!axes.includes(i)) out.push(d);
    else if (keepdims) out.push(1);
  });
  return out;
}

function reduce(op: string, x: Tensor, axes0: readonly number[] | undefined, keepdims: boolean): Tensor {
  const axes = reduceAxes(x, axes0);
  if (axes.length === 0) return x;
  return node1(x.graph, op, [x, ints64(x.graph, axes)], { keepdims: int(keepdims ? 1 : 0) }, x.dtype, reducedShape(x, axes, keepdims));
}

/** Sum over `axes` (all axes when omitted). */
export const sum = (x: Tensor, axes?: readonly number[], keepdims = false) => reduce('ReduceSum', x, axes, keepdims);
export const max = (x: Tensor, axes?: readonly number[], keepdims = false) => reduce('ReduceMax', x, axes, keepdims);
/** log Σ exp(x) over `axes`, computed stably by ORT (but its CPU kernel is ~5× slower than LogSoftmax). */
export const logSumExp = (x: Tensor, axes?: readonly number[], keepdims = false) => reduce('ReduceLogSumExp', x, axes, keepdims);

/** The number of elements over `axes` as a scalar of x's dtype (read from the shape at run time if symbolic). */
export function numel(x: Tensor, axes?: readonly number[]): Tensor {
  const ax = reduceAxes(x, axes);
  const dims = ax.map((a) => x.shape[a]);
  const p = dimProduct(dims);
  if (typeof p === 'number') return x.graph.scalar(p, x.dtype);
  const count = node1(x.graph, 'ReduceProd', [x.graph.shapeTensor(dims), ints64(x.graph, [0])], { keepdims: int(0) }, 'int64', []);
  return cast(count, x.dtype);
}

/** Mean over `axes`: a sum times 1/N, composed rather than primitive. */
export function mean(x: Tensor, axes?: readonly number[], keepdims = false): Tensor {
  const n = numel(x, axes);
  const s = sum(x, axes, keepdims);
  return n.kind === 'constant' ? mul(s, 1 / Number(x.graph.values.get(n)![0])) : div(s, n);
}

export function softmax(x: Tensor, axis = -1): Tensor {
  return node1(x.graph, 'Softmax', [x], { axis: int(normAxis(axis, x.rank)) }, x.dtype, x.shape);
}

export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return node1(x.graph, 'LogSoftmax', [x], { axis: int(normAxis(axis, x.rank)) }, x.dtype, x.shape);
}

// ---- matrix multiply --------------------------------------------------------------------------

export interface MatmulOptions {
  /** Use the transpose of the last two axes of a (or b). */
  transA?: boolean;
  transB?: boolean;
  /** Scales the product (free inside Gemm/FusedMatMul). */
  alpha?: number;
}

/**
 * alpha · op(a) @ op(b), batched over leading axes with broadcasting. Emits Gemm for 2-D operands,
 * a flattened Gemm for N-D × 2-D, FusedMatMul (float32, contrib allowed) or Transpose + MatMul otherwise.
 */
export function matmul(a: Tensor, b: Tensor, o: MatmulOptions = {}): Tensor {
  const g = a.graph;
  const tA = o.transA ?? false, tB = o.transB ?? false, alpha = o.alpha ?? 1;
  sameDtype('MatMul', a, b);
  // ONNX float attributes are 32-bit: in float64 graphs an inexact alpha becomes a separate Mul.
  if (alpha !== 1 && a.dtype === 'float64' && Math.fround(alpha) !== alpha) return mul(matmul(a, b, { transA: tA, transB: tB }), alpha);
  if (a.rank < 2 || b.rank < 2) throw new Error(`MatMul: operands need rank ≥ 2 (${a.toString()}, ${b.toString()})`);
  const [m, ka] = tA ? [a.shape[a.rank - 1], a.shape[a.rank - 2]] : [a.shape[a.rank - 2], a.shape[a.rank - 1]];
  const [kb, n] = tB ? [b.shape[b.rank - 1], b.shape[b.rank - 2]] : [b.shape[b.rank - 2], b.shape[b.rank - 1]];
  if (ka !== kb) throw new Error(`MatMul: inner dims differ (${a.toString()}${tA ? 'ᵀ' : ''} @ ${b.toString()}${tB ? 'ᵀ' : ''})`);
  const batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2), 'MatMul batch');
  const outShape = [...batch, m, n];
  const gemmAttrs = { transA: int(tA ? 1 : 0), transB: int(tB ? 1 : 0), alpha: float(alpha) };

  if (a.rank === 2 && b.rank === 2) return node1(g, 'Gemm', [a, b], gemmAttrs, a.dtype, outShape);
  if (b.rank === 2 && !tA) {
    if (!tB && alpha === 1) return node1(g, 'MatMul', [a, b], {}, a.dtype, outShape);
    // Flatten the leading axes: one 2-D Gemm handles the transpose and the scale; Reshape is free in ORT.
    const a2 = reshape(a, [-1, ka]);
    const y2 = node1(g, 'Gemm', [a2, b], gemmAttrs, a.dtype, [a2.shape[0], n]);
    return reshape(y2, outShape);
  }
  if (g.contribOps && a.dtype === 'float32') {
    return node1(g, 'FusedMatMul', [a, b], gemmAttrs, a.dtype, outShape, 'com.microsoft');
  }
  const a1 = tA ? transposeLast2(a) : a;
  const b1 = tB ? transposeLast2(b) : b;
  const y = node1(g, 'MatMul', [a1, b1], {}, a.dtype, outShape);
  return alpha === 1 ? y : mul(y, alpha);
}

function transposeLast2(x: Tensor): Tensor {
  const perm = x.shape.map((_, i) => i);
  [perm[x.rank - 2], perm[x.rank - 1]] = [perm[x.rank - 1], perm[x.rank - 2]];
  return transpose(x, perm);
}

// ---- shape ops ----------------------------------------------------------------------------------

/** Reshape to `dims`: numbers, symbolic names, and at most one -1 (inferred, symbolically too). */
export function reshape(x: Tensor, dims: readonly Dim[]): Tensor {
  const infer = dims.filter((d) => d === -1).length;
  if (infer > 1) throw new Error(`Reshape: more than one -1 in [${dims.join(', ')}]`);
  if (dims.some((d) => d === 0)) throw new Error('Reshape: zero-sized dims are not supported');
  const total = dimProduct(x.shape);
  const known = dims.filter((d) => d !== -1);
  const shape = infer ? dims.map((d) => (d === -1 ? dimDivide(total, dimProduct(known)) : d)) : [...dims];
  if (!infer && dimProduct(shape) !== total) {
    throw new Error(`Reshape: ${x.toString()} cannot become [${dims.join(', ')}] (${total} vs ${dimProduct(shape)} elements; use -1 or matching names)`);
  }
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return node1(x.graph, 'Reshape', [x, x.graph.shapeTensor(dims, x.shape, 0)], {}, x.dtype, shape);
}

/** Reshape x to like's run-time shape (used by gradients, where the shape is known to match). */
export function reshapeLike(x: Tensor, like: Tensor): Tensor {
  if (x.rank === like.rank && x.shape.every((d, i) => d === like.shape[i])) return x;
  return node1(x.graph, 'Reshape', [x, shapeOf(like)], {}, x.dtype, like.shape);
}

export function transpose(x: Tensor, perm: readonly number[]): Tensor {
  if (perm.length !== x.rank || [...perm].sort().some((p, i) => p !== i)) throw new Error(`Transpose: bad perm [${perm.join(', ')}] for ${x.toString()}`);
  if (perm.every((p, i) => p === i)) return x;
  return node1(x.graph, 'Transpose', [x], { perm: ints(perm) }, x.dtype, perm.map((p) => x.shape[p]));
}

export function concat(xs: readonly Tensor[], axis: number): Tensor {
  if (xs.length === 0) throw new Error('Concat: no inputs');
  if (xs.length === 1) return xs[0];
  const x0 = xs[0];
  const ax = normAxis(axis, x0.rank);
  for (const x of xs) {
    sameDtype('Concat', x0, x);
    if (x.rank !== x0.rank || x.shape.some((d, i) => i !== ax && d !== x0.shape[i])) {
      throw new Error(`Concat: ${x.toString()} does not match ${x0.toString()} off axis ${ax}`);
    }
  }
  const shape = x0.shape.map((d, i) => (i === ax ? dimSum(xs.map((x) => x.shape[ax])) : d));
  return node1(x0.graph, 'Concat', [...xs], { axis: int(ax) }, x0.dtype, shape);
}

/** Length of x[start:end:step] along a dim; symbolic dims get a descriptive name. */
function sliceLen(d: Dim, start: number, end: number, step: number): Dim {
  if (typeof d === 'number') {
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const norm = (v: number) => (v < 0 ? v + d : v);
    if (step > 0) {
      const s = clamp(norm(start), 0, d), e = clamp(norm(end), 0, d);
      return Math.max(0, Math.ceil((e - s) / step));
    }
    const s = clamp(norm(start), -1, d - 1), e = clamp(norm(end), -1, d - 1);
    return Math.max(0, Math.ceil((s - e) / -step));
  }
  if (step !== 1) throw new Error(`Slice: steps other than 1 on symbolic dim '${d}' are not supported`);
  const toEnd = end >= LARGE;
  if (start < 0 && toEnd) return -start; // last -start rows (assumes the dim is at least that long)
  if (start >= 0 && end >= 0 && !toEnd) return end - start;
  if (start < 0 && end < 0) return end - start;
  if (start >= 0 && toEnd) return start === 0 ? d : `${d}-${start}`;
  return `${d}[${start}:${end}]`;
}

/** x[starts:ends:steps] along `axes`; an end of Infinity means "to the end". */
export function slice(x: Tensor, axes: readonly number[], starts: readonly number[], ends: readonly number[], steps?: readonly number[]): Tensor {
  const ax = axes.map((a) => normAxis(a, x.rank));
  const st = steps ?? ax.map(() => 1);
  const en = ends.map((e) => (e >= LARGE ? LARGE : e));
  const shape = [...x.shape];
  ax.forEach((a, i) => { shape[a] = sliceLen(x.shape[a], starts[i], en[i], st[i]); });
  const g = x.graph;
  return node1(g, 'Slice', [x, ints64(g, starts), ints64(g, en), ints64(g, ax), ints64(g, st)], {}, x.dtype, shape);
}

/** Rows of `data` picked by integer `indices` along `axis` (an embedding lookup with axis 0). */
export function gather(data: Tensor, indices: Tensor, axis = 0): Tensor {
  if (indices.dtype !== 'int64') throw new Error(`Gather: indices must be int64, got ${indices.toString()}`);
  const ax = normAxis(axis, data.rank);
  const shape = [...data.shape.slice(0, ax), ...indices.shape, ...data.shape.slice(ax + 1)];
  return node1(data.graph, 'Gather', [data, indices], { axis: int(ax) }, data.dtype, shape);
}

/** out[i][j] = data[i][indices[i][j]] along `axis` (picking the log-prob of each target token). */
export function gatherElements(data: Tensor, indices: Tensor, axis: number): Tensor {
  if (indices.dtype !== 'int64' || indices.rank !== data.rank) throw new Error(`GatherElements: indices must be int64 of rank ${data.rank}`);
  const ax = normAxis(axis, data.rank);
  return node1(data.graph, 'GatherElements', [data, indices], { axis: int(ax) }, data.dtype, indices.shape);
}

export type ScatterReduction = 'none' | 'add';

/** A copy of data with `updates` written (or added) at `indices` along `axis`. */
export function scatterElements(data: Tensor, indices: Tensor, updates: Tensor, axis: number, reduction: ScatterReduction = 'none'): Tensor {
  const ax = normAxis(axis, data.rank);
  return node1(data.graph, 'ScatterElements', [data, indices, updates], { axis: int(ax), reduction: str(reduction) }, data.dtype, data.shape);
}

/**
 * data with each row of `updates` added to row `rows[i]` of data (axis 0; `rows` of any shape, `updates` of
 * shape rows.shape + data.shape[1:]): an embedding's gradient. It is a ScatterElements over [rows, width]
 * because ORT's CPU kernel for it adds in index order on one thread. ScatterND with reduction 'add' (the
 * obvious op) splits the rows over the intra-op threads, which add to a shared row unsynchronised: with
 * more than one thread its sums change from run to run and can lose updates (docs/train.md, Reproducibility).
 * The price: an int64 index per updated element (twice the updates' bytes, while it runs).
 */
export function scatterAddRows(data: Tensor, rows: Tensor, updates: Tensor): Tensor {
  if (rows.dtype !== 'int64') throw new Error(`scatterAddRows: rows must be int64, got ${rows.toString()}`);
  const flat = data.rank === 2 ? data : reshape(data, [data.shape[0], -1]);
  const upd = reshape(updates, [-1, flat.shape[1]]);
  const idx = expandLike(reshape(rows, [-1, 1]), upd);
  const out = scatterElements(flat, idx, upd, 0, 'add');
  return data.rank === 2 ? out : reshapeLike(out, data);
}

/** A copy of data with `updates` written (or added) at the index tuples in the last axis of `indices`. With
 * 'add' and repeated indices, ORT's CPU kernel races between threads: use scatterAddRows for row sums. */
export function scatterND(data: Tensor, indices: Tensor, updates: Tensor, reduction: ScatterReduction = 'none'): Tensor {
  return node1(data.graph, 'ScatterND', [data, indices, updates], { reduction: str(reduction) }, data.dtype, data.shape);
}

export function unsqueeze(x: Tensor, axes: readonly number[]): Tensor {
  const rank = x.rank + axes.length;
  const ax = axes.map((a) => normAxis(a, rank)).sort((p, q) => p - q);
  const shape: Dim[] = [];
  let j = 0;
  for (let i = 0; i < rank; i++) shape.push(ax.includes(i) ? 1 : x.shape[j++]);
  return node1(x.graph, 'Unsqueeze', [x, ints64(x.graph, ax)], {}, x.dtype, shape);
}

export function squeeze(x: Tensor, axes: readonly number[]): Tensor {
  const ax = axes.map((a) => normAxis(a, x.rank));
  for (const a of ax) if (x.shape[a] !== 1) throw new Error(`Squeeze: axis ${a} of ${x.toString()} is not 1`);
  if (ax.length === 0) return x;
  return node1(x.graph, 'Squeeze', [x, ints64(x.graph, ax)], {}, x.dtype, x.shape.filter((_, i) => !ax.includes(i)));
}

/** Broadcast x to `dims` (numpy rules; symbolic dims are read at run time). */
export function expand(x: Tensor, dims: readonly Dim[]): Tensor {
  const shape = broadcastShapes(x.shape, dims, 'Expand');
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  // x's dims aligned to the right of `dims`, for the "broadcast this one" shortcut.
  const like = [...new Array<null>(Math.max(0, dims.length - x.rank)).fill(null), ...x.shape].slice(-dims.length);
  return node1(x.graph, 'Expand', [x, x.graph.shapeTensor(dims, like, 1)], {}, x.dtype, shape);
}

/** Broadcast x to like's run-time shape. */
export function expandLike(x: Tensor, like: Tensor): Tensor {
  const shape = broadcastShapes(x.shape, like.shape, 'Expand');
  if (shape.length === x.rank && shape.every((d, i) => d === x.shape[i])) return x;
  return node1(x.graph, 'Expand', [x, shapeOf(like)], {}, x.dtype, shape);
}

/** The run-time shape of x (axes start..end) as a 1-D int64 tensor. */
export function shapeOf(x: Tensor, start = 0, end = x.rank): Tensor {
  const attrs: Record<string, Attr> = start === 0 && end === x.rank ? {} : { start: int(start), end: int(end) };
  return node1(x.graph, 'Shape', [x], attrs, 'int64', [end - start]);
}

/** A tensor of x's shape and dtype filled with `value`. */
export function fullLike(x: Tensor, value: number): Tensor {
  const data = allocate(x.dtype, 1);
  if (data instanceof BigInt64Array) data[0] = BigInt(value); else data[0] = value;
  const v = { kind: 'tensor' as const, dtype: x.dtype, dims: [1], data };
  return node1(x.graph, 'ConstantOfShape', [shapeOf(x)], { value: v }, x.dtype, x.shape);
}

export const zerosLike = (x: Tensor) => fullLike(x, 0);

/** Zero-pads x: `pads` is [begin_0, …, begin_{r-1}, end_0, …, end_{r-1}] (constant or run-time int64). */
export function pad(x: Tensor, pads: readonly number[] | Tensor, outShape: Shape): Tensor {
  const p = pads instanceof Tensor ? pads : ints64(x.graph, pads);
  return node1(x.graph, 'Pad', [x, p], { mode: str('constant') }, x.dtype, outShape);
}

/** Splits x along `axis` into pieces of the given (possibly symbolic) sizes. */
export function split(x: Tensor, sizes: readonly Dim[], axis: number): Tensor[] {
  const ax = normAxis(axis, x.rank);
  const outs = sizes.map((s) => ({ dtype: x.dtype, shape: x.shape.map((d, i) => (i === ax ? s : d)) }));
  return x.graph.addNode('Split', [x, x.graph.shapeTensor(sizes)], { axis: int(ax) }, outs);
}

/** [start, start+delta, …) below limit, as int64 (for positions and causal masks built in-graph). */
export function range(g: Graph, start: Operand, limit: Operand, delta: Operand = 1): Tensor {
  const s = start instanceof Tensor ? start : g.scalar(start, 'int64');
  const l = limit instanceof Tensor ? limit : g.scalar(limit, 'int64');
  const d = delta instanceof Tensor ? delta : g.scalar(delta, 'int64');
  const len: Dim = typeof start === 'number' && typeof limit === 'number' && typeof delta === 'number'
    ? Math.max(0, Math.ceil((limit - start) / delta)) : `range(${s.name},${l.name})`;
  return node1(g, 'Range', [s, l, d], {}, s.dtype, [len]);
}

/**
 * Uniform [0, 1) float32 draws of x's shape, from ORT's generator seeded once per session by `seed`: each run
 * draws the next values, so a session's sequence of runs is reproducible from its creation. No gradient
 * flows through it (its only use is a mask).
 */
export function randomUniformLike(x: Tensor, seed: number): Tensor {
  return node1(x.graph, 'RandomUniformLike', [x], { dtype: int(ONNX_DTYPE.float32), seed: float(seed), low: float(0), high: float(1) }, 'float32', x.shape);
}
