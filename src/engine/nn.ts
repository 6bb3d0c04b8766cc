// Small composites shared by the model and the trainers, built only from ops.ts (so their gradients come
// for free). Layers specific to one architecture (attention, RoPE variants) belong in model/.

import { sumToShape, withCustomGradient } from './autodiff.js';
import * as op from './ops.js';
import { float, int } from './graph.js';
import type { Dim, Tensor } from './tensor.js';

/** x · sigmoid(x) (SiLU / swish). */
export const silu = (x: Tensor): Tensor => op.mul(x, op.sigmoid(x));

/** x @ Wᵀ (+ b) with W stored [out, in], as Hugging Face checkpoints store it. */
export function linear(x: Tensor, W: Tensor, b?: Tensor): Tensor {
  const y = op.matmul(x, W, { transB: true });
  return b ? op.add(y, b) : y;
}

export interface RmsNormOptions {
  /**
   * Forward as one ONNX Runtime `SimplifiedLayerNormalization` node (float32 and float64 kernels; it also
   * returns r), default true; false composes it from Mul/ReduceSum/Sqrt/Reciprocal. Same backward rule.
   */
  kernel?: boolean;
}

/**
 * RMSNorm over the last axis: n·w with n = x·r, r = 1/sqrt(mean(x²) + eps). One gradient rule:
 * dx = r·(dn − n·mean(dn∘n)) with dn = d·w, and dw = Σ d∘n — ~20% less CPU than the chained rules.
 * The forward is ORT's SimplifiedLayerNormalization kernel (one pass instead of four; eps is a float32
 * attribute there, so the composed form below uses the same rounded eps).
 */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number, opts: RmsNormOptions = {}): Tensor {
  const g = x.graph;
  const epsF = Math.fround(eps);
  const kernel = opts.kernel ?? true;
  let r: Tensor | null = null, n: Tensor | null = null, rStash: Tensor | null = null;
  const composedR = () => op.reciprocal(op.sqrt(op.add(op.mean(op.mul(x, x), [-1], true), epsF)));
  return withCustomGradient('rmsNorm', [x, weight], () => {
    if (!kernel) {
      r = composedR();
      n = op.mul(x, r);
      return [op.mul(n, weight)];
    }
    const [y, inv] = g.addNode('SimplifiedLayerNormalization', [x, weight], { axis: int(-1), epsilon: float(eps) },
      [{ dtype: x.dtype, shape: x.shape }, { dtype: 'float32', shape: [...x.shape.slice(0, -1), 1] }]);
    rStash = inv;
    return [y];
  }, (_in, _out, [d], needs) => {
    // The kernel stashes r in float32: use it in float32 graphs, recompute it in float64 ones.
    r ??= x.dtype === 'float32' ? rStash! : composedR();
    n ??= op.mul(x, r);
    const dn = op.mul(d!, weight);
    return [
      needs[0] ? op.mul(op.sub(dn, op.mul(n, op.mean(op.mul(dn, n), [-1], true))), r) : null,
      needs[1] ? sumToShape(op.mul(d!, n), weight) : null,
    ];
  })[0];
}

/**
 * SwiGLU's gating: silu(gate)·up. One gradient rule: d(up) = d·silu(gate), d(gate) = d·up·(s + u·(1 − s))
 * with s = sigmoid(gate), u = silu(gate) — ~20% less CPU than the chained rules.
 */
export function swiglu(gate: Tensor, up: Tensor): Tensor {
  let s: Tensor, u: Tensor;
  return withCustomGradient('swiglu', [gate, up], () => {
    s = op.sigmoid(gate);
    u = op.mul(gate, s);
    return [op.mul(u, up)];
  }, (_in, _out, [d], needs) => [
    needs[0] ? sumToShape(op.mul(op.mul(d!, up), op.add(s, op.mul(u, op.sub(1, s)))), gate) : null,
    needs[1] ? sumToShape(op.mul(d!, u), up) : null,
  ])[0];
}

