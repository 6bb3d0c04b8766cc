// Reverse-mode autodiff. gradients(loss, wrt) walks the nodes between the chosen tensors and the loss
// backwards, asking each op's rule for the gradients of its inputs, and appends those nodes to the same
// graph, so one session run returns the loss and the gradients together. Only tensors on a path from
// `wrt` to the loss get gradients: frozen weights (initializers) cost nothing.

import type { Graph, Node } from './graph.js';
import * as op from './ops.js';
import { isFloat, type Tensor } from './tensor.js';

/** Given a node and the gradients of its outputs (null: no gradient flows), the gradients of its inputs. */
export type GradRule = (node: Node, gOut: readonly (Tensor | null)[], needs: readonly boolean[]) => (Tensor | null)[];

const rules = new Map<string, GradRule>();
const key = (opType: string, domain: string) => (domain ? `${domain}:${opType}` : opType);

/** Registers the gradient rule of an op (the model module may add fused ops this way). */
export function defineGrad(opType: string, rule: GradRule, domain = ''): GradRule | undefined {
  const prev = rules.get(key(opType, domain));
  rules.set(key(opType, domain), rule);
  return prev;
}

export interface GradientOptions {
  /** dLoss: required when the loss is not a scalar (a vector-Jacobian product); default 1. */
  seed?: Tensor;
}

/**
 * A rule for a region of nodes built by `withCustomGradient`: gradients of its inputs from its outputs'.
 */
export type RegionRule = (inputs: readonly Tensor[], outputs: readonly Tensor[], gOut: readonly (Tensor | null)[],
  needs: readonly boolean[]) => (Tensor | null)[];

interface Region { name: string; start: number; end: number; inputs: Tensor[]; outputs: Tensor[]; rule: RegionRule }
const regions = new WeakMap<Graph, Region[]>();

/**
 * Builds `forward()` (which may only read `inputs`, constants and integer tensors) and gives the nodes
 * it appends one gradient rule, so autodiff treats them as a single op. This is how a composite gets a
 * cheaper backward than the chain of its parts' rules (see nn.tokenLogProbs).
 */
export function withCustomGradient(name: string, inputs: readonly Tensor[], forward: () => Tensor[], rule: RegionRule): Tensor[] {
  const g = inputs[0].graph;
  const start = g.nodes.length;
  const outputs = forward();
  const end = g.nodes.length;
  for (let i = start; i < end; i++) {
    for (const t of g.nodes[i].inputs) {
      const inside = t.producer !== null && t.producer.id >= start;
      if (!inside && isFloat(t.dtype) && t.kind !== 'constant' && !inputs.includes(t)) {
        throw new Error(`withCustomGradient(${name}): the forward reads ${t.toString()}, which is not among its inputs`);
      }
    }
  }
  let list = regions.get(g);
  if (!list) { list = []; regions.set(g, list); }
  list.push({ name, start, end, inputs: [...inputs], outputs, rule });
  return outputs;
}

/** One backward step: a node with its rule, or a region with its rule. */
interface Step { inputs: readonly Tensor[]; outputs: readonly Tensor[]; apply: (gOut: (Tensor | null)[], needs: boolean[]) => (Tensor | null)[] }

/**
 * Gradients of `loss` with respect to each tensor in `wrt` (usually trainable inputs), appended to the
 * loss's graph. A tensor the loss does not depend on gets zeros.
 */
export function gradients(loss: Tensor, wrt: readonly Tensor[], opts: GradientOptions = {}): Tensor[] {
  const g = loss.graph;
  if (!isFloat(loss.dtype)) throw new Error(`gradients: loss must be float, got ${loss.toString()}`);
  for (const t of wrt) if (!isFloat(t.dtype) || t.graph !== g) throw new Error(`gradients: cannot differentiate w.r.t. ${t.toString()}`);
  if (loss.rank !== 0 && !opts.seed) throw new Error(`gradients: loss ${loss.toString()} is not a scalar; pass a seed`);
  return backprop(g, [[loss, opts.seed ?? g.scalar(1, loss.dtype)]], wrt, 0);
}

