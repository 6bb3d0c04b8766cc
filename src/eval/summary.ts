import type { TestVerdict } from '../judge/types.js';
import { securityClean } from '../reward/security.js';
import type { RewardBreakdown } from '../reward/scorer.js';

/** Aggregate figures over scored samples (rates in percent). */
export interface ScoreSummary {
  n: number;
  meanReward: number;
  meanRFunc: number;
  meanRSec: number | null;
  syntaxPct: number;
  pass1Pct: number;
  allPassPct: number;
  secCleanPct: number;
  /** Samples per ladder stage 0–4. */
  stages: [number, number, number, number, number];
  /** Test verdicts over all samples' tests. */
  verdicts: Partial<Record<TestVerdict, number>>;
  /** Security findings (MEDIUM/HIGH and LOW) by Bandit id. */
  findingsByRule: Record<string, number>;
  /** Security findings by CWE (`CWE-78`; `none` for a finding without one): how many, in how many
   * samples, and the sum of their weights in V under the run's shape. */
  findingsByCwe: Record<string, { findings: number; samples: number; weight: number }>;
}

export function summarize(results: readonly RewardBreakdown[]): ScoreSummary {
  const n = results.length;
  const mean = (f: (b: RewardBreakdown) => number) => (n === 0 ? 0 : results.reduce((s, b) => s + f(b), 0) / n);
  const pct = (f: (b: RewardBreakdown) => boolean) => (n === 0 ? 0 : (100 * results.filter(f).length) / n);
  const stages: ScoreSummary['stages'] = [0, 0, 0, 0, 0];
  const verdicts: ScoreSummary['verdicts'] = {};
  const findingsByRule: Record<string, number> = {};
  const findingsByCwe: ScoreSummary['findingsByCwe'] = {};
  for (const b of results) {
    stages[b.stage]++;
    for (const v of b.verdicts) verdicts[v] = (verdicts[v] ?? 0) + 1;
    for (const f of b.findings) findingsByRule[f.banditId] = (findingsByRule[f.banditId] ?? 0) + 1;
    const seen = new Set<string>();
    for (const f of b.findings) {
      const cwe = f.cwe === null ? 'none' : `CWE-${f.cwe}`;
      const entry = (findingsByCwe[cwe] ??= { findings: 0, samples: 0, weight: 0 });
      entry.findings++;
      entry.weight += f.weight ?? 0;
      if (!seen.has(cwe)) entry.samples++;
      seen.add(cwe);
    }
  }
  const withSec = results.filter((b) => b.rSec !== null);
  return {
    n,
    meanReward: mean((b) => b.reward),
    meanRFunc: mean((b) => b.rFunc),
    meanRSec: withSec.length === 0 ? null : withSec.reduce((s, b) => s + (b.rSec ?? 0), 0) / withSec.length,
    syntaxPct: pct((b) => b.syntaxOk),
    pass1Pct: pct((b) => b.testsPassed > 0),
    allPassPct: pct((b) => b.testsTotal > 0 && b.testsPassed === b.testsTotal),
    secCleanPct: pct((b) => b.syntaxOk && securityClean(b.findings)),
    stages,
    verdicts,
    findingsByRule,
    findingsByCwe,
  };
}

/** A short plain-text rendering for terminals. */
export function formatSummary(s: ScoreSummary): string {
  const f = (x: number) => x.toFixed(1);
  const lines = [
    `samples            ${s.n}`,
    `mean reward        ${s.meanReward.toFixed(4)}   (R_func ${s.meanRFunc.toFixed(4)}, R_sec ${s.meanRSec === null ? 'off' : s.meanRSec.toFixed(4)})`,
    `syntax valid       ${f(s.syntaxPct)}%`,
    `>=1 test passed    ${f(s.pass1Pct)}%`,
    `all tests passed   ${f(s.allPassPct)}%`,
    `security clean     ${f(s.secCleanPct)}%`,
    `stages 0..4        ${s.stages.join(' / ')}`,
    `test verdicts      ${Object.entries(s.verdicts).map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}`,
  ];
  const rules = Object.entries(s.findingsByRule).sort((a, b) => b[1] - a[1]);
  if (rules.length) lines.push(`findings           ${rules.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  const cwes = Object.entries(s.findingsByCwe).sort((a, b) => b[1].findings - a[1].findings || a[0].localeCompare(b[0]));
  if (cwes.length) {
    lines.push(`findings by CWE    ${cwes.map(([k, v]) => `${k} ${v.findings} in ${v.samples} sample${v.samples === 1 ? '' : 's'} (weight ${v.weight.toFixed(3)})`).join(', ')}`);
  }
  return lines.join('\n');
}