/**
 * Rotary position embedding, Hugging Face's rotate-half convention: x·cos + rotate_half(x)·sin, where
 * rotate_half(x) = [−x₂, x₁] over the halves of the last axis and cos, sin broadcast against x (e.g.
 * [seq, head_dim] or [batch, 1, seq, head_dim]). rotate_half is a matmul with a constant signed permutation:
 * exact, and with its backward about twice as fast here as slicing, negating and concatenating.
 */
export function rope(x: Tensor, cos: Tensor, sin: Tensor): Tensor {
  const d = x.shape[x.rank - 1];
  if (typeof d !== 'number' || d % 2 !== 0) throw new Error(`rope: head dim must be a fixed even number, got ${x.toString()}`);
  return op.add(op.mul(x, cos), op.mul(op.matmul(x, rotateHalfMatrix(x, d)), sin));
}

/**
 * Rotary position embedding at given positions from half-width tables, Hugging Face's rotate-half
 * convention: x [batch, heads, seq, head_dim], positions int64 [batch, seq], cosCache and sinCache
 * [max_position, head_dim/2] holding cos(p·θᵢ) and sin(p·θᵢ). The same as `rope(x, cos, sin)` with
 * cos = [cosCache[p], cosCache[p]] (and sin likewise) gathered per position. In float32 graphs with
 * `contribOps` it is one ONNX Runtime `RotaryEmbedding` node, and so is its backward: a rotation's
 * transpose is the rotation by −θ, the same node with −sin. Otherwise (float64 checks) the standard form.
 * Gradients flow to x only (the tables are constants of the model).
 */
export function rotary(x: Tensor, positions: Tensor, cosCache: Tensor, sinCache: Tensor): Tensor {
  const d = x.shape[3];
  if (x.rank !== 4 || typeof d !== 'number' || d % 2 !== 0) throw new Error(`rotary: x must be [batch, heads, seq, even head_dim], got ${x.toString()}`);
  if (positions.dtype !== 'int64' || positions.rank !== 2) throw new Error(`rotary: positions must be int64 [batch, seq], got ${positions.toString()}`);
  for (const t of [cosCache, sinCache]) {
    if (t.rank !== 2 || t.shape[1] !== d / 2 || t.dtype !== x.dtype) throw new Error(`rotary: tables must be ${x.dtype} [max_position, ${d / 2}], got ${t.toString()}`);
  }
  const g = x.graph;
  if (!(g.contribOps && x.dtype === 'float32')) {
    const full = (t: Tensor) => op.unsqueeze(op.concat([op.gather(t, positions, 0), op.gather(t, positions, 0)], -1), [1]); // [b, 1, s, d]
    return rope(x, full(cosCache), full(sinCache));
  }
  const node = (y: Tensor, sin: Tensor) => g.addNode('RotaryEmbedding', [y, positions, cosCache, sin], { interleaved: int(0) },
    [{ dtype: y.dtype, shape: y.shape }], 'com.microsoft')[0];
  return withCustomGradient('rotary', [x, cosCache, sinCache], () => [node(x, sinCache)], (_in, _out, [dy], needs) => {
    if (needs[1] || needs[2]) throw new Error('rotary: no gradient for the cos/sin tables');
    return [node(dy!, op.neg(sinCache)), null, null];
  })[0];
}

function rotateHalfMatrix(like: Tensor, d: number): Tensor {
  const R = like.dtype === 'float64' ? new Float64Array(d * d) : new Float32Array(d * d);
  const h = d / 2;
  for (let i = 0; i < h; i++) {
    R[(i + h) * d + i] = -1; // out[i] = −x[i + h]
    R[i * d + i + h] = 1; // out[i + h] = x[i]
  }
  return like.graph.constant(R, like.dtype, [d, d]);
}

