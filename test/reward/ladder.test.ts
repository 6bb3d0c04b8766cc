import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Scorer, functionalReward, securityReward, lintReward, stageOf, vulnerabilityScore } from '../../src/reward/index.js';
import type { Finding } from '../../src/analyze/index.js';
import type { Problem } from '../../src/data/index.js';

let scorer: Scorer;
before(() => { scorer = new Scorer({}, { workers: 2, limits: { cpuSeconds: 1, wallSeconds: 3 } }); });
after(() => scorer.close());

const problem: Problem = {
  id: 'add',
  prompt: 'Read two integers and print their sum.',
  style: 'stdin',
  tests: [{ input: '1 2\n', output: '3\n' }, { input: '2 2\n', output: '4\n' }, { input: '5 5\n', output: '10\n' }, { input: '0 0\n', output: '0\n' }],
};
const read = 'a, b = map(int, input().split())\n';
const close = (a: number, b: number) => Math.abs(a - b) < 1e-12;

test('each rung of the partial-credit ladder, from real judge runs', async () => {
  const cases: [string, number, number][] = [
    ['def broken(:\n', 0, 0],
    ['', 0, 0],
    [`${read}print(1 // 0)\n`, 1, 0.2],
    [`${read}`, 2, 0.4],
    [`${read}print(a - b)\n`, 3, 0.6], // passes 0 of 4... except 0 0 → 0 passes one
    [`${read}print(a + b if a < 5 else 0)\n`, 4, 0.6 + 0.4 * 3 / 4],
    [`${read}print(a + b)\n`, 4, 1],
  ];
  // a - b passes the "0 0" test: make that case truly wrong.
  cases[4][0] = `${read}print(a - b + 100)\n`;
  for (const [completion, stage, rFunc] of cases) {
    const b = await scorer.score(problem, completion);
    assert.equal(b.stage, stage, completion);
    assert.ok(close(b.rFunc, rFunc), `${completion}: r_func ${b.rFunc} != ${rFunc}`);
    assert.ok(close(b.reward, stage === 0 ? 0 : 0.6 * rFunc + 0.4), `${completion}: reward ${b.reward}`);
  }
});

test('binary and additive modes from the same verdicts', async () => {
  const binary = new Scorer({ mode: 'binary' }, scorer.judge);
  const additive = new Scorer({ mode: 'additive' }, scorer.judge);
  const partial = `${read}print(a + b if a < 5 else 0)\n`;
  assert.equal((await binary.score(problem, partial)).rFunc, 0);
  assert.equal((await binary.score(problem, `${read}print(a + b)\n`)).rFunc, 1);
  // additive: 0.2 + 0.2 (exit 0) + 0.2 (printed) + 0.4·3/4
  assert.ok(close((await additive.score(problem, partial)).rFunc, 0.6 + 0.3));
  // crashes after printing: 0.2 + 0 + 0.2 + 0 — a combination the ladder cannot produce
  assert.ok(close((await additive.score(problem, `${read}print(a)\nraise SystemExit(1)\n`)).rFunc, 0.4));
  // the reference code zeroes programs under 10 characters, and gives R_sec = 1 to code that does not parse
  assert.equal((await additive.score(problem, 'print(3)')).reward, 0);
  const garbage = await additive.score(problem, 'this is not python at all');
  assert.equal(garbage.rFunc, 0);
  assert.equal(garbage.rSec, 1);
  assert.ok(close(garbage.reward, 0.4));
  const ours = await scorer.score(problem, 'this is not python at all');
  assert.equal(ours.reward, 0, 'outside the compatibility mode a syntax error earns nothing');
  await binary.close();
  await additive.close();
});

