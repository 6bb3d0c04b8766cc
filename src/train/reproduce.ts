// The paper's Table 3 in miniature: from one SFT model, PPO with the binary reward (simple), the partial
// reward (fresh), partial continued from the simple run (continue), and the binary → partial switch inside
// one run (scheduled); every model evaluated on the same held-out prompts with the same seeds, each rate
// with a 95% bootstrap interval and a paired difference against SFT. Writes table.md, table.json, the PPO
// runs and their report.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapRatios, pairedDifference, ratio, type Interval, type RatioStat } from '../eval/bootstrap.js';
import { writeReport } from '../report/index.js';
import type { RewardBreakdown } from '../reward/scorer.js';
import { SEVERITY_WEIGHT } from '../reward/security.js';
import { Scorer } from '../reward/scorer.js';
import { loadTrainData } from './data.js';
import { evaluateHeldOut } from './evaluate.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo, type PpoConfig } from './ppo.js';
import { buildTinyModel, PPO_PRESETS } from './presets.js';
import { writeJson } from './run.js';

/** The table's columns: a share of the evaluation samples, or the mean reward. */
export const TABLE_COLUMNS = [
  { key: 'syntax', label: 'Syntax %', hit: (b: RewardBreakdown) => b.syntaxOk },
  { key: 'runs', label: 'Runs %', hit: (b: RewardBreakdown) => b.stage >= 2 },
  { key: 'prints', label: 'Prints %', hit: (b: RewardBreakdown) => b.stage >= 3 },
  { key: 'pass1', label: '≥1-Pass %', hit: (b: RewardBreakdown) => b.testsPassed > 0 },
  { key: 'allpass', label: 'All-Pass %', hit: (b: RewardBreakdown) => b.testsTotal > 0 && b.testsPassed === b.testsTotal },
  { key: 'secclean', label: 'Sec-clean %', hit: (b: RewardBreakdown) => b.syntaxOk && b.findings.every((f) => SEVERITY_WEIGHT[f.severity] === 0) },
] as const;

export interface TableRow {
  model: string;
  values: Record<string, { value: number; ci: Interval; vsSft: { diff: number; ci: Interval; p: number } | null }>;
}

/** One row per model from its breakdowns (the same problems, in the same order, for every model). */
export function tableRows(models: readonly { name: string; breakdowns: readonly RewardBreakdown[] }[], seed = 42): TableRow[] {
  const n = models[0].breakdowns.length;
  const stats = (bs: readonly RewardBreakdown[]): Record<string, RatioStat> => {
    const ones = bs.map(() => 1);
    const out: Record<string, RatioStat> = Object.fromEntries(TABLE_COLUMNS.map((c) => [c.key, { num: bs.map((b) => (c.hit(b) ? 100 : 0)), den: ones }]));
    out.mean_r = { num: bs.map((b) => b.reward), den: ones };
    return out;
  };
  const base = stats(models[0].breakdowns);
  return models.map((m, i) => {
    const s = stats(m.breakdowns);
    const keys = Object.keys(s);
    const cis = bootstrapRatios(keys.map((k) => s[k]), n, { seed });
    return {
      model: m.name,
      values: Object.fromEntries(keys.map((k, j) => [k, { value: ratio(s[k]), ci: cis[j], vsSft: i === 0 ? null : pairedDifference(s[k], base[k], n, { seed }) }])),
    };
  });
}

export function tableMarkdown(rows: readonly TableRow[], note: string): string {
  const cols = [...TABLE_COLUMNS.map((c) => ({ key: c.key, label: c.label, d: 1 })), { key: 'mean_r', label: 'Mean R', d: 3 }];
  const cell = (v: TableRow['values'][string], d: number) =>
    `${v.value.toFixed(d)} [${v.ci[0].toFixed(d)}, ${v.ci[1].toFixed(d)}]${v.vsSft ? `<br>Δ ${v.vsSft.diff >= 0 ? '+' : ''}${v.vsSft.diff.toFixed(d)} [${v.vsSft.ci[0].toFixed(d)}, ${v.vsSft.ci[1].toFixed(d)}]` : ''}`;
  return [
    `| model | ${cols.map((c) => c.label).join(' | ')} |`,
    `|---|${cols.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.model} | ${cols.map((c) => cell(r.values[c.key], c.d)).join(' | ')} |`),
    '',
    note,
    '',
  ].join('\n');
}