/**
 * log p(target) for each position: logits [..., V], targets [...] (int64) → [...].
 * Backward as one rule, d·(onehot(t) − softmax(z)): Exp of the forward's log-probs, a scale and an
 * in-place scatter-add — 3 logits-sized passes instead of the ~9 of LogSoftmax's and GatherElements'
 * rules chained. (ORT's ReduceLogSumExp would avoid writing the log-probs but is ~5× slower than LogSoftmax.)
 */
export function tokenLogProbs(logits: Tensor, targets: Tensor): Tensor {
  const t = op.unsqueeze(targets, [-1]);
  let lp: Tensor;
  return withCustomGradient('tokenLogProbs', [logits], () => {
    lp = op.logSoftmax(logits, -1);
    return [op.squeeze(op.gatherElements(lp, t, -1), [-1])];
  }, (_in, _out, [d]) => {
    const dk = op.unsqueeze(d!, [-1]);
    return [op.scatterElements(op.mul(op.exp(lp), op.neg(dk)), t, dk, -1, 'add')];
  })[0];
}

/**
 * log p(target) per position for the LM head's logits h·Wᵀ (W [vocab, dim], as Hugging Face stores it),
 * with the head inside the region: h [..., dim], targets [...] (int64) → [...]. The same values as
 * `tokenLogProbs(linear(h, W), targets)`; the backward is cheaper: G = softmax − onehot is Exp of the
 * saved log-probs and an in-place scatter-add (no logits-sized scale pass), and the per-position factor
 * −d scales the [..., dim]-sized operands instead: dW = Gᵀ·(h∘(−d)), dh = (G·W)∘(−d). A frozen W (an
 * initializer) gets no dW.
 */
export function headTokenLogProbs(h: Tensor, W: Tensor, targets: Tensor): Tensor {
  if (W.rank !== 2 || h.shape[h.rank - 1] !== W.shape[1]) throw new Error(`headTokenLogProbs: W must be [vocab, ${h.shape[h.rank - 1]}], got ${W.toString()}`);
  if (targets.dtype !== 'int64' || targets.rank !== h.rank - 1) throw new Error(`headTokenLogProbs: targets must be int64 of rank ${h.rank - 1}, got ${targets.toString()}`);
  const t = op.unsqueeze(targets, [-1]);
  let lp: Tensor;
  return withCustomGradient('headTokenLogProbs', [h, W], () => {
    lp = op.logSoftmax(linear(h, W), -1);
    return [op.squeeze(op.gatherElements(lp, t, -1), [-1])];
  }, (_in, _out, [d], needs) => {
    const minusOne = op.fullLike(op.cast(t, h.dtype), -1);
    const G = op.scatterElements(op.exp(lp), t, minusOne, -1, 'add'); // softmax − onehot
    const nd = op.unsqueeze(op.neg(d!), [-1]); // [..., 1]
    const D = h.shape[h.rank - 1];
    return [
      needs[0] ? op.mul(op.matmul(G, W), nd) : null,
      needs[1] ? op.matmul(op.reshape(G, [-1, W.shape[0]]), op.reshape(op.mul(h, nd), [-1, D]), { transA: true }) : null,
    ];
  })[0];
}

/** The same by the plain chain rule (LogSoftmax then GatherElements): the reference for tests. */
export function tokenLogProbsUnfused(logits: Tensor, targets: Tensor): Tensor {
  const lp = op.logSoftmax(logits, -1);
  return op.squeeze(op.gatherElements(lp, op.unsqueeze(targets, [-1]), -1), [-1]);
}

/**
 * Mean cross-entropy of logits [..., V] against int64 targets [...]. With `weights` (same shape as targets,
 * e.g. a 0/1 loss mask), the weighted mean Σ w·nll / Σ w.
 */