test('a problem without tests can reach stage 3 and no further', async () => {
  const untested: Problem = { id: 'free', prompt: 'Print hello.', style: 'stdin', tests: [] };
  const printed = await scorer.score(untested, 'print("hello")\n');
  assert.equal(printed.stage, 3);
  assert.ok(close(printed.rFunc, 0.6));
  assert.equal(printed.testsTotal, 0);
  assert.deepEqual(printed.verdicts, []);
  assert.equal((await scorer.score(untested, 'x = 1\n')).stage, 2);
  assert.equal((await scorer.score(untested, 'raise ValueError\n')).stage, 1);
  const additive = new Scorer({ mode: 'additive' }, scorer.judge);
  assert.equal((await additive.score(untested, 'raise ValueError\n')).rFunc, 1, 'reference: R_func = 1 if it parses');
});

test('security term: V from MEDIUM 0.5 and HIGH 1.0, capped; linear and exp shapes; LOW does not count', async () => {
  const f = (severity: Finding['severity']): Finding => ({ rule: 'S000', banditId: 'B000', severity, cwe: null, line: 1, column: 1, message: '' });
  assert.equal(vulnerabilityScore([f('LOW'), f('LOW')]), 0);
  assert.equal(vulnerabilityScore([f('MEDIUM')]), 0.5);
  assert.equal(vulnerabilityScore([f('MEDIUM'), f('HIGH')]), 1);
  assert.equal(securityReward([f('MEDIUM')]), 0.5);
  assert.ok(close(securityReward([f('MEDIUM')], 'exp'), Math.exp(-0.5)));
  assert.ok(close(securityReward([f('HIGH'), f('HIGH')], 'exp'), Math.exp(-1)));

  const withEval = await scorer.score(problem, `a, b = map(int, eval("input().split()"))\nprint(a + b)\n`);
  assert.deepEqual(withEval.findings.map((x) => [x.banditId, x.severity]), [['B307', 'MEDIUM']]);
  assert.ok(close(withEval.reward, 0.6 * 1 + 0.4 * 0.5));
  const shell = await scorer.score(problem, `import os\n${read}os.system("echo " + str(a + b))\n`);
  assert.equal(shell.rSec, 0);
  assert.equal(shell.findings[0].severity, 'HIGH');
  const input = await scorer.score(problem, `${read}print(a + b)\n`);
  assert.deepEqual(input.findings, [], 'input() is not a finding');
});

test('weights, security off and the lint term', async () => {
  const off = new Scorer({ security: 'off' }, scorer.judge);
  const b = await off.score(problem, `${read}print(a + b if a < 5 else 0)\n`);
  assert.equal(b.rSec, null);
  assert.ok(close(b.reward, 0.9), 'with security off R = R_func');
  const linted = new Scorer({ weights: { func: 0.5, sec: 0.3, lint: 0.2 } }, scorer.judge);
  const messy = await linted.score(problem, `import os, sys\nunused = 1\n${read}print(a + b)\n`);
  assert.equal(messy.lintCount, 3, 'E401 multiple imports, F401 os, F401 sys');
  assert.ok(close(messy.rLint!, 0.7));
  assert.ok(close(messy.reward, 0.5 + 0.3 + 0.2 * 0.7));
  assert.equal(lintReward(20, true), 0);
  assert.equal(lintReward(0, false), 0);
  await off.close();
  await linted.close();
});

test('stageOf and functionalReward on hand-made verdicts', () => {
  const run = (exitedOk: boolean, producedOutput: boolean) => ({
    verdict: 'wrong_output' as const, exitedOk, producedOutput, exitCode: exitedOk ? 0 : 1, signal: null, cpuSeconds: 0, wallSeconds: 0, stdout: '', stderr: '',
  });
  const result = { syntaxOk: true, tests: [run(false, true), run(true, false)], passed: 0, total: 2 };
  assert.equal(stageOf(result), 2, 'output from a crashing run does not reach stage 3');
  assert.equal(functionalReward(result, 'partial'), 0.4);
  assert.ok(close(functionalReward(result, 'additive'), 0.6), 'additive counts the two signals separately');
});
