import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readBenchConfig } from '../../src/eval/bench-models.js';
import { closedPort } from './openai-stand-in.js';
import { writeCompletions, writeProblems } from './fixtures.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const runCli = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

test('bench models: every model on the same prompts, Table 2/3 columns with intervals, a failing model reported; report CLI', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-bench-'));
  const data = writeProblems(dir);
  const fixture = writeCompletions(dir, 'fixture.jsonl');
  // A second "model": the fixture's first sample of every problem, three times over.
  const firsts = readFileSync(fixture, 'utf8').trim().split('\n').filter((_, i) => i % 3 === 0);
  writeFileSync(join(dir, 'firsts.jsonl'), firsts.flatMap((l) => [l, l, l]).join('\n') + '\n');
  const port = await closedPort();
  const config = {
    data, n: null, seed: 42, samples_per_prompt: 3, out: join(dir, 'bench'), resamples: 2000,
    models: [
      { name: 'fixture', completions: fixture },
      { name: 'firsts', completions: join(dir, 'firsts.jsonl') },
      { name: 'offline', endpoint: `http://127.0.0.1:${port}/v1`, model: 'm' },
    ],
  };
  writeFileSync(join(dir, 'bench.json'), JSON.stringify(config));
  const r = runCli(['bench', 'models', '--config', join(dir, 'bench.json')]);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /offline: .*cannot reach .*connection refused/);
  assert.match(r.stdout, /## Benchmark summary \(the paper's Table 2 columns\)/);
  assert.match(r.stdout, /\| Model \| Prompts \| Samples \| Syn% \| ≥1-P% \| All-P% \| Sec-clean% \| mean R \| R_func \| R_sec \|/);
  assert.match(r.stdout, /\| fixture \| 4 \| 12 \| 91\.7 \[/);
  // "firsts" passes add, twice and hello with every sample: All-P 75%; paired against fixture (33.3%): +41.7 points.
  assert.match(r.stdout, /\| firsts \| 4 \| 12 \| 100\.0 \[100\.0, 100\.0\] \| 75\.0 \[/);
  assert.match(r.stdout, /\| firsts − fixture \| \+8\.3 \[[^\]]*\] p=[^|]*\| \+25\.0 \[[^\]]*\] p=[^|]*\| \+41\.7 \[/);
  const prompts = (name: string) => readFileSync(join(dir, 'bench', name, 'prompts.jsonl'), 'utf8').split('\n').map((l) => l && JSON.parse(l).problem_id).join(',');
  assert.equal(prompts('fixture'), prompts('firsts'));
  assert.ok(existsSync(join(dir, 'bench', 'report', 'report.html')));

  const report = runCli(['report', join(dir, 'bench', 'fixture'), '--no-png']);
  assert.equal(report.status, 0, report.stderr);
  assert.ok(existsSync(join(dir, 'bench', 'fixture', 'report', 'report.md')));
  assert.ok(!existsSync(join(dir, 'bench', 'fixture', 'report', 'charts', 'stages.png')));
  const notRun = runCli(['report', dir]);
  assert.equal(notRun.status, 1);
  assert.match(notRun.stderr, /not a run folder \(no config\.json/);

  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config, models: [{ name: 'x y', completions: fixture }] }));
  assert.throws(() => readBenchConfig(join(dir, 'bad.json')), /bad\.json: field "models\[0\]\.name": expected a name/);
  writeFileSync(join(dir, 'bad.json'), JSON.stringify({ ...config, models: [{ name: 'a', endpoint: 'http://x' }] }));
  assert.throws(() => readBenchConfig(join(dir, 'bad.json')), /field "models\[0\]\.model": expected the model name/);
});
