// 2,000 samples × 5 tests in one run: no errors, results in order, memory bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scoreFiles } from '../../src/eval/score-files.js';

test('load: 2,000 samples x 5 tests with a bounded memory footprint', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-load-'));
  const problems = join(dir, 'problems.jsonl');
  const samples = join(dir, 'samples.jsonl');
  const out = join(dir, 'out.jsonl');
  const problemLines: string[] = [];
  for (let p = 0; p < 50; p++) {
    const inputs = Array.from({ length: 5 }, (_, t) => `${p} ${t}\n`);
    problemLines.push(JSON.stringify({ id: `p${p}`, prompt: 'Print the sum.', inputs, outputs: inputs.map((_, t) => `${p + t}\n`) }));
  }
  writeFileSync(problems, problemLines.join('\n'));
  const variants = [
    'a, b = map(int, input().split())\nprint(a + b)\n',
    'a, b = map(int, input().split())\nprint(a * b)\n',
    'a, b = map(int, input().split())\nprint(a + b if b < 3 else 0)\n',
    'raise SystemExit(input())\n',
    'import sys\nprint(sum(map(int, sys.stdin.read().split())))\n',
  ];
  const sampleLines = Array.from({ length: 2000 }, (_, i) => JSON.stringify({ problem_id: `p${i % 50}`, completion: variants[i % variants.length] }));
  writeFileSync(samples, sampleLines.join('\n'));
  let peakRss = 0;
  const started = process.memoryUsage().rss;
  const { summary, errors } = await scoreFiles({
    problems, samples, out, judge: { workers: 2 },
    onProgress: () => { peakRss = Math.max(peakRss, process.memoryUsage().rss); },
  });
  assert.deepEqual(errors, []);
  assert.equal(summary.n, 2000);
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2000);
  lines.forEach((line, i) => assert.equal(line.problem_id, `p${i % 50}`));
  const expectedPassed = [5, 0, 3, 0, 5];
  lines.forEach((line, i) => {
    // p0 makes a*b right whenever a + b == a * b, i.e. only for (0, 0); and crash variant passes nothing
    const p = i % 50;
    const v = i % variants.length;
    const want = v === 1 ? [0, 1, 2, 3, 4].filter((t) => p + t === p * t).length : expectedPassed[v];
    assert.equal(line.tests_passed, want, `sample ${i}`);
  });
  assert.equal(summary.verdicts.timeout ?? 0, 0);
  const growthMb = (peakRss - started) / 2 ** 20;
  console.log(`load: peak RSS growth ${growthMb.toFixed(0)} MiB`);
  assert.ok(growthMb < 150, `memory grew by ${growthMb.toFixed(0)} MiB`);
});
