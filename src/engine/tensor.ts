// Symbolic tensors: a dtype and a shape whose dimensions are numbers or names ('batch', 'seq').
// A Tensor is only a handle into its Graph; data lives in JS arrays fed at run time or in initializers.

import type { Graph, Node } from './graph.js';

/** int8 and uint8 hold quantized weights (see quantize.ts); they take no part in autodiff. */
export type DType = 'float32' | 'float64' | 'int64' | 'bool' | 'int8' | 'uint8' | 'int32';

/** A dimension: a fixed size or a symbolic name. Products print as 'batch*seq', sums as 'past+seq'. */
export type Dim = number | string;
export type Shape = readonly Dim[];

/** The JS array type that holds each dtype's data (bool is one byte per element, as ONNX Runtime wants). */
export interface ArrayOf {
  float32: Float32Array;
  float64: Float64Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  int8: Int8Array;
  uint8: Uint8Array;
  int32: Int32Array;
}
export type TypedArray = ArrayOf[DType];

export const isFloat = (d: DType): d is 'float32' | 'float64' => d === 'float32' || d === 'float64';

export function allocate<D extends DType>(dtype: D, n: number): ArrayOf[D] {
  switch (dtype) {
    case 'float32': return new Float32Array(n) as ArrayOf[D];
    case 'float64': return new Float64Array(n) as ArrayOf[D];
    case 'int64': return new BigInt64Array(n) as ArrayOf[D];
    case 'bool': return new Uint8Array(n) as ArrayOf[D];
    case 'int8': return new Int8Array(n) as ArrayOf[D];
    case 'uint8': return new Uint8Array(n) as ArrayOf[D];
    case 'int32': return new Int32Array(n) as ArrayOf[D];
  }
  throw new Error(`unknown dtype ${String(dtype)}`);
}

/** The dtype an array holds; a Uint8Array reads as 'bool' (see arrayFits for uint8). */
export function dtypeOfArray(a: TypedArray): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int32Array) return 'int32';
  return 'bool';
}

/** Whether an array can hold a dtype's data (a Uint8Array holds bool and uint8 alike). */
export function arrayFits(a: TypedArray, dtype: DType): boolean {
  const d = dtypeOfArray(a);
  return d === dtype || (d === 'bool' && dtype === 'uint8');
}

export type TensorKind = 'input' | 'initializer' | 'constant' | 'node';

export class Tensor {
  constructor(
    readonly graph: Graph,
    readonly id: number,
    readonly dtype: DType,
    readonly shape: Shape,
    readonly kind: TensorKind,
    /** The node that computes it; null for inputs, initializers and constants. */
    readonly producer: Node | null,
    readonly name: string,
  ) {}
  get rank(): number { return this.shape.length; }
  toString(): string { return `${this.name}: ${this.dtype}[${this.shape.join(', ')}]`; }
}

// ---- dimension algebra -------------------------------------------------------------------------
// Products of symbols are kept canonical (numeric coefficient first, symbols sorted) so that
// reshape(x[batch, seq, d], [-1, d]) and a later [seq*batch] compare equal. Sums are opaque names.

export interface Factors { coef: number; syms: string[] }

function splitTopLevel(s: string, sep: string): string[] {
  const out: string[] = [];
  let depth = 0, start = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === sep && depth === 0) { out.push(s.slice(start, i)); start = i + 1; }
  }
  out.push(s.slice(start));
  return out;
}

function stripParens(s: string): string {
  return s.startsWith('(') && s.endsWith(')') ? s.slice(1, -1) : s;
}

/** A dimension as coefficient × symbols ('4*batch*seq' → 4, [batch, seq]); sums are one opaque symbol. */
export function dimFactors(d: Dim): Factors {
  if (typeof d === 'number') return { coef: d, syms: [] };
  if (splitTopLevel(d, '+').length > 1) return { coef: 1, syms: [d] };
  const f: Factors = { coef: 1, syms: [] };
  for (const tok of splitTopLevel(d, '*')) {
    const t = tok.trim();
    if (/^\d+$/.test(t)) f.coef *= Number(t);
    else f.syms.push(stripParens(t));
  }
  return f;
}

function formatFactors(f: Factors): Dim {
  if (f.syms.length === 0) return f.coef;
  const syms = [...f.syms].sort();
  if (f.coef === 1 && syms.length === 1) return syms[0];
  const parts = syms.map((s) => (s.includes('+') ? `(${s})` : s));
  return (f.coef === 1 ? parts : [String(f.coef), ...parts]).join('*');
}

/** Canonical form of a user-written dimension ('seq*batch' → 'batch*seq'). */
export function canonicalDim(d: Dim): Dim {
  if (typeof d === 'number') {
    if (!Number.isInteger(d) || d < 0) throw new Error(`dimension must be a non-negative integer, got ${d}`);
    return d;
  }
  if (d.length === 0) throw new Error('symbolic dimension name is empty');
  return formatFactors(dimFactors(d));
}

export function dimProduct(dims: readonly Dim[]): Dim {
  const f: Factors = { coef: 1, syms: [] };
  for (const d of dims) {
    const g = dimFactors(d);
    f.coef *= g.coef;
    f.syms.push(...g.syms);
  }
  return f.coef === 0 ? 0 : formatFactors(f);
}

/** a / b, where b must divide a exactly (as integers and as a multiset of symbols). */
export function dimDivide(a: Dim, b: Dim): Dim {
  const fa = dimFactors(a), fb = dimFactors(b);
  if (fb.coef === 0 || fa.coef % fb.coef !== 0) throw new Error(`cannot divide dimension ${a} by ${b}`);
  const syms = [...fa.syms];
  for (const s of fb.syms) {
    const i = syms.indexOf(s);
    if (i < 0) throw new Error(`cannot divide dimension ${a} by ${b}`);
    syms.splice(i, 1);
  }
  return formatFactors({ coef: fa.coef / fb.coef, syms });
}

export function dimSum(dims: readonly Dim[]): Dim {
  if (dims.every((d) => typeof d === 'number')) return (dims as number[]).reduce((s, d) => s + d, 0);
  const num = dims.filter((d): d is number => typeof d === 'number').reduce((s, d) => s + d, 0);
  const terms = dims.filter((d): d is string => typeof d === 'string');
  if (num !== 0) terms.push(String(num));
  return terms.length === 1 ? terms[0] : terms.join('+');
}

/** Number of elements of a fully numeric shape; throws on symbolic dims. */
export function numelStatic(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number') throw new Error(`shape [${shape.join(', ')}] is symbolic`);
    n *= d;
  }
  return n;
}

export const isStatic = (shape: Shape): shape is readonly number[] => shape.every((d) => typeof d === 'number');

/** Numpy broadcasting of two shapes; two different symbolic names are an error (name them alike). */
export function broadcastShapes(a: Shape, b: Shape, what = 'broadcast'): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const da = i < r - a.length ? 1 : a[i - (r - a.length)];
    const db = i < r - b.length ? 1 : b[i - (r - b.length)];
    if (da === db || db === 1) out.push(da);
    else if (da === 1) out.push(db);
    else throw new Error(`${what}: shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (axis ${i}: ${da} vs ${db})`);
  }
  return out;
}

/** Normalises a possibly negative axis. */
export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= rank) throw new Error(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** ONNX TensorProto.DataType codes. */
export const ONNX_DTYPE: Record<DType, number> = { float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float64: 11 };
