import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BANDIT_TABLE, type Finding, lintDiagnostics, ruffSecurityFindings, securityFindings } from '../../src/analyze/index.js';
import { CLEAN, INSECURE, LOW_ONLY } from './corpus.js';

const ids = (findings: Finding[]) => findings.map((f) => `${f.banditId}:${f.severity}`);

describe('ruff backend on the corpus', () => {
  for (const c of [...INSECURE, ...LOW_ONLY, ...CLEAN]) {
    test(c.name, async () => {
      assert.deepEqual(ids(await securityFindings(c.code)), c.expect);
    });
  }

  test('every rule of the table is produced by some snippet (the name lookup is complete)', () => {
    const seen = new Set([...INSECURE, ...LOW_ONLY].flatMap((c) => ruffSecurityFindings(c.code).map((f) => f.rule)));
    assert.deepEqual(BANDIT_TABLE.map((r) => r.rule).filter((r) => !seen.has(r)), []);
  });
});

describe('severity splits', () => {
  const severity = (code: string, banditId: string) =>
    ruffSecurityFindings(code).filter((f) => f.banditId === banditId).map((f) => f.severity);

  test('shell: non-literal HIGH, literal LOW', () => {
    assert.deepEqual(severity('import subprocess\nsubprocess.Popen("ls " + d, shell=True)\n', 'B602'), ['HIGH']);
    assert.deepEqual(severity('import subprocess\nsubprocess.Popen("ls", shell=True)\n', 'B602'), ['LOW']);
    assert.deepEqual(severity('import os\nos.popen(f"cat {p}")\n', 'B605'), ['HIGH']);
    assert.deepEqual(severity('import os\nos.popen("uptime")\n', 'B605'), ['LOW']);
  });

  test('chmod: world-writable HIGH, group/other bits MEDIUM, safe modes nothing', () => {
    for (const [mode, want] of [['0o777', ['HIGH']], ['0o666', ['HIGH']], ['0o002', ['HIGH']], ['0o770', ['MEDIUM']],
      ['0o710', ['MEDIUM']], ['0o701', ['MEDIUM']], ['0o620', ['MEDIUM']], ['0o600', []], ['0o755', ['MEDIUM']],
      ['stat.S_IRWXU | stat.S_IRWXO', ['HIGH']], ['mode=0o777', ['HIGH']]] as const) {
      assert.deepEqual(severity(`import os, stat\nos.chmod(p, ${mode})\n`, 'B103'), want, mode);
    }
  });

  test('key size: RSA/DSA HIGH below 1024, MEDIUM below 2048; small EC curves MEDIUM', () => {
    const rsa = (bits: string) => `from cryptography.hazmat.primitives.asymmetric import rsa\nrsa.generate_private_key(65537, ${bits})\n`;
    assert.deepEqual(severity(rsa('512'), 'B505'), ['HIGH']);
    assert.deepEqual(severity(rsa('1023'), 'B505'), ['HIGH']);
    assert.deepEqual(severity(rsa('1024'), 'B505'), ['MEDIUM']);
    assert.deepEqual(severity(rsa('0x400'), 'B505'), ['MEDIUM']);
    assert.deepEqual(severity(rsa('2_048'), 'B505'), []);
    assert.deepEqual(severity('from Crypto.PublicKey import DSA\nDSA.generate(bits=768)\n', 'B505'), ['HIGH']);
    assert.deepEqual(severity('from cryptography.hazmat.primitives.asymmetric import ec\nec.generate_private_key(curve=ec.SECT163K1)\n', 'B505'), ['MEDIUM']);
  });

  test('weak hashes: hashlib HIGH, crypt MEDIUM', () => {
    assert.deepEqual(severity('import hashlib\nhashlib.new("MD4")\n', 'B324'), ['HIGH']);
    assert.deepEqual(severity('import crypt\ncrypt.mksalt(crypt.METHOD_CRYPT)\n', 'B324'), ['MEDIUM']);
  });

  test('tarfile: no members HIGH, members=value MEDIUM, members=function(...) LOW', () => {
    const tar = (args: string) => `import tarfile\nt = tarfile.open(p)\nt.extractall(${args})\n`;
    assert.deepEqual(severity(tar('path="out"'), 'B202'), ['HIGH']);
    assert.deepEqual(severity(tar('"out", members=chosen'), 'B202'), ['MEDIUM']);
    assert.deepEqual(severity(tar('"out", members=safe_members(t)'), 'B202'), ['LOW']);
  });
});