/**
 * The backward pass over the nodes from `from` on: `seeds` are (tensor, dLoss/dtensor) pairs, and each wrt
 * tensor gets the sum of what reaches it (zeros if nothing does). Regions registered inside the range
 * count as one step each; where regions nest, the outermost one does.
 */
function backprop(g: Graph, seeds: readonly (readonly [Tensor, Tensor])[], wrt: readonly Tensor[], from: number): Tensor[] {
  // Tensors that depend on a wrt tensor, then the steps on a path from them to the seeds.
  const dependent = new Set<Tensor>(wrt);
  const end = Math.max(...seeds.map(([t]) => (t.producer ? t.producer.id : -1)));
  for (let i = from; i <= end; i++) {
    const n = g.nodes[i];
    if (n.inputs.some((t) => dependent.has(t))) for (const t of n.outputs) if (isFloat(t.dtype)) dependent.add(t);
  }
  const regionOf = new Map<number, Region>();
  // Registration order: a region is registered after the ones its forward built, so the outer one wins.
  for (const r of regions.get(g) ?? []) if (r.start >= from) for (let i = r.start; i < r.end; i++) regionOf.set(i, r);
  const needed = new Set<Tensor>(seeds.map(([t]) => t));
  const path: Step[] = [];
  for (let i = end; i >= from; i--) {
    const r = regionOf.get(i);
    let step: Step;
    if (r) {
      // A gradient arriving at a tensor inside a region (not one of its outputs) would be lost.
      for (let j = r.start; j < r.end; j++) {
        for (const t of g.nodes[j].outputs) {
          if (!r.outputs.includes(t) && (needed.has(t) || wrt.includes(t))) {
            throw new Error(`gradients: ${t.toString()} inside ${r.name} is used outside it; use the region's outputs`);
          }
        }
      }
      step = { inputs: r.inputs, outputs: r.outputs, apply: (gOut, needs) => r.rule(r.inputs, r.outputs, gOut, needs) };
      i = r.start;
    } else {
      const n = g.nodes[i];
      step = { inputs: n.inputs, outputs: n.outputs, apply: (gOut, needs) => {
        const rule = rules.get(key(n.op, n.domain));
        if (!rule) throw new Error(`gradients: no rule for ${n.domain ? n.domain + ':' : ''}${n.op} (node ${n.id})`);
        return rule(n, gOut, needs);
      } };
    }
    if (!step.outputs.some((t) => needed.has(t))) continue;
    if (!step.inputs.some((t) => dependent.has(t))) continue;
    path.push(step);
    for (const t of step.inputs) if (dependent.has(t)) needed.add(t);
  }

  const wrtSet = new Set(wrt);
  const contributions = new Map<Tensor, Tensor[]>();
  const addGrad = (t: Tensor, d: Tensor) => {
    if (d.dtype !== t.dtype || d.rank !== t.rank) throw new Error(`gradient for ${t.toString()} came back as ${d.toString()}`);
    const list = contributions.get(t);
    if (list) list.push(d); else contributions.set(t, [d]);
  };
  for (const [t, d] of seeds) addGrad(t, d);

  for (const step of path) { // path is already in reverse topological order
    const gOut = step.outputs.map((t) => total(g, contributions.get(t)));
    if (gOut.every((x) => x === null)) continue;
    const needs = step.inputs.map((t) => needed.has(t) && dependent.has(t));
    const gIn = step.apply(gOut, needs);
    step.inputs.forEach((t, i) => { const d = gIn[i]; if (needs[i] && d) addGrad(t, d); });
    for (const t of step.outputs) if (!wrtSet.has(t)) contributions.delete(t); // consumed; keep the map small
  }
  return wrt.map((t) => total(g, contributions.get(t)) ?? op.zerosLike(t));
}

