// x · W'ᵀ for a frozen weight stored quantized (quantize.ts), with its gradient rule: no gradient for the
// weight, and dX = dY · W' (int8: a quantized kernel on the backward copy; nbits4: W' dequantized in the graph).
//
// Kernels (float32 graphs with contribOps):
//   int8    forward  rows of x quantized to uint8 (scale max|row| / 127, zero point 128), then
//                    MatMulInteger(x_q, qT [in, out] int8) (MLAS's u8·s8 kernel: VNNI) · row scale · scale[out]
//           backward the same on dY ∘ scale against q [out, in]                       (exactly W')
//   nbits4  forward  com.microsoft.MatMulNBits(x, packed [out, blocks, 16], scales [out, blocks]; K in, N out)
//           backward dY · W' by a float MatMul, W' [out, in] dequantized in the graph from the forward copy
//                    once dY exists (`orderedAfter`: ORT can neither run it early, holding every layer's
//                    float W' at once, nor fold it into a float copy of a baked weight). Exact, no copy
//                    (the float W' lives for one product), and at 1.3B's MLP shape (dY [512, 5504])
//                    faster than MatMulNBits on a requantized transposed copy (91 vs 120 ms, fed).
// Both round the activations per row (MatMulNBits at accuracy level 4 per row and block of 32), so a row's
// result does not depend on the other rows of its batch: a prefill equals its decode steps' inputs, and
// the first PPO ratio is exactly 1 however rows are regrouped. ORT's com.microsoft.DynamicQuantizeMatMul
// (x quantized per *tensor*) was as fast here but is not batch-invariant, so it is not used.
//
// Reference form (float64 graphs, or float32 without contribOps): the same weights dequantized in the graph
// by standard ops (Cast · scale; nibbles by BitwiseAnd / BitShift) and a float MatMul — exact arithmetic on
// W', which gradient checks in float64 use, and which the kernels are tested against.

import { orderedAfter, withCustomGradient } from './autodiff.js';
import { int, str, type Graph } from './graph.js';
import * as op from './ops.js';
import { NBITS_BLOCK, type QuantizedWeight } from './quantize.js';
import type { Feed } from './session.js';
import type { Tensor } from './tensor.js';

/** A quantized weight's graph tensors: the forward copy, and the backward copy made when a gradient needs it. */
export interface QuantizedTensors {
  readonly weight: QuantizedWeight;
  /** int8: [qT int8 [in, out], scale float32 [out]]; nbits4: [packed uint8 [out, blocks, 16], scales float32 [out, blocks]]. */
  readonly forward: readonly Tensor[];
  /** int8: [q int8 [out, in]]; nbits4: the forward's own tensors (dequantized in the graph). */
  backward(): readonly Tensor[];
  /** int8 fed as inputs: backward() is the fed qT transposed in the graph (no backward copy in JS). */
  readonly transposedInGraph?: boolean;
}

/** Graph tensor names of a quantized weight called `name` (e.g. `model.layers.0.mlp.up_proj.weight`). */
export function quantizedNames(name: string, w: Pick<QuantizedWeight, 'mode'>): { forward: string[]; backward: string[] } {
  return w.mode === 'int8'
    ? { forward: [`${name}.int8_qT`, `${name}.int8_scale`], backward: [`${name}.int8_q`] }
    : { forward: [`${name}.q4`, `${name}.q4_scales`], backward: [] };
}

type QuantDType = 'float32' | 'int8' | 'uint8';

/** The forward arrays' shapes and types (int8: qT, scale; nbits4: packed, scales). */
function forwardLayout(w: QuantizedWeight): { dims: number[]; dtype: QuantDType }[] {
  if (w.mode === 'int8') return [{ dims: [w.inFeatures, w.outFeatures], dtype: 'int8' }, { dims: [w.outFeatures], dtype: 'float32' }];
  const blocks = Math.ceil(w.inFeatures / NBITS_BLOCK);
  return [{ dims: [w.outFeatures, blocks, NBITS_BLOCK / 2], dtype: 'uint8' }, { dims: [w.outFeatures, blocks], dtype: 'float32' }];
}

