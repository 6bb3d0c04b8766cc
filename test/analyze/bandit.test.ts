// Real Bandit as the oracle for the ruff backend. Skipped (with a message) where bandit is not installed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { before, describe, test } from 'node:test';
import { banditFindings, banditFindingsMany, type Finding, ruffSecurityFindings, securityFindings } from '../../src/analyze/index.js';
import { normalise } from '../../src/analyze/bandit.js';
import { CLEAN, INSECURE, KNOWN_DISAGREEMENTS, LOW_ONLY } from './corpus.js';

const banditVersion = (() => {
  try {
    return /bandit (\S+)/.exec(execFileSync('bandit', ['--version'], { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return null;
  }
})();
const skip = banditVersion === null ? 'bandit is not installed (apt-get install bandit)' : false;

const mediumHigh = (findings: Finding[]) => findings.filter((f) => f.severity !== 'LOW').map((f) => `${f.banditId}:${f.severity}`).sort();

describe('ruff backend agrees with real Bandit on the corpus', { skip }, () => {
  const cases = [...INSECURE, ...LOW_ONLY, ...CLEAN];
  let bandit: Finding[][] = [];
  before(async () => {
    bandit = await banditFindingsMany(cases.map((c) => c.code)); // one bandit process for the whole corpus
  });

  for (const [i, c] of cases.entries()) {
    test(c.name, () => {
      const ruff = mediumHigh(ruffSecurityFindings(c.code));
      const known = KNOWN_DISAGREEMENTS[c.name];
      const want = known ? [...known.bandit].sort() : ruff;
      assert.deepEqual(mediumHigh(bandit[i]), want, known ? `known disagreement: ${known.reason}` : 'new disagreement with Bandit');
      if (known) assert.notDeepEqual(want, ruff, `${c.name} no longer disagrees: remove it from KNOWN_DISAGREEMENTS`);
    });
  }

  test('confidence: the table agrees with Bandit on every finding both backends report', () => {
    const differ: string[] = [];
    let compared = 0;
    cases.forEach((c, i) => {
      const ruff = ruffSecurityFindings(c.code);
      for (const f of bandit[i]) {
        const twin = ruff.find((r) => r.banditId === f.banditId && r.line === f.line);
        if (!twin) continue;
        compared++;
        if (twin.confidence !== f.confidence) differ.push(`${c.name} ${f.banditId}: ruff ${twin.confidence}, bandit ${f.confidence}`);
      }
    });
    assert.deepEqual(differ, []);
    assert.ok(compared >= 90, `only ${compared} findings compared`);
  });

  test('every known disagreement names a corpus case', () => {
    const names = new Set(cases.map((c) => c.name));
    assert.deepEqual(Object.keys(KNOWN_DISAGREEMENTS).filter((n) => !names.has(n)), []);
  });
});

describe('bandit backend', { skip }, () => {
  test('stdin programs are clean (B322 on input() is dropped)', async () => {
    assert.deepEqual(await securityFindings('n = int(input())\nprint(eval(input()))\n', 'bandit'), [
      { rule: 'S307', banditId: 'B307', severity: 'MEDIUM', confidence: 'HIGH', cwe: 78, line: 2, column: 1,
        message: 'Use of possibly insecure function - consider using safer ast.literal_eval.' },
    ].map((f) => (banditVersion?.startsWith('1.6') ? f : { ...f, column: 7 })));
  });

  test('hashlib md5/sha1 are normalised to B324 HIGH', async () => {
    const findings = await banditFindings('import hashlib\na = hashlib.md5(b"")\nb = hashlib.new("md5")\nc = hashlib.sha1(b"", usedforsecurity=False)\n');
    assert.deepEqual(findings.map((f) => [f.rule, f.banditId, f.severity, f.cwe, f.line]), [
      ['S324', 'B324', 'HIGH', 327, 2],
      ['S324', 'B324', 'HIGH', 327, 3],
    ]);
  });

  test('LOW findings are reported too, with Bandit\'s confidence', async () => {
    const findings = await banditFindings('import subprocess\nimport random\nx = random.random()\n');
    assert.deepEqual(findings.map((f) => [f.banditId, f.severity, f.confidence, f.line]), [['B404', 'LOW', 'HIGH', 1], ['B311', 'LOW', 'HIGH', 3]]);
  });

  test('# nosec does not hide a finding', async () => {
    assert.deepEqual(mediumHigh(await banditFindings('x = eval(s)  # nosec\n')), ['B307:MEDIUM']);
  });

  test('a program that does not parse yields no findings', async () => {
    assert.deepEqual(await banditFindings('def f(:\n    eval(x)\n'), []);
  });
});

test('normalise maps old Bandit ids and severities to current ones', () => {
  const r = (test_id: string, issue_severity: 'LOW' | 'MEDIUM' | 'HIGH', issue_text = '') =>
    ({ filename: 'p0.py', test_id, issue_severity, issue_text, line_number: 1 });
  assert.equal(normalise(r('B322', 'HIGH'), 'x = input()'), null);
  assert.equal(normalise(r('B309', 'MEDIUM'), 'http.client.HTTPSConnection(h)'), null);
  assert.deepEqual(normalise(r('B303', 'MEDIUM'), 'h = hashlib.sha1(b)')?.severity, 'HIGH');
  assert.deepEqual(normalise(r('B303', 'MEDIUM'), 'h = MD5.new()')?.banditId, 'B303');
  assert.deepEqual(normalise(r('B324', 'MEDIUM', 'Use of insecure MD4 or MD5 hash function.'), 'hashlib.new("md5")')?.severity, 'HIGH');
  assert.deepEqual(normalise(r('B324', 'MEDIUM', 'Use of insecure crypt.METHOD_MD5 hash function.'), 'crypt.crypt(p, s)')?.severity, 'MEDIUM');
  assert.deepEqual(normalise(r('B703', 'MEDIUM'), 'mark_safe(x)'), {
    rule: '', banditId: 'B703', severity: 'MEDIUM', confidence: 'HIGH', cwe: 80, line: 1, column: 1, message: '',
  });
});

test('a missing bandit executable gives a clear error', async () => {
  await assert.rejects(banditFindings('x = 1\n', { bin: '/nonexistent/bandit' }), /not found.*apt-get install bandit/);
});
