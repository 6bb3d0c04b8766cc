import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_DATA_DIR, loadAppsPlus, loadProblems, loadSamples, stubFunctionName } from '../../src/data/index.js';

test('APPS+ valid_500: 500 problems, 318 stdin and 182 call style, as the data README says', () => {
  const { problems, errors } = loadAppsPlus(join(BUNDLED_DATA_DIR, 'apps_plus/valid_500.json'));
  assert.deepEqual(errors, []);
  assert.equal(problems.length, 500);
  assert.equal(problems.filter((p) => p.style === 'stdin').length, 318);
  assert.equal(problems.filter((p) => p.style === 'call').length, 182);
  const counts = problems.reduce<Record<string, number>>((c, p) => ({ ...c, [p.difficulty!]: (c[p.difficulty!] ?? 0) + 1 }), {});
  assert.deepEqual(counts, { competition: 100, interview: 200, introductory: 200 });
  assert.ok(problems.every((p) => p.tests.length >= 1 && p.tests.length <= 3 && p.fnName && p.canonicalSolution));
  // top-level string arguments and results are JSON-quoted in the file and decoded here
  const p = problems.find((x) => x.fnName === 'maxUniqueSplit')!;
  assert.deepEqual(p.tests[0], { input: ['ababccc'], output: 5 });
  const stdin = problems[0];
  assert.equal(stdin.fnName, 'FsxrN');
  assert.equal(typeof stdin.tests[0].input, 'string');
});

test('APPS+ train_16: 16 stdin problems', () => {
  const { problems } = loadAppsPlus(join(BUNDLED_DATA_DIR, 'apps_plus/train_16.json'));
  assert.equal(problems.length, 16);
  assert.ok(problems.every((p) => p.style === 'stdin'));
});

test('stub function names', () => {
  assert.equal(stubFunctionName('\ndef FsxrN():\n'), 'FsxrN');
  assert.equal(stubFunctionName('\nclass Solution:\n    def maxUniqueSplit(self, s: str) -> int:\n'), 'maxUniqueSplit');
  assert.equal(stubFunctionName('no function'), undefined);
});

test('problem JSONL: bad lines are reported with file, line and field, good ones kept', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-data-'));
  const file = join(dir, 'problems.jsonl');
  writeFileSync(file, [
    JSON.stringify({ id: 'a', prompt: 'p', inputs: ['1\n'], outputs: ['1\n'] }),
    '{not json',
    JSON.stringify({ prompt: 'p', inputs: [], outputs: [] }),
    JSON.stringify({ id: 'b', prompt: 'p', inputs: ['1'], outputs: [] }),
    JSON.stringify({ id: 'a', prompt: 'p', inputs: [], outputs: [] }),
    '',
    JSON.stringify({ id: 7, prompt: 'p', inputs: [[1, '"x"']], outputs: [[2]], fn_name: 'f', compare: 'float' }),
    JSON.stringify({ id: 'c', prompt: 'p', inputs: [], outputs: [], compare: 'fuzzy' }),
  ].join('\n'));
  const { problems, errors } = loadProblems(file);
  assert.deepEqual(problems.map((p) => p.id), ['a', '7']);
  assert.deepEqual(problems[1].tests, [{ input: [1, 'x'], output: 2 }]);
  assert.equal(problems[1].compare, 'float');
  assert.equal(errors.length, 5);
  assert.match(errors[0], new RegExp(`^${file}:2: not valid JSON`));
  assert.match(errors[1], /:3: field "id": missing/);
  assert.match(errors[2], /:4: fields "inputs"\/"outputs": 1 inputs but 0 outputs/);
  assert.match(errors[3], /:5: field "id": duplicate id "a"/);
  assert.match(errors[4], /:8: field "compare"/);
});

test('samples JSONL: unknown problems and missing fields are errors naming the line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-data-'));
  const file = join(dir, 'samples.jsonl');
  writeFileSync(file, [
    JSON.stringify({ problem_id: 'a', completion: 'print(1)' }),
    JSON.stringify({ problem_id: 'zzz', completion: 'print(1)' }),
    JSON.stringify({ problem_id: 'a' }),
    '[1, 2]',
  ].join('\n'));
  const { samples, errors } = loadSamples(file, new Set(['a']));
  assert.equal(samples.length, 1);
  assert.deepEqual(errors.map((e) => e.slice(file.length)), [
    ':2: field "problem_id": unknown problem "zzz"',
    ':3: field "completion": missing (a string)',
    ':4: expected a JSON object',
  ]);
  assert.throws(() => loadSamples(join(dir, 'missing.jsonl')), /cannot read samples file .*missing\.jsonl: ENOENT/);
});