function arraysOf(w: QuantizedWeight, which: 'forward' | 'backward'): { data: Float32Array | Int8Array | Uint8Array; dims: number[]; dtype: QuantDType }[] {
  if (which === 'backward') return w.mode === 'int8' ? [{ data: w.backward().q, dims: [w.outFeatures, w.inFeatures], dtype: 'int8' }] : [];
  const data = w.forwardArrays();
  return forwardLayout(w).map((a, i) => ({ ...a, data: data[i] }));
}

/**
 * Graph tensors for the quantized weight `name`: initializers (the arrays baked into the model; ORT
 * prepacks them) or inputs (fed from the JS arrays by `quantizedFeeds`, shared by every session). The
 * backward copy is created (and, for initializers, its arrays built) only when a gradient rule asks. A fed
 * int8 weight has no backward copy in JS: its q [out, in] is qT transposed inside the graph where the
 * backward product reads it (a transient int8 array per layer, freed after use: the JS weights stay one
 * byte per parameter when training).
 */
export function quantizedTensors(g: Graph, name: string, w: QuantizedWeight, as: 'initializers' | 'inputs'): QuantizedTensors {
  const names = quantizedNames(name, w);
  const make = (which: 'forward' | 'backward') => {
    // Baked from the file the weight came from, when it did: ORT reads it, JS never holds a copy.
    if (as === 'initializers' && which === 'forward' && w.source) {
      return forwardLayout(w).map((a, i) => g.fileInitializer(names.forward[i], w.source![i], a.dims, a.dtype));
    }
    return arraysOf(w, which).map((a, i) => (as === 'inputs'
      ? g.input(names[which][i], a.dtype, a.dims)
      : g.initializer(names[which][i], a.data, a.dims, a.dtype)));
  };
  const forward = make('forward');
  const derived = as === 'inputs' && w.mode === 'int8';
  let bwd: readonly Tensor[] | null = null;
  const backward = (): readonly Tensor[] => {
    if (w.mode === 'nbits4') return forward;
    return derived ? [op.transpose(forward[0], [1, 0])] : make('backward');
  };
  return { weight: w, forward, backward: () => (bwd ??= backward()), transposedInGraph: derived };
}

/** Feeds for a quantized weight's inputs (forward copy; int8's backward copy too once it exists). */
export function quantizedFeeds(name: string, w: QuantizedWeight): Record<string, Feed> {
  const names = quantizedNames(name, w);
  const out: Record<string, Feed> = {};
  arraysOf(w, 'forward').forEach((a, i) => { out[names.forward[i]] = { data: a.data, dims: a.dims }; });
  if (w.hasBackward) arraysOf(w, 'backward').forEach((a, i) => { out[names.backward[i]] = { data: a.data, dims: a.dims }; });
  return out;
}

const useKernel = (x: Tensor): boolean => x.dtype === 'float32' && x.graph.contribOps;

/** nbits4's backward, and a fed weight's forward, dequantize at most this many weights at a time (16 MiB of
 * float32): measured at the DeepSeek-Coder-1.3B shape, the whole 4-bit LM head dequantized at once added
 * 0.5 GiB to a LoRA step's peak. */
const NBITS4_BACKWARD_ELEMENTS = 1 << 22;

/**
 * x [..., in] · W'ᵀ (+ bias) → [..., out] for a frozen quantized W' [out, in]. Autodiff: dX through the
 * backward copy; asking for a gradient of the weight itself is an error (it is frozen).
 */
