// The trainers' losses as graph builders over engine tensors: masked means, PPO's clipped surrogate and value
// loss, the KL penalty as a loss term, and GRPO's token/sequence-level (GSPO) clipped surrogate with TRL's
// loss normalisations. Inputs are [batch, seq] with a 0/1 `mask` of response tokens; every input is first
// replaced by 0 where the mask is 0 (op.where), so garbage there (−1e9, inf, NaN) reaches no arithmetic and
// no gradient. Standard ONNX ops only: the same builders serve float32 training and float64 gradient checks.

import { add, cast, clamp, div, exp, greater, less, maximum, minimum, mean, mul, neg, numel, sub, sum, unsqueeze, where, type Tensor } from '../engine/index.js';
import type { KlKind } from './advantages.js';

/** A mask's response-token selector, its token count (at least 1) and the guarded mean over its tokens. */
interface Masking {
  keep: Tensor;
  count: Tensor;
  /** x where the mask keeps it, 0 elsewhere (broadcasting x to the mask's shape). */
  guard(x: Tensor): Tensor;
  mean(x: Tensor): Tensor;
}

function masking(mask: Tensor): Masking {
  if (mask.dtype !== 'float32' && mask.dtype !== 'float64') throw new Error(`losses: mask must be float32 or float64 (0/1), got ${mask.toString()}`);
  const keep = greater(mask, 0);
  const count = maximum(sum(mask), 1);
  const guard = (x: Tensor) => where(keep, x, 0);
  return { keep, count, guard, mean: (x) => div(sum(guard(x)), count) };
}

function check(what: string, mask: Tensor, xs: Record<string, Tensor>): void {
  for (const [name, x] of Object.entries(xs)) {
    if (x.dtype !== mask.dtype) throw new Error(`${what}: ${name} is ${x.toString()} but mask is ${mask.dtype}`);
  }
}

function checkClip(what: string, name: string, v: number): void {
  if (!(Number.isFinite(v) && v >= 0)) throw new Error(`${what}: ${name} must be a finite number ≥ 0, got ${v}`);
}

const asFloat = (b: Tensor, like: Tensor) => cast(b, like.dtype);

/** Σ x over the tokens where mask ≠ 0 (a scalar); x broadcasts to the mask's shape. */
export function maskedSum(x: Tensor, mask: Tensor): Tensor {
  check('maskedSum', mask, { x });
  return sum(masking(mask).guard(x));
}

/** Mean of x over the tokens where mask ≠ 0 (a scalar); an all-zero mask gives 0, not NaN. */
export function maskedMean(x: Tensor, mask: Tensor): Tensor {
  check('maskedMean', mask, { x });
  return masking(mask).mean(x);
}

/** The per-token KL estimator of `kind` (see advantages.ts klPerToken) on already guarded log-probs. */
function tokenKl(logp: Tensor, refLogp: Tensor, kind: KlKind): Tensor {
  const d = sub(logp, refLogp);
  if (kind === 'k1') return d;
  if (kind === 'k2') return mul(mul(d, d), 0.5);
  if (kind === 'k3') return add(sub(exp(neg(d)), 1), d);
  throw new Error(`unknown KL estimator ${JSON.stringify(kind)} (expected k1, k2 or k3)`);
}

/** PPO's policy loss and the statistics TRL logs with it (all scalars). */
export interface PpoPolicyLoss {
  loss: Tensor;
  /** Fraction of response tokens with |ratio − 1| > clip. */
  clipFrac: Tensor;
  /** Masked mean of ½(logp − oldLogp)², TRL's approx_kl. */
  approxKl: Tensor;
  ratioMean: Tensor;
}

/**
 * PPO's clipped surrogate (Schulman et al. 2017, as TRL): ratio = exp(logp − oldLogp),
 * loss = maskedMean(max(−A·ratio, −A·clip(ratio, 1 − clip, 1 + clip))). oldLogp and advantages are data
 * (graph inputs, no gradient wanted); gradients(loss, [logp]) is the policy gradient.
 */
