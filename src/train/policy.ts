// The policy's graphs: the decoder with its trainable part (LoRA A/B, or every weight for full fine-tuning,
// plus the value head) and, on top, per-token log-probabilities of given targets — the LM head and the
// log-softmax in one fused region, so [batch, seq, vocab] logits are never returned, and micro-batching
// bounds how many rows exist at once. Log-probs use logits / T, as the sampler does, so a trainer's first
// PPO ratio is 1. The same graph fed another adapter (the SFT one, or one with B = 0) is the reference
// policy: it costs no second copy of the weights.
//
// Heads: `forward` (log-probs, values, entropy), `sftStep` (masked next-token loss) and `ppoStep`
// (clipped surrogate + clipped value loss); the steps return gradients of every trainable input, summed
// over micro-batches with each micro-batch weighted by its share of the counted tokens. `grpoStep` (with
// the `grpo` option: GRPO/GSPO's loss on one advantage per sequence) weights micro-batches so that the sum
// is the whole minibatch's loss under its normaliser (see `grpoStep`).

import { compile, entropy, gradients, Graph, type Executable, type Feed, type SessionOptions, type Tensor } from '../engine/index.js';
import * as op from '../engine/ops.js';
import { appendDecoder, decoderInputs, headLogits, headLogProbs, type DecoderTensors } from '../model/decoder.js';
import { checkpointParameters, quantizedInputFeeds } from '../model/quantized.js';
import { LoraAdapter, type LoraConfig } from '../model/lora.js';
import type { Checkpoint } from '../model/weights.js';
import { chunks, setCounted, tokenBatch, type Sequence, type TokenBatch } from './batch.js';
import type { KlKind } from './advantages.js';
import { clippedValueLoss, grpoPolicyLoss, maskedMean, ppoPolicyLoss, type GrpoLossOptions } from './losses.js';

export interface PolicyGraphOptions {
  /** Train a LoRA adapter with this config (the base weights stay frozen initializers); absent: every
   * weight is a trainable input (full fine-tuning). */
  lora?: LoraConfig;
  /** LoRA dropout drawn in the graph, its keep probability fed as LORA_DROPOUT_KEEP (SFT only: RL needs
   * dropout 0 so the sampler's and the trainer's distributions are the same). */
  dropout?: boolean;
  /** Seeds the dropout masks' generators (see DecoderOptions.dropoutSeed). */
  dropoutSeed?: number;
  valueHead?: boolean;
  /** With LoRA: 'initializers' (default) bakes the frozen base weights into each session (ORT prepacks them;
   * one copy per session); 'inputs' feeds them from the checkpoint's arrays (no copy per session: sessions
   * and the sampler share the one in JS). Full fine-tuning always feeds them. */
  baseWeights?: 'initializers' | 'inputs';
  /** nbits4 base weights: baked in (default, prepacked: fast) or fed from the one JS copy ('inputs': no copy
   * in the session, dequantized every run; see DecoderOptions.nbits4As). */
  nbits4As?: 'initializers' | 'inputs';
  /** Rebuild each block's activations in the backward pass instead of keeping them (DecoderOptions.recompute):
   * less memory for one more forward of the blocks per training run. */
  recompute?: boolean;
  /** Log-probs of logits / T (the sampling temperature; default 1). */
  temperature?: number;
  /** PPO's clip ranges (default 0.2 each) and value-loss weight (default 0.1, TRL's vf_coef). */
  clip?: number;
  valueClip?: number;
  valueCoef?: number;
  /** Adds the GRPO/GSPO head (`grpoStep`) with these settings. */
  grpo?: GrpoHeadOptions;
  session?: SessionOptions;
}

/** The GRPO head's settings (grpoPolicyLoss's, TRL's names in comments). */
export interface GrpoHeadOptions {
  /** The ratio's clip range [1 − clipLow, 1 + clipHigh] (epsilon, epsilon_high). */
  clipLow: number;
  clipHigh: number;
  /** importance_sampling_level: 'token' (GRPO) or 'sequence' (GSPO). */
  level: GrpoLossOptions['level'];
  lossType: GrpoLossOptions['lossType'];
  /** dr_grpo's constant normaliser per sequence (max_completion_length). */
  maxCompletionLength?: number;
  /** KL coefficient against the reference (fed as `ref_logprobs`); 0 or absent: no KL term, no input. */
  beta?: number;
  /** The KL estimator (default k3, as TRL). */
  klKind?: KlKind;
}