/**
 * Activation recomputation (gradient checkpointing). Builds `body(inputs)` as one region whose backward
 * builds the body again from the same inputs — ordered after its outputs' gradient exists — and
 * differentiates that copy. The forward's intermediates then die inside the forward; the backward holds
 * one region's at a time, plus each region's `inputs`. The body is called twice, so it must build the
 * same function both times: it may read any tensor from outside (weights, adapters, masks: gradients
 * reach the float ones that need them), must not create graph inputs, and its random ops must be seeded,
 * so that the copy's kernels draw what the forward's drew (ORT's seeded random kernels each draw the same
 * sequence, one draw per run).
 */
export function recomputed(name: string, inputs: readonly Tensor[], body: (inputs: readonly Tensor[]) => Tensor[]): Tensor[] {
  const g = inputs[0].graph;
  const start = g.nodes.length;
  const outputs = body(inputs);
  const end = g.nodes.length;
  const outside = new Set<Tensor>(inputs);
  const others: Tensor[] = [];
  for (let i = start; i < end; i++) {
    for (const t of g.nodes[i].inputs) {
      const inside = t.producer !== null && t.producer.id >= start;
      if (!inside && !outside.has(t) && isFloat(t.dtype) && t.kind !== 'constant') { outside.add(t); others.push(t); }
    }
  }
  const rule: RegionRule = (_ins, _outs, gOut, needs) => {
    const signal = gOut.find((d) => d !== null)!;
    const from = g.nodes.length;
    const again = orderedAfter(inputs, signal);
    const replay = body(again);
    const wanted = [...again, ...others].filter((_, i) => needs[i]);
    const seeds = replay.flatMap((t, i) => (gOut[i] ? [[t, gOut[i]!] as const] : []));
    const grads = backprop(g, seeds, wanted, from);
    // The inputs' gradients (what the region before waits for) only once the weights' gradients exist:
    // otherwise ONNX Runtime defers the weight-gradient products to the end of the backward pass, and
    // their operands (a LoRA module's input and output gradient, 24 MiB a layer at the 1.3B shape) stay
    // alive through every region after.
    const nIn = again.filter((_, i) => needs[i]).length;
    const weightGrads = grads.slice(nIn);
    if (nIn > 0 && weightGrads.length > 0) {
      const first = (t: Tensor) => op.cast(firstElement(t), grads[0].dtype);
      const gated = orderedAfter(grads.slice(0, nIn), weightGrads.map(first).reduce((a, b) => op.add(a, b)));
      grads.splice(0, nIn, ...gated);
    }
    let k = 0;
    return needs.map((need) => (need ? grads[k++] : null));
  };
  let list = regions.get(g);
  if (!list) { list = []; regions.set(g, list); }
  list.push({ name, start, end, inputs: [...inputs, ...others], outputs, rule });
  return outputs;
}

/**
 * Each x itself, computed only once `signal` exists: Where(one element of signal equals itself, x, x). ONNX
 * Runtime runs a node after its inputs, so what reads the result waits for the signal (and is never
 * constant-folded, nor merged with a computation on x itself); the element's value never matters (a NaN
 * picks the same x).
 */
export function orderedAfter(xs: readonly Tensor[], signal: Tensor): Tensor[] {
  const z = firstElement(signal);
  const cond = op.equal(z, z);
  return xs.map((x) => op.where(cond, x, x));
}

/** t's first element, as a scalar. */
function firstElement(t: Tensor): Tensor {
  return t.rank === 0 ? t : op.reshape(op.slice(t, [...t.shape.keys()], t.shape.map(() => 0), t.shape.map(() => 1)), []);
}

function total(g: Graph, list: Tensor[] | undefined): Tensor | null {
  if (!list || list.length === 0) return null;
  if (list.length === 1) return list[0];
  list.splice(0, list.length, g.addNode('Sum', list, {}, [{ dtype: list[0].dtype, shape: list[0].shape }])[0]);
  return list[0];
}

// ---- helpers -----------------------------------------------------------------------------------

/** Sums a broadcast gradient back to x's shape (the backward of numpy broadcasting). */
export function sumToShape(d: Tensor, x: Tensor): Tensor {
  const lead = d.rank - x.rank;
  const axes: number[] = [];
  for (let i = 0; i < d.rank; i++) {
    if (i < lead) axes.push(i);
    else if (x.shape[i - lead] === 1 && d.shape[i] !== 1) axes.push(i);
  }
  if (axes.length === 0) return d;
  const s = op.sum(d, axes, true);
  return lead > 0 ? op.squeeze(s, [...Array(lead).keys()]) : s;
}