export function ppoPolicyLoss(logp: Tensor, oldLogp: Tensor, advantages: Tensor, mask: Tensor, clip: number): PpoPolicyLoss {
  check('ppoPolicyLoss', mask, { logp, oldLogp, advantages });
  checkClip('ppoPolicyLoss', 'clip', clip);
  const m = masking(mask);
  const diff = sub(m.guard(logp), m.guard(oldLogp));
  const ratio = exp(diff);
  const A = m.guard(advantages);
  const unclipped = neg(mul(A, ratio));
  const clipped = neg(mul(A, clamp(ratio, 1 - clip, 1 + clip)));
  const outside = add(asFloat(greater(ratio, 1 + clip), ratio), asFloat(less(ratio, 1 - clip), ratio));
  return {
    loss: m.mean(maximum(unclipped, clipped)),
    clipFrac: m.mean(outside),
    approxKl: m.mean(mul(mul(diff, diff), 0.5)),
    ratioMean: m.mean(ratio),
  };
}

/**
 * PPO's clipped value loss (as TRL): ½·maskedMean(max((V − R)², (clip(V, V_old − clip, V_old + clip) − R)²)).
 * clipFrac is the fraction of tokens where the clipped term is the larger.
 */
export function clippedValueLoss(values: Tensor, oldValues: Tensor, returns: Tensor, mask: Tensor, clip: number): { loss: Tensor; clipFrac: Tensor } {
  check('clippedValueLoss', mask, { values, oldValues, returns });
  checkClip('clippedValueLoss', 'clip', clip);
  const m = masking(mask);
  const V = m.guard(values), old = m.guard(oldValues), R = m.guard(returns);
  const Vc = minimum(maximum(V, sub(old, clip)), add(old, clip));
  const square = (x: Tensor) => mul(x, x);
  const l1 = square(sub(V, R)), l2 = square(sub(Vc, R));
  return { loss: mul(m.mean(maximum(l1, l2)), 0.5), clipFrac: m.mean(asFloat(greater(l2, l1), l1)) };
}

/** The masked mean of a per-token KL estimate of KL(π‖π_ref) (k1, k2 or k3), as a loss term. */
export function klPenaltyLoss(logp: Tensor, refLogp: Tensor, mask: Tensor, kind: KlKind): Tensor {
  check('klPenaltyLoss', mask, { logp, refLogp });
  const m = masking(mask);
  return m.mean(tokenKl(m.guard(logp), m.guard(refLogp), kind));
}

/** Options of `grpoPolicyLoss`; names follow TRL's GRPOConfig. */
export interface GrpoLossOptions {
  logp: Tensor;
  oldLogp: Tensor;
  /** One advantage per sequence, [batch]. */
  advantages: Tensor;
  mask: Tensor;
  /** The ratio is clipped to [1 − clipLow, 1 + clipHigh] (TRL's epsilon and epsilon_high). */
  clipLow: number;
  clipHigh: number;
  /** 'token': a ratio per token (GRPO); 'sequence': exp of the sequence's mean log-ratio, for all its tokens (GSPO). */
  level: 'token' | 'sequence';
  /**
   * 'grpo': mean over sequences of each sequence's token mean; 'dr_grpo': Σ token losses / (batch ·
   * maxCompletionLength); 'dapo': Σ token losses / tokenCount (default: this batch's response tokens).
   */
  lossType: 'grpo' | 'dr_grpo' | 'dapo';
  /** Required for 'dr_grpo'. */
  maxCompletionLength?: number;
  /** 'dapo' normaliser, e.g. the whole batch's token count when gradients are accumulated over micro-batches. */
  tokenCount?: Tensor;
  /** A KL penalty added to each token's loss before the normalisation (TRL's beta; estimator k3 by default, as TRL). */
  kl?: { refLogp: Tensor; beta: number; kind?: KlKind };
}

