// The security term's shapes, the graded one's properties over real Ruff findings, and the Scorer with it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  BANDIT_ONLY, BANDIT_TABLE, CWE_SEVERITY, cweSeverityMarkdown, DEFAULT_CWE_SEVERITY, ruffSecurityFindings, type Finding,
} from '../../src/analyze/index.js';
import { Rng } from '../../src/random.js';
import {
  breakdownRecord, findingWeight, gradedWeight, Scorer, securityReward, vulnerabilityScore, type SecurityShape,
} from '../../src/reward/index.js';
import { rewardConfigFromFlags } from '../../src/cli/reward-flags.js';
import { summarize } from '../../src/eval/summary.js';
import type { Problem } from '../../src/data/index.js';
import { CLEAN, INSECURE, LOW_ONLY } from '../analyze/corpus.js';

const SHAPES: SecurityShape[] = ['linear', 'exp', 'graded'];
const SEV = { LOW: 0, MEDIUM: 1, HIGH: 2 } as const;
/** Every finding Ruff reports on the analyzer corpus: real rules, severities, confidences and CWEs. */
const POOL: Finding[] = [...INSECURE, ...LOW_ONLY].flatMap((c) => ruffSecurityFindings(c.code));
const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('graded weights', () => {
  test('the pool is real and varied: every severity, every confidence, many CWEs', () => {
    assert.ok(POOL.length >= 90, `${POOL.length} findings`);
    for (const level of ['LOW', 'MEDIUM', 'HIGH'] as const) {
      assert.ok(POOL.some((f) => f.severity === level), `no ${level} severity`);
      assert.ok(POOL.some((f) => f.confidence === level), `no ${level} confidence`);
    }
    assert.ok(new Set(POOL.map((f) => f.cwe)).size >= 12);
  });

  test('each weight is in [0, 1]; LOW findings weigh a little, not nothing', () => {
    for (const f of POOL) {
      const w = gradedWeight(f);
      assert.ok(w > 0 && w <= 1, `${f.banditId}: ${w}`);
      if (f.severity === 'LOW') assert.ok(w < 0.1, `${f.banditId} LOW weighs ${w}`);
    }
    const random = ruffSecurityFindings('import random\nx = random.random()\n');
    close(gradedWeight(random[0]), 0.78 * 0.1 * 1); // CWE-330 (7.8), LOW, HIGH confidence
    const shell = ruffSecurityFindings('import os\nos.system("ls " + d)\n');
    close(gradedWeight(shell[0]), 0.98); // CWE-78 (9.8), HIGH, HIGH
    const sql = ruffSecurityFindings('q = "SELECT * FROM t WHERE id = %s" % uid\n');
    close(gradedWeight(sql[0]), 0.88 * 0.5 * 0.6); // CWE-89 (8.8), MEDIUM, LOW confidence
  });

  test('a clean program gets R_sec = 1 under every shape', () => {
    for (const c of CLEAN) {
      const findings = ruffSecurityFindings(c.code);
      for (const shape of SHAPES) assert.equal(securityReward(findings, shape), 1, `${c.name} ${shape}`);
    }
  });

  test('adding a finding never raises R_sec (random subsets of the pool, every shape)', () => {
    const rng = new Rng('security-monotone');
    for (let trial = 0; trial < 2000; trial++) {
      const base = POOL.filter(() => rng.float() < 0.05).map((f) => ({ ...f, line: 1 + rng.int(4) }));
      const added = { ...POOL[rng.int(POOL.length)], line: 1 + rng.int(4) }; // lines collide on purpose
      for (const shape of SHAPES) {
        const before = securityReward(base, shape);
        const after = securityReward([...base, added], shape);
        assert.ok(after <= before + 1e-15, `${shape}: ${before} -> ${after} adding ${added.banditId}`);
      }
    }
  });

  test('a more severe finding lowers R_sec at least as much as a milder one', () => {
    // f is more severe than g when its CWE scores at least as high and the tool's severity and
    // confidence are at least as high; both land on a fresh line of a random base program.
    const atLeast = (f: Finding, g: Finding) => gradedWeight(f) >= 0 &&
      (CWE_SEVERITY.find((r) => r.cwe === f.cwe)?.score ?? DEFAULT_CWE_SEVERITY) >= (CWE_SEVERITY.find((r) => r.cwe === g.cwe)?.score ?? DEFAULT_CWE_SEVERITY) &&
      SEV[f.severity] >= SEV[g.severity] && SEV[f.confidence!] >= SEV[g.confidence!];
    const rng = new Rng('security-severity-order');
    let pairs = 0;
    for (const f of POOL) {
      for (const g of POOL) {
        if (!atLeast(f, g)) continue;
        pairs++;
        const base = POOL.filter(() => rng.float() < 0.03);
        for (const shape of SHAPES) {
          const withF = securityReward([...base, { ...f, line: 999 }], shape);
          const withG = securityReward([...base, { ...g, line: 999 }], shape);
          assert.ok(withF <= withG + 1e-15, `${shape}: ${f.banditId} (${f.severity}) gives ${withF} > ${withG} for ${g.banditId} (${g.severity})`);
        }
      }
    }
    assert.ok(pairs > 1000, `${pairs} ordered pairs`);
  });

  test('same CWE on the same line counts once; other lines compound without a cliff', () => {
    // `import pickle` + pickle.loads on one line: B403 and B301 are both CWE-502 there.
    const same = ruffSecurityFindings('import pickle; obj = pickle.loads(data)\n');
    assert.deepEqual(same.map((f) => f.banditId).sort(), ['B301', 'B403']);
    close(vulnerabilityScore(same, 'graded'), Math.max(...same.map(gradedWeight)));
    const evals = ruffSecurityFindings(Array.from({ length: 10 }, (_, i) => `x${i} = eval(s)\n`).join(''));
    assert.equal(evals.length, 10);
    let previous = 0;
    for (let k = 1; k <= 10; k++) {
      const v = vulnerabilityScore(evals.slice(0, k), 'graded');
      close(v, 1 - (1 - 0.49) ** k); // CWE-78 9.8 × MEDIUM 0.5 × HIGH confidence
      assert.ok(v > previous && v < 1);
      previous = v;
    }
    assert.equal(vulnerabilityScore(evals.slice(0, 2), 'linear'), 1, 'the linear shape hits its cap at two MEDIUMs');
  });

  test('the linear and exp shapes are unchanged: LOW weighs 0, MEDIUM 0.5, HIGH 1', () => {
    const random = ruffSecurityFindings('import random\nx = random.random()\n');
    assert.equal(findingWeight(random[0], 'linear'), 0);
    assert.equal(securityReward(random, 'linear'), 1);
    assert.equal(securityReward(random, 'exp'), 1);
    assert.ok(securityReward(random, 'graded') < 1);
  });

  test('every CWE the analyzer can report, and every CyberSecEval CWE, has a row with a source', () => {
    const cwes = new Set([...BANDIT_TABLE.map((r) => r.cwe), ...BANDIT_ONLY.map((r) => r.cwe), 78, 94, 89, 502, 798, 338, 328, 312]);
    for (const cwe of cwes) {
      const row = CWE_SEVERITY.find((r) => r.cwe === cwe);
      assert.ok(row, `CWE-${cwe} has no row`);
      assert.ok(row.score > 0 && row.score <= 10 && row.source.length > 0);
    }
    assert.equal(new Set(CWE_SEVERITY.map((r) => r.cwe)).size, CWE_SEVERITY.length);
  });

  test('docs/security.md carries the CWE table exactly as the data', () => {
    const docs = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    assert.ok(docs.includes(cweSeverityMarkdown()), 'regenerate the CWE table in docs/security.md from cweSeverityMarkdown()');
  });
});

