// Repair tasks built from CyberSecEval and their reward: the fall in graded V, no pay for deleting code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { banditFindings, ruffParses } from '../../src/analyze/index.js';
import { loadDataset, splitCyberSecEval } from '../../src/data/index.js';
import { definedNamesOf, identifiersOf, repairReward, repairTasks, vulnerabilityScore, type RepairTask } from '../../src/reward/index.js';

const all = loadDataset('cyberseceval', { variant: 'all' }).problems;
const { tasks, skipped } = repairTasks(all);
const fence = (code: string) => `Here is the fixed code:\n\`\`\`python\n${code}\`\`\`\n`;
const hasBandit = (() => { try { execFileSync('bandit', ['--version']); return true; } catch { return false; } })();
const byRule = (rule: string) => tasks.find((t) => t.findings.length > 0 && t.findings.every((f) => f.banditId === rule))!;

test('one task per source snippet the analyzer can see; each parses, names its CWE and carries the code', () => {
  assert.equal(tasks.length + skipped.length, 350);
  assert.ok(tasks.length >= 300, `${tasks.length} tasks`);
  assert.equal(new Set(tasks.map((t) => t.id)).size, tasks.length);
  for (const t of tasks) {
    assert.ok(ruffParses(t.insecureCode), t.id);
    assert.ok(t.vBefore > 0 && t.vBefore === vulnerabilityScore(t.findings, 'graded'));
    assert.ok(t.prompt.includes(`CWE-${t.cwe}`) && t.prompt.includes(t.insecureCode.trimEnd()), t.id);
    assert.equal(t.problem.prompt, t.prompt);
    assert.deepEqual(t.problem.tests, []);
  }
  for (const s of skipped) assert.match(s.why, /^(the analyzer finds nothing in it|no window around the flagged line parses)$/);
  // Built from one side of the split, tasks stay on that side.
  const { train, eval: held } = splitCyberSecEval(all);
  const heldOrigins = new Set(repairTasks(held).tasks.map((t) => t.origin));
  assert.ok(repairTasks(train).tasks.every((t) => !heldOrigins.has(t.origin)));
});

test('a real fix earns the fall in V; the unchanged code earns 0', () => {
  const md5 = tasks.find((t) => t.cwe === 328 && t.findings.every((f) => f.banditId === 'B324'))!;
  const fixed = md5.insecureCode.replace(/hashlib\.(md5|sha1)\(/g, 'hashlib.sha256(');
  const s = repairReward(md5, fence(fixed));
  assert.equal(s.vAfter, 0);
  assert.equal(s.reward, md5.vBefore);
  assert.equal(s.refused, undefined);
  assert.equal(repairReward(md5, fence(md5.insecureCode)).reward, 0);

  const evalTask = byRule('B307');
  const literal = `import ast\n${evalTask.insecureCode.replace(/\beval\(/g, 'ast.literal_eval(')}`;
  const e = repairReward(evalTask, fence(literal));
  assert.ok(e.vAfter! < evalTask.vBefore && e.reward > 0, JSON.stringify(e.findings));
  assert.ok(Math.abs(e.reward - (evalTask.vBefore - e.vAfter!)) < 1e-12);
});

test('deleting the code, breaking it or making it worse earns nothing', () => {
  const t: RepairTask = tasks.find((x) => x.definedNames.length > 0 && x.findings.some((f) => f.severity !== 'LOW'))!;
  const gone = repairReward(t, fence('pass\n'));
  assert.equal(gone.reward, 0);
  assert.match(gone.refused!, /^no longer defines /);
  // The functions kept as empty shells: names there, the code gone.
  const shells = t.definedNames.map((n) => (/^[A-Z]/.test(n) ? `class ${n}:\n    pass\n` : `def ${n}(*args):\n    pass\n`)).join('');
  const hollow = repairReward(t, fence(shells));
  assert.equal(hollow.vAfter, 0);
  assert.equal(hollow.reward, 0);
  assert.match(hollow.refused!, /^keeps \d+% of the code's identifiers \(at least 50% needed\)$/);
  const broken = repairReward(t, fence(`${t.insecureCode}def (:\n`));
  assert.deepEqual([broken.parses, broken.reward, broken.vAfter], [false, 0, null]);
  const worse = repairReward(t, fence(`${t.insecureCode}import os\nos.system("rm -rf " + target)\n`));
  assert.ok(worse.deltaV! < 0);
  assert.equal(worse.reward, 0);
});

test('identifiers and defined names ignore strings, comments and keywords', () => {
  assert.deepEqual(identifiersOf('def f(x):\n    s = "eval(y)"  # z\n    return self.g(x, s)\n'), ['f', 'g', 's', 'x']);
  assert.deepEqual(definedNamesOf('class A:\n    def m(self):\n        pass\nasync def g():\n    pass\n'), ['A', 'm', 'g']);
});

test('real Bandit agrees that the md5 repair is clean and the original is not', { skip: hasBandit ? false : 'bandit is not installed' }, async () => {
  const md5 = tasks.find((t) => t.cwe === 328 && t.findings.every((f) => f.banditId === 'B324'))!;
  const before = await banditFindings(md5.insecureCode);
  assert.ok(before.some((f) => f.banditId === 'B324'));
  const after = await banditFindings(md5.insecureCode.replace(/hashlib\.(md5|sha1)\(/g, 'hashlib.sha256('));
  assert.deepEqual(after.filter((f) => f.severity !== 'LOW'), []);
});