/**
 * GRPO's clipped surrogate (Shao et al. 2024; GSPO, Zheng et al. 2025, at level 'sequence'), as TRL's
 * GRPOTrainer: per-token loss −min(r·A, clip(r, 1 − clipLow, 1 + clipHigh)·A) (+ β·kl), normalised by
 * `lossType`. clipFrac is TRL's clip_ratio: the fraction of tokens whose ratio is clipped on the side that
 * matters (r < 1 − clipLow with A < 0, or r > 1 + clipHigh with A > 0). kl (when asked) is its masked mean.
 */
export function grpoPolicyLoss(o: GrpoLossOptions): { loss: Tensor; clipFrac: Tensor; kl?: Tensor } {
  const { logp, oldLogp, advantages, mask } = o;
  check('grpoPolicyLoss', mask, { logp, oldLogp, advantages, ...(o.kl ? { refLogp: o.kl.refLogp } : {}), ...(o.tokenCount ? { tokenCount: o.tokenCount } : {}) });
  if (advantages.rank !== 1 || mask.rank !== 2) throw new Error(`grpoPolicyLoss: advantages must be [batch] and mask [batch, seq], got ${advantages.toString()} and ${mask.toString()}`);
  checkClip('grpoPolicyLoss', 'clipLow', o.clipLow);
  checkClip('grpoPolicyLoss', 'clipHigh', o.clipHigh);
  if (o.level !== 'token' && o.level !== 'sequence') throw new Error(`grpoPolicyLoss: unknown level ${JSON.stringify(o.level)} (expected token or sequence)`);
  const m = masking(mask);
  const lp = m.guard(logp);
  const logRatio = sub(lp, m.guard(oldLogp)); // 0 on masked tokens
  const w = o.level === 'token' ? logRatio : div(sum(logRatio, [1], true), maximum(sum(mask, [1], true), 1)); // [b, s] or [b, 1]
  const A = unsqueeze(advantages, [1]);
  const r = exp(w);
  let perToken = neg(minimum(mul(r, A), mul(clamp(r, 1 - o.clipLow, 1 + o.clipHigh), A)));
  let kl: Tensor | undefined;
  if (o.kl) {
    checkClip('grpoPolicyLoss', 'kl.beta', o.kl.beta);
    const k = tokenKl(lp, m.guard(o.kl.refLogp), o.kl.kind ?? 'k3');
    perToken = add(perToken, mul(k, o.kl.beta));
    kl = m.mean(k);
  }
  const masked = m.guard(perToken); // [b, s]
  let loss: Tensor;
  if (o.lossType === 'grpo') {
    loss = mean(div(sum(masked, [1]), maximum(sum(mask, [1]), 1)), [0]);
  } else if (o.lossType === 'dr_grpo') {
    const L = o.maxCompletionLength;
    if (!(L !== undefined && Number.isInteger(L) && L > 0)) throw new Error(`grpoPolicyLoss: lossType dr_grpo needs maxCompletionLength, a positive integer, got ${L}`);
    loss = div(sum(masked), mul(numel(mask, [0]), L));
  } else if (o.lossType === 'dapo') {
    loss = div(sum(masked), o.tokenCount ?? m.count);
  } else {
    throw new Error(`grpoPolicyLoss: unknown lossType ${JSON.stringify(o.lossType)} (expected grpo, dr_grpo or dapo)`);
  }
  const f = (b: Tensor) => asFloat(b, r);
  const clippedLow = mul(f(less(r, 1 - o.clipLow)), f(less(A, 0)));
  const clippedHigh = mul(f(greater(r, 1 + o.clipHigh)), f(greater(A, 0)));
  return { loss, clipFrac: m.mean(add(clippedLow, clippedHigh)), ...(kl ? { kl } : {}) };
}