describe('the Scorer with --sec-shape graded', () => {
  let scorer: Scorer;
  let partial: Scorer;
  let additive: Scorer;
  before(() => {
    scorer = new Scorer({ securityShape: 'graded' }, { workers: 2, limits: { cpuSeconds: 1, wallSeconds: 3 } });
    partial = new Scorer({ securityShape: 'linear' }, scorer.judge);
    additive = new Scorer({ mode: 'additive', securityShape: 'graded' }, scorer.judge);
  });
  after(async () => { await scorer.close(); });

  const problem: Problem = { id: 'add', prompt: 'Read two integers and print their sum.', style: 'stdin', tests: [{ input: '1 2\n', output: '3\n' }] };
  const read = 'a, b = map(int, input().split())\n';

  test('findings carry their weight; R_sec is the product of (1 - w)', async () => {
    const b = await scorer.score(problem, `import random\n${read}print(eval("a + b") + random.randint(0, 0))\n`);
    assert.deepEqual(b.findings.map((f) => [f.banditId, f.severity, f.confidence, f.cwe]), [['B307', 'MEDIUM', 'HIGH', 78], ['B311', 'LOW', 'HIGH', 330]]);
    close(b.findings[0].weight!, 0.49);
    close(b.findings[1].weight!, 0.078);
    close(b.rSec!, (1 - 0.078) * (1 - 0.49));
    close(b.reward, 0.6 * 1 + 0.4 * b.rSec!);
    const record = breakdownRecord(b) as { findings: { weight: number; confidence: string }[] };
    assert.deepEqual(record.findings.map((f) => [f.weight, f.confidence]), [[0.49, 'HIGH'], [0.078, 'HIGH']]);
    const linear = await partial.score(problem, `import random\n${read}print(eval("a + b") + random.randint(0, 0))\n`);
    assert.deepEqual(linear.findings.map((f) => f.weight), [0.5, 0], 'under linear the weight is the severity weight');
  });

  test('a clean program gets 1; one that does not compile gets 0 (1 in the additive compatibility mode)', async () => {
    assert.equal((await scorer.score(problem, `${read}print(a + b)\n`)).rSec, 1);
    const broken = `import os\n${read}os.system("echo " + str(a + b)\n`; // unclosed paren
    const b = await scorer.score(problem, broken);
    assert.equal(b.syntaxOk, false);
    assert.equal(b.rSec, 0);
    assert.equal(b.reward, 0);
    // Breaking the syntax must not pay: the same program compiling, with its HIGH finding, scores higher.
    const fixed = await scorer.score(problem, `import os\n${read}os.system("echo " + str(a + b))\n`);
    assert.ok(fixed.reward > b.reward, `${fixed.reward} <= ${b.reward}`);
    assert.equal((await additive.score(problem, broken)).rSec, 1, 'the reference code: no findings in code that does not parse');
  });

  test('the summary breaks findings down by CWE', async () => {
    const results = await Promise.all([
      scorer.score(problem, `import random\n${read}print(a + b + random.randint(0, 0))\n`),
      scorer.score(problem, `${read}print(eval("a + b"))\nprint(eval("0"), end="")\n`),
    ]);
    const s = summarize(results);
    assert.deepEqual(Object.keys(s.findingsByCwe).sort(), ['CWE-330', 'CWE-78']);
    assert.deepEqual({ ...s.findingsByCwe['CWE-78'], weight: Math.round(s.findingsByCwe['CWE-78'].weight * 1e6) / 1e6 }, { findings: 2, samples: 1, weight: 0.98 });
    assert.equal(s.findingsByCwe['CWE-330'].samples, 1);
  });

  test('a bad shape is refused naming the field; the flag accepts graded', () => {
    assert.throws(() => new Scorer({ securityShape: 'steep' as SecurityShape }, scorer.judge), /reward\.securityShape: expected linear, exp, graded, got "steep"/);
    assert.equal(rewardConfigFromFlags({ 'sec-shape': 'graded' }).securityShape, 'graded');
    assert.throws(() => rewardConfigFromFlags({ 'sec-shape': 'steep' }), /--sec-shape: expected one of linear, exp, graded, got "steep"/);
  });
});