export function quantizedLinear(x: Tensor, w: QuantizedTensors, bias?: Tensor): Tensor {
  const { weight } = w;
  if (x.shape[x.rank - 1] !== weight.inFeatures) throw new Error(`quantizedLinear: input ${x.toString()} does not end in ${weight.inFeatures} (weight [${weight.outFeatures}, ${weight.inFeatures}])`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw new Error(`quantizedLinear: input ${x.toString()} must be float`);
  const floats = w.forward.filter((t) => t.dtype === 'float32');
  const [y] = withCustomGradient('quantizedLinear', [x, ...floats], () => [forwardProduct(x, w)], (_in, _out, [d], needs) => {
    if (needs.slice(1).some(Boolean)) throw new Error(`quantizedLinear: no gradient for the frozen quantized weight ${w.forward[0].name}`);
    return [needs[0] ? backwardProduct(d!, w) : null, ...floats.map(() => null)];
  });
  return bias ? op.add(y, bias) : y;
}

function forwardProduct(x: Tensor, w: QuantizedTensors): Tensor {
  const { weight } = w;
  if (weight.mode === 'int8') {
    const [qT, scale] = w.forward;
    if (useKernel(x)) return op.mul(int8RowMatmul(x, qT, weight.outFeatures), scale);
    return op.matmul(x, op.mul(op.cast(qT, x.dtype), op.cast(scale, x.dtype)));
  }
  const [packed, scales] = w.forward;
  if (!useKernel(x)) return op.matmul(x, dequantizeNBits4Graph(packed, scales, weight.inFeatures, x.dtype as 'float32' | 'float64'), { transB: true });
  if (packed.kind !== 'input') return matMulNBits(x, packed, scales, weight.inFeatures, weight.outFeatures);
  // Fed, MatMulNBits cannot prepack B: it dequantizes the whole of it to float for each product (the LM
  // head at the 1.3B shape: a 264 MB transient that ORT's arena then keeps). Rows of B a block at a time.
  const blocks = rowBlocks(weight.outFeatures, weight.inFeatures);
  if (blocks.length === 1) return matMulNBits(x, packed, scales, weight.inFeatures, weight.outFeatures);
  // The slices start from a zero that only exists once x does: slices of graph inputs could otherwise all
  // run first, a copy of every fed weight alive at once.
  const [zero] = orderedAfter([x.graph.constant([0], 'int64')], x);
  return op.concat(blocks.map((b) => {
    const [pk, sk] = blockRows(packed, scales, zero, b);
    return matMulNBits(x, pk, sk, weight.inFeatures, b[1] - b[0]);
  }), -1);
}

/** Row blocks [r0, r1) of a weight with `inFeatures` columns, each at most NBITS4_BACKWARD_ELEMENTS weights
 * (or `rows` rows). */
function rowBlocks(outFeatures: number, inFeatures: number, rows = Math.max(1, Math.floor(NBITS4_BACKWARD_ELEMENTS / inFeatures))): [number, number][] {
  const out: [number, number][] = [];
  for (let r0 = 0; r0 < outFeatures; r0 += rows) out.push([r0, Math.min(outFeatures, r0 + rows)]);
  return out;
}

/** Whether `quantizedHeadLogProbs` takes this head a block of vocabulary rows at a time (a fed 4-bit head
 * wider than one block: the products are then the same per logit whatever the blocks). */
export function blockedHead(w: QuantizedTensors, rows?: number): boolean {
  return w.weight.mode === 'nbits4' && w.forward[0].kind === 'input' && rowBlocks(w.weight.outFeatures, w.weight.inFeatures, rows).length > 1;
}

/**
 * log p(target) per position under a fed 4-bit LM head W' [vocab, dim] applied to h [..., dim], targets
 * [...] int64 → [...], without a [..., vocab] tensor: the forward takes each block of vocabulary rows'
 * logits to its log-sum-exp and the target's logit, the backward (once the output's gradient exists)
 * builds each block's logits again and adds (softmax − onehot)·(−d) times the block's dequantized rows.
 * The same function and gradient as log-softmax of the head's logits, which at DeepSeek-Coder-1.3B's
 * shape kept several [512, 32256] float tensors alive at the start of the backward pass. `rows`: rows per
 * block (default: NBITS4_BACKWARD_ELEMENTS weights' worth).
 */
export function quantizedHeadLogProbs(h: Tensor, w: QuantizedTensors, targets: Tensor, o: { rows?: number } = {}): Tensor {
  if (!blockedHead(w, o.rows)) throw new Error(`quantizedHeadLogProbs: the head ${w.forward[0].name} is not a fed 4-bit weight wider than one block`);
  const { weight } = w;
  const K = weight.inFeatures;
  const [packed, scales] = w.forward;
  const g = h.graph;
  const blocks = rowBlocks(weight.outFeatures, K, o.rows);
  const t = op.unsqueeze(targets, [-1]); // [..., 1]
  // Per block: the target's index inside it (0 when outside) and 1/0 for inside/outside (made in the forward).
  let where: { index: Tensor; inside: Tensor }[] = [];
  let lse: Tensor;
  return withCustomGradient('quantizedHeadLogProbs', [h, scales], () => {
    where = blocks.map(([r0, r1]) => {
      const local = op.sub(t, r0);
      const inside = op.mul(op.cast(op.greater(local, -1), 'float32'), op.cast(op.less(local, r1 - r0), 'float32'));
      return { index: op.mul(local, op.cast(inside, 'int64')), inside };
    });
    const [zero] = orderedAfter([g.constant([0], 'int64')], h);
    const sums: Tensor[] = [];
    let target: Tensor | null = null;
    blocks.forEach((b, k) => {
      const [pk, sk] = blockRows(packed, scales, zero, b);
      const z = matMulNBits(h, pk, sk, K, b[1] - b[0]); // [..., rows]
      sums.push(op.logSumExp(z, [-1], true));
      const pick = op.mul(op.gatherElements(z, where[k].index, -1), where[k].inside);
      target = target ? op.add(target, pick) : pick;
    });
    lse = op.logSumExp(op.concat(sums, -1), [-1], true); // [..., 1]
    return [op.squeeze(op.sub(target!, lse), [-1])];
  }, (_in, _out, [d], needs) => {
    if (needs[1]) throw new Error(`quantizedHeadLogProbs: no gradient for the frozen quantized weight ${packed.name}`);
    if (!needs[0]) return [null, null];
    const [hd, zero] = orderedAfter([h, g.constant([0], 'int64')], d!);
    const nd = op.unsqueeze(op.neg(d!), [-1]); // [..., 1]
    let dh: Tensor | null = null;
    blocks.forEach((b, k) => {
      const [pk, sk] = blockRows(packed, scales, zero, b);
      const p = op.exp(op.sub(matMulNBits(hd, pk, sk, K, b[1] - b[0]), lse)); // the block's softmax
      const G = op.scatterElements(p, where[k].index, op.neg(where[k].inside), -1, 'add'); // − onehot
      const part = op.matmul(op.mul(G, nd), dequantizeNBits4Graph(pk, sk, K, 'float32')); // [..., rows] · [rows, K]
      dh = dh ? op.add(dh, part) : part;
    });
    return [dh, null];
  })[0];
}

/** Rows r0..r1 (exclusive) of a 4-bit weight's packed data and scales, sliced from a start computed at run
 * time from `zero` (an int64 [1] zero that exists only once its signal does; see orderedAfter), so ORT
 * neither slices ahead of the product nor folds a slice of a baked weight into a copy. */
function blockRows(packed: Tensor, scales: Tensor, zero: Tensor, [r0, r1]: [number, number]): [Tensor, Tensor] {
  const g = packed.graph;
  const start = op.add(zero, r0);
  const rows = (t: Tensor) => g.addNode('Slice', [t, start, g.constant([r1], 'int64'), g.constant([0], 'int64')], {},
    [{ dtype: t.dtype, shape: [r1 - r0, ...t.shape.slice(1)] }])[0];
  return [rows(packed), rows(scales)];
}

function backwardProduct(d: Tensor, w: QuantizedTensors): Tensor {
  const { weight } = w;
  if (weight.mode === 'int8') {
    const scale = w.forward[1];
    const [q] = w.backward();
    if (useKernel(d)) return int8RowMatmul(op.mul(d, scale), q, weight.inFeatures);
    return op.matmul(op.mul(d, op.cast(scale, d.dtype)), op.cast(q, d.dtype));
  }
  // Rows of W' a block at a time (the gates first: ORT would constant-fold a slice of a baked weight into a
  // copy), so a wide weight such as the LM head never exists as a whole in float.
  const [packed, scales] = orderedAfter(w.backward(), d);
  let dx: Tensor | null = null;
  for (const [r0, r1] of rowBlocks(weight.outFeatures, weight.inFeatures)) {
    const part = (t: Tensor, axis: number) => (r1 - r0 === weight.outFeatures ? t : op.slice(t, [axis], [r0], [r1]));
    const Wc = dequantizeNBits4Graph(part(packed, 0), part(scales, 0), weight.inFeatures, d.dtype as 'float32' | 'float64');
    const product = op.matmul(part(d, d.rank - 1), Wc); // [.., rows] · [rows, in]
    dx = dx ? op.add(dx, product) : product;
  }
  return dx!;
}

/**
 * a [..., K] · B (int8 [K, N]) with each row of a quantized symmetrically to 8 bits (stored as uint8 with
 * zero point 128: MLAS has a fast u8·s8 kernel, s8·s8 is ~10× slower here), by MatMulInteger; the int32
 * products are scaled back per row.
 */
function int8RowMatmul(a: Tensor, B: Tensor, N: number): Tensor {
  const g = a.graph;
  const amax = op.max(g.addNode('Abs', [a], {}, [{ dtype: 'float32', shape: a.shape }])[0], [-1], true); // [..., 1]
  const s = op.mul(op.add(amax, 1e-30), 1 / 127); // an all-zero row stays zero
  const r = g.addNode('Round', [op.div(a, s)], {}, [{ dtype: 'float32', shape: a.shape }])[0]; // in [−127, 127]
  const aq = op.cast(op.add(r, 128), 'uint8');
  const acc = g.addNode('MatMulInteger', [aq, B, g.constant([128], 'uint8', [])], {}, [{ dtype: 'int32', shape: [...a.shape.slice(0, -1), N] }])[0];
  return op.mul(op.cast(acc, 'float32'), s);
}

/** com.microsoft.MatMulNBits: a [..., K] · (B [N, K] in 4-bit blocks)ᵀ, int8 compute (accuracy level 4). */
function matMulNBits(a: Tensor, packed: Tensor, scales: Tensor, K: number, N: number): Tensor {
  return a.graph.addNode('MatMulNBits', [a, packed, scales], {
    K: int(K), N: int(N), bits: int(4), block_size: int(NBITS_BLOCK), accuracy_level: int(4),
  }, [{ dtype: 'float32', shape: [...a.shape.slice(0, -1), N] }], 'com.microsoft')[0];
}

/**
 * 4-bit blocks as floats of `dtype`, by standard ops: packed [...lead, blocks, 16] and scales [...lead, blocks]
 * → [...lead, cols]: low and high nibbles (BitwiseAnd, BitShift) interleaved, minus the zero point 8, times
 * each block's scale.
 */
export function dequantizeNBits4Graph(packed: Tensor, scales: Tensor, cols: number, dtype: 'float32' | 'float64'): Tensor {
  const g = packed.graph;
  const blocks = Math.ceil(cols / NBITS_BLOCK);
  const shape = [...packed.shape], lead = shape.slice(0, -2);
  const lo = g.addNode('BitwiseAnd', [packed, g.constant([15], 'uint8', [])], {}, [{ dtype: 'uint8', shape }])[0];
  const hi = g.addNode('BitShift', [packed, g.constant([4], 'uint8', [])], { direction: str('RIGHT') }, [{ dtype: 'uint8', shape }])[0];
  const codes = op.reshape(op.concat([op.unsqueeze(lo, [-1]), op.unsqueeze(hi, [-1])], -1), [...lead, blocks, NBITS_BLOCK]);
  const vals = op.mul(op.sub(op.cast(codes, dtype), 8), op.unsqueeze(op.cast(scales, dtype), [-1]));
  const W = op.reshape(vals, [...lead, blocks * NBITS_BLOCK]);
  return blocks * NBITS_BLOCK === cols ? W : op.slice(W, [-1], [0], [cols]);
}

/**
 * Rows `ids` of a quantized embedding table E' [vocab, dim] (the same weight as a tied LM head), as floats:
 * int8 gathers q's rows (the backward copy's layout) and their scales; nbits4 gathers the forward copy's
 * packed rows and dequantizes them.
 */
export function quantizedGather(w: QuantizedTensors, ids: Tensor): Tensor {
  const { weight } = w;
  if (weight.mode === 'int8') {
    const s = op.gather(w.forward[1], ids, 0); // [...]
    // fed: the columns of qT [in, vocab] (no transposed table per run); baked: the rows of q
    const rows = w.transposedInGraph
      ? op.transpose(op.gather(w.forward[0], ids, 1), [...Array.from({ length: ids.rank }, (_, i) => i + 1), 0])
      : op.gather(w.backward()[0], ids, 0);
    return op.mul(op.cast(rows, 'float32'), op.unsqueeze(s, [-1]));
  }
  const [packed, scales] = w.forward;
  return dequantizeNBits4Graph(op.gather(packed, ids, 0), op.gather(scales, ids, 0), weight.inFeatures, 'float32');
}
