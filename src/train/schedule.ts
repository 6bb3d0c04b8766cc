// Schedules the trainers follow over a run: which reward mode (or blend of modes) scores each episode, the KL
// coefficient's controller (fixed or adaptive, serialisable for exact resume), and the learning rate's warmup
// and decay.

import type { RewardMode } from '../reward/ladder.js';

const MODES: readonly RewardMode[] = ['partial', 'binary', 'additive'];

/**
 * Which reward mode scores each episode: one mode throughout; `from` until `atEpisode` and `to` from then
 * on; or a linear blend of the two rewards moving from all `from` at `startEpisode` to all `to` at `endEpisode`.
 */
export type RewardSchedule =
  | { kind: 'constant'; mode: RewardMode }
  | { kind: 'switch'; from: RewardMode; to: RewardMode; atEpisode: number }
  | { kind: 'blend'; from: RewardMode; to: RewardMode; startEpisode: number; endEpisode: number };

const FIELDS: Record<RewardSchedule['kind'], readonly string[]> = {
  constant: ['mode'],
  switch: ['from', 'to', 'atEpisode'],
  blend: ['from', 'to', 'startEpisode', 'endEpisode'],
};

const show = (v: unknown) => (v === undefined ? 'nothing' : JSON.stringify(v));

/**
 * Validates a reward schedule read from JSON. `where` names the value, e.g. 'config.json: reward.schedule';
 * errors name the field: `config.json: reward.schedule.atEpisode: expected a non-negative integer, got "x"`.
 * A bare mode string ("partial") is short for { kind: 'constant', mode: "partial" }.
 */
export function parseRewardSchedule(json: unknown, where: string): RewardSchedule {
  if (typeof json === 'string') return { kind: 'constant', mode: parseMode(json, where) };
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new Error(`${where}: expected a reward mode (${MODES.join(', ')}) or an object with kind constant, switch or blend, got ${show(json)}`);
  }
  const o = json as Record<string, unknown>;
  const kind = o.kind;
  if (kind !== 'constant' && kind !== 'switch' && kind !== 'blend') {
    throw new Error(`${where}.kind: expected one of constant, switch, blend, got ${show(kind)}`);
  }
  for (const k of Object.keys(o)) {
    if (k !== 'kind' && !FIELDS[kind].includes(k)) throw new Error(`${where}.${k}: unknown field for kind ${kind} (expected ${FIELDS[kind].join(', ')})`);
  }
  const mode = (f: string) => parseMode(o[f], `${where}.${f}`);
  const episode = (f: string) => {
    const v = o[f];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`${where}.${f}: expected a non-negative integer, got ${show(v)}`);
    return v;
  };
  if (kind === 'constant') return { kind, mode: mode('mode') };
  if (kind === 'switch') return { kind, from: mode('from'), to: mode('to'), atEpisode: episode('atEpisode') };
  const s: RewardSchedule = { kind, from: mode('from'), to: mode('to'), startEpisode: episode('startEpisode'), endEpisode: episode('endEpisode') };
  if (s.endEpisode <= s.startEpisode) throw new Error(`${where}.endEpisode: expected an integer greater than startEpisode (${s.startEpisode}), got ${s.endEpisode}`);
  return s;
}

function parseMode(v: unknown, where: string): RewardMode {
  if (typeof v !== 'string' || !MODES.includes(v as RewardMode)) throw new Error(`${where}: expected one of ${MODES.join(', ')}, got ${show(v)}`);
  return v as RewardMode;
}

/**
 * The reward modes that make up the reward at `episode` (counted from 0), with weights summing to 1:
 * the reward is Σ weight·R(mode). Modes with weight 0 are left out, and a mode appears at most once.
 */
export function scheduleWeights(s: RewardSchedule, episode: number): { mode: RewardMode; weight: number }[] {
  if (!(Number.isFinite(episode) && episode >= 0)) throw new Error(`scheduleWeights: episode must be a number ≥ 0, got ${episode}`);
  if (s.kind === 'constant') return [{ mode: s.mode, weight: 1 }];
  if (s.kind === 'switch') return [{ mode: episode < s.atEpisode ? s.from : s.to, weight: 1 }];
  const t = Math.min(1, Math.max(0, (episode - s.startEpisode) / (s.endEpisode - s.startEpisode)));
  if (s.from === s.to) return [{ mode: s.from, weight: 1 }];
  return [{ mode: s.from, weight: 1 - t }, { mode: s.to, weight: t }].filter((w) => w.weight > 0);
}

