import { join } from 'node:path';
import { benchModels, readBenchConfig } from '../eval/bench-models.js';
import { writeReport } from '../report/index.js';
import { tableToMarkdown } from '../report/render.js';
import { parse, progressReporter, required } from './args.js';

export const usage = `securecoderl bench models --config FILE

Several models on one prompt set (the same prompts for each: same data, n and seed), each into its
own resumable run folder OUT/NAME, then the report (OUT/report) and the paper's Table 2 and Table 3
columns with 95% bootstrap intervals and paired differences against the first model. FILE (JSON):

  { "data": "apps-plus", "n": 100, "seed": 42, "samples_per_prompt": 1, "out": "runs/bench",
    "template": "instruction", "temperature": 0.2, "max_tokens": 512,
    "models": [
      { "name": "deepseek-1.3b", "endpoint": "http://127.0.0.1:8000/v1", "model": "deepseek-coder-1.3b-instruct",
        "api": "completions", "api_key_env": "OPENAI_API_KEY" },
      { "name": "reference", "completions": "reference.jsonl" } ] }

Exit code 1 when a model failed (the others still run and are reported).`;

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, { config: { type: 'string' } });
  const config = readBenchConfig(required('config', values.config));
  const controller = new AbortController();
  const onSigint = () => controller.abort();
  process.on('SIGINT', onSigint);
  try {
    const result = await benchModels(config, { signal: controller.signal, log: (line) => process.stderr.write(`${line}\n`), onProgress: (name) => progressReporter(name) });
    const dirs = result.runs.filter((r) => r.result || r.error?.includes('samples are scored')).map((r) => r.dir);
    if (dirs.length > 0) {
      const report = writeReport(dirs, { outDir: join(config.out, 'report') });
      for (const w of report.warnings) process.stderr.write(`warning: ${w}\n`);
      const wanted = ['main', 'table2', 'paired'];
      process.stdout.write(`${report.tables.filter((t) => wanted.includes(t.id)).map(tableToMarkdown).join('\n')}\nreport: ${report.html}\n`);
    }
    const failed = result.runs.filter((r) => r.error);
    for (const f of failed) process.stderr.write(`${f.name}: ${f.error}\n`);
    return failed.length > 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