/**
 * ONNX Runtime options for a trainer's sessions: `threads` (0 = all cores), worker threads that do not spin
 * between runs (the sampler's JS work shares the cores). (PolicyGraph turns ORT's memory arena off for its
 * gradient runs at scale; big baked weights go to sessions as external data by default, see compile.)
 */
export function trainerSession(threads: number): SessionOptions {
  return { threads: threads || undefined, spinning: false };
}

/**
 * Past this many parameters (1 GiB in float32), a gradient run that keeps every block's activations runs
 * without ORT's memory arena, which would keep that run's peak reserved (measured at the DeepSeek-Coder-1.3B
 * shape: 2.7 GiB more peak RSS, and slower updates). Everywhere else the arena is the lower peak: without it
 * glibc keeps freed blocks (its mmap threshold grows as they are freed) — measured at the same shape, a
 * LoRA step with recomputation 2.30 GiB with the arena, 3.39 without (int8); the sampler's 512-token
 * prefill 2.64 against 3.65 GiB (nbits4) and 10.76 against 10.86 GiB (float32).
 */
const NO_ARENA_PAST_PARAMETERS = 2 ** 28;

/** The adapter an RL run trains: a copy of `start` (the reference, an init folder's, or a fresh one) with
 * dropout 0, since the sampler applies none and the trainer's log-probs must be the sampler's. */
export function trainedAdapter(start: LoraAdapter): LoraAdapter {
  return new LoraAdapter({ ...start.config, dropout: 0 }, start.model, [...start.clone().pairs.values()]);
}

/** Feeds that make the policy graph the frozen reference: the reference adapter, or without one the
 * policy's A with B = 0 (the base model itself) — no second copy of the weights. */
export function referenceFeeds(reference: LoraAdapter | null, policy: LoraAdapter): Record<string, Float32Array> {
  if (reference) return reference.feeds();
  return Object.fromEntries(policy.parameters().map((p) => [p.name, p.name.endsWith('lora_B') ? new Float32Array(p.data.length) : p.data]));
}

/** Trainable arrays by graph input name (LoRA A/B, value head, or base weights), fed without a copy. */
export type Params = Readonly<Record<string, Float32Array>>;

export interface ForwardResult {
  /** [batch, seq] log-probs of each target (row-major over the batch's padded layout). */
  logprobs: Float32Array;
  values?: Float32Array;
  entropy?: Float32Array;
}

export interface StepStats {
  loss: number;
  [name: string]: number;
}

export class PolicyGraph {
  readonly graph: Graph;
  readonly t: DecoderTensors;
  /** Names of the trainable inputs, in a stable order. */
  readonly trainable: string[];
  private readonly exes = new Map<string, Promise<Executable>>();
  /** The frozen base weights when they are fed (baseWeights 'inputs' with LoRA). */
  private readonly baseFeeds: Record<string, Feed>;

