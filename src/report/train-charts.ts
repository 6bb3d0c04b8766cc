// Charts of training runs over steps: reward terms, ladder stage shares, pass rate, KL and entropy,
// the PPO update's losses, the reward under each mode or GRPO reward function, RLOO's turn accuracies,
// response length, the SFT/pretraining loss and gradient norm, schedules and step times. Each chart appears when some run logged its fields;
// runs are overlaid, one colour each. Noisy curves are drawn thin per step under a bold moving average.

import type { Chart } from './render.js';
import { SERIES_COLORS, STAGE_COLORS, stackedAreaChart, stepLineChart, type StepPanel, type StepPoint, type StepSeries } from './svg.js';
import { numericField, type LoadedTrainingRun, type TrainingStep } from './train-load.js';

/** Ladder stages as the trainers log them in `stage_shares`. */
export const STAGE_LABELS = ['0 syntax error', '1 compiles', '2 runs', '3 prints', '4 passes ≥1'];

/** Curves longer than this are thinned (min and max of each bucket kept) before drawing. */
const MAX_DRAWN_POINTS = 1500;
/** Line styles of a panel's first, second and third metric. */
const DASHES = [undefined, '7 4', '2 3'];

/** A metric read from each step. */
interface MetricSpec {
  /** The legend's and tooltip's name (the field name, or what it is). */
  name: string;
  read: (step: TrainingStep) => number | null;
  /** Noisy per-step values: thin raw line under a bold moving average. False: sparse or scheduled values. */
  smooth: boolean;
}

interface PanelSpec {
  label: string;
  metrics: MetricSpec[];
  yIncludes?: number[];
}

interface LineChartSpec {
  id: string;
  title: string;
  panels: PanelSpec[];
}

const field = (name: string, smooth = true): MetricSpec => ({ name, read: (s) => numericField(s, name), smooth });

/** The half-width h of the centred moving average over 2h + 1 steps, about n/20 steps for a run of n. */
export function smoothingHalfWidth(stepCount: number): number {
  return Math.floor(Math.max(1, stepCount / 20) / 2);
}

/** "w = 15" when every run has the same window, else "w = 1: a; w = 3: b, c". */
function describeWindows(runs: { run: string; stepCount: number }[]): string {
  const byWindow = new Map<number, string[]>();
  for (const r of runs) {
    const w = 2 * smoothingHalfWidth(r.stepCount) + 1;
    byWindow.set(w, [...(byWindow.get(w) ?? []), r.run]);
  }
  if (byWindow.size === 1) return `w = ${[...byWindow.keys()][0]}`;
  return [...byWindow].sort(([a], [b]) => a - b).map(([w, names]) => `w = ${w}: ${names.join(', ')}`).join('; ');
}

/** Centred moving average with half-width h (the window shrinks at the ends). */
export function movingAverage(values: number[], halfWidth: number): number[] {
  const prefix = [0];
  for (const v of values) prefix.push(prefix[prefix.length - 1] + v);
  return values.map((_, i) => {
    const lo = Math.max(0, i - halfWidth);
    const hi = Math.min(values.length, i + halfWidth + 1);
    return (prefix[hi] - prefix[lo]) / (hi - lo);
  });
}

/** At most about MAX_DRAWN_POINTS points: each bucket keeps its lowest and highest value, in step order. */
function thin(points: StepPoint[]): StepPoint[] {
  if (points.length <= MAX_DRAWN_POINTS) return points;
  const bucket = Math.ceil(points.length / (MAX_DRAWN_POINTS / 2));
  const out: StepPoint[] = [];
  for (let i = 0; i < points.length; i += bucket) {
    const slice = points.slice(i, i + bucket);
    let lo = slice[0];
    let hi = slice[0];
    for (const p of slice) { if (p.y < lo.y) lo = p; if (p.y > hi.y) hi = p; }
    out.push(...(lo === hi ? [lo] : lo.x < hi.x ? [lo, hi] : [hi, lo]));
  }
  return out;
}

/** The run's points of a metric (steps where it is a number). */
function pointsOf(run: LoadedTrainingRun, metric: MetricSpec): StepPoint[] {
  const out: StepPoint[] = [];
  for (const s of run.steps) {
    const y = metric.read(s);
    if (y !== null) out.push({ x: s.step, y });
  }
  return out;
}

/** The field names matching a pattern in any step of any run, sorted, with the pattern's first group. */
function dynamicFields(runs: LoadedTrainingRun[], pattern: RegExp): { field: string; name: string }[] {
  const found = new Map<string, string>();
  for (const r of runs) for (const s of r.steps) for (const key of Object.keys(s)) {
    const m = pattern.exec(key);
    if (m && typeof s[key] === 'number') found.set(key, m[1]);
  }
  return [...found].sort(([a], [b]) => a.localeCompare(b)).map(([f, name]) => ({ field: f, name }));
}

