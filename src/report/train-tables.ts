// Summary tables of training runs: RL runs (reward and pass rate over the first and last third of
// the steps, final KL), supervised runs (loss, validation or held-out loss), and the run list.

import { numericField, type LoadedTrainingRun, type TrainingStep } from './train-load.js';
import type { Table } from './tables.js';

/** Trainers whose runs go in the RL table (others with `reward_mean` logged too). */
const RL_TRAINERS = new Set(['ppo', 'grpo', 'rloo']);

/** The number of steps in a "third": ⌊n/3⌋, at least 1. */
export function thirdLength(stepCount: number): number {
  return Math.max(1, Math.floor(stepCount / 3));
}

/** Mean of a field over some steps (those where it is a number), or null when none are. */
export function fieldMean(steps: TrainingStep[], field: string): number | null {
  let sum = 0;
  let count = 0;
  for (const s of steps) {
    const v = numericField(s, field);
    if (v !== null) { sum += v; count++; }
  }
  return count ? sum / count : null;
}

/** The last step where a field is a number, with its value, or null. */
export function lastValue(steps: TrainingStep[], field: string): { step: number; value: number } | null {
  for (let i = steps.length - 1; i >= 0; i--) {
    const v = numericField(steps[i], field);
    if (v !== null) return { step: steps[i].step, value: v };
  }
  return null;
}

/** The step where a field is lowest, with its value, or null. */
function minValue(steps: TrainingStep[], field: string): { step: number; value: number } | null {
  let best: { step: number; value: number } | null = null;
  for (const s of steps) {
    const v = numericField(s, field);
    if (v !== null && (best === null || v < best.value)) best = { step: s.step, value: v };
  }
  return best;
}

/** Field means over the first and the last third of the steps. */
export function thirdsMeans(steps: TrainingStep[], field: string): { first: number | null; last: number | null } {
  const k = thirdLength(steps.length);
  return { first: fieldMean(steps.slice(0, k), field), last: fieldMean(steps.slice(-k), field) };
}

const fixed = (v: number | null, digits: number, scale = 1) => (v === null ? 'n/a' : (v * scale).toFixed(digits));
const signed = (v: number | null, digits: number, scale = 1) => (v === null ? 'n/a' : `${v >= 0 ? '+' : '−'}${Math.abs(v * scale).toFixed(digits)}`);
const diff = (a: number | null, b: number | null) => (a === null || b === null ? null : b - a);
/** Three significant digits, without exponent notation down to 1e-6 (KL values are small). */
const sig = (v: number | null) => (v === null ? 'n/a' : String(Number(v.toPrecision(3))));
const atStep = (v: { step: number; value: number } | null, digits: number) => (v === null ? 'n/a' : `${v.value.toFixed(digits)} (step ${v.step})`);

/** True for runs summarised in the RL table. */
export function isRlRun(run: LoadedTrainingRun): boolean {
  return RL_TRAINERS.has(run.trainer) || run.steps.some((s) => numericField(s, 'reward_mean') !== null);
}

/** The RL runs' table: first-third vs last-third means of reward and pass rate, final KL. */
function rlTable(runs: LoadedTrainingRun[]): Table {
  return {
    id: 'train-rl',
    title: 'RL training: first third against last third of the steps',
    note: 'Means of the per-step values over the first and the last ⌊n/3⌋ logged steps (at least 1). R: reward_mean; All-P%: pass_all_rate in percent (Δ in points); final KL: kl at the last step that logged it.',
    headers: ['Run', 'Trainer', 'Steps', 'R first ⅓', 'R last ⅓', 'ΔR', 'All-P% first ⅓', 'All-P% last ⅓', 'ΔAll-P', 'R_sec last ⅓', 'final KL'],
    rows: runs.map((r) => {
      const reward = thirdsMeans(r.steps, 'reward_mean');
      const pass = thirdsMeans(r.steps, 'pass_all_rate');
      const sec = thirdsMeans(r.steps, 'r_sec_mean');
      return [
        r.label, r.trainer, String(r.steps.length),
        fixed(reward.first, 3), fixed(reward.last, 3), signed(diff(reward.first, reward.last), 3),
        fixed(pass.first, 1, 100), fixed(pass.last, 1, 100), signed(diff(pass.first, pass.last), 1, 100),
        sec.last === null ? 'off' : fixed(sec.last, 3),
        sig(lastValue(r.steps, 'kl')?.value ?? null),
      ];
    }),
  };
}

/** The supervised runs' table: loss over the thirds, final loss, final and best validation loss. */
function supervisedTable(runs: LoadedTrainingRun[]): Table {
  return {
    id: 'train-lm',
    title: 'Supervised training (SFT, pretraining): loss',
    note: 'Loss means over the first and the last ⌊n/3⌋ logged steps (at least 1), the loss at the last step, and the validation loss (val_loss; pretraining: heldout_loss) at its last and its lowest evaluation.',
    headers: ['Run', 'Trainer', 'Steps', 'Epochs', 'loss first ⅓', 'loss last ⅓', 'final loss', 'final val loss', 'best val loss'],
    rows: runs.map((r) => {
      const loss = thirdsMeans(r.steps, 'loss');
      const valField = r.steps.some((s) => numericField(s, 'val_loss') !== null) ? 'val_loss' : 'heldout_loss';
      const epoch = lastValue(r.steps, 'epoch');
      return [
        r.label, r.trainer, String(r.steps.length), epoch === null ? '–' : String(epoch.value),
        fixed(loss.first, 3), fixed(loss.last, 3), fixed(lastValue(r.steps, 'loss')?.value ?? null, 3),
        atStep(lastValue(r.steps, valField), 3), atStep(minValue(r.steps, valField), 3),
      ];
    }),
  };
}

/** Every training run: trainer, steps, what the reader should know about its log, folder. */
function runsTable(runs: LoadedTrainingRun[]): Table {
  return {
    id: 'train-runs',
    title: 'Training runs',
    headers: ['Run', 'Trainer', 'Steps logged', 'Step range', 'Log notes', 'Folder'],
    rows: runs.map((r) => {
      const notes = [
        r.cutLastLine ? 'last line cut short (ignored)' : '',
        r.replacedSteps ? `${r.replacedSteps} step${r.replacedSteps === 1 ? '' : 's'} logged again (later line kept)` : '',
        r.warnings.length ? `${r.warnings.length} warning${r.warnings.length === 1 ? '' : 's'}` : '',
      ].filter(Boolean);
      const range = r.steps.length ? `${r.steps[0].step}–${r.steps[r.steps.length - 1].step}` : '–';
      return [r.label, r.trainer, String(r.steps.length), range, notes.join('; ') || '–', r.dir];
    }),
  };
}

/** The training tables: RL summary and supervised summary (each when it has runs), then the run list. */
export function buildTrainingTables(runs: LoadedTrainingRun[]): Table[] {
  const rl = runs.filter(isRlRun);
  const supervised = runs.filter((r) => !isRlRun(r));
  return [...(rl.length ? [rlTable(rl)] : []), ...(supervised.length ? [supervisedTable(supervised)] : []), runsTable(runs)];
}
