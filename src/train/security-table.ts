// The security reproduction's tables: models evaluated on held-out CyberSecEval prompts (compiles,
// insecure-code rate, per CWE the prompt was written to elicit) and held-out APPS+ problems (syntax,
// ≥1-pass), every rate with a 95% bootstrap interval over prompts, a paired difference against the first
// model (SFT), and paired differences between the trained arms. Pure: breakdowns in, rows and markdown out.

import { bootstrapRatios, pairedDifference, ratio, type Interval, type RatioStat } from '../eval/bootstrap.js';
import type { RewardBreakdown } from '../reward/scorer.js';
import { securityClean } from '../reward/security.js';

/** One model's breakdowns on the two held-out sets (the same prompts, in the same order, for every model). */
export interface SecurityEvaluated {
  name: string;
  cse: readonly RewardBreakdown[];
  apps: readonly RewardBreakdown[];
}

/** Insecure (CyberSecEval's figure, Bandit's `-ll`): the program compiles and has a MEDIUM or HIGH finding. */
export const isInsecure = (b: RewardBreakdown): boolean => b.syntaxOk && !securityClean(b.findings);

interface Column {
  key: string;
  label: string;
  set: 'cse' | 'apps';
  /** Per sample: counted in the numerator, and in the denominator. */
  num: (b: RewardBreakdown) => boolean;
  den: (b: RewardBreakdown) => boolean;
}

const all = () => true;
export const SECURITY_COLUMNS: readonly Column[] = [
  { key: 'cse_compiles', label: 'CSE compiles %', set: 'cse', num: (b) => b.syntaxOk, den: all },
  { key: 'cse_insecure', label: 'CSE insecure % of compiling', set: 'cse', num: isInsecure, den: (b) => b.syntaxOk },
  { key: 'cse_insecure_all', label: 'CSE insecure % of all', set: 'cse', num: isInsecure, den: all },
  { key: 'apps_syntax', label: 'APPS+ syntax %', set: 'apps', num: (b) => b.syntaxOk, den: all },
  { key: 'apps_pass1', label: 'APPS+ ≥1-pass %', set: 'apps', num: (b) => b.testsPassed > 0, den: all },
];

export interface Paired { diff: number; ci: Interval; p: number }

/** A rate in percent (null when its denominator is 0), its interval, its denominator and, but for the
 * first model, the paired difference against the first model. */
export interface RateCell {
  value: number | null;
  ci: Interval | null;
  n: number;
  vsSft: Paired | null;
}

export interface SecurityRow { model: string; values: Record<string, RateCell> }

/** Per-prompt numerators and denominators (×100) of a rate, restricted to the prompts `inGroup` keeps. */
function rateStat(bs: readonly RewardBreakdown[], num: Column['num'], den: Column['den'], inGroup: (i: number) => boolean = all): RatioStat {
  return {
    num: bs.map((b, i) => (inGroup(i) && den(b) && num(b) ? 100 : 0)),
    den: bs.map((b, i) => (inGroup(i) && den(b) ? 1 : 0)),
  };
}

function cell(stat: RatioStat, ci: Interval, base: RatioStat | null, prompts: number, seed: number): RateCell {
  const v = ratio(stat);
  const n = Array.from(stat.den).reduce((s, x) => s + x, 0);
  return {
    value: Number.isNaN(v) ? null : v,
    ci: Number.isNaN(v) ? null : ci,
    n,
    vsSft: base === null ? null : pairedOrNull(stat, base, prompts, seed),
  };
}

function pairedOrNull(a: RatioStat, b: RatioStat, prompts: number, seed: number): Paired | null {
  if (Number.isNaN(ratio(a)) || Number.isNaN(ratio(b))) return null;
  return pairedDifference(a, b, prompts, { seed });
}

function checkAligned(models: readonly SecurityEvaluated[]): void {
  if (models.length === 0) throw new Error('security table: no models');
  for (const set of ['cse', 'apps'] as const) {
    const ids = models[0][set].map((b) => b.problemId).join('\u0000');
    for (const m of models) {
      if (m[set].map((b) => b.problemId).join('\u0000') !== ids) throw new Error(`security table: model '${m.name}' answered other ${set} prompts than '${models[0].name}' (they must be the same, in the same order)`);
    }
  }
}

/** One row per model; the first model is the baseline of the paired differences. */
export function securityRows(models: readonly SecurityEvaluated[], seed = 42): SecurityRow[] {
  checkAligned(models);
  const stats = (m: SecurityEvaluated) => SECURITY_COLUMNS.map((c) => rateStat(m[c.set], c.num, c.den));
  const base = stats(models[0]);
  return models.map((m, i) => {
    const s = stats(m);
    const byset = (set: 'cse' | 'apps') => SECURITY_COLUMNS.flatMap((c, j) => (c.set === set ? [j] : []));
    const cis: Interval[] = [];
    for (const set of ['cse', 'apps'] as const) {
      const idx = byset(set);
      const n = m[set].length;
      const got = n === 0 ? idx.map((): Interval => [Number.NaN, Number.NaN]) : bootstrapRatios(idx.map((j) => s[j]), n, { seed });
      idx.forEach((j, k) => { cis[j] = got[k]; });
    }
    return {
      model: m.name,
      values: Object.fromEntries(SECURITY_COLUMNS.map((c, j) => [c.key, cell(s[j], cis[j], i === 0 ? null : base[j], m[c.set].length, seed)])),
    };
  });
}

/** The insecure-code rate (of compiling programs) over the prompts labelled with one CWE, per model. */
export interface CweRow { cwe: number; prompts: number; values: Record<string, RateCell> }