/** The modes of `reward_weights` objects (scheduled rewards) in any step of any run. */
function rewardWeightModes(runs: LoadedTrainingRun[]): string[] {
  const modes = new Set<string>();
  for (const r of runs) for (const s of r.steps) {
    const w = s.reward_weights;
    if (w && typeof w === 'object' && !Array.isArray(w)) for (const [mode, v] of Object.entries(w)) if (typeof v === 'number') modes.add(mode);
  }
  return [...modes].sort();
}

const rewardWeight = (mode: string): MetricSpec => ({
  name: `reward_weights.${mode}`,
  read: (s) => {
    const v = (s.reward_weights as Record<string, unknown> | undefined)?.[mode];
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  },
  smooth: false,
});

/** The line charts, in report order; those no run has data for are dropped later. */
function lineChartSpecs(runs: LoadedTrainingRun[]): LineChartSpec[] {
  const rewardFns = dynamicFields(runs, /^reward[/_](.+)_mean$/);
  return [
    {
      id: 'train-reward',
      title: 'Reward per step',
      panels: [
        { label: 'R (reward_mean)', metrics: [field('reward_mean')] },
        { label: 'R_func (r_func_mean)', metrics: [field('r_func_mean')] },
        { label: 'R_sec (r_sec_mean)', metrics: [field('r_sec_mean')] },
      ],
    },
    { id: 'train-pass', title: 'All tests passed per step', panels: [{ label: 'share of samples passing all tests (pass_all_rate)', metrics: [field('pass_all_rate')], yIncludes: [0] }] },
    {
      id: 'train-kl',
      title: 'KL to the reference and entropy per step',
      panels: [
        { label: 'KL to the reference policy (kl)', metrics: [field('kl')], yIncludes: [0] },
        { label: 'Entropy (entropy)', metrics: [field('entropy')] },
      ],
    },
    {
      id: 'train-update',
      title: 'Policy update: losses, clipping, approximate KL',
      panels: [
        { label: 'Policy loss (policy_loss)', metrics: [field('policy_loss')] },
        { label: 'Value loss (value_loss)', metrics: [field('value_loss')] },
        { label: 'Clipped fraction (clip_frac)', metrics: [field('clip_frac')], yIncludes: [0] },
        { label: 'Approximate KL of the update (approx_kl)', metrics: [field('approx_kl')] },
      ],
    },
    {
      id: 'train-reward-fns',
      title: 'Mean reward under each reward mode or function per step',
      panels: rewardFns.map((f) => ({ label: `${f.name} (${f.field})`, metrics: [field(f.field)] })),
    },
    {
      id: 'train-turns',
      title: 'Two-turn accuracy and changes between turns',
      panels: [
        { label: 'Accuracy at turn 1 (acc_t1) and turn 2 (acc_t2)', metrics: [field('acc_t1'), field('acc_t2')], yIncludes: [0] },
        { label: 'Incorrect → correct (delta_i_to_c) and correct → incorrect (delta_c_to_i)', metrics: [field('delta_i_to_c'), field('delta_c_to_i')], yIncludes: [0] },
      ],
    },
    { id: 'train-length', title: 'Mean response length per step', panels: [{ label: 'tokens (response_len_mean)', metrics: [field('response_len_mean')], yIncludes: [0] }] },
    {
      id: 'train-loss',
      title: 'Training loss',
      panels: [
        { label: 'Loss', metrics: [field('loss'), field('val_loss', false), field('heldout_loss', false)] },
        { label: 'Gradient norm before clipping (grad_norm)', metrics: [field('grad_norm')], yIncludes: [0] },
      ],
    },
    {
      id: 'train-schedule',
      title: 'Schedules: learning rate, KL coefficient, reward weights',
      panels: [
        { label: 'Learning rate (lr)', metrics: [field('lr', false)], yIncludes: [0] },
        { label: 'KL coefficient (kl_coef)', metrics: [field('kl_coef', false)], yIncludes: [0] },
        ...rewardWeightModes(runs).map((mode) => ({ label: `Reward weight of ${mode} (reward_weights.${mode})`, metrics: [rewardWeight(mode)], yIncludes: [0] })),
      ],
    },
    {
      id: 'train-time',
      title: 'Seconds per step',
      panels: [
        { label: 'Sampling (time_sample_s)', metrics: [field('time_sample_s')], yIncludes: [0] },
        { label: 'Scoring (time_score_s)', metrics: [field('time_score_s')], yIncludes: [0] },
        { label: 'Training (time_train_s)', metrics: [field('time_train_s')], yIncludes: [0] },
      ],
    },
  ];
}

