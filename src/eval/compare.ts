import { pairedDifference, type BootstrapOptions, type Interval, type RatioStat } from './bootstrap.js';
import { groupByPrompt, round } from './metrics.js';
import type { SampleRecord } from './record.js';
import { SEVERITY_WEIGHT } from '../reward/security.js';

/** The metrics a paired comparison reports (rates in percentage points, rewards in reward units). */
export const PAIRED_METRICS = ['syn_pct', 'pass1_pct', 'allpass_pct', 'secclean_pct', 'mean_r'] as const;
export type PairedMetric = (typeof PAIRED_METRICS)[number];

export interface PairedResult {
  /** A's value − B's value. */
  diff: number | null;
  ci: Interval | null;
  /** Two-sided bootstrap p-value for "no difference". */
  p: number | null;
}

function stat(groups: SampleRecord[][], metric: PairedMetric): RatioStat {
  const rate = (hit: (r: SampleRecord) => boolean, applies: (r: SampleRecord) => boolean = () => true): RatioStat => ({
    num: groups.map((g) => g.filter((r) => applies(r) && hit(r)).length),
    den: groups.map((g) => g.filter(applies).length),
  });
  const hasTests = (r: SampleRecord) => r.tests_total > 0;
  switch (metric) {
    case 'syn_pct': return rate((r) => r.syntax_ok);
    case 'pass1_pct': return rate((r) => r.tests_passed > 0, hasTests);
    case 'allpass_pct': return rate((r) => r.tests_passed === r.tests_total, hasTests);
    case 'secclean_pct': return rate((r) => r.syntax_ok && r.findings.every((f) => SEVERITY_WEIGHT[f.severity] === 0));
    case 'mean_r': return { num: groups.map((g) => g.reduce((s, r) => s + r.reward, 0)), den: groups.map((g) => g.length) };
  }
}

/**
 * Paired bootstrap of A − B for two runs over the same prompts: each resample draws prompts once
 * and uses them for both runs, so the prompt-to-prompt variation common to both cancels. Refuses
 * runs whose prompt sets differ.
 */
export function comparePaired(
  promptIds: readonly string[],
  a: readonly SampleRecord[],
  b: readonly SampleRecord[],
  options: BootstrapOptions = {},
): Record<PairedMetric, PairedResult> {
  const ga = groupByPrompt(promptIds, a);
  const gb = groupByPrompt(promptIds, b);
  const idsA = ga.map((g) => g[0].problem_id).join('\n');
  const idsB = gb.map((g) => g[0].problem_id).join('\n');
  if (ga.length !== promptIds.length || gb.length !== promptIds.length || idsA !== idsB) {
    throw new Error(`paired comparison needs results for the same ${promptIds.length} prompts in both runs (got ${ga.length} and ${gb.length})`);
  }
  const out = {} as Record<PairedMetric, PairedResult>;
  for (const metric of PAIRED_METRICS) {
    const scale = metric === 'mean_r' ? 1 : 100;
    const sa = stat(ga, metric);
    const sb = stat(gb, metric);
    const applies = Array.from(sa.den).some((d, i) => d > 0 && sb.den[i] > 0);
    if (!applies) {
      out[metric] = { diff: null, ci: null, p: null };
      continue;
    }
    const r = pairedDifference(sa, sb, promptIds.length, options);
    out[metric] = { diff: round(scale * r.diff), ci: [round(scale * r.ci[0]), round(scale * r.ci[1])], p: round(r.p) };
  }
  return out;
}
