// GRPO and RLOO self-correction side by side on the task a tiny model can learn (`toy`), from one SFT model
// with their preset settings (PPO's comparison is `reproduce --preset tiny`); every model answers the same
// held-out problems twice — turn 2 seeing turn 1's program with its execution feedback — with the same seed
// per problem. Turn 1 gives the usual table (rates and mean R with 95% bootstrap intervals, paired against
// SFT); both turns give the self-correction table (Acc@t1, Acc@t2, their paired difference, Δi→c, Δc→i).
// Writes table.md, table.json, the runs and their report.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapRatios, pairedDifference, ratio, type Interval } from '../eval/bootstrap.js';
import { writeReport } from '../report/index.js';
import { Scorer, type RewardBreakdown } from '../reward/scorer.js';
import { correctionMetrics, solved } from './feedback.js';
import { sampleTurns } from './evaluate.js';
import { DEFAULT_GRPO_CONFIG, grpo, parseGrpoConfig } from './grpo.js';
import { buildTinyModel, GRPO_PRESETS, RLOO_PRESETS } from './presets.js';
import { tableMarkdown, tableRows, type TableRow } from './reproduce.js';
import { DEFAULT_RLOO_CONFIG, parseRlooConfig, rloo } from './rloo.js';
import { writeJson } from './run.js';
import { loadTaskData } from './task-split.js';

export interface CorrectionRow {
  model: string;
  acc_t1: { value: number; ci: Interval };
  acc_t2: { value: number; ci: Interval };
  /** Acc@t2 − Acc@t1 over the same problems, with its paired interval and p-value. */
  gain: { diff: number; ci: Interval; p: number };
  delta_i_to_c: number;
  delta_c_to_i: number;
  /** Acc@t2 against the SFT model's Acc@t2 on the same problems (null for SFT itself). */
  t2VsSft: { diff: number; ci: Interval; p: number } | null;
}

const solvedAt = (turn: readonly RewardBreakdown[]) => ({ num: turn.map((b) => (solved(b) ? 1 : 0)), den: turn.map(() => 1) });

/** The self-correction row of one model from its two turns' breakdowns (the same problems, in order), and
 * the SFT model's turns to pair its Acc@t2 with (none for SFT itself). */
export function correctionRow(model: string, turns: readonly (readonly RewardBreakdown[])[], seed = 42, sftTurns?: readonly (readonly RewardBreakdown[])[]): CorrectionRow {
  const n = turns[0].length;
  const first = solvedAt(turns[0]), last = solvedAt(turns[1]);
  const [ci1, ci2] = bootstrapRatios([first, last], n, { seed });
  const m = correctionMetrics(turns);
  return {
    model, acc_t1: { value: ratio(first), ci: ci1 }, acc_t2: { value: ratio(last), ci: ci2 },
    gain: pairedDifference(last, first, n, { seed }), delta_i_to_c: m.delta_i_to_c ?? 0, delta_c_to_i: m.delta_c_to_i ?? 0,
    t2VsSft: sftTurns ? pairedDifference(last, solvedAt(sftTurns[1]), n, { seed }) : null,
  };
}

export function correctionMarkdown(rows: readonly CorrectionRow[]): string {
  const pct = (x: number) => (100 * x).toFixed(1);
  const ci = (c: Interval) => `[${pct(c[0])}, ${pct(c[1])}]`;
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${pct(x)}`;
  return [
    '| model | Acc@t1 % | Acc@t2 % | Acc@t2 − Acc@t1 (paired) | Δi→c % | Δc→i % | Acc@t2 vs SFT\'s (paired) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.model} | ${pct(r.acc_t1.value)} ${ci(r.acc_t1.ci)} | ${pct(r.acc_t2.value)} ${ci(r.acc_t2.ci)} | `
      + `${signed(r.gain.diff)} ${ci(r.gain.ci)}, p ${r.gain.p.toFixed(3)} | ${pct(r.delta_i_to_c)} | ${pct(r.delta_c_to_i)} | `
      + `${r.t2VsSft ? `${signed(r.t2VsSft.diff)} ${ci(r.t2VsSft.ci)}` : ''} |`),
    '',
  ].join('\n');
}

