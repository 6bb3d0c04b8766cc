import type { Severity } from '../analyze/index.js';
import type { TestVerdict } from '../judge/types.js';
import { SEVERITY_WEIGHT } from '../reward/security.js';
import { bootstrapRatios, DEFAULT_RESAMPLES, ratio, type Interval, type RatioStat } from './bootstrap.js';
import { passAtK } from './passk.js';
import type { SampleRecord } from './record.js';
import { securitySummary, type SecuritySummary } from './security-metrics.js';

/** The failure taxonomy's buckets (the paper's Table II). */
export const FAILURE_KINDS = ['wrong_output', 'no_output', 'timeout', 'crash', 'memory'] as const;
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** Which bucket a failing test's verdict falls in (`output_limit`, printing past the cap, is wrong output). */
export function failureKind(verdict: TestVerdict): FailureKind | null {
  switch (verdict) {
    case 'passed': return null;
    case 'wrong_output': case 'output_limit': return 'wrong_output';
    case 'no_output': return 'no_output';
    case 'timeout': return 'timeout';
    case 'runtime_error': return 'crash';
    case 'memory_limit': return 'memory';
  }
}

export interface MetricsOptions {
  /** pass@k for these k (those ≤ the samples per prompt are reported; default 1, 5, 10, 100), and
   * always for k = the samples per prompt. */
  passK?: number[];
  resamples?: number;
  /** Seed of the bootstrap (default 42). */
  seed?: number;
  level?: number;
  /** Each prompt's CWE label (CyberSecEval's `cwe_identifier`), by problem id: adds the insecure-code
   * rate per labelled CWE (`security.by_prompt_cwe`). */
  promptCwes?: Readonly<Record<string, number | null>>;
}

export interface RuleCount { rule: string; bandit_id: string; severity: Severity; cwe: number | null; count: number; samples: number; samples_pct: number }
export interface CweCount { cwe: number | null; count: number; samples: number; samples_pct: number }

/**
 * What `summary.json` holds (rates in percent, rewards in [0, 1]). Every rate and mean has its 95%
 * bootstrap interval under the same name with `_ci`. `n` counts prompts; rates are over samples
 * (so with several samples per prompt a prompt weighs by its samples), and the bootstrap resamples
 * prompts. Pass rates (`pass1_pct`, `allpass_pct`, pass@k, `test_pass_pct`) count only prompts with
 * tests and are null when there are none.
 */
export interface EvalSummary {
  n: number;
  samples: number;
  samples_per_prompt: number;
  prompts_with_tests: number;
  /** Compiles (CPython's compile() accepts a non-empty program). */
  syn_pct: number; syn_pct_ci: Interval;
  /** At least one test passed (the paper's ≥1-P%; not pass@1). */
  pass1_pct: number | null; pass1_pct_ci: Interval | null;
  /** All tests passed. */
  allpass_pct: number | null; allpass_pct_ci: Interval | null;
  /** Compiles and has no MEDIUM or HIGH finding. */
  secclean_pct: number; secclean_pct_ci: Interval;
  /** Among samples that compile: no MEDIUM or HIGH finding. */
  secclean_of_syn_pct: number | null; secclean_of_syn_pct_ci: Interval | null;
  /** Tests passed over tests run (the reference code's "Test Pass"). */
  test_pass_pct: number | null; test_pass_pct_ci: Interval | null;
  mean_r: number; mean_r_ci: Interval;
  mean_r_func: number; mean_r_func_ci: Interval;
  /** null when the security term was off. */
  mean_r_sec: number | null; mean_r_sec_ci: Interval | null;
  stages: { counts: number[]; pct: number[]; pct_ci: Interval[] };
  /** Over samples that compiled, have tests and did not pass them all: the first failing test's kind. */
  failures: {
    samples: number;
    /** Samples that did not compile (stage 0), outside the shares. */
    syntax_errors: number;
    counts: Record<FailureKind, number>;
    pct: Record<FailureKind, number | null>;
    pct_ci: Record<FailureKind, Interval | null>;
  };
  /** Test verdicts over every test of every sample. */
  test_verdicts: Partial<Record<TestVerdict, number>>;
  /** Unbiased pass@k (all tests passed) for each k ≤ samples per prompt, in percent. */
  pass_at_k: Record<string, { pct: number | null; ci: Interval | null }>;
  length: {
    mean_chars: number; mean_chars_ci: Interval; median_chars: number; p90_chars: number;
    mean_tokens: number | null; mean_program_lines: number;
  };
  findings: {
    total: number;
    by_severity: Record<Severity, number>;
    by_rule: RuleCount[];
    by_cwe: CweCount[];
  };
  /** The insecure-code rate by our analyzer (over samples that compile), per CWE found and per CWE the
   * prompts were labelled with, with intervals. */
  security: SecuritySummary;
  /** Best-of-k: per prompt the sample with the highest reward on the visible tests, judged on all
   * tests; null with one sample per prompt. */
  best_of_k: BestOfK | null;
  bootstrap: { resamples: number; seed: number; level: number; method: string };
}