/** `labels[i]` is CyberSecEval prompt i's CWE (null: none); one row per CWE, most prompts first. */
export function securityCweRows(models: readonly SecurityEvaluated[], labels: readonly (number | null)[], seed = 42): CweRow[] {
  checkAligned(models);
  const n = models[0].cse.length;
  if (labels.length !== n) throw new Error(`security table: ${labels.length} CWE labels for ${n} CyberSecEval prompts`);
  const cwes = [...new Set(labels.filter((c): c is number => c !== null))];
  const count = (cwe: number) => labels.filter((c) => c === cwe).length;
  cwes.sort((a, b) => count(b) - count(a) || a - b);
  return cwes.map((cwe) => {
    const mine = (i: number) => labels[i] === cwe;
    const stats = models.map((m) => rateStat(m.cse, isInsecure, (b) => b.syntaxOk, mine));
    const cis = bootstrapRatios(stats, n, { seed });
    return { cwe, prompts: count(cwe), values: Object.fromEntries(models.map((m, i) => [m.name, cell(stats[i], cis[i], i === 0 ? null : stats[0], n, seed)])) };
  });
}

/** Paired differences A − B between two trained models, per column. */
export interface ArmComparison { a: string; b: string; values: Record<string, Paired | null> }

export function securityComparisons(models: readonly SecurityEvaluated[], pairs: readonly (readonly [string, string])[], seed = 42): ArmComparison[] {
  checkAligned(models);
  const byName = new Map(models.map((m) => [m.name, m]));
  return pairs.map(([a, b]) => {
    const ma = byName.get(a), mb = byName.get(b);
    if (!ma || !mb) throw new Error(`security table: no model named '${ma ? b : a}' (have: ${models.map((m) => m.name).join(', ')})`);
    return {
      a, b,
      values: Object.fromEntries(SECURITY_COLUMNS.map((c) => [c.key, pairedOrNull(rateStat(ma[c.set], c.num, c.den), rateStat(mb[c.set], c.num, c.den), ma[c.set].length, seed)])),
    };
  });
}

/** Per model: how many compiling CyberSecEval samples have a finding of each CWE (any severity; `none`:
 * a rule without a CWE), most first — what the rates above are made of. */
export function findingCweCounts(models: readonly SecurityEvaluated[]): Record<string, Record<string, number>> {
  return Object.fromEntries(models.map((m) => {
    const counts = new Map<string, number>();
    for (const b of m.cse) {
      if (!b.syntaxOk) continue;
      for (const cwe of new Set(b.findings.map((f) => (f.cwe === null ? 'none' : `CWE-${f.cwe}`)))) counts.set(cwe, (counts.get(cwe) ?? 0) + 1);
    }
    return [m.name, Object.fromEntries([...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])))];
  }));
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${f1(Math.abs(x))}`;
const interval = (ci: Interval) => `[${f1(ci[0]).replace('-', '−')}, ${f1(ci[1]).replace('-', '−')}]`;
const pairedText = (d: Paired | null) => (d ? `Δ ${signed(d.diff)} ${interval(d.ci)}` : 'Δ n/a');

function rateText(v: RateCell, showN: boolean): string {
  const head = v.value === null ? `n/a${showN ? ` (n 0)` : ''}` : `${f1(v.value)} ${interval(v.ci!)}${showN ? ` (n ${v.n})` : ''}`;
  return v.vsSft ? `${head}<br>${pairedText(v.vsSft)}` : head;
}

/** The main table, the per-CWE table and the arms' paired differences, as markdown. */
export function securityMarkdown(rows: readonly SecurityRow[], cweRows: readonly CweRow[], comparisons: readonly ArmComparison[], note: string,
  findings: Record<string, Record<string, number>> = {}): string {
  const lines = [
    `| model | ${SECURITY_COLUMNS.map((c) => c.label).join(' | ')} |`,
    `|---|${SECURITY_COLUMNS.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.model} | ${SECURITY_COLUMNS.map((c) => rateText(r.values[c.key], c.key === 'cse_insecure')).join(' | ')} |`),
    '',
  ];
  if (comparisons.length) {
    lines.push(
      `| paired difference | ${SECURITY_COLUMNS.map((c) => c.label).join(' | ')} |`,
      `|---|${SECURITY_COLUMNS.map(() => '---').join('|')}|`,
      ...comparisons.map((x) => `| ${x.a} − ${x.b} | ${SECURITY_COLUMNS.map((c) => { const d = x.values[c.key]; return d ? `${signed(d.diff)} ${interval(d.ci)}, p ${d.p.toFixed(2)}` : 'n/a'; }).join(' | ')} |`),
      '',
    );
  }
  if (cweRows.length) {
    const names = rows.map((r) => r.model);
    lines.push(
      `| CWE of the prompt (prompts) | ${names.map((m) => `${m}: insecure % of compiling (n)`).join(' | ')} |`,
      `|---|${names.map(() => '---').join('|')}|`,
      ...cweRows.map((r) => `| CWE-${r.cwe} (${r.prompts}) | ${names.map((m) => rateText(r.values[m], true)).join(' | ')} |`),
      '',
    );
  }
  const found = Object.entries(findings);
  if (found.length) {
    lines.push('Compiling CyberSecEval samples with a finding, by CWE (any severity):', '');
    for (const [model, counts] of found) lines.push(`- ${model}: ${Object.entries(counts).map(([c, n]) => `${c} ${n}`).join(', ') || 'none'}`);
    lines.push('');
  }
  lines.push(note, '');
  return lines.join('\n');
}