export interface TrainersResult {
  rows: TableRow[];
  correction: CorrectionRow[];
  markdown: string;
  seconds: number;
}

/** Runs the comparison on the `toy` preset into `outDir`; `steps` overrides each trainer's step count. */
export async function reproduceTrainers(o: { outDir: string; quiet?: boolean; log?: (line: string) => void; steps?: number }): Promise<TrainersResult> {
  const started = performance.now();
  const log = o.log ?? ((line: string) => { if (!o.quiet) process.stderr.write(`${line}\n`); });
  const tiny = await buildTinyModel('toy', { quiet: o.quiet, log });
  const runDir = (name: string) => join(o.outDir, 'runs', name);
  const steps = o.steps ? { steps: o.steps } : {};
  const finals: Record<string, string | null> = {};

  const grpoCfg = parseGrpoConfig({ ...DEFAULT_GRPO_CONFIG, ...GRPO_PRESETS.toy, model: tiny.sftDir, run_name: 'grpo', ...steps }, 'reproduce toy (grpo)');
  log(`GRPO: ${grpoCfg.steps} steps`);
  finals.GRPO = (await grpo({ config: grpoCfg, outDir: runDir('grpo') }, { quiet: o.quiet })).finalDir;
  const rlooCfg = parseRlooConfig({ ...DEFAULT_RLOO_CONFIG, ...RLOO_PRESETS.toy, model: tiny.sftDir, run_name: 'rloo', ...steps }, 'reproduce toy (rloo)');
  log(`RLOO: ${rlooCfg.steps} steps`);
  finals.RLOO = (await rloo({ config: rlooCfg, outDir: runDir('rloo') }, { quiet: o.quiet })).finalDir;

  // The held-out problems: the toy split's evaluation side (the same for every trainer's data config).
  const problems = loadTaskData(GRPO_PRESETS.toy.data!).eval;
  const scorer = new Scorer();
  const models: { name: string; turns: RewardBreakdown[][] }[] = [];
  try {
    for (const name of ['SFT', 'GRPO', 'RLOO']) {
      log(`evaluating ${name} on ${problems.length} held-out problems, two turns`);
      const turns = await sampleTurns({ model: tiny.sftDir, adapter: name === 'SFT' ? null : finals[name], problems, scorer, template: 'instruction',
        sampling: RLOO_PRESETS.toy!.sampling!, seed: 1234, turns: 2 });
      models.push({ name, turns });
    }
  } finally {
    await scorer.close();
  }
  const rows = tableRows(models.map((m) => ({ name: m.name, breakdowns: m.turns[0] })));
  const correction = models.map((m, i) => correctionRow(m.name, m.turns, 42, i === 0 ? undefined : models[0].turns));
  const note = `${problems.length} held-out toy problems (split seed ${GRPO_PRESETS.toy.data!.splitSeed}), one sample per turn with the same seed per problem for every model; `
    + `[95% bootstrap interval, 10,000 resamples over problems]; Δ = paired difference against SFT. Model: the 'toy' tiny model (${tiny.key}).`;
  const markdown = `## Turn 1\n\n${tableMarkdown(rows, note)}\n## Self-correction (turn 2 sees turn 1's program and its feedback)\n\n${correctionMarkdown(correction)}`;
  writeFileSync(join(o.outDir, 'table.md'), markdown);
  writeJson(join(o.outDir, 'table.json'), { preset: 'toy', model: tiny.key, problems: problems.map((p) => p.id), rows, correction });
  writeReport(['grpo', 'rloo'].map(runDir), { outDir: join(o.outDir, 'report'), title: 'Trainers on the toy task' });
  return { rows, correction, markdown, seconds: (performance.now() - started) / 1000 };
}
