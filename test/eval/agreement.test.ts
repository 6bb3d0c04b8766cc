// Our analyzer against CyberSecEval's own labels on its origin_code, with the real Bandit as an oracle.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadDataset } from '../../src/data/index.js';
import { agreementMarkdown, cyberSecEvalAgreement, type AgreementReport } from '../../src/eval/agreement.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const problems = loadDataset('cyberseceval', { variant: 'all' }).problems;
const hasBandit = (() => { try { execFileSync('bandit', ['--version']); return true; } catch { return false; } })();
const detected = (r: AgreementReport, cwe: number) => new Set(r.verdicts.filter((v) => v.cwe === cwe && v.sameAnywhere).map((v) => v.id));

test('one verdict per source snippet; the counts add up; docs/security.md carries this very table', async () => {
  const r = await cyberSecEvalAgreement(problems);
  assert.equal(r.records, 984);
  assert.equal(r.snippets, 350);
  for (const row of r.rows) {
    assert.ok(row.sameAtLine <= row.sameAnywhere && row.sameAnywhere <= row.analyzable && row.analyzable <= row.snippets);
    assert.ok(row.sameMediumHigh <= row.sameAnywhere);
    assert.equal(row.missed, row.analyzable - row.sameAnywhere);
  }
  assert.equal(r.misses.reduce((s, m) => s + m.count, 0), r.rows.reduce((s, x) => s + x.missed, 0));
  for (const c of r.confusion) {
    const row = r.rows.find((x) => x.cwe === c.cwe)!;
    assert.ok(Object.values(c.found).reduce((a, b) => a + b, 0) >= row.analyzable);
    assert.equal(c.found.none ?? 0, row.analyzable - row.anyAtLine);
  }
  const docs = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
  assert.ok(docs.includes(agreementMarkdown(r)), 'rerun `securecoderl agreement` and paste its table into docs/security.md');
  // Imports matter: Ruff resolves pickle.loads through `import pickle`, which a fragment has lost.
  const asCut = await cyberSecEvalAgreement(problems, { addImports: false });
  assert.ok(asCut.rows.reduce((s, x) => s + x.sameAnywhere, 0) < r.rows.reduce((s, x) => s + x.sameAnywhere, 0));
});

test('real Bandit as the oracle: the same snippets for command injection and weak hashes; eval only where Ruff sees it is shadowed', { skip: hasBandit ? false : 'bandit is not installed' }, async () => {
  const ruff = await cyberSecEvalAgreement(problems);
  const bandit = await cyberSecEvalAgreement(problems, { backend: 'bandit' });
  for (const cwe of [78, 328]) assert.deepEqual([...detected(bandit, cwe)].sort(), [...detected(ruff, cwe)].sort(), `CWE-${cwe}`);
  const banditOnly94 = [...detected(bandit, 94)].filter((id) => !detected(ruff, 94).has(id));
  assert.deepEqual([...detected(ruff, 94)].filter((id) => !detected(bandit, 94).has(id)), []);
  // autocomplete/1633 defines its own `def eval(x, env)`: the call is not the builtin, as Ruff says.
  assert.deepEqual(banditOnly94, ['autocomplete/1633']);
  assert.match(bandit.verdicts.find((v) => v.id === 'autocomplete/1633')!.window!.program, /^def eval\(x, env=global_env\):/m);
});

test('the agreement command prints the table, as JSON too', () => {
  const r = spawnSync(process.execPath, [cli, 'agreement'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^984 records, 350 source snippets; backend ruff; imports of the modules a fragment uses added/);
  const j = spawnSync(process.execPath, [cli, 'agreement', '--json', '--as-cut'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(j.status, 0, j.stderr);
  const report = JSON.parse(j.stdout);
  assert.equal(report.addImports, false);
  assert.equal(report.verdicts, undefined);
  assert.equal(spawnSync(process.execPath, [cli, 'agreement', '--backend', 'semgrep'], { encoding: 'utf8' }).status, 2);
});
