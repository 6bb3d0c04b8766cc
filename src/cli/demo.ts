import { runDemo } from '../eval/demo.js';
import { formatSummary } from '../eval/summary.js';
import { parse, progressReporter } from './args.js';

export const usage = `securecoderl demo [--out DIR]

Scores the bundled APPS+ reference solutions (500 problems) and a few bundled sample completions
with the default reward (partial credit, Ruff security), writes reference.jsonl, samples.jsonl and
summary.json to DIR (default runs/demo), and prints a summary.`;

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, { out: { type: 'string' } });
  const result = await runDemo((values.out as string | undefined) ?? 'runs/demo', progressReporter('scoring'));
  const print = (text: string) => process.stdout.write(`${text}\n`);
  print('APPS+ reference solutions (data/apps_plus/valid_500.json)');
  print(formatSummary(result.reference));
  for (const failure of result.referenceFailures) print(`  not all passed: problem ${failure.problemId}: ${failure.verdicts.join(', ')}`);
  print('\nSample completions (data/samples/demo_completions.jsonl)');
  print(formatSummary(result.samples));
  print(`\nwrote ${result.outDir}/reference.jsonl, samples.jsonl, summary.json in ${result.seconds.toFixed(1)} s`);
  return result.referenceFailures.length > 0 ? 1 : 0;
}
