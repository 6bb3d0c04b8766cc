import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAILURE_KINDS } from '../eval/metrics.js';
import { loadRun, type LoadedRun } from './load.js';
import { svgToPng, systemFontsAvailable } from './png.js';
import { reportHtml, tableToMarkdown, type Chart } from './render.js';
import { intervalBarChart, lineChart, stackedBarChart, STAGE_COLORS } from './svg.js';
import { buildTables, type Table } from './tables.js';
import { buildTrainingCharts } from './train-charts.js';
import { isTrainingRun, loadTrainingRun, type LoadedTrainingRun } from './train-load.js';
import { buildTrainingTables } from './train-tables.js';

export { loadRun, type LoadedRun } from './load.js';
export { isTrainingRun, loadTrainingRun, readMetricsLog, TRAINER_KINDS, type LoadedTrainingRun, type TrainingStep, type TrainerKind, type MetricsLog } from './train-load.js';
export { buildTrainingCharts, movingAverage, smoothingHalfWidth } from './train-charts.js';
export { buildTrainingTables, thirdsMeans } from './train-tables.js';
export { stepLineChart, stackedAreaChart, type StepPanel, type StepSeries, type StepPoint } from './svg.js';
export { buildTables, type Table } from './tables.js';
export { intervalBarChart, stackedBarChart, lineChart } from './svg.js';
export { svgToPng, systemFontsAvailable } from './png.js';
export { reportHtml, tableToMarkdown, tableToHtml, type Chart } from './render.js';

export interface ReportOptions {
  /** Where to write (created). */
  outDir: string;
  title?: string;
  /** PNG copies of the charts (default true). */
  png?: boolean;
}

export interface ReportResult {
  outDir: string;
  markdown: string;
  html: string;
  charts: { svg: string; png?: string }[];
  tables: Table[];
  warnings: string[];
}

/** The charts for a set of runs. */
export function buildCharts(runs: LoadedRun[]): Chart[] {
  const s = (r: LoadedRun) => r.summary;
  const charts: Chart[] = [
    {
      id: 'rates',
      title: 'Rates with 95% bootstrap intervals',
      svg: intervalBarChart({
        title: 'Rates (%) with 95% bootstrap intervals',
        metrics: ['Syn%', '≥1-P%', 'All-P%', 'Sec-clean%'],
        series: runs.map((r) => ({
          label: r.label,
          values: [s(r).syn_pct, s(r).pass1_pct, s(r).allpass_pct, s(r).secclean_pct],
          cis: [s(r).syn_pct_ci, s(r).pass1_pct_ci, s(r).allpass_pct_ci, s(r).secclean_pct_ci],
        })),
        max: 100,
        unit: '%',
      }),
    },
    {
      id: 'stages',
      title: 'Ladder stage distribution',
      svg: stackedBarChart({
        title: 'Ladder stage distribution (% of samples)',
        rows: runs.map((r) => ({ label: r.label, values: s(r).stages.pct })),
        categories: ['0 syntax error', '1 compiles', '2 runs', '3 prints', '4 passes ≥1'],
        colors: STAGE_COLORS,
      }),
    },
    {
      id: 'rewards',
      title: 'Mean rewards with 95% bootstrap intervals',
      svg: intervalBarChart({
        title: 'Mean rewards with 95% bootstrap intervals',
        metrics: ['R', 'R_func', 'R_sec'],
        series: runs.map((r) => ({
          label: r.label,
          values: [s(r).mean_r, s(r).mean_r_func, s(r).mean_r_sec],
          cis: [s(r).mean_r_ci, s(r).mean_r_func_ci, s(r).mean_r_sec_ci],
        })),
        max: 1,
        unit: '',
      }),
    },
    {
      id: 'failures',
      title: 'Failure taxonomy',
      svg: stackedBarChart({
        title: 'Failure taxonomy (% of failing samples)',
        rows: runs.map((r) => ({ label: `${r.label} (${s(r).failures.samples})`, values: FAILURE_KINDS.map((k) => s(r).failures.pct[k] ?? 0) })),
        categories: ['wrong output', 'no output', 'timeout', 'crash', 'memory'],
        colors: ['#D55E00', '#E69F00', '#56B4E9', '#CC79A7', '#009E73'],
      }),
    },
  ];
  const multi = runs.filter((r) => s(r).samples_per_prompt > 1);
  if (multi.length) {
    const ks = [...new Set(multi.flatMap((r) => Object.keys(s(r).pass_at_k).map(Number)))].sort((a, b) => a - b);
    charts.push({
      id: 'passk',
      title: 'pass@k',
      svg: lineChart({ title: 'pass@k (%)', xs: ks, xLabel: 'k', series: multi.map((r) => ({ label: r.label, values: ks.map((k) => s(r).pass_at_k[String(k)]?.pct ?? null) })) }),
    });
  }
  return charts;
}

/** An eval run folder or a training run folder, loaded. */
export type AnyLoadedRun = LoadedRun | LoadedTrainingRun;

export const isLoadedTrainingRun = (run: AnyLoadedRun): run is LoadedTrainingRun => (run as LoadedTrainingRun).kind === 'training';

