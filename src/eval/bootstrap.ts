import { Rng } from '../random.js';

/** A closed interval [low, high]. */
export type Interval = [number, number];

/**
 * One statistic as a ratio over prompts: value = Σ num[i] / Σ den[i]. A rate over samples has
 * num[i] = successes among prompt i's samples and den[i] = its number of samples (0 when the rate
 * does not apply to that prompt, e.g. a pass rate on a prompt without tests); a mean has the sum of
 * values over the count; pass@k has prompt i's estimate over 1.
 */
export interface RatioStat {
  num: ArrayLike<number>;
  den: ArrayLike<number>;
}

export interface BootstrapOptions {
  /** Number of resamples (default 10,000). */
  resamples?: number;
  seed?: number;
  /** Coverage of the interval (default 0.95). */
  level?: number;
}

export const DEFAULT_RESAMPLES = 10_000;

/** The statistic on the whole sample; NaN when no prompt has a non-zero denominator. */
export function ratio(stat: RatioStat): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < stat.den.length; i++) {
    num += stat.num[i];
    den += stat.den[i];
  }
  return den === 0 ? Number.NaN : num / den;
}

/** Quantile by linear interpolation between order statistics (Hyndman–Fan type 7, R's default). */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Percentile bootstrap over prompts: each resample draws P prompt indices with replacement (one
 * seeded stream, shared by all statistics so they are resampled jointly) and recomputes every ratio.
 * Resamples in which a ratio has a zero denominator are left out of that ratio's distribution.
 * Returns one interval per statistic ([NaN, NaN] when it never applies).
 */
export function bootstrapRatios(stats: readonly RatioStat[], prompts: number, options: BootstrapOptions = {}): Interval[] {
  const replicates = resampleRatios(stats, prompts, options, (num, den) => num.map((x, s) => (den[s] === 0 ? Number.NaN : x / den[s])));
  const level = options.level ?? 0.95;
  return replicates.map((values) => percentileInterval(values, level));
}

/**
 * Paired bootstrap for the difference A − B between two runs on the same prompts (index i is the
 * same prompt in both): the same resampled indices feed both ratios. Returns the observed
 * difference, its interval, and a two-sided bootstrap p-value (twice the smaller tail share of
 * replicates at or beyond zero, capped at 1).
 */
export function pairedDifference(a: RatioStat, b: RatioStat, prompts: number, options: BootstrapOptions = {}): { diff: number; ci: Interval; p: number } {
  if (a.den.length !== prompts || b.den.length !== prompts) throw new Error(`paired bootstrap: both runs need ${prompts} prompts`);
  const [diffs] = resampleRatios([a, b], prompts, options, (num, den) => [den[0] === 0 || den[1] === 0 ? Number.NaN : num[0] / den[0] - num[1] / den[1]]);
  const finite = diffs.filter((d) => Number.isFinite(d));
  const below = finite.filter((d) => d <= 0).length / (finite.length || 1);
  const above = finite.filter((d) => d >= 0).length / (finite.length || 1);
  return { diff: ratio(a) - ratio(b), ci: percentileInterval(diffs, options.level ?? 0.95), p: Math.min(1, 2 * Math.min(below, above)) };
}

function percentileInterval(values: Float64Array, level: number): Interval {
  const finite = Float64Array.from(values.filter((v) => Number.isFinite(v))).sort();
  const tail = (1 - level) / 2;
  return [quantile(finite, tail), quantile(finite, 1 - tail)];
}

/** Draws the resamples and hands each one's sums to `reduce`; returns reduce's outputs by position. */
function resampleRatios(
  stats: readonly RatioStat[],
  prompts: number,
  options: BootstrapOptions,
  reduce: (num: number[], den: number[]) => number[],
): Float64Array[] {
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const rng = new Rng(options.seed ?? 0).fork('bootstrap');
  const nums = stats.map((s) => Float64Array.from(s.num));
  const dens = stats.map((s) => Float64Array.from(s.den));
  const counts = new Uint32Array(prompts);
  let out: Float64Array[] | undefined;
  for (let r = 0; r < resamples; r++) {
    counts.fill(0);
    for (let i = 0; i < prompts; i++) counts[rng.int(prompts)]++;
    const num = new Array<number>(stats.length).fill(0);
    const den = new Array<number>(stats.length).fill(0);
    for (let s = 0; s < stats.length; s++) {
      const ns = nums[s];
      const ds = dens[s];
      let a = 0;
      let b = 0;
      for (let i = 0; i < prompts; i++) {
        const c = counts[i];
        if (c !== 0) {
          a += c * ns[i];
          b += c * ds[i];
        }
      }
      num[s] = a;
      den[s] = b;
    }
    const values = reduce(num, den);
    out ??= values.map(() => new Float64Array(resamples));
    for (let k = 0; k < values.length; k++) out[k][r] = values[k];
  }
  return out ?? [];
}
