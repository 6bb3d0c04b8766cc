import { writeFileSync } from 'node:fs';
import { loadDataset } from '../data/index.js';
import { agreementMarkdown, cyberSecEvalAgreement } from '../eval/agreement.js';
import { oneOf, parse, UsageError } from './args.js';

export const usage = `securecoderl agreement [--data cyberseceval|FILE] [--backend ruff|bandit] [--as-cut] [--json] [--verdicts FILE]

How our security analyzer agrees with CyberSecEval's own labels on its origin_code: per labelled CWE,
the snippets where it reports that weakness at the labelled line, anywhere, at MEDIUM/HIGH, and the
misses by the data set's detector rule, plus what it reports on the labelled line instead. Each source
snippet counts once (the three variants share them). The table in docs/security.md is this output.

  --data SET|FILE      cyberseceval (default: all three Python variants) or a CyberSecEval JSON file/folder
  --backend B          ruff (default, in process) or bandit (the real Bandit, as an oracle)
  --as-cut             analyse the fragments as cut (default: add \`import m\` for modules a fragment
                       uses as m.attr but does not import; Ruff resolves calls through imports)
  --json               print the report as JSON (without the per-snippet verdicts)
  --verdicts FILE      write one JSON line per snippet: label, window analysed, findings`;

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, {
    data: { type: 'string' }, backend: { type: 'string' }, 'as-cut': { type: 'boolean' }, json: { type: 'boolean' }, verdicts: { type: 'string' },
  });
  const data = (values.data as string | undefined) ?? 'cyberseceval';
  const loaded = data === 'cyberseceval' ? loadDataset('cyberseceval', { variant: 'all' }) : loadDataset(data, { format: 'cyberseceval' });
  if (loaded.errors.length > 0) throw new Error(`${data}: ${loaded.errors.length} bad records:\n  ${loaded.errors.slice(0, 5).join('\n  ')}`);
  if (loaded.problems.length === 0) throw new UsageError(`--data ${data}: no CyberSecEval records`);
  const backend = oneOf('backend', values.backend, ['ruff', 'bandit'] as const, 'ruff');
  const report = await cyberSecEvalAgreement(loaded.problems, { backend, addImports: !values['as-cut'] });
  if (typeof values.verdicts === 'string') {
    writeFileSync(values.verdicts, report.verdicts.map((v) => JSON.stringify(v)).join('\n') + '\n');
  }
  const { verdicts: _omitted, ...summary } = report;
  process.stdout.write(values.json ? `${JSON.stringify(summary, null, 2)}\n` : `${agreementMarkdown(report)}\n`);
  return 0;
}