export interface BestOfK {
  k: number;
  /** The visible tests per prompt (the first `visible_tests` tests, as configured). */
  visible_tests: number;
  pass1_pct: number | null; pass1_pct_ci: Interval | null;
  allpass_pct: number | null; allpass_pct_ci: Interval | null;
  mean_r: number; mean_r_ci: Interval;
  /** The same selection rule but by the reward on all tests (an upper bound: it peeks at hidden tests). */
  oracle_allpass_pct: number | null;
}

/** The index of the sample best-of-k picks: highest visible reward, then more visible tests passed,
 * then the lowest index. */
export function pickBest(group: readonly SampleRecord[]): number {
  let best = 0;
  for (let i = 1; i < group.length; i++) {
    const a = group[i].visible;
    const b = group[best].visible;
    if (a.reward > b.reward || (a.reward === b.reward && a.passed > b.passed)) best = i;
  }
  return best;
}

/** Groups records by prompt in the given prompt order (prompts without records are dropped). */
export function groupByPrompt(promptIds: readonly string[], records: readonly SampleRecord[]): SampleRecord[][] {
  const byId = new Map<string, SampleRecord[]>();
  for (const id of promptIds) byId.set(id, []);
  for (const r of records) {
    const list = byId.get(r.problem_id);
    if (!list) throw new Error(`sample for problem ${JSON.stringify(r.problem_id)} is not in the prompt set`);
    list.push(r);
  }
  return [...byId.values()].filter((g) => g.length > 0).map((g) => g.sort((a, b) => a.sample - b.sample));
}

const hasTests = (r: SampleRecord) => r.tests_total > 0;
const allPass = (r: SampleRecord) => r.tests_total > 0 && r.tests_passed === r.tests_total;
const secClean = (r: SampleRecord) => r.findings.every((f) => SEVERITY_WEIGHT[f.severity] === 0);

/** Per-prompt numerator and denominator of a rate over samples (`applies` selects the denominator). */
function rateStat(groups: SampleRecord[][], hit: (r: SampleRecord) => boolean, applies: (r: SampleRecord) => boolean = () => true): RatioStat {
  return {
    num: groups.map((g) => g.filter((r) => applies(r) && hit(r)).length),
    den: groups.map((g) => g.filter(applies).length),
  };
}
function meanStat(groups: SampleRecord[][], value: (r: SampleRecord) => number | null): RatioStat {
  return {
    num: groups.map((g) => g.reduce((s, r) => s + (value(r) ?? 0), 0)),
    den: groups.map((g) => g.filter((r) => value(r) !== null).length),
  };
}

/** The first failing test's kind, for a sample that compiled, has tests and did not pass them all. */
export function sampleFailure(r: SampleRecord): FailureKind | null {
  if (!r.syntax_ok || !hasTests(r) || allPass(r)) return null;
  for (const v of r.verdicts) {
    const kind = failureKind(v);
    if (kind) return kind;
  }
  return null;
}

/** Rates in percent, rounded to 1e-6, with intervals; null when the rate does not apply. */
function pctOf(stat: RatioStat, ci: Interval): { value: number | null; ci: Interval | null } {
  const v = ratio(stat);
  return Number.isNaN(v) ? { value: null, ci: null } : { value: round(100 * v), ci: [round(100 * ci[0]), round(100 * ci[1])] };
}

/**
 * Computes every metric of a run from its sample records. `promptIds` is the run's prompt set in
 * order; the bootstrap resamples those prompts (seeded, default 10,000 resamples).
 */
