// The trainers' advantage math, in plain JS doubles: GAE and whitening (PPO), per-token KL estimators and
// PPO's KL-shaped rewards, group-normalised (GRPO) and leave-one-out (RLOO) advantages, and the accumulated
// multi-turn reward (COCOS). Pure functions on arrays; masks are expressed by passing only the response tokens.

/** Which Monte-Carlo KL estimator (Schulman, "Approximating KL divergence", 2020). */
export type KlKind = 'k1' | 'k2' | 'k3';

/** How GRPO scales a reward's deviation from its group mean: by the group's std, the batch's, or not at all. */
export type AdvantageScale = 'group' | 'batch' | 'none';

function checkFinite(xs: ArrayLike<number>, what: string): void {
  for (let i = 0; i < xs.length; i++) {
    if (!Number.isFinite(xs[i])) throw new Error(`${what}[${i}] is ${xs[i]}; expected a finite number`);
  }
}

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>, what: string): void {
  if (a.length !== b.length) throw new Error(`${what}: lengths differ (${a.length} vs ${b.length})`);
}

/**
 * Generalised advantage estimation (Schulman et al. 2016) over one response, as TRL's PPO computes it:
 * δ_t = r_t + γ·V_{t+1} − V_t with V after the last token 0, A_t = δ_t + γλ·A_{t+1}, returns = A + V.
 */
export function gae(rewards: ArrayLike<number>, values: ArrayLike<number>, gamma: number, lambda: number): { advantages: Float64Array; returns: Float64Array } {
  checkSameLength(rewards, values, 'gae');
  checkFinite(rewards, 'gae: rewards');
  checkFinite(values, 'gae: values');
  if (!Number.isFinite(gamma) || !Number.isFinite(lambda)) throw new Error(`gae: gamma and lambda must be finite, got ${gamma}, ${lambda}`);
  const n = rewards.length;
  const advantages = new Float64Array(n), returns = new Float64Array(n);
  let last = 0;
  for (let t = n - 1; t >= 0; t--) {
    const next = t < n - 1 ? values[t + 1] : 0;
    last = rewards[t] + gamma * next - values[t] + gamma * lambda * last;
    advantages[t] = last;
    returns[t] = last + values[t];
  }
  return { advantages, returns };
}

/**
 * Whitens the elements of all sequences together (TRL's masked_whiten; ragged arrays are the mask):
 * (x − mean)/sqrt(var + 1e-8) with the unbiased variance (n − 1, as torch.var). With `shiftMean: false`
 * the mean is added back. One element has no variance: it becomes 0 (shiftMean) or stays as it is.
 * No elements at all gives empty copies.
 */
export function whiten(seqs: readonly ArrayLike<number>[], opts: { shiftMean?: boolean } = {}): Float64Array[] {
  const shiftMean = opts.shiftMean ?? true;
  seqs.forEach((s, i) => checkFinite(s, `whiten: seqs[${i}]`));
  const n = seqs.reduce((c, s) => c + s.length, 0);
  if (n < 2) return seqs.map((s) => Float64Array.from(s, (x) => (shiftMean ? 0 : x)));
  let total = 0;
  for (const s of seqs) for (let i = 0; i < s.length; i++) total += s[i];
  const mean = total / n;
  let sq = 0;
  for (const s of seqs) for (let i = 0; i < s.length; i++) sq += (s[i] - mean) ** 2;
  const inv = 1 / Math.sqrt(sq / (n - 1) + 1e-8);
  return seqs.map((s) => Float64Array.from(s, (x) => (x - mean) * inv + (shiftMean ? 0 : mean)));
}

/**
 * Per-token KL(π‖π_ref) estimates from log-probs of tokens sampled from π: k1 = logp − ref,
 * k2 = ½(logp − ref)², k3 = exp(ref − logp) − 1 − (ref − logp) (unbiased and ≥ 0).
 */
export function klPerToken(logp: ArrayLike<number>, refLogp: ArrayLike<number>, kind: KlKind): Float64Array {
  checkSameLength(logp, refLogp, 'klPerToken');
  checkFinite(logp, 'klPerToken: logp');
  checkFinite(refLogp, 'klPerToken: refLogp');
  const out = new Float64Array(logp.length);
  for (let i = 0; i < out.length; i++) {
    const d = logp[i] - refLogp[i];
    if (kind === 'k1') out[i] = d;
    else if (kind === 'k2') out[i] = 0.5 * d * d;
    else if (kind === 'k3') out[i] = Math.exp(-d) - 1 + d;
    else throw new Error(`klPerToken: unknown estimator ${JSON.stringify(kind)} (expected k1, k2 or k3)`);
  }
  return out;
}

