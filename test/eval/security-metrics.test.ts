// The insecure-code rate of an evaluation: overall, per CWE found, per CWE the prompt elicits, with intervals.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCwe } from '../../src/analyze/index.js';
import { loadEvalDataset, selectPrompts } from '../../src/eval/dataset.js';
import { securitySummary } from '../../src/eval/security-metrics.js';
import type { FindingRecord, SampleRecord } from '../../src/eval/record.js';
import { runEval } from '../../src/eval/run.js';
import { Scorer } from '../../src/reward/scorer.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const scorer = new Scorer({}, { workers: 2 });
after(() => scorer.close());

const finding = (severity: FindingRecord['severity'], cwe: number): FindingRecord => ({ rule: 'S', bandit_id: 'B', severity, confidence: 'HIGH', cwe, line: 1, message: '' });
const record = (id: string, syntaxOk: boolean, findings: FindingRecord[]): SampleRecord => ({
  problem_id: id, sample: 0, completion: '', completion_chars: 0, completion_tokens: null, finish_reason: null, reward: 0, r_func: 0, r_sec: 0,
  r_lint: null, stage: syntaxOk ? 1 : 0, syntax_ok: syntaxOk, tests_passed: 0, tests_total: 0, verdicts: [], findings, program: '', extraction: 'whole',
  visible: { tests: 0, passed: 0, r_func: 0, reward: 0 },
});

test('by hand: rates over compiling samples, LOW counts as flagged not insecure, the label\'s own CWE through cweMatches', () => {
  // Two CWE-94 prompts and one CWE-338 prompt, two samples each.
  const groups = [
    [record('a', true, [finding('MEDIUM', 78)]), record('a', true, [])], // eval: CWE-78 counts as CWE-94's weakness
    [record('b', true, [finding('HIGH', 78), finding('LOW', 703)]), record('b', false, [])], // a sample that does not compile is left out
    [record('c', true, [finding('LOW', 330)]), record('c', true, [finding('LOW', 330)])], // weak random: LOW, CWE-330 ~ 338
  ];
  const s = securitySummary(groups, [94, 94, 338], { resamples: 2000, seed: 1, level: 0.95 });
  assert.equal(s.compiled, 5);
  assert.equal(s.insecure_pct, 40); // a0, b0 of 5
  assert.equal(s.flagged_pct, 80); // a0, b0, c0, c1
  assert.deepEqual(s.by_finding_cwe.map((c) => [c.cwe, c.samples, c.pct]), [[78, 2, 40], [330, 2, 40], [703, 1, 20]]);
  const [c94, c338] = s.by_prompt_cwe!;
  const twoThirds = Math.round((1e6 * 200) / 3) / 1e6;
  assert.deepEqual([c94.cwe, c94.prompts, c94.samples, c94.compiled, c94.insecure_pct, c94.flagged_pct, c94.same_cwe_pct], [94, 2, 4, 3, twoThirds, twoThirds, twoThirds]);
  assert.deepEqual([c338.cwe, c338.compiled, c338.insecure_pct, c338.flagged_pct, c338.same_cwe_pct], [338, 2, 0, 100, 100]);
  for (const [v, ci] of [[s.insecure_pct, s.insecure_pct_ci], [c94.insecure_pct, c94.insecure_pct_ci]] as const) assert.ok(ci![0] <= v! && v! <= ci![1]);
  assert.deepEqual(c338.flagged_pct_ci, [100, 100], 'no variation, a degenerate interval');
  // graded V: eval 0.49; os.system-like HIGH 0.98 and assert-like LOW 703 (0.05) on the same line but different CWEs; random 0.078 each
  const v = [0.49, 0, 1 - (1 - 0.98) * (1 - 0.05), 0.078, 0.078];
  assert.ok(Math.abs(s.mean_v_graded! - v.reduce((a, b) => a + b) / 5) < 1e-6);
  assert.equal(securitySummary(groups, [null, null, null], { resamples: 10, seed: 1, level: 0.95 }).by_prompt_cwe, null);
});

test('eval on held-out CyberSecEval prompts: the insecure-code rate per prompt CWE, from the real analyzer, CLI and library', async () => {
  const dataset = await loadEvalDataset('cyberseceval-eval');
  const chosen = selectPrompts(dataset.problems, 16, 42);
  // Even prompts get a shell command built from input (CWE-78 HIGH), odd ones a clean program.
  const insecure = (i: number) => i % 2 === 0;
  const dir = mkdtempSync(join(tmpdir(), 'scrl-sec-eval-'));
  const completions = join(dir, 'completions.jsonl');
  writeFileSync(completions, chosen.map((p, i) => JSON.stringify({
    problem_id: p.id,
    completion: insecure(i) ? '```python\nimport os\nname = input()\nos.system("ls " + name)\n```' : '```python\nname = input()\nprint(name)\n```',
  })).join('\n'));
  const { summary } = await runEval({ data: 'cyberseceval-eval', n: 16, backend: { kind: 'completions-file', path: completions }, resamples: 1000 }, { outDir: join(dir, 'run'), scorer });
  const sec = summary.security;
  assert.equal(sec.compiled, 16);
  assert.equal(sec.insecure_pct, 50);
  assert.deepEqual(sec.by_finding_cwe.map((c) => [c.cwe, c.samples]), [[78, 8]]);
  const labels = new Map<number, { prompts: number; insecure: number }>();
  chosen.forEach((p, i) => {
    const cwe = parseCwe(p.meta?.cwe)!;
    const e = labels.get(cwe) ?? { prompts: 0, insecure: 0 };
    e.prompts++;
    if (insecure(i)) e.insecure++;
    labels.set(cwe, e);
  });
  assert.deepEqual(sec.by_prompt_cwe!.map((c) => c.cwe), [...labels.keys()].sort((a, b) => a - b));
  for (const c of sec.by_prompt_cwe!) {
    const want = labels.get(c.cwe)!;
    assert.equal(c.prompts, want.prompts);
    assert.ok(Math.abs(c.insecure_pct! - (100 * want.insecure) / want.prompts) < 1e-4, `CWE-${c.cwe}`);
    assert.ok(c.insecure_pct_ci![0] <= c.insecure_pct! && c.insecure_pct! <= c.insecure_pct_ci![1]);
    assert.equal(c.same_cwe_pct, c.cwe === 78 || c.cwe === 94 ? c.insecure_pct : 0, `CWE-${c.cwe}: only CWE-78/94 prompts match a CWE-78 finding`);
  }
  // The same run from the CLI prints the rates.
  const r = spawnSync(process.execPath, [cli, 'eval', '--data', 'cyberseceval-eval', '--n', '16', '--completions', completions, '--out', join(dir, 'cli'), '--resamples', '1000', '--workers', '2'], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /insecure% +50\.0%/);
  assert.match(r.stdout, /CWE-\d+ +\d+ prompts +insecure/);
  const saved = JSON.parse(readFileSync(join(dir, 'cli', 'summary.json'), 'utf8'));
  assert.equal(saved.security.insecure_pct, 50);
});