export function crossEntropy(logits: Tensor, targets: Tensor, weights?: Tensor): Tensor {
  const nll = op.neg(tokenLogProbs(logits, targets));
  if (!weights) return op.mean(nll);
  return op.div(op.sum(op.mul(nll, weights)), op.sum(weights));
}

/** Elementwise min / max / clamp, composed from Where so the gradient goes to the selected operand. */
export function minimum(a: Tensor, b: op.Operand): Tensor {
  return op.where(op.less(b, a), b, a);
}
export function maximum(a: Tensor, b: op.Operand): Tensor {
  return op.where(op.greater(b, a), b, a);
}
export function clamp(x: Tensor, lo: number, hi: number): Tensor {
  return minimum(maximum(x, lo), hi);
}

/** Entropy of softmax(logits) over the last axis: −Σ p·log p. */
export function entropy(logits: Tensor): Tensor {
  const lp = op.logSoftmax(logits, -1);
  return op.neg(op.sum(op.mul(op.exp(lp), lp), [-1]));
}

export interface AttentionOptions {
  /** Added to the scores before the softmax (0 / −1e9 for causal and padding masks); gets no gradient. */
  mask?: Tensor;
  /** Score scale (default 1/sqrt(head_dim)). */
  scale?: number;
  /**
   * A promise that the mask is causal — query i never sees a key after position i, with queries and keys
   * the same positions (no cache) — so the square can be cut into this many query row blocks, each scored
   * against only the keys up to its last row: the fully masked blocks above the diagonal are never computed
   * (n blocks compute (n+1)/2n of the square). Default 1 (the whole square). The mask is still added and
   * is required. A query whose keys are all masked averages over its block's keys rather than all keys.
   */
  causalBlocks?: number;
}

/**
 * softmax(q·kᵀ·scale + mask)·v over the last two axes, batched with broadcasting (grouped-query heads:
 * q [b, kv, rep, s, d] against k, v [b, kv, 1, t, d]). One gradient rule for the whole block, using
 * rowsum(dP∘P) = rowsum(dO∘O): the softmax backward then reads [.., s, d]-sized tensors for its row sums
 * instead of two more [.., s, t]-sized passes.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const scale = opts.scale ?? 1 / Math.sqrt(Number(q.shape[q.rank - 1]));
  const mask = opts.mask;
  const blocks = opts.causalBlocks ?? 1;
  if (!Number.isInteger(blocks) || blocks < 1) throw new Error(`attention: causalBlocks must be a positive integer, got ${blocks}`);
  if (blocks > 1) {
    if (!mask) throw new Error('attention: causalBlocks needs the causal mask (the blocks only skip what it hides)');
    return causalBlockAttention(q, k, v, mask, scale, blocks);
  }
  let P: Tensor;
  return withCustomGradient('attention', mask ? [q, k, v, mask] : [q, k, v], () => {
    const scores = op.matmul(q, k, { transB: true, alpha: scale });
    P = op.softmax(mask ? op.add(scores, mask) : scores, -1);
    return [op.matmul(P, v)];
  }, (_in, [o], [dO], needs) => {
    // dV = Pᵀ·dO; dP = dO·vᵀ; dS = P∘(dP − rowsum(dO∘O)); dq = dS·k·scale; dk = dSᵀ·q·scale
    const dS = op.mul(P, op.sub(op.matmul(dO!, v, { transB: true }), op.sum(op.mul(dO!, o), [-1], true)));
    return [
      needs[0] ? sumToShape(op.matmul(dS, k, { alpha: scale }), q) : null,
      needs[1] ? sumToShape(op.matmul(dS, q, { transA: true, alpha: scale }), k) : null,
      needs[2] ? sumToShape(op.matmul(P, dO!, { transA: true }), v) : null,
      null,
    ];
  })[0];
}

/** The same attention by the plain chain rule: the reference for tests. */
export function attentionUnfused(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions = {}): Tensor {
  const scale = opts.scale ?? 1 / Math.sqrt(Number(q.shape[q.rank - 1]));
  const scores = op.matmul(q, k, { transB: true, alpha: scale });
  return op.matmul(op.softmax(opts.mask ? op.add(scores, opts.mask) : scores, -1), v);
}