export function computeSummary(promptIds: readonly string[], records: readonly SampleRecord[], options: MetricsOptions = {}): EvalSummary {
  const groups = groupByPrompt(promptIds, records);
  const all = groups.flat();
  const P = groups.length;
  const perPrompt = groups.reduce((m, g) => Math.max(m, g.length), 0);
  const resamples = options.resamples ?? DEFAULT_RESAMPLES;
  const seed = options.seed ?? 42;
  const level = options.level ?? 0.95;

  const stats: Record<string, RatioStat> = {
    syn: rateStat(groups, (r) => r.syntax_ok),
    pass1: rateStat(groups, (r) => r.tests_passed > 0, hasTests),
    allpass: rateStat(groups, allPass, hasTests),
    secclean: rateStat(groups, (r) => r.syntax_ok && secClean(r)),
    seccleanSyn: rateStat(groups, secClean, (r) => r.syntax_ok),
    testPass: { num: groups.map((g) => g.reduce((s, r) => s + r.tests_passed, 0)), den: groups.map((g) => g.reduce((s, r) => s + r.tests_total, 0)) },
    r: meanStat(groups, (r) => r.reward),
    rFunc: meanStat(groups, (r) => r.r_func),
    rSec: meanStat(groups, (r) => r.r_sec),
    chars: meanStat(groups, (r) => r.completion_chars),
  };
  for (let s = 0; s <= 4; s++) stats[`stage${s}`] = rateStat(groups, (r) => r.stage === s);
  const failing = (r: SampleRecord) => sampleFailure(r) !== null;
  for (const kind of FAILURE_KINDS) stats[`fail_${kind}`] = rateStat(groups, (r) => sampleFailure(r) === kind, failing);
  const ks = [...new Set([...(options.passK ?? [1, 5, 10, 100]), ...(perPrompt > 1 ? [perPrompt] : [])])].filter((k) => Number.isInteger(k) && k >= 1 && k <= Math.max(perPrompt, 1)).sort((a, b) => a - b);
  for (const k of ks) {
    stats[`pass@${k}`] = {
      num: groups.map((g) => (g.length >= k && hasTests(g[0]) ? passAtK(g.length, g.filter(allPass).length, k) : 0)),
      den: groups.map((g) => (g.length >= k && hasTests(g[0]) ? 1 : 0)),
    };
  }
  const names = Object.keys(stats);
  const cis = P === 0 ? names.map((): Interval => [Number.NaN, Number.NaN]) : bootstrapRatios(names.map((k) => stats[k]), P, { resamples, seed, level });
  const ci = Object.fromEntries(names.map((k, i) => [k, cis[i]])) as Record<string, Interval>;
  const pct = (name: string) => pctOf(stats[name], ci[name]);
  const mean = (name: string) => {
    const v = ratio(stats[name]);
    return Number.isNaN(v) ? { value: null, ci: null } : { value: round(v), ci: [round(ci[name][0]), round(ci[name][1])] as Interval };
  };
  const req = <T>(x: T | null): T => (x ?? 0) as T;
  const reqCi = (x: Interval | null): Interval => x ?? [0, 0];

  const syn = pct('syn'); const pass1 = pct('pass1'); const allp = pct('allpass'); const sec = pct('secclean');
  const secSyn = pct('seccleanSyn'); const testPass = pct('testPass');
  const r = mean('r'); const rFunc = mean('rFunc'); const rSec = mean('rSec'); const chars = mean('chars');

  const verdicts: EvalSummary['test_verdicts'] = {};
  for (const rec of all) for (const v of rec.verdicts) verdicts[v] = (verdicts[v] ?? 0) + 1;
  const failCounts = Object.fromEntries(FAILURE_KINDS.map((k) => [k, all.filter((rec) => sampleFailure(rec) === k).length])) as Record<FailureKind, number>;

  const sortedChars = Float64Array.from(all.map((rec) => rec.completion_chars)).sort();
  const withTokens = all.filter((rec) => rec.completion_tokens !== null && rec.completion_tokens !== undefined);

  const byRule = new Map<string, RuleCount>();
  const byCwe = new Map<string, CweCount>();
  const bySeverity: Record<Severity, number> = { LOW: 0, MEDIUM: 0, HIGH: 0 };
  for (const rec of all) {
    const seenRule = new Set<string>();
    const seenCwe = new Set<string>();
    for (const f of rec.findings) {
      bySeverity[f.severity]++;
      const key = `${f.rule}|${f.bandit_id}|${f.severity}`;
      const rc = byRule.get(key) ?? { rule: f.rule, bandit_id: f.bandit_id, severity: f.severity, cwe: f.cwe, count: 0, samples: 0, samples_pct: 0 };
      rc.count++;
      if (!seenRule.has(key)) { rc.samples++; seenRule.add(key); }
      byRule.set(key, rc);
      const ck = String(f.cwe);
      const cc = byCwe.get(ck) ?? { cwe: f.cwe, count: 0, samples: 0, samples_pct: 0 };
      cc.count++;
      if (!seenCwe.has(ck)) { cc.samples++; seenCwe.add(ck); }
      byCwe.set(ck, cc);
    }
  }
  const share = (x: number) => (all.length === 0 ? 0 : round((100 * x) / all.length));
  for (const v of byRule.values()) v.samples_pct = share(v.samples);
  for (const v of byCwe.values()) v.samples_pct = share(v.samples);

  return {
    n: P,
    samples: all.length,
    samples_per_prompt: perPrompt,
    prompts_with_tests: groups.filter((g) => hasTests(g[0])).length,
    syn_pct: req(syn.value), syn_pct_ci: reqCi(syn.ci),
    pass1_pct: pass1.value, pass1_pct_ci: pass1.ci,
    allpass_pct: allp.value, allpass_pct_ci: allp.ci,
    secclean_pct: req(sec.value), secclean_pct_ci: reqCi(sec.ci),
    secclean_of_syn_pct: secSyn.value, secclean_of_syn_pct_ci: secSyn.ci,
    test_pass_pct: testPass.value, test_pass_pct_ci: testPass.ci,
    mean_r: req(r.value), mean_r_ci: reqCi(r.ci),
    mean_r_func: req(rFunc.value), mean_r_func_ci: reqCi(rFunc.ci),
    mean_r_sec: rSec.value, mean_r_sec_ci: rSec.ci,
    stages: {
      counts: [0, 1, 2, 3, 4].map((s) => all.filter((rec) => rec.stage === s).length),
      pct: [0, 1, 2, 3, 4].map((s) => req(pct(`stage${s}`).value)),
      pct_ci: [0, 1, 2, 3, 4].map((s) => reqCi(pct(`stage${s}`).ci)),
    },
    failures: {
      samples: all.filter(failing).length,
      syntax_errors: all.filter((rec) => !rec.syntax_ok).length,
      counts: failCounts,
      pct: Object.fromEntries(FAILURE_KINDS.map((k) => [k, pct(`fail_${k}`).value])) as Record<FailureKind, number | null>,
      pct_ci: Object.fromEntries(FAILURE_KINDS.map((k) => [k, pct(`fail_${k}`).ci])) as Record<FailureKind, Interval | null>,
    },
    test_verdicts: verdicts,
    pass_at_k: Object.fromEntries(ks.map((k) => { const p = pct(`pass@${k}`); return [String(k), { pct: p.value, ci: p.ci }]; })),
    length: {
      mean_chars: req(chars.value), mean_chars_ci: reqCi(chars.ci),
      median_chars: round(quantileOf(sortedChars, 0.5)),
      p90_chars: round(quantileOf(sortedChars, 0.9)),
      mean_tokens: withTokens.length === 0 ? null : round(withTokens.reduce((s, rec) => s + (rec.completion_tokens ?? 0), 0) / withTokens.length),
      mean_program_lines: all.length === 0 ? 0 : round(all.reduce((s, rec) => s + programLines(rec.program), 0) / all.length),
    },
    findings: {
      total: all.reduce((s, rec) => s + rec.findings.length, 0),
      by_severity: bySeverity,
      by_rule: [...byRule.values()].sort((a, b) => b.count - a.count || a.rule.localeCompare(b.rule)),
      by_cwe: [...byCwe.values()].sort((a, b) => b.count - a.count || String(a.cwe).localeCompare(String(b.cwe))),
    },
    security: securitySummary(groups, groups.map((g) => options.promptCwes?.[g[0].problem_id] ?? null), { resamples, seed, level }),
    best_of_k: perPrompt > 1 ? bestOfK(groups, { resamples, seed, level }) : null,
    bootstrap: { resamples, seed, level, method: 'percentile (type 7), resampling prompts with replacement' },
  };
}