  constructor(readonly checkpoint: Checkpoint, readonly opts: PolicyGraphOptions = {}) {
    if (!opts.lora && checkpoint.quantized?.size) throw new Error('PolicyGraph: a quantized base is frozen; train it with LoRA (full fine-tuning needs float weights)');
    const g = new Graph({ name: 'policy', contribOps: true });
    const c = checkpoint.config;
    this.t = appendDecoder(g, checkpoint, decoderInputs(g, c, false), {
      lora: opts.lora, dropout: opts.dropout && !!opts.lora && opts.lora.dropout > 0, dropoutSeed: opts.dropoutSeed, valueHead: opts.valueHead,
      weightsAs: opts.lora && opts.baseWeights !== 'inputs' ? 'initializers' : 'inputs', nbits4As: opts.nbits4As, recompute: opts.recompute,
    });
    // LoRA over fed base weights: the base is still frozen (no gradient, not a parameter).
    const frozenFed = opts.lora && opts.baseWeights === 'inputs';
    if (frozenFed) for (const name of checkpoint.weights.keys()) this.t.trainable.delete(name);
    this.baseFeeds = frozenFed ? Object.fromEntries([...checkpoint.weights].map(([name, w]) => [name, { data: w.data, dims: w.shape }])) : {};
    const targets = g.input('targets', 'int64', ['batch', 'seq']);
    const T = opts.temperature ?? 1;
    const h = T === 1 ? this.t.hidden : op.mul(this.t.hidden, 1 / T);
    const logprobs = headLogProbs(this.t, h, targets);
    g.output('logprobs', logprobs);
    g.output('entropy', entropy(headLogits(this.t, h)));
    if (this.t.values) g.output('values', this.t.values);
    this.trainable = [...this.t.trainable.keys()];
    const params = [...this.t.trainable.values()];
    const mask = g.input('loss_mask', 'float32', ['batch', 'seq']);

    // SFT: mean negative log-likelihood of the counted targets.
    const nll = maskedMean(op.neg(logprobs), mask);
    g.output('sft_loss', nll);
    const lmParams = params.filter((p) => !p.name.startsWith('v_head.'));
    gradients(nll, lmParams).forEach((d, i) => g.output(`sft_grad:${lmParams[i].name}`, d));

    // PPO: clipped surrogate + value-coef × clipped value loss.
    const oldLogprobs = g.input('old_logprobs', 'float32', ['batch', 'seq']);
    const advantages = g.input('advantages', 'float32', ['batch', 'seq']);
    const pg = ppoPolicyLoss(logprobs, oldLogprobs, advantages, mask, opts.clip ?? 0.2);
    g.output('pg_loss', pg.loss); g.output('clip_frac', pg.clipFrac); g.output('approx_kl', pg.approxKl); g.output('ratio_mean', pg.ratioMean);
    let loss = pg.loss;
    if (this.t.values) {
      const oldValues = g.input('old_values', 'float32', ['batch', 'seq']);
      const returns = g.input('returns', 'float32', ['batch', 'seq']);
      const vf = clippedValueLoss(this.t.values, oldValues, returns, mask, opts.valueClip ?? 0.2);
      g.output('vf_loss', vf.loss); g.output('vf_clip_frac', vf.clipFrac);
      loss = op.add(loss, op.mul(vf.loss, opts.valueCoef ?? 0.1));
    }
    g.output('ppo_loss', loss);
    gradients(loss, params).forEach((d, i) => g.output(`ppo_grad:${params[i].name}`, d));
    if (opts.grpo) appendGrpoHead(g, opts.grpo, logprobs, oldLogprobs, mask, lmParams);
    // int8 quantized weights are always fed; nbits4 ones when asked.
    Object.assign(this.baseFeeds, quantizedInputFeeds(checkpoint, { nbits4: opts.nbits4As === 'inputs' }));
    this.graph = g;
  }

  private exe(outputs: string[]): Promise<Executable> {
    const key = outputs.join('\n');
    let e = this.exes.get(key);
    if (!e) {
      const keepsActivations = outputs.some((o) => o.includes('_grad:')) && !this.opts.recompute && checkpointParameters(this.checkpoint) > NO_ARENA_PAST_PARAMETERS;
      e = compile(this.graph, outputs, keepsActivations ? { ...this.opts.session, memoryArena: false } : this.opts.session);
      this.exes.set(key, e);
    }
    return e;
  }

  private batchFeeds(b: TokenBatch): Record<string, Feed> {
    const dims = [b.batch, b.seq];
    return {
      ...this.baseFeeds,
      input_ids: { data: b.ids, dims }, position_ids: { data: b.positions, dims }, targets: { data: b.targets, dims },
      attn_bias: { data: b.attnBias, dims: [b.batch, 1, 1, b.seq, b.seq] }, loss_mask: { data: b.mask, dims },
    };
  }

  /** Log-probs (and values, entropy) for one batch, computed `microBatch` rows at a time. */
  async forward(batch: TokenBatch, params: Params, o: { values?: boolean; entropy?: boolean; microBatch?: number } = {}): Promise<ForwardResult> {
    const outputs = ['logprobs', ...(o.values && this.t.values ? ['values'] : []), ...(o.entropy ? ['entropy'] : [])];
    const exe = await this.exe(outputs);
    const res: ForwardResult = { logprobs: new Float32Array(batch.batch * batch.seq) };
    if (outputs.includes('values')) res.values = new Float32Array(batch.batch * batch.seq);
    if (o.entropy) res.entropy = new Float32Array(batch.batch * batch.seq);
    const mb = o.microBatch ?? batch.batch;
    for (let r0 = 0; r0 < batch.batch; r0 += mb) {
      const sub = sliceRows(batch, r0, Math.min(batch.batch, r0 + mb));
      const out = await exe.run({ ...this.batchFeeds(sub), ...params });
      const at = r0 * batch.seq;
      res.logprobs.set(out.logprobs.data as Float32Array, at);
      if (res.values) res.values.set(out.values.data as Float32Array, at);
      if (res.entropy) res.entropy.set(out.entropy.data as Float32Array, at);
    }
    return res;
  }