/** A line chart for the runs that logged its fields, or null when none did. */
function buildLineChart(spec: LineChartSpec, runs: LoadedTrainingRun[], colorOf: (run: LoadedTrainingRun) => string): Chart | null {
  const used = new Set<LoadedTrainingRun>();
  let smoothedAny = false;
  const panels: StepPanel[] = [];
  const styles = new Map<string, string | undefined>();
  for (const p of spec.panels) {
    const series: StepSeries[] = [];
    p.metrics.forEach((metric, mi) => {
      for (const run of runs) {
        const raw = pointsOf(run, metric);
        if (raw.length === 0) continue;
        used.add(run);
        const entry: StepSeries = { run: run.label, series: metric.name, color: colorOf(run), dash: DASHES[mi], raw: thin(raw) };
        if (metric.smooth) {
          const averaged = movingAverage(raw.map((q) => q.y), smoothingHalfWidth(run.steps.length));
          entry.smoothed = thin(raw.map((q, i) => ({ x: q.x, y: averaged[i] })));
          smoothedAny = true;
        }
        series.push(entry);
        if (p.metrics.length > 1) styles.set(metric.name, DASHES[mi]);
      }
    });
    if (series.length) panels.push({ label: p.label, series, yIncludes: p.yIncludes });
  }
  if (panels.length === 0) return null;
  const chartRuns = runs.filter((r) => used.has(r));
  const note = smoothedAny ? `Thin: each step; bold: centred moving average over w ≈ n/20 steps of a run of n (${describeWindows(chartRuns.map((r) => ({ run: r.label, stepCount: r.steps.length })))}).` : undefined;
  const title = smoothedAny ? `${spec.title} (thin: raw, bold: moving average)` : spec.title;
  return {
    id: spec.id,
    title,
    svg: stepLineChart({
      title,
      panels,
      runs: chartRuns.map((r) => ({ label: r.label, color: colorOf(r) })),
      styles: [...styles].map(([label, dash]) => ({ label, dash })),
      note,
    }),
  };
}

/** Stage shares over steps as stacked areas (moving average), one panel per run that logged them. */
function buildStageChart(runs: LoadedTrainingRun[]): Chart | null {
  const panels: { run: string; stepCount: number; xs: number[]; shares: number[][] }[] = [];
  for (const run of runs) {
    const xs: number[] = [];
    const rows: number[][] = [];
    for (const s of run.steps) {
      const shares = s.stage_shares;
      if (!Array.isArray(shares) || shares.length !== STAGE_LABELS.length || !shares.every((v) => typeof v === 'number' && Number.isFinite(v) && v >= 0)) continue;
      const total = (shares as number[]).reduce((a, b) => a + b, 0);
      if (!(total > 0)) continue;
      xs.push(s.step);
      rows.push((shares as number[]).map((v) => v / total));
    }
    if (xs.length === 0) continue;
    const h = smoothingHalfWidth(run.steps.length);
    const columns = STAGE_LABELS.map((_, c) => movingAverage(rows.map((r) => r[c]), h));
    const stride = Math.max(1, Math.ceil(xs.length / MAX_DRAWN_POINTS));
    const kept = xs.map((_, i) => i).filter((i) => i % stride === 0 || i === xs.length - 1);
    panels.push({ run: run.label, stepCount: run.steps.length, xs: kept.map((i) => xs[i]), shares: kept.map((i) => columns.map((col) => col[i])) });
  }
  if (panels.length === 0) return null;
  const title = 'Ladder stage shares per step (moving average)';
  return {
    id: 'train-stages',
    title,
    svg: stackedAreaChart({
      title,
      panels: panels.map(({ run, xs, shares }) => ({ run, xs, shares })),
      categories: STAGE_LABELS,
      colors: STAGE_COLORS,
      note: `Each boundary: the share of samples reaching at least that stage. Centred moving average over w ≈ n/20 steps of a run of n (${describeWindows(panels)}).`,
    }),
  };
}

/**
 * The charts for a set of training runs, overlaid one colour per run (the colour of the run's
 * position in `runs`): each chart only when some run logged its fields.
 */
export function buildTrainingCharts(runs: LoadedTrainingRun[]): Chart[] {
  const colorOf = (run: LoadedTrainingRun) => SERIES_COLORS[runs.indexOf(run) % SERIES_COLORS.length];
  const drawn = runs.filter((r) => r.steps.length > 0);
  const [reward, ...rest] = lineChartSpecs(drawn).map((spec) => buildLineChart(spec, drawn, colorOf));
  return [reward, buildStageChart(drawn), ...rest].filter((c): c is Chart => c !== null);
}