/** The values of a constant int64 input (axes, starts, …). */
function constInts(t: Tensor, what: string): number[] {
  const v = t.kind === 'constant' ? t.graph.values.get(t) : undefined;
  if (!(v instanceof BigInt64Array)) throw new Error(`gradient of ${what} needs constant ${t.name}`);
  return Array.from(v, Number);
}

const intAttr = (n: Node, name: string, dflt: number): number => {
  const a = n.attrs[name];
  return a && (a.kind === 'int' || a.kind === 'float') ? a.value : dflt;
};

/** Gradients of alpha · op(A) @ op(B) with respect to A and B. */
function matmulGrads(A: Tensor, B: Tensor, d: Tensor, tA: boolean, tB: boolean, alpha: number, needs: readonly boolean[]): (Tensor | null)[] {
  let dA: Tensor | null = null, dB: Tensor | null = null;
  if (needs[0]) {
    dA = tA ? op.matmul(B, d, { transA: tB, transB: true, alpha }) : op.matmul(d, B, { transB: !tB, alpha });
    dA = sumToShape(dA, A);
  }
  if (needs[1]) {
    if (B.rank === 2 && A.rank > 2 && !tA) {
      // A weight shared across the batch: one Gemm over the flattened rows, not a batched product + sum.
      const A2 = op.reshape(A, [-1, A.shape[A.rank - 1]]);
      const d2 = op.reshape(d, [-1, d.shape[d.rank - 1]]);
      dB = tB ? op.matmul(d2, A2, { transA: true, alpha }) : op.matmul(A2, d2, { transA: true, alpha });
    } else {
      dB = tB ? op.matmul(d, A, { transA: true, transB: tA, alpha }) : op.matmul(A, d, { transA: !tA, alpha });
      dB = sumToShape(dB, B);
    }
  }
  return [dA, dB];
}

// ---- rules -------------------------------------------------------------------------------------
// Each rule reads like the math: x, y are the node's inputs/outputs, d is dLoss/dy.

const unaryRule = (f: (d: Tensor, x: Tensor, y: Tensor) => Tensor): GradRule =>
  (n, [d]) => [f(d!, n.inputs[0], n.outputs[0])];

defineGrad('Add', (n, [d]) => [sumToShape(d!, n.inputs[0]), sumToShape(d!, n.inputs[1])]);
defineGrad('Sub', (n, [d], needs) => [sumToShape(d!, n.inputs[0]), needs[1] ? sumToShape(op.neg(d!), n.inputs[1]) : null]);
defineGrad('Mul', (n, [d], needs) => {
  const [a, b] = n.inputs;
  return [needs[0] ? sumToShape(op.mul(d!, b), a) : null, needs[1] ? sumToShape(op.mul(d!, a), b) : null];
});
defineGrad('Div', (n, [d], needs) => {
  const [a, b] = n.inputs, y = n.outputs[0];
  return [needs[0] ? sumToShape(op.div(d!, b), a) : null, needs[1] ? sumToShape(op.neg(op.div(op.mul(d!, y), b)), b) : null];
});
defineGrad('Pow', (n, [d], needs) => {
  const [a, b] = n.inputs, y = n.outputs[0];
  const bc = b.kind === 'constant' && b.rank === 0 ? Number(b.graph.values.get(b)![0]) : null;
  // d/da a^b = b·a^(b−1); with a constant exponent the graph stays free of Log.
  const dyda = bc === 2 ? op.mul(a, 2) : bc !== null ? op.mul(op.pow(a, bc - 1), bc) : op.mul(b, op.pow(a, op.sub(b, 1)));
  return [
    needs[0] ? sumToShape(op.mul(d!, dyda), a) : null,
    needs[1] ? sumToShape(op.mul(d!, op.mul(y, op.log(a))), b) : null,
  ];
});
defineGrad('Neg', unaryRule((d) => op.neg(d)));
defineGrad('Identity', unaryRule((d) => d));
defineGrad('Exp', unaryRule((d, _x, y) => op.mul(d, y)));
defineGrad('Log', unaryRule((d, x) => op.div(d, x)));
defineGrad('Sqrt', unaryRule((d, _x, y) => op.div(op.mul(d, 0.5), y)));
defineGrad('Reciprocal', unaryRule((d, _x, y) => op.neg(op.mul(d, op.mul(y, y)))));
defineGrad('Sigmoid', unaryRule((d, _x, y) => op.mul(d, op.mul(y, op.sub(1, y)))));
defineGrad('Tanh', unaryRule((d, _x, y) => op.mul(d, op.sub(1, op.mul(y, y)))));
defineGrad('Relu', unaryRule((d, x) => op.where(op.greater(x, 0), d, 0)));
defineGrad('Cast', unaryRule((d, x) => op.cast(d, x.dtype)));
defineGrad('Where', (n, [d], needs) => {
  const [c, a, b] = n.inputs;
  return [null, needs[1] ? sumToShape(op.where(c, d!, 0), a) : null, needs[2] ? sumToShape(op.where(c, 0, d!), b) : null];
});

