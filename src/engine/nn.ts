// Small composites shared by the model and the trainers, built only from ops.ts (so their gradients come
// for free). Layers specific to one architecture (attention, RoPE variants) belong in model/.

import { withCustomGradient } from './autodiff.js';
import * as op from './ops.js';
import type { Tensor } from './tensor.js';

/** x · sigmoid(x) (SiLU / swish). */
export const silu = (x: Tensor): Tensor => op.mul(x, op.sigmoid(x));

/** x @ Wᵀ (+ b) with W stored [out, in], as Hugging Face checkpoints store it. */
export function linear(x: Tensor, W: Tensor, b?: Tensor): Tensor {
  const y = op.matmul(x, W, { transB: true });
  return b ? op.add(y, b) : y;
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + eps) · weight. */
export function rmsNorm(x: Tensor, weight: Tensor, eps: number): Tensor {
  const ms = op.mean(op.mul(x, x), [-1], true);
  return op.mul(op.mul(x, op.reciprocal(op.sqrt(op.add(ms, eps)))), weight);
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