describe('findings', () => {
  test('carry rule, Bandit id, CWE, 1-based position and message; sorted by line', () => {
    const findings = ruffSecurityFindings('import os\n\ndef f(x):\n    y = eval(x)\n    os.system(x)\n');
    assert.deepEqual(findings.map(({ rule, banditId, cwe, line, column }) => ({ rule, banditId, cwe, line, column })), [
      { rule: 'S307', banditId: 'B307', cwe: 78, line: 4, column: 9 },
      { rule: 'S605', banditId: 'B605', cwe: 78, line: 5, column: 5 },
    ]);
    assert.match(findings[0].message, /literal_eval/);
  });

  test('confidence: the table, SQL inside execute() MEDIUM else LOW, tarfile as its severity, jinja2 by the keyword', () => {
    const conf = (code: string) => ruffSecurityFindings(code).map((f) => `${f.banditId}:${f.severity}:${f.confidence}`);
    assert.deepEqual(conf('import requests\nr = requests.get(u)\n'), ['B113:MEDIUM:LOW']);
    assert.deepEqual(conf('cur.execute("SELECT * FROM t WHERE id = %s" % uid)\n'), ['B608:MEDIUM:MEDIUM']);
    assert.deepEqual(conf('q = "SELECT * FROM t WHERE id = %s" % uid\n'), ['B608:MEDIUM:LOW']);
    assert.deepEqual(conf('import tarfile\nt = tarfile.open("a")\nt.extractall(members=ok)\n'), ['B202:MEDIUM:MEDIUM']);
    assert.deepEqual(conf('import tarfile\nt = tarfile.open("a")\nt.extractall()\n'), ['B202:HIGH:HIGH']);
    assert.deepEqual(conf('import jinja2\ne = jinja2.Environment(autoescape=flag)\n'), ['B701:HIGH:MEDIUM']);
    assert.deepEqual(conf('import jinja2\ne = jinja2.Environment(autoescape=False)\n'), ['B701:HIGH:HIGH']);
    assert.deepEqual(conf('import jinja2\ne = jinja2.Environment()\n'), ['B701:HIGH:HIGH']);
  });

  test('LOW findings are reported with severity LOW', () => {
    assert.deepEqual(ruffSecurityFindings('import random\nprint(random.random())\n').map((f) => [f.banditId, f.severity, f.cwe]), [
      ['B311', 'LOW', 330],
    ]);
  });

  test('a program that does not parse yields no findings', async () => {
    for (const code of ['def f(:\n    eval(x)\n', 'eval(x)\nif True\n    pass\n', 'import os\nos.system(x', 'type X = int\neval(x)\n']) {
      assert.deepEqual(await securityFindings(code), [], code);
    }
  });

  test('suppression comments do not hide findings', () => {
    for (const tail of ['  # noqa', '  # NOQA: S307', '  # noqa:suspicious-eval-usage', '  # ruff: ignore[S307]', '  # nosec']) {
      assert.deepEqual(ids(ruffSecurityFindings(`x = eval(s)${tail}\n`)), ['B307:MEDIUM'], tail);
    }
    for (const head of ['# ruff: noqa', '# flake8: noqa', '# ruff: noqa: S307', '# ruff: disable[S307]']) {
      assert.deepEqual(ids(ruffSecurityFindings(`${head}\nx = eval(s)\n`)), ['B307:MEDIUM'], head);
    }
  });

  test('non-ASCII text before a finding keeps columns in UTF-16 units', () => {
    const code = 's = "héllo 😀"; x = eval(s)\n';
    const [f] = ruffSecurityFindings(code);
    assert.equal(f.column, code.indexOf('eval') + 1);
  });

  test('rejects an unknown backend', async () => {
    await assert.rejects(securityFindings('x = 1', 'semgrep' as never), /unknown backend/);
  });
});

describe('lint diagnostics', () => {
  test('default selection (E4, E7, E9, F)', () => {
    const diags = lintDiagnostics('import os\nimport sys\nprint(undefined_name)\nif x == None:\n    pass\n');
    assert.deepEqual(diags.map((d) => `${d.code}@${d.line}:${d.column}`), ['F401@1:8', 'F401@2:8', 'F821@3:7', 'F821@4:4', 'E711@4:9']);
  });

  test('the selection is a parameter', () => {
    const code = 'def f(x=[]):\n    return x \n';
    assert.deepEqual(lintDiagnostics(code).map((d) => d.code), []);
    assert.deepEqual(lintDiagnostics(code, ['B', 'W']).map((d) => d.code), ['B006', 'W291']);
  });

  test('unparseable code returns the syntax errors', () => {
    const diags = lintDiagnostics('def f(:\n    pass\n');
    assert.ok(diags.length > 0);
    assert.ok(diags.every((d) => d.code === 'invalid-syntax'));
  });

  test('clean stdin programs have no default lint diagnostics', () => {
    for (const c of CLEAN) assert.deepEqual(lintDiagnostics(c.code), [], c.name);
  });
});

test('ruff backend takes well under 10 ms per program', () => {
  const programs = [...INSECURE, ...CLEAN].map((c) => c.code);
  ruffSecurityFindings(programs[0]);
  const start = performance.now();
  for (let i = 0; i < 5; i++) for (const p of programs) ruffSecurityFindings(p);
  const perProgram = (performance.now() - start) / (5 * programs.length);
  assert.ok(perProgram < 10, `${perProgram.toFixed(2)} ms per program`);
});