defineGrad('ReduceSum', (n, [d]) => {
  const x = n.inputs[0], axes = constInts(n.inputs[1], 'ReduceSum');
  const dk = intAttr(n, 'keepdims', 1) ? d! : op.unsqueeze(d!, axes);
  return [op.expandLike(dk, x)];
});
defineGrad('ReduceMax', (n, [d]) => {
  // The gradient goes to the maxima, split evenly between ties.
  const x = n.inputs[0], axes = constInts(n.inputs[1], 'ReduceMax');
  const keep = intAttr(n, 'keepdims', 1) === 1;
  const m = keep ? n.outputs[0] : op.unsqueeze(n.outputs[0], axes);
  const mask = op.cast(op.equal(x, m), x.dtype);
  const dk = keep ? d! : op.unsqueeze(d!, axes);
  return [op.mul(mask, op.div(dk, op.sum(mask, axes, true)))];
});
defineGrad('ReduceLogSumExp', (n, [d]) => {
  // dx = d · exp(x − y): the softmax over the reduced axes.
  const x = n.inputs[0], axes = constInts(n.inputs[1], 'ReduceLogSumExp');
  const keep = intAttr(n, 'keepdims', 1) === 1;
  const y = keep ? n.outputs[0] : op.unsqueeze(n.outputs[0], axes);
  const dk = keep ? d! : op.unsqueeze(d!, axes);
  return [op.mul(op.exp(op.sub(x, y)), dk)];
});
defineGrad('Softmax', (n, [d]) => {
  // dx = y ∘ (d − rowsum(d ∘ y))
  const y = n.outputs[0], axis = intAttr(n, 'axis', -1);
  return [op.mul(y, op.sub(d!, op.sum(op.mul(d!, y), [axis], true)))];
});
defineGrad('LogSoftmax', (n, [d]) => {
  // dx = d − softmax(x) ∘ rowsum(d)
  const y = n.outputs[0], axis = intAttr(n, 'axis', -1);
  return [op.sub(d!, op.mul(op.exp(y), op.sum(d!, [axis], true)))];
});

defineGrad('MatMul', (n, [d], needs) => matmulGrads(n.inputs[0], n.inputs[1], d!, false, false, 1, needs));
defineGrad('FusedMatMul', (n, [d], needs) => matmulGrads(n.inputs[0], n.inputs[1], d!,
  intAttr(n, 'transA', 0) === 1, intAttr(n, 'transB', 0) === 1, intAttr(n, 'alpha', 1), needs), 'com.microsoft');
defineGrad('Gemm', (n, [d], needs) => {
  const [A, B, C] = n.inputs;
  const out = matmulGrads(A, B, d!, intAttr(n, 'transA', 0) === 1, intAttr(n, 'transB', 0) === 1, intAttr(n, 'alpha', 1), needs);
  if (C) out.push(needs[2] ? sumToShape(op.mul(d!, intAttr(n, 'beta', 1)), C) : null);
  return out;
});