  /**
   * Gradients of the masked mean NLL over the counted targets of `batches` (micro-batches, e.g. packed
   * rows; the value head is not trained), with extra feeds per batch (LoRA dropout's keep probability).
   */
  async sftStep(batches: readonly TokenBatch[], params: Params, extraFeeds?: (b: TokenBatch) => Record<string, Feed>): Promise<StepResult> {
    const names = this.trainable.filter((n) => !n.startsWith('v_head.'));
    const exe = await this.exe(['sft_loss', ...names.map((n) => `sft_grad:${n}`)]);
    return accumulate(batches, names, 'sft_grad:', ['sft_loss'], (b) => exe.run({ ...this.batchFeeds(b), ...params, ...(extraFeeds ? extraFeeds(b) : {}) }));
  }

  /** The masked mean NLL of `batches` (validation), without gradients (feed dropout's keep probability 1). */
  async sftLoss(batches: readonly TokenBatch[], params: Params, extraFeeds?: (b: TokenBatch) => Record<string, Feed>): Promise<number> {
    const exe = await this.exe(['sft_loss']);
    const total = batches.reduce((s, b) => s + b.counted, 0);
    let loss = 0;
    for (const b of batches) {
      if (b.counted) loss += (b.counted / total) * ((await exe.run({ ...this.batchFeeds(b), ...params, ...(extraFeeds ? extraFeeds(b) : {}) })).sft_loss.data as Float32Array)[0];
    }
    return loss;
  }

  /**
   * Gradients of the PPO loss over sequences with their per-token old log-probs, advantages, old values and
   * returns (each a [counted tokens] array per sequence, in order), `microBatch` sequences at a time. Pad
   * to the rollout batch's length (`padTo`) so each row's log-probs are bit-identical to the old ones.
   */
  async ppoStep(items: readonly PpoItem[], params: Params, o: { microBatch?: number; padId?: number; padTo?: number } = {}): Promise<StepResult> {
    const statNames = ['ppo_loss', 'pg_loss', 'clip_frac', 'approx_kl', 'ratio_mean', ...(this.t.values ? ['vf_loss', 'vf_clip_frac'] : [])];
    const exe = await this.exe([...statNames, ...this.trainable.map((n) => `ppo_grad:${n}`)]);
    const groups = chunks(items, o.microBatch ?? items.length);
    const batches = groups.map((rows) => tokenBatch(rows, o.padId ?? 0, o.padTo ?? 0));
    return accumulate(batches, this.trainable, 'ppo_grad:', statNames, (b, k) => {
      const dims = [b.batch, b.seq];
      const feed = (pick: (it: PpoItem) => ArrayLike<number>) => {
        const a = new Float32Array(b.batch * b.seq);
        groups[k].forEach((it, r) => setCounted(b, a, r, pick(it)));
        return { data: a, dims };
      };
      return exe.run({
        ...this.batchFeeds(b), ...params,
        old_logprobs: feed((it) => it.oldLogprobs), advantages: feed((it) => it.advantages),
        ...(this.t.values ? { old_values: feed((it) => it.oldValues!), returns: feed((it) => it.returns!) } : {}),
      });
    });
  }

