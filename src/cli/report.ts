import { writeReport } from '../report/index.js';
import { UsageError } from './args.js';
import { parseArgs } from 'node:util';
import { join } from 'node:path';

export const usage = `securecoderl report RUN_DIR... [--out DIR] [--title TEXT] [--no-png]

Renders one or more run folders as report.md (Markdown tables), report.html (one self-contained
page), and charts/*.svg and *.png. Eval runs (written by \`eval\` or \`bench models\`): rates with 95%
bootstrap intervals, the ladder stage distribution, mean rewards, the failure taxonomy, and pass@k;
with several, the first is the baseline of the paired differences. Training runs (config.json with a
\`trainer\` field, metrics.jsonl): curves over steps (reward terms, stage shares, pass rate, KL and
entropy, update losses, SFT/pretraining loss, ...), several runs overlaid one colour each, and a
summary table (first third against last third of the steps). Both kinds can be given together.

  --out DIR      where to write (default: RUN_DIR/report for one run, report/ for several)
  --title TEXT   page title
  --no-png       SVG charts only`;

export async function run(argv: string[]): Promise<number> {
  let positionals: string[];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ positionals, values } = parseArgs({ args: argv, options: { out: { type: 'string' }, title: { type: 'string' }, 'no-png': { type: 'boolean' } }, allowPositionals: true, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (positionals.length === 0) throw new UsageError('give at least one run folder');
  const outDir = (values.out as string | undefined) ?? (positionals.length === 1 ? join(positionals[0], 'report') : 'report');
  const result = writeReport(positionals, { outDir, title: values.title as string | undefined, png: values['no-png'] !== true });
  for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`);
  process.stdout.write(`wrote ${result.html}\n      ${result.markdown}\n      ${result.charts.length} charts in ${join(outDir, 'charts')}\n`);
  return 0;
}