export interface ReproduceResult {
  rows: TableRow[];
  markdown: string;
  seconds: number;
}

/** Runs the comparison for the `tiny` preset (or `minimal`, for a quick look) into `outDir`. */
export async function reproduce(o: { preset: 'tiny' | 'minimal'; outDir: string; quiet?: boolean; log?: (line: string) => void; episodes?: number }): Promise<ReproduceResult> {
  const started = performance.now();
  const log = o.log ?? ((line: string) => { if (!o.quiet) process.stderr.write(`${line}\n`); });
  const tiny = await buildTinyModel(o.preset, { quiet: o.quiet, log });
  const preset = PPO_PRESETS[o.preset];
  const base = (variant: PpoConfig['variant'], over: Record<string, unknown> = {}) => parsePpoConfig({
    ...DEFAULT_PPO_CONFIG, ...preset, model: tiny.sftDir, variant, run_name: variant, ...(o.episodes ? { episodes: o.episodes } : {}), ...over,
  }, `reproduce (${variant})`);
  const runDir = (name: string) => join(o.outDir, 'runs', name);
  const finals: Record<string, string | null> = {};
  const simple = base('simple');
  for (const [name, cfg] of [['simple', simple], ['fresh', base('fresh')], ['scheduled', base('scheduled', { switchEpisode: Math.floor(simple.episodes / 2) })]] as const) {
    log(`PPO ${name}: ${cfg.episodes / cfg.batchSize} steps`);
    finals[name] = (await ppo({ config: cfg, outDir: runDir(name) }, { quiet: o.quiet })).finalDir;
  }
  log('PPO continue: from the simple run\'s final adapter, partial reward');
  finals.continue = (await ppo({ config: base('continue', { init: finals.simple }), outDir: runDir('continue') }, { quiet: o.quiet })).finalDir;

  const data = loadTrainData(preset.data!);
  const scorer = new Scorer();
  const models: { name: string; breakdowns: RewardBreakdown[] }[] = [];
  try {
    for (const name of ['SFT', 'PPO-simple', 'PPO-fresh', 'PPO-continue', 'PPO-scheduled']) {
      log(`evaluating ${name} on ${data.eval.length} held-out problems`);
      const adapter = name === 'SFT' ? null : finals[name.slice(4)];
      const r = await evaluateHeldOut({ model: tiny.sftDir, adapter, problems: data.eval, scorer, template: 'instruction', sampling: preset.sampling!, seed: 1234 });
      models.push({ name, breakdowns: r.breakdowns });
    }
  } finally {
    await scorer.close();
  }
  const rows = tableRows(models);
  const note = `${data.eval.length} held-out ${preset.data!.dataset} problems (split seed ${preset.data!.splitSeed}), one sample each with the same seed per problem for every model; `
    + `[95% bootstrap interval, 10,000 resamples over problems]; Δ = paired difference against SFT with its interval. Model: the '${o.preset}' tiny model (${tiny.key}).`;
  const markdown = tableMarkdown(rows, note);
  writeFileSync(join(o.outDir, 'table.md'), markdown);
  writeJson(join(o.outDir, 'table.json'), { preset: o.preset, model: tiny.key, problems: data.eval.map((p) => p.id), rows });
  writeReport(['simple', 'fresh', 'continue', 'scheduled'].map(runDir), { outDir: join(o.outDir, 'report'), title: `Table 3 in miniature (${o.preset})` });
  return { rows, markdown, seconds: (performance.now() - started) / 1000 };
}