/** What a KL controller saves in a checkpoint: enough to continue exactly where it was. */
export type KlControllerState =
  | { kind: 'fixed'; value: number }
  | { kind: 'adaptive'; value: number; target: number; horizon: number };

/** The KL penalty's coefficient β over a run (TRL's kl_ctl). */
export interface KlController {
  readonly value: number;
  /** Adjusts β after a batch whose measured KL was `currentKl`, covering `nSteps` samples (episodes). */
  update(currentKl: number, nSteps: number): void;
  state(): KlControllerState;
}

function positive(what: string, v: number, orZero = false): void {
  if (!(Number.isFinite(v) && (orZero ? v >= 0 : v > 0))) throw new Error(`${what} must be a finite number ${orZero ? '≥' : '>'} 0, got ${v}`);
}

/** A constant β. */
export class FixedKl implements KlController {
  readonly value: number;
  constructor(value: number) {
    positive('FixedKl: value', value, true);
    this.value = value;
  }
  update(): void {}
  state(): KlControllerState { return { kind: 'fixed', value: this.value }; }
}

/**
 * Adaptive β (Ziegler et al. 2019, as TRL's AdaptiveKLController): err = clip(currentKl/target − 1, −0.2, 0.2),
 * β ← β·(1 + err·nSteps/horizon). β grows while the KL is above target and shrinks while below.
 */
export class AdaptiveKl implements KlController {
  private v: number;
  constructor(init: number, readonly target: number, readonly horizon: number) {
    positive('AdaptiveKl: init', init);
    positive('AdaptiveKl: target', target);
    positive('AdaptiveKl: horizon', horizon);
    this.v = init;
  }
  get value(): number { return this.v; }
  update(currentKl: number, nSteps: number): void {
    if (!Number.isFinite(currentKl)) throw new Error(`AdaptiveKl.update: currentKl is ${currentKl}; expected a finite number`);
    positive('AdaptiveKl.update: nSteps', nSteps, true);
    const err = Math.min(0.2, Math.max(-0.2, currentKl / this.target - 1));
    this.v *= 1 + (err * nSteps) / this.horizon;
  }
  state(): KlControllerState { return { kind: 'adaptive', value: this.v, target: this.target, horizon: this.horizon }; }
}

/** Rebuilds a controller from `state()` (e.g. read back from a checkpoint's JSON); the value is restored exactly. */
export function klControllerFromState(state: KlControllerState): KlController {
  if (state?.kind === 'fixed') return new FixedKl(state.value);
  if (state?.kind === 'adaptive') return new AdaptiveKl(state.value, state.target, state.horizon);
  throw new Error(`klControllerFromState: unknown controller state ${JSON.stringify(state)} (expected kind fixed or adaptive)`);
}

/** The learning rate's shape after warmup. */
export type LrDecay = 'constant' | 'linear' | 'cosine';

/**
 * The learning rate at optimizer step `step` (from 0): base·step/warmup during warmup (so step 0 gets 0, as
 * Hugging Face's schedulers), then base (`constant`), a linear decay, or a half cosine, reaching 0 at `total`
 * and staying there.
 */
export function linearWarmupLr(base: number, step: number, warmup: number, total: number, kind: LrDecay): number {
  positive('linearWarmupLr: base', base, true);
  if (kind !== 'constant' && kind !== 'linear' && kind !== 'cosine') throw new Error(`linearWarmupLr: unknown kind ${JSON.stringify(kind)} (expected constant, linear or cosine)`);
  if (!(Number.isInteger(step) && step >= 0)) throw new Error(`linearWarmupLr: step must be an integer ≥ 0, got ${step}`);
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new Error(`linearWarmupLr: warmup must be an integer ≥ 0, got ${warmup}`);
  if (!(Number.isInteger(total) && total >= warmup)) throw new Error(`linearWarmupLr: total must be an integer ≥ warmup (${warmup}), got ${total}`);
  if (step < warmup) return (base * step) / warmup;
  if (kind === 'constant') return base;
  if (step >= total) return 0;
  const progress = (step - warmup) / (total - warmup);
  return kind === 'linear' ? base * (1 - progress) : base * 0.5 * (1 + Math.cos(Math.PI * progress));
}