/**
 * PPO's per-token rewards for one response (Ziegler et al. 2019, as TRL): −klCoef·kl_t at each token, and the
 * sequence's `score` added at the last token. Returns the KL estimates too, for logging.
 */
export function ppoTokenRewards(score: number, logp: ArrayLike<number>, refLogp: ArrayLike<number>, klCoef: number, kind: KlKind): { rewards: Float64Array; kl: Float64Array } {
  if (!Number.isFinite(score)) throw new Error(`ppoTokenRewards: score is ${score}; expected a finite number`);
  if (!Number.isFinite(klCoef)) throw new Error(`ppoTokenRewards: klCoef is ${klCoef}; expected a finite number`);
  const kl = klPerToken(logp, refLogp, kind);
  const rewards = kl.map((k) => -klCoef * k);
  if (rewards.length > 0) rewards[rewards.length - 1] += score;
  return { rewards, kl };
}

function checkRewards(rewards: readonly number[], what: string): void {
  checkFinite(rewards, `${what}: rewards`);
}

function checkGroups(n: number, size: number, what: string, name: string): void {
  if (!Number.isInteger(size) || size < 2) throw new Error(`${what}: ${name} must be an integer ≥ 2 (a group needs a baseline), got ${size}`);
  if (n % size !== 0) throw new Error(`${what}: ${n} rewards are not a whole number of groups of ${size}`);
}

/** Mean and unbiased standard deviation (torch.std) of xs[from, to). */
function meanStd(xs: readonly number[], from: number, to: number): { mean: number; std: number } {
  const n = to - from;
  let s = 0;
  for (let i = from; i < to; i++) s += xs[i];
  const mean = s / n;
  let sq = 0;
  for (let i = from; i < to; i++) sq += (xs[i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(sq / (n - 1)) : 0 };
}

/**
 * GRPO advantages (as TRL's GRPOTrainer): each reward minus its group's mean, divided by std + 1e-4, where std
 * is the group's (`group`), the whole batch's (`batch`), both unbiased, or no division at all (`none`, Dr. GRPO).
 * `rewards` are laid out group after group: [g0 s0, g0 s1, …, g1 s0, …].
 */
export function groupAdvantages(rewards: readonly number[], groupSize: number, scale: AdvantageScale): Float64Array {
  checkRewards(rewards, 'groupAdvantages');
  checkGroups(rewards.length, groupSize, 'groupAdvantages', 'groupSize');
  if (scale !== 'group' && scale !== 'batch' && scale !== 'none') throw new Error(`groupAdvantages: unknown scale ${JSON.stringify(scale)} (expected group, batch or none)`);
  const out = new Float64Array(rewards.length);
  const batchStd = meanStd(rewards, 0, rewards.length).std;
  for (let g = 0; g < rewards.length; g += groupSize) {
    const { mean, std } = meanStd(rewards, g, g + groupSize);
    const d = scale === 'group' ? std + 1e-4 : scale === 'batch' ? batchStd + 1e-4 : 1;
    for (let i = g; i < g + groupSize; i++) out[i] = (rewards[i] - mean) / d;
  }
  return out;
}

/**
 * RLOO advantages (Ahmadian et al. 2024): each reward minus the mean of the other k − 1 rewards in its group.
 * Groups of k are laid out one after another, as in `groupAdvantages`.
 */
export function leaveOneOutAdvantages(rewards: readonly number[], k: number): Float64Array {
  checkRewards(rewards, 'leaveOneOutAdvantages');
  checkGroups(rewards.length, k, 'leaveOneOutAdvantages', 'k');
  const out = new Float64Array(rewards.length);
  for (let g = 0; g < rewards.length; g += k) {
    let s = 0;
    for (let i = g; i < g + k; i++) s += rewards[i];
    for (let i = g; i < g + k; i++) out[i] = rewards[i] - (s - rewards[i]) / (k - 1);
  }
  return out;
}

/**
 * The accumulated reward of a multi-turn episode (COCOS): γ^(T−1)·r_1 + Σ_{t=2..T} γ^(T−t)·(r_t − r_{t−1}),
 * so each turn is credited with its improvement, later turns weighted more. With γ = 1 it is r_T.
 */
export function accumulatedReward(turnRewards: readonly number[], gamma: number): number {
  const T = turnRewards.length;
  if (T === 0) throw new Error('accumulatedReward: an episode needs at least one turn');
  checkFinite(turnRewards, 'accumulatedReward: turnRewards');
  if (!(gamma >= 0 && gamma <= 1)) throw new Error(`accumulatedReward: gamma must be in [0, 1], got ${gamma}`);
  let r = gamma ** (T - 1) * turnRewards[0];
  for (let t = 2; t <= T; t++) r += gamma ** (T - t) * (turnRewards[t - 1] - turnRewards[t - 2]);
  return r;
}