/** Loads a training run folder (config.json with a `trainer` field) or else an eval run folder. */
export function loadAnyRun(dir: string): AnyLoadedRun {
  return isTrainingRun(dir) ? loadTrainingRun(dir) : loadRun(dir);
}

/**
 * The tables in page order. Eval runs alone: their tables as before. Training runs alone: theirs.
 * Both: the eval results table first, then the training summaries, the other eval tables, and the
 * training run list.
 */
function orderTables(evalTables: Table[], trainingTables: Table[]): Table[] {
  if (evalTables.length === 0) return trainingTables;
  if (trainingTables.length === 0) return evalTables;
  const [evalMain, ...evalRest] = evalTables;
  const runList = trainingTables[trainingTables.length - 1];
  return [evalMain, ...trainingTables.slice(0, -1), ...evalRest, runList];
}

/** The page's title and the line under it. */
function describeRuns(evalRuns: LoadedRun[], trainingRuns: LoadedTrainingRun[], all: AnyLoadedRun[]): { title: string; subtitle: string } {
  const labels = all.map((r) => r.label).join(' vs ');
  const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const evalPart = () => `${[...new Set(evalRuns.map((r) => r.summary.data))].join(', ')} · ${evalRuns[0].summary.n} prompts`;
  if (trainingRuns.length === 0) {
    return {
      title: evalRuns.length === 1 ? `Evaluation: ${evalRuns[0].label}` : `Evaluation: ${labels}`,
      subtitle: `${evalPart()} · ${plural(evalRuns.length, 'run')} · generated by securecoderl report`,
    };
  }
  const trainers = [...new Set(trainingRuns.map((r) => r.trainer))].join(', ');
  const trainingPart = `${plural(trainingRuns.length, 'training run')} (${trainers})`;
  if (evalRuns.length === 0) return { title: `Training: ${labels}`, subtitle: `${trainingPart} · generated by securecoderl report` };
  return { title: `Training and evaluation: ${labels}`, subtitle: `${trainingPart} · ${plural(evalRuns.length, 'eval run')}: ${evalPart()} · generated by securecoderl report` };
}

/**
 * Writes the report for one or more run folders, eval runs (written by `eval`), training runs
 * (written by the trainers: config.json with `trainer`, metrics.jsonl) or both: `report.md` (tables,
 * chart links), `report.html` (one self-contained page), and `charts/*.svg` and `charts/*.png`. The
 * first eval run is the baseline of the paired comparisons; training runs are overlaid on the
 * training charts, one colour each.
 */
export function writeReport(runDirs: string[], options: ReportOptions): ReportResult {
  if (runDirs.length === 0) throw new Error('report: give at least one run folder');
  const runs = runDirs.map(loadAnyRun);
  const labels = new Set<string>();
  for (const r of runs) {
    let label = r.label;
    for (let i = 2; labels.has(label); i++) label = `${r.label} (${i})`;
    labels.add(label);
    r.label = label;
  }
  const trainingRuns = runs.filter(isLoadedTrainingRun);
  const evalRuns = runs.filter((r): r is LoadedRun => !isLoadedTrainingRun(r));
  const warnings: string[] = trainingRuns.flatMap((r) => r.warnings);
  const tables = orderTables(evalRuns.length ? buildTables(evalRuns) : [], trainingRuns.length ? buildTrainingTables(trainingRuns) : []);
  const charts = [...(evalRuns.length ? buildCharts(evalRuns) : []), ...buildTrainingCharts(trainingRuns)];
  const out = options.outDir;
  mkdirSync(join(out, 'charts'), { recursive: true });
  const png = options.png ?? true;
  if (png && !systemFontsAvailable()) warnings.push('no fonts found under /usr/share/fonts: PNG charts will have no text (apt-get install fonts-dejavu-core)');
  const written: ReportResult['charts'] = [];
  for (const c of charts) {
    const svgPath = join(out, 'charts', `${c.id}.svg`);
    writeFileSync(svgPath, c.svg);
    const entry: { svg: string; png?: string } = { svg: svgPath };
    if (png) {
      try {
        entry.png = join(out, 'charts', `${c.id}.png`);
        writeFileSync(entry.png, svgToPng(c.svg));
      } catch (error) {
        delete entry.png;
        warnings.push(`PNG of ${c.id} not written: ${(error as Error).message}`);
      }
    }
    written.push(entry);
  }
  const described = describeRuns(evalRuns, trainingRuns, runs);
  const title = options.title ?? described.title;
  const subtitle = described.subtitle;
  const [main, ...rest] = tables;
  const md = [
    `# ${title}`, '', subtitle, '',
    tableToMarkdown(main),
    '## Charts', '',
    ...charts.map((c, i) => `![${c.title}](charts/${c.id}.${written[i].png ? 'png' : 'svg'})  \n[SVG](charts/${c.id}.svg)\n`),
    ...rest.map(tableToMarkdown),
  ].join('\n');
  const mdPath = join(out, 'report.md');
  writeFileSync(mdPath, md);
  const htmlPath = join(out, 'report.html');
  writeFileSync(htmlPath, reportHtml({ title, subtitle, tables, charts }));
  return { outDir: out, markdown: mdPath, html: htmlPath, charts: written, tables, warnings };
}