/**
 * Causal attention in query row blocks (see AttentionOptions.causalBlocks). Block i holds queries
 * [i·c, (i+1)·c) with c = ceil(s/n) and is scored against keys [0, (i+1)·c); the blocks' outputs are
 * concatenated. Backward per block as in `attention`, then dq concatenated and each block's dk, dv
 * zero-padded to the full length and summed. With a symbolic sequence the bounds are computed at run time
 * (blocks past the end are empty).
 */
function causalBlockAttention(q: Tensor, k: Tensor, v: Tensor, mask: Tensor, scale: number, n: number): Tensor {
  const g = q.graph;
  const qAx = q.rank - 2, kAx = k.rank - 2;
  const S = q.shape[qAx];
  if (k.shape[kAx] !== S || v.shape[v.rank - 2] !== S) {
    throw new Error(`attention: causalBlocks needs queries and keys of one length (${q.toString()}, ${k.toString()}, ${v.toString()})`);
  }
  const mRow = mask ? mask.rank - 2 : -1, mCol = mask ? mask.rank - 1 : -1;
  if (mask) {
    for (const a of [mRow, mCol]) {
      if (a < 0 || (mask.shape[a] !== 1 && mask.shape[a] !== S)) throw new Error(`attention: causalBlocks needs a mask of [.., ${S}, ${S}] (or 1), got ${mask.toString()}`);
    }
  }
  // Block bounds: numbers for a fixed length, run-time int64 [1] tensors otherwise.
  type Bound = number | Tensor;
  const bounds: { start: Bound; end: Bound; rows: Dim; keys: Dim }[] = [];
  if (typeof S === 'number') {
    const c = Math.ceil(S / n);
    for (let i = 0; i * c < S; i++) {
      const end = Math.min((i + 1) * c, S);
      bounds.push({ start: i * c, end, rows: end - i * c, keys: end });
    }
  } else {
    const len = op.shapeOf(q, qAx, qAx + 1);
    const c = g.addNode('Div', [op.add(len, g.constant([n - 1], 'int64')), g.constant([n], 'int64')], {}, [{ dtype: 'int64', shape: [1] }])[0];
    for (let i = 0; i < n; i++) {
      const last = i === n - 1;
      bounds.push({
        start: i === 0 ? 0 : op.mul(c, g.constant([i], 'int64')),
        end: last ? Number.MAX_SAFE_INTEGER : op.mul(c, g.constant([i + 1], 'int64')),
        rows: `(${S})[${i}/${n}]`,
        keys: last ? S : `(${S})[:${i + 1}/${n}]`,
      });
    }
  }
  const sliceAt = (x: Tensor, axis: number, start: Bound, end: Bound, dim: Dim): Tensor => {
    if (x.shape[axis] === dim) return x;
    const t = (b: Bound) => (typeof b === 'number' ? g.constant([b], 'int64') : b);
    return g.addNode('Slice', [x, t(start), t(end), g.constant([axis], 'int64')], {},
      [{ dtype: x.dtype, shape: x.shape.map((d, j) => (j === axis ? dim : d)) }])[0];
  };
  const nb = bounds.length;
  // The blocks' rows back together along axis −2, as the full length S (not a sum of block names).
  const concatRows = (xs: Tensor[], dim: Dim): Tensor => {
    if (xs.length === 1) return xs[0];
    const ax = xs[0].rank - 2;
    return g.addNode('Concat', xs, { axis: int(ax) }, [{ dtype: xs[0].dtype, shape: xs[0].shape.map((d, j) => (j === ax ? dim : d)) }])[0];
  };
  const P: Tensor[] = [], O: Tensor[] = [], qs: Tensor[] = [], ks: Tensor[] = [], vs: Tensor[] = [];
  return withCustomGradient('causalBlockAttention', mask ? [q, k, v, mask] : [q, k, v], () => {
    for (const b of bounds) {
      const qi = sliceAt(q, qAx, b.start, b.end, b.rows);
      const ki = sliceAt(k, kAx, 0, b.end, b.keys), vi = sliceAt(v, v.rank - 2, 0, b.end, b.keys);
      let s = op.matmul(qi, ki, { transB: true, alpha: scale });
      if (mask) {
        let m = mask.shape[mRow] === 1 ? mask : sliceAt(mask, mRow, b.start, b.end, b.rows);
        m = mask.shape[mCol] === 1 ? m : sliceAt(m, mCol, 0, b.end, b.keys);
        s = op.add(s, m);
      }
      const p = op.softmax(s, -1);
      qs.push(qi); ks.push(ki); vs.push(vi); P.push(p); O.push(op.matmul(p, vi));
    }
    return [concatRows(O, q.shape[qAx])];
  }, (_in, _out, [dO], needs) => {
    const dq: Tensor[] = [], dk: Tensor[] = [], dv: Tensor[] = [];
    // Zero rows after a block's keys, so the blocks' key gradients can be summed.
    const padKeys = (d: Tensor, i: number, like: Tensor): Tensor => {
      const b = bounds[i];
      if (b.keys === S) return d;
      const ax = d.rank - 2;
      const pads: (number | Tensor)[] = new Array(2 * d.rank).fill(0);
      pads[d.rank + ax] = typeof S === 'number' ? S - (b.keys as number) : op.sub(op.shapeOf(like, like.rank - 2, like.rank - 1), op.shapeOf(d, ax, ax + 1));
      const p = pads.every((x) => typeof x === 'number') ? (pads as number[])
        : op.concat(pads.map((x) => (typeof x === 'number' ? g.constant([x], 'int64') : x)), 0);
      return op.pad(d, p, d.shape.map((x, j) => (j === ax ? S : x)));
    };
    for (let i = 0; i < nb; i++) {
      const b = bounds[i];
      const dOi = sliceAt(dO!, dO!.rank - 2, b.start, b.end, b.rows);
      const dS = op.mul(P[i], op.sub(op.matmul(dOi, vs[i], { transB: true }), op.sum(op.mul(dOi, O[i]), [-1], true)));
      if (needs[0]) dq.push(op.matmul(dS, ks[i], { alpha: scale }));
      if (needs[1]) dk.push(padKeys(op.matmul(dS, qs[i], { transA: true, alpha: scale }), i, k));
      if (needs[2]) dv.push(padKeys(op.matmul(P[i], dOi, { transA: true }), i, v));
    }
    const sumAll = (xs: Tensor[]) => (xs.length === 1 ? xs[0]
      : g.addNode('Sum', xs, {}, [{ dtype: xs[0].dtype, shape: xs[xs.length - 1].shape }])[0]);
    return [
      needs[0] ? sumToShape(concatRows(dq, S), q) : null,
      needs[1] ? sumToShape(sumAll(dk), k) : null,
      needs[2] ? sumToShape(sumAll(dv), v) : null,
      null,
    ];
  })[0];
}

/**
 * An inverted-dropout mask of x's shape drawn in the graph: 1/keep with probability `keep`, else 0 (`keep`
 * a fed [1] tensor, so the same session trains with keep = 1 − p and validates with keep = 1, where every
 * value is exactly 1). Drawn where it is used, it never leaves ORT: no [batch, seq, in] array per module in
 * JS. `seed` should differ between masks, or masks of the same shape come out equal.
 */
export function dropoutMask(x: Tensor, keep: Tensor, seed: number): Tensor {
  return op.div(op.cast(op.less(op.randomUniformLike(x, seed), keep), x.dtype), keep);
}