  /**
   * Gradients of the GRPO/GSPO loss (the `grpo` option's settings) over sequences with their per-token old
   * (and, with β > 0, reference) log-probs and one advantage each, `microBatch` sequences at a time. The sum
   * over micro-batches is the whole minibatch's loss: for 'dapo' every micro-batch is normalised by the
   * minibatch's token count (fed as `token_count`) and weighs 1; for 'grpo' and 'dr_grpo' (means over
   * sequences) a micro-batch weighs its share of the sequences. Statistics: `grpo_loss` (weighted as the
   * gradient), token means `clip_frac`, `ratio_mean` and, with β > 0, `kl`. Pad to the rollout batch's
   * length (`padTo`) so the first update's ratio is exactly 1.
   */
  async grpoStep(items: readonly GrpoItem[], params: Params, o: { microBatch?: number; padId?: number; padTo?: number } = {}): Promise<StepResult> {
    const head = this.opts.grpo;
    if (!head) throw new Error('grpoStep: this PolicyGraph was built without the grpo option');
    const withKl = (head.beta ?? 0) > 0;
    const names = this.trainable.filter((n) => !n.startsWith('v_head.'));
    const stats: WeightedStat[] = [
      { name: 'loss', output: 'grpo_loss', weight: 'loss' }, { name: 'clip_frac', output: 'grpo_clip_frac', weight: 'tokens' },
      { name: 'ratio_mean', output: 'grpo_ratio_mean', weight: 'tokens' }, ...(withKl ? [{ name: 'kl', output: 'grpo_kl', weight: 'tokens' } as const] : []),
    ];
    const exe = await this.exe([...stats.map((st) => st.output), ...names.map((n) => `grpo_grad:${n}`)]);
    const groups = chunks(items, o.microBatch ?? items.length);
    const batches = groups.map((rows) => tokenBatch(rows, o.padId ?? 0, o.padTo ?? 0));
    const tokens = batches.reduce((s, b) => s + b.counted, 0);
    const lossWeight = head.lossType === 'dapo' ? { of: () => 1, total: 1 } : { of: (b: TokenBatch) => b.batch, total: items.length };
    return accumulateWeighted(batches, names, 'grpo_grad:', stats, lossWeight, (b, k) => {
      const dims = [b.batch, b.seq];
      const feed = (pick: (it: GrpoItem) => ArrayLike<number>) => {
        const a = new Float32Array(b.batch * b.seq);
        groups[k].forEach((it, r) => setCounted(b, a, r, pick(it)));
        return { data: a, dims };
      };
      return exe.run({
        ...this.batchFeeds(b), ...params,
        old_logprobs: feed((it) => it.oldLogprobs),
        seq_advantages: { data: Float32Array.from(groups[k], (it) => it.advantage), dims: [b.batch] },
        ...(head.lossType === 'dapo' ? { token_count: { data: Float32Array.of(tokens), dims: [] } } : {}),
        ...(withKl ? { ref_logprobs: feed((it) => { if (!it.refLogprobs) throw new Error('grpoStep: β > 0 needs refLogprobs on every item'); return it.refLogprobs; }) } : {}),
      });
    });
  }
}

/** The GRPO head: inputs `seq_advantages` [batch], `token_count` (dapo), `ref_logprobs` (β > 0); outputs
 * `grpo_loss`, `grpo_clip_frac`, `grpo_ratio_mean`, `grpo_kl` (β > 0) and `grpo_grad:<name>`. */
function appendGrpoHead(g: Graph, o: GrpoHeadOptions, logprobs: Tensor, oldLogprobs: Tensor, mask: Tensor, params: readonly Tensor[]): void {
  const beta = o.beta ?? 0;
  const refLogp = beta > 0 ? g.input('ref_logprobs', 'float32', ['batch', 'seq']) : null;
  const r = grpoPolicyLoss({
    logp: logprobs, oldLogp: oldLogprobs, advantages: g.input('seq_advantages', 'float32', ['batch']), mask,
    clipLow: o.clipLow, clipHigh: o.clipHigh, level: o.level, lossType: o.lossType, maxCompletionLength: o.maxCompletionLength,
    ...(o.lossType === 'dapo' ? { tokenCount: g.input('token_count', 'float32', []) } : {}),
    ...(refLogp ? { kl: { refLogp, beta, kind: o.klKind ?? 'k3' } } : {}),
  });
  g.output('grpo_loss', r.loss);
  g.output('grpo_clip_frac', r.clipFrac);
  g.output('grpo_ratio_mean', maskedMean(op.exp(op.sub(logprobs, oldLogprobs)), mask));
  if (r.kl) g.output('grpo_kl', r.kl);
  gradients(r.loss, params).forEach((d, i) => g.output(`grpo_grad:${params[i].name}`, d));
}

/** A statistic (graph output → name) and how micro-batches weigh it: as the loss, or by their share of the tokens. */
interface WeightedStat {
  name: string;
  output: string;
  weight: 'loss' | 'tokens';
}

export interface StepResult {
  /** Gradients by trainable input name (the weighted sum over micro-batches). */
  grads: Map<string, Float32Array>;
  /** Each statistic's token-weighted mean over micro-batches; `loss` is the first. */
  stats: StepStats;
  counted: number;
}

/** One sequence for a GRPO update: its tokens, per-counted-token old (and reference) log-probs, its advantage. */
export interface GrpoItem extends Sequence {
  oldLogprobs: ArrayLike<number>;
  advantage: number;
  /** Needed when the head's β > 0. */
  refLogprobs?: ArrayLike<number>;
}