const reshapeBack: GradRule = (n, [d]) => [op.reshapeLike(d!, n.inputs[0])];
defineGrad('Reshape', reshapeBack);
defineGrad('Unsqueeze', reshapeBack);
defineGrad('Squeeze', reshapeBack);
defineGrad('Flatten', reshapeBack);
defineGrad('Expand', (n, [d]) => [sumToShape(d!, n.inputs[0])]);
defineGrad('Transpose', (n, [d]) => {
  const a = n.attrs.perm;
  const perm = a && a.kind === 'ints' ? a.value : [...Array(d!.rank).keys()].reverse();
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => { inv[p] = i; });
  return [op.transpose(d!, inv)];
});
defineGrad('Concat', (n, [d], needs) => {
  const axis = intAttr(n, 'axis', 0);
  const parts = op.split(d!, n.inputs.map((x) => x.shape[axis]), axis);
  return parts.map((p, i) => (needs[i] ? p : null));
});
defineGrad('Split', (n, gOut) => {
  const axis = intAttr(n, 'axis', 0);
  return [op.concat(gOut.map((d, i) => d ?? op.zerosLike(n.outputs[i])), axis)];
});
defineGrad('Slice', (n, [d]) => {
  // Zero-pad the gradient back to x's shape; pads are computed at run time for symbolic dims.
  const [x, startsT, endsT, axesT, stepsT] = n.inputs;
  const y = n.outputs[0], g = x.graph;
  const starts = constInts(startsT, 'Slice'), ends = constInts(endsT, 'Slice');
  const axes = axesT ? constInts(axesT, 'Slice') : starts.map((_, i) => i);
  const steps = stepsT ? constInts(stepsT, 'Slice') : starts.map(() => 1);
  if (steps.some((s) => s !== 1)) throw new Error('gradient of Slice: only step 1 is supported');
  const begin: (number | Tensor)[] = x.shape.map(() => 0);
  const endPad: (number | Tensor)[] = x.shape.map(() => 0);
  axes.forEach((a0, i) => {
    const a = a0 < 0 ? a0 + x.rank : a0, dim = x.shape[a];
    if (typeof dim === 'number' && typeof y.shape[a] === 'number') {
      const norm = (v: number) => Math.min(Math.max(v < 0 ? v + dim : v, 0), dim);
      const s = norm(starts[i]);
      begin[a] = s;
      endPad[a] = dim - s - (y.shape[a] as number);
    } else {
      const D = typeof dim === 'number' ? g.constant([dim], 'int64') : g.dimTensor(dim);
      const s = starts[i] >= 0 ? g.constant([starts[i]], 'int64') : op.add(D, g.constant([starts[i]], 'int64'));
      begin[a] = s;
      endPad[a] = op.sub(op.sub(D, s), op.shapeOf(y, a, a + 1));
    }
  });
  const all = [...begin, ...endPad];
  const pads = all.every((p) => typeof p === 'number')
    ? (all as number[])
    : op.concat(all.map((p) => (typeof p === 'number' ? g.constant([p], 'int64') : p)), 0);
  return [op.pad(d!, pads, x.shape)];
});
defineGrad('Gather', (n, [d]) => {
  // Scatter-add rows back into a zero table (an embedding's gradient); repeated ids accumulate.
  const [data, idx] = n.inputs;
  if (intAttr(n, 'axis', 0) !== 0) throw new Error('gradient of Gather: only axis 0 is supported');
  return [op.scatterAddRows(op.zerosLike(data), idx, d!), null];
});
defineGrad('GatherElements', (n, [d]) => {
  const [data, idx] = n.inputs;
  return [op.scatterElements(op.zerosLike(data), idx, d!, intAttr(n, 'axis', 0), 'add'), null];
});
defineGrad('Sum', (n, [d]) => n.inputs.map((x) => sumToShape(d!, x)));