function bestOfK(groups: SampleRecord[][], options: { resamples: number; seed: number; level: number }): BestOfK {
  const chosen = groups.map((g) => [g[pickBest(g)]]);
  const stats = [rateStat(chosen, (r) => r.tests_passed > 0, hasTests), rateStat(chosen, allPass, hasTests), meanStat(chosen, (r) => r.reward)];
  const cis = bootstrapRatios(stats, groups.length, options);
  const pass1 = pctOf(stats[0], cis[0]);
  const allp = pctOf(stats[1], cis[1]);
  const oracle = rateStat(groups.map((g) => [g.some(allPass) ? g.find(allPass)! : g[0]]), allPass, hasTests);
  const oracleValue = ratio(oracle);
  return {
    k: groups.reduce((m, g) => Math.max(m, g.length), 0),
    visible_tests: groups.reduce((m, g) => Math.max(m, ...g.map((r) => r.visible.tests)), 0),
    pass1_pct: pass1.value, pass1_pct_ci: pass1.ci,
    allpass_pct: allp.value, allpass_pct_ci: allp.ci,
    mean_r: round(ratio(stats[2])), mean_r_ci: [round(cis[2][0]), round(cis[2][1])],
    oracle_allpass_pct: Number.isNaN(oracleValue) ? null : round(100 * oracleValue),
  };
}

function quantileOf(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

function programLines(program: string): number {
  return program.split('\n').filter((l) => l.trim() !== '').length;
}

export function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