/** One sequence for a PPO update: its tokens and per-counted-token arrays. */
export interface PpoItem extends Sequence {
  oldLogprobs: ArrayLike<number>;
  advantages: ArrayLike<number>;
  oldValues?: ArrayLike<number>;
  returns?: ArrayLike<number>;
}

async function accumulate(batches: readonly TokenBatch[], names: readonly string[], prefix: string, statNames: readonly string[],
  run: (b: TokenBatch, k: number) => Promise<Record<string, { data: unknown }>>): Promise<StepResult> {
  const total = batches.reduce((s, b) => s + b.counted, 0);
  if (total === 0) throw new Error('a training step with no counted tokens (every response is empty)');
  const grads = new Map<string, Float32Array>();
  const stats: Record<string, number> = Object.fromEntries(statNames.map((n) => [n, 0]));
  for (let k = 0; k < batches.length; k++) {
    const b = batches[k];
    if (b.counted === 0) continue;
    const w = b.counted / total;
    const out = await run(b, k);
    for (const n of statNames) stats[n] += w * (out[n].data as Float32Array)[0];
    for (const n of names) {
      const g = out[`${prefix}${n}`].data as Float32Array;
      const acc = grads.get(n);
      if (!acc) grads.set(n, w === 1 ? g : scaled(g, w));
      else for (let i = 0; i < g.length; i++) acc[i] += w * g[i];
    }
  }
  return { grads, stats: { loss: stats[statNames[0]], ...stats }, counted: total };
}

/**
 * Gradients summed over micro-batches, micro-batch k weighted by lossWeight.of(batch k) / lossWeight.total;
 * each statistic weighted the same way ('loss') or by the batch's share of the counted tokens ('tokens'),
 * summed with the integer numerators and divided once (a statistic equal in every micro-batch comes out
 * exactly); `loss` is the first statistic. Micro-batches without counted tokens add nothing and are not run.
 */
async function accumulateWeighted(batches: readonly TokenBatch[], names: readonly string[], prefix: string, statList: readonly WeightedStat[],
  lossWeight: { of: (b: TokenBatch) => number; total: number }, run: (b: TokenBatch, k: number) => Promise<Record<string, { data: unknown }>>): Promise<StepResult> {
  const total = batches.reduce((s, b) => s + b.counted, 0);
  if (total === 0) throw new Error('a training step with no counted tokens (every response is empty)');
  const grads = new Map<string, Float32Array>();
  const sums: Record<string, number> = Object.fromEntries(statList.map((st) => [st.name, 0]));
  for (let k = 0; k < batches.length; k++) {
    const b = batches[k];
    if (b.counted === 0) continue;
    const w = lossWeight.of(b) / lossWeight.total;
    const out = await run(b, k);
    for (const st of statList) sums[st.name] += (st.weight === 'loss' ? lossWeight.of(b) : b.counted) * (out[st.output].data as Float32Array)[0];
    for (const n of names) {
      const g = out[`${prefix}${n}`].data as Float32Array;
      const acc = grads.get(n);
      if (!acc) grads.set(n, w === 1 ? g : scaled(g, w));
      else for (let i = 0; i < g.length; i++) acc[i] += w * g[i];
    }
  }
  const stats = Object.fromEntries(statList.map((st) => [st.name, sums[st.name] / (st.weight === 'loss' ? lossWeight.total : total)]));
  return { grads, stats: { loss: stats[statList[0].name], ...stats }, counted: total };
}

function scaled(g: Float32Array, w: number): Float32Array {
  const out = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) out[i] = w * g[i];
  return out;
}

/** Rows [r0, r1) of a batch (same padded length). */
export function sliceRows(b: TokenBatch, r0: number, r1: number): TokenBatch {
  if (r0 === 0 && r1 === b.batch) return b;
  const S = b.seq, n = r1 - r0;
  const mask = b.mask.slice(r0 * S, r1 * S);
  return {
    batch: n, seq: S, ids: b.ids.slice(r0 * S, r1 * S), positions: b.positions.slice(r0 * S, r1 * S),
    attnBias: b.attnBias.slice(r0 * S * S, r1 * S * S), targets: b.targets.slice(r0 * S, r1 * S), mask,
    pad: b.pad.slice(r0, r1), counted: mask.reduce((s, x) => s + x, 0),
  };
}

export type { Tensor };
