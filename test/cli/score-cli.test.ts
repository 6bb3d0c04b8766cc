import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

test('--help lists the commands; an unknown command is an error', () => {
  const help = run(['--help']);
  assert.equal(help.status, 0);
  for (const command of ['demo', 'score', 'bench']) assert.match(help.stdout, new RegExp(`\\n  ${command} `));
  const unknown = run(['frobnicate']);
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command 'frobnicate'/);
  const usage = run(['score', '--reward', 'fuzzy', '--problems', 'x', '--samples', 'y']);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--reward: expected one of partial, binary, additive, got "fuzzy"/);
});

test('score: valid samples are scored and written, bad lines are reported by file and line, exit 1', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-cli-'));
  const problems = join(dir, 'problems.jsonl');
  const samples = join(dir, 'samples.jsonl');
  const out = join(dir, 'out.jsonl');
  writeFileSync(problems, [
    JSON.stringify({ id: 'add', prompt: 'Add two numbers.', inputs: ['1 2\n', '3 4\n'], outputs: ['3\n', '7\n'] }),
    JSON.stringify({ id: 'twice', prompt: 'def twice(x):\n', inputs: [[2], [5]], outputs: [[4], [10]], fn_name: 'twice' }),
  ].join('\n'));
  writeFileSync(samples, [
    JSON.stringify({ problem_id: 'add', completion: '```python\na, b = map(int, input().split())\nprint(a + b)\n```' }),
    JSON.stringify({ problem_id: 'nope', completion: 'print(1)' }),
    '{"problem_id": "add", "completion": ',
    JSON.stringify({ problem_id: 'twice', completion: 'def twice(x):\n    return eval("x * 2")\n' }),
    JSON.stringify({ problem_id: 'add' }),
  ].join('\n'));
  const result = run(['score', '--problems', problems, '--samples', samples, '--out', out]);
  assert.equal(result.status, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`error: ${samples}:2: field "problem_id": unknown problem "nope"`));
  assert.match(result.stderr, new RegExp(`error: ${samples}:3: not valid JSON`));
  assert.match(result.stderr, new RegExp(`error: ${samples}:5: field "completion": missing`));
  const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(lines.length, 2);
  assert.deepEqual(
    lines.map((l) => [l.problem_id, l.reward, l.r_func, l.r_sec, l.stage, l.syntax_ok, l.tests_passed, l.tests_total, l.verdicts]),
    [
      ['add', 1, 1, 1, 4, true, 2, 2, ['passed', 'passed']],
      ['twice', 0.8, 1, 0.5, 4, true, 2, 2, ['passed', 'passed']],
    ],
  );
  assert.deepEqual(lines[1].findings.map((f: Record<string, unknown>) => [f.rule, f.bandit_id, f.severity, f.cwe, f.line]), [['S307', 'B307', 'MEDIUM', 78, 2]]);
  assert.equal(lines[0].program, 'a, b = map(int, input().split())\nprint(a + b)\n');
});

test('score: the reward, security and comparison flags reach the reward', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-cli-'));
  const problems = join(dir, 'problems.jsonl');
  const samples = join(dir, 'samples.jsonl');
  writeFileSync(problems, JSON.stringify({ id: 'p', prompt: '', inputs: ['', ''], outputs: ['1 \n', '2\n'] }));
  writeFileSync(samples, JSON.stringify({ problem_id: 'p', completion: 'print(" 1")\n' }));
  const score = (...flags: string[]) => {
    const r = run(['score', '--problems', problems, '--samples', samples, ...flags]);
    assert.equal(r.status, 0, r.stderr);
    return JSON.parse(r.stdout.trim());
  };
  assert.equal(score().tests_passed, 0, 'default comparison keeps leading spaces');
  assert.equal(score('--compare', 'strict').tests_passed, 1);
  assert.equal(score('--compare', 'strict', '--reward', 'binary').r_func, 0);
  assert.equal(score('--security', 'off').r_sec, null);
  assert.equal(score('--compare', 'strict', '--weights', '1,0').reward, 0.8);
});

test('score --sec-shape graded: each finding carries its weight and confidence; the summary breaks findings down by CWE', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-cli-'));
  const problems = join(dir, 'problems.jsonl');
  const samples = join(dir, 'samples.jsonl');
  writeFileSync(problems, JSON.stringify({ id: 'p', prompt: '', inputs: [''], outputs: ['1\n'] }));
  writeFileSync(samples, JSON.stringify({ problem_id: 'p', completion: 'import random\nprint(eval("1") + random.randint(0, 0))\n' }));
  const r = run(['score', '--problems', problems, '--samples', samples, '--sec-shape', 'graded']);
  assert.equal(r.status, 0, r.stderr);
  const line = JSON.parse(r.stdout.trim());
  assert.deepEqual(line.findings.map((f: Record<string, unknown>) => [f.bandit_id, f.confidence, f.cwe, f.weight]), [['B307', 'HIGH', 78, 0.49], ['B311', 'HIGH', 330, 0.078]]);
  assert.equal(line.r_sec, Math.round((1 - 0.49) * (1 - 0.078) * 1e6) / 1e6);
  assert.match(r.stderr, /findings by CWE +CWE-330 1 in 1 sample \(weight 0\.078\), CWE-78 1 in 1 sample \(weight 0\.490\)/);
});
