import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bootstrapRatios, pairedDifference, quantile, ratio } from '../../src/eval/bootstrap.js';
import { comparePaired } from '../../src/eval/compare.js';
import { computeSummary, pickBest } from '../../src/eval/metrics.js';
import { passAtK } from '../../src/eval/passk.js';
import type { SampleRecord } from '../../src/eval/record.js';
import { Rng } from '../../src/random.js';

const close = (a: number, b: number, tol = 1e-9) => assert.ok(Math.abs(a - b) <= tol, `${a} != ${b} (tol ${tol})`);
const choose = (n: number, k: number): number => (k < 0 || k > n ? 0 : k === 0 ? 1 : (choose(n - 1, k - 1) * n) / k);

test('pass@k: the unbiased estimator against binomial coefficients worked out by hand', () => {
  // n = 5 samples, c = 2 correct: pass@1 = 2/5; pass@2 = 1 - C(3,2)/C(5,2) = 1 - 3/10; pass@3 = 1 - C(3,3)/C(5,3) = 1 - 1/10.
  close(passAtK(5, 2, 1), 0.4);
  close(passAtK(5, 2, 2), 0.7);
  close(passAtK(5, 2, 3), 0.9);
  close(passAtK(5, 2, 4), 1); // n - c = 3 < k
  close(passAtK(5, 0, 3), 0);
  close(passAtK(5, 5, 1), 1);
  // Against the direct formula on a grid, including large n where C(n, k) overflows naive products.
  for (const [n, c, k] of [[10, 3, 1], [10, 3, 5], [20, 7, 10], [200, 13, 100]]) {
    close(passAtK(n, c, k), 1 - choose(n - c, k) / choose(n, k), 1e-9);
  }
  assert.throws(() => passAtK(3, 1, 4), /1 <= k <= n/);
});

test('bootstrap: constant data gives a degenerate interval; 0/1 data at n=100 matches the normal approximation', () => {
  const ones = { num: Array(50).fill(1), den: Array(50).fill(1) };
  assert.deepEqual(bootstrapRatios([ones], 50, { resamples: 2000, seed: 1 }), [[1, 1]]);
  // 50 of 100 prompts pass: p ± 1.96·sqrt(p(1-p)/n) = [0.402, 0.598]; the percentile bootstrap lands within a point.
  const half = { num: Array.from({ length: 100 }, (_, i) => (i < 50 ? 1 : 0)), den: Array(100).fill(1) };
  const [[lo, hi]] = bootstrapRatios([half], 100, { resamples: 10_000, seed: 42 });
  close(lo, 0.402, 0.012);
  close(hi, 0.598, 0.012);
  // Seeded: same seed, same interval; another seed, (almost surely) another.
  assert.deepEqual(bootstrapRatios([half], 100, { resamples: 10_000, seed: 42 }), [[lo, hi]]);
  const spread = { num: Array.from({ length: 100 }, (_, i) => Math.sin(i) ** 2), den: Array(100).fill(1) };
  assert.notDeepEqual(bootstrapRatios([spread], 100, { resamples: 1000, seed: 7 }), bootstrapRatios([spread], 100, { resamples: 1000, seed: 8 }));
});

test('bootstrap: the interval equals a naive re-implementation drawing the same indices', () => {
  const values = [0, 1, 1, 0, 1, 0.5, 0.25, 1, 0, 0.75];
  const stat = { num: values, den: values.map(() => 1) };
  const resamples = 10_000;
  const [got] = bootstrapRatios([stat], values.length, { resamples, seed: 3 });
  const rng = new Rng(3).fork('bootstrap');
  const means: number[] = [];
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < values.length; i++) sum += values[rng.int(values.length)];
    means.push(sum / values.length);
  }
  means.sort((a, b) => a - b);
  // Type-7 percentiles by hand: position (B-1)·q between order statistics.
  const at = (q: number) => { const h = (resamples - 1) * q; const l = Math.floor(h); return means[l] + (h - l) * (means[l + 1] - means[l]); };
  close(got[0], at(0.025), 1e-12);
  close(got[1], at(0.975), 1e-12);
  close(quantile([1, 2, 3, 4], 0.5), 2.5);
  // A rate with prompts that do not apply (den 0) is a ratio over the prompts that do.
  close(ratio({ num: [1, 0, 2], den: [1, 0, 3] }), 0.75);
});

test('paired bootstrap: identical runs differ by exactly 0; +1 success on 10 of 100 prompts is +10 points', () => {
  const base = { num: Array.from({ length: 100 }, (_, i) => (i % 3 === 0 ? 1 : 0)), den: Array(100).fill(1) };
  const same = pairedDifference(base, base, 100, { resamples: 2000, seed: 42 });
  assert.deepEqual([same.diff, same.ci], [0, [0, 0]]);
  const better = { num: base.num.map((v, i) => (v === 0 && i < 20 ? 1 : v)), den: base.den };
  // Prompts 1,2,4,5,7,8,10,11,13,14 (i < 20, i % 3 != 0... 13 of them) gain one success.
  const gained = base.num.filter((v, i) => v === 0 && i < 20).length;
  const d = pairedDifference(better, base, 100, { resamples: 10_000, seed: 42 });
  close(d.diff, gained / 100);
  // The paired difference per prompt is 0/1 with mean p = gained/100: interval ≈ p ± 1.96·sqrt(p(1-p)/100).
  const p = gained / 100;
  const half = 1.96 * Math.sqrt((p * (1 - p)) / 100);
  close(d.ci[0], p - half, 0.015);
  close(d.ci[1], p + half, 0.015);
  assert.ok(d.p < 0.001, `p ${d.p}`);
  // Unpaired, the same difference would have a far wider interval (both runs' variance adds up).
  const [a] = bootstrapRatios([better], 100, { resamples: 10_000, seed: 42 });
  assert.ok(d.ci[1] - d.ci[0] < (a[1] - a[0]) * 0.8);
});

function record(problem: string, sample: number, o: Partial<SampleRecord> & { passed: number; total: number }): SampleRecord {
  return {
    problem_id: problem, sample, completion: 'x'.repeat(10 * (sample + 1)), completion_chars: 10 * (sample + 1), completion_tokens: null, finish_reason: null,
    reward: 0.5, r_func: 0.5, r_sec: 1, r_lint: null, stage: o.passed > 0 ? 4 : 1, syntax_ok: true, tests_passed: o.passed, tests_total: o.total,
    verdicts: Array.from({ length: o.total }, (_, i) => (i < o.passed ? 'passed' : 'wrong_output')), findings: [], program: 'print(1)\n', extraction: 'whole',
    visible: { tests: 1, passed: o.passed > 0 ? 1 : 0, r_func: 0, reward: o.passed > 0 ? 1 : 0.5 }, ...o,
  };
}

test('summary: rates over samples, pass@k per prompt, a security-only prompt without tests', () => {
  // p1: 4 samples, 2 all-pass. p2: 4 samples, 0 pass, one has a HIGH finding. p3: no tests (security prompt).
  const records = [
    record('p1', 0, { passed: 2, total: 2 }), record('p1', 1, { passed: 1, total: 2 }), record('p1', 2, { passed: 2, total: 2 }), record('p1', 3, { passed: 0, total: 2 }),
    record('p2', 0, { passed: 0, total: 3 }), record('p2', 1, { passed: 0, total: 3, findings: [{ rule: 'S602', bandit_id: 'B602', severity: 'HIGH', cwe: 78, line: 1, message: 'shell' }] }),
    record('p2', 2, { passed: 0, total: 3, syntax_ok: false, stage: 0, verdicts: [] }), record('p2', 3, { passed: 0, total: 3 }),
    record('p3', 0, { passed: 0, total: 0, verdicts: [] }), record('p3', 1, { passed: 0, total: 0, verdicts: [] }), record('p3', 2, { passed: 0, total: 0, verdicts: [] }), record('p3', 3, { passed: 0, total: 0, verdicts: [] }),
  ];
  const s = computeSummary(['p1', 'p2', 'p3'], records, { resamples: 1000, seed: 1 });
  assert.equal(s.n, 3);
  assert.equal(s.samples, 12);
  assert.equal(s.prompts_with_tests, 2);
  close(s.syn_pct, (100 * 11) / 12, 1e-5);
  close(s.pass1_pct!, (100 * 3) / 8, 1e-5); // over the 8 samples with tests
  close(s.allpass_pct!, (100 * 2) / 8, 1e-5);
  close(s.secclean_pct, (100 * 10) / 12, 1e-5); // 11 compile, one of them has a HIGH finding
  close(s.test_pass_pct!, (100 * 5) / 20, 1e-5);
  // pass@1 = mean over p1, p2 of c/n = (2/4 + 0)/2; pass@4 = (1 + 0)/2.
  close(s.pass_at_k['1'].pct!, 25, 1e-5);
  close(s.pass_at_k['4'].pct!, 50, 1e-5);
  assert.equal(s.pass_at_k['5'], undefined);
  assert.deepEqual(s.findings.by_rule.map((r) => [r.bandit_id, r.count, r.samples]), [['B602', 1, 1]]);
  assert.deepEqual(s.findings.by_cwe.map((r) => [r.cwe, r.count]), [[78, 1]]);
  // Every rate's interval contains the rate.
  for (const [v, ci] of [[s.syn_pct, s.syn_pct_ci], [s.pass1_pct!, s.pass1_pct_ci!], [s.mean_r, s.mean_r_ci]] as const) assert.ok(ci[0] <= v && v <= ci[1]);
  // Length: 10, 20, 30, 40 chars per prompt.
  close(s.length.mean_chars, 25, 1e-9);
  close(s.length.median_chars, 25, 1e-9);
  // Best-of-4 on p1 picks sample 0 (visible reward 1, first); on p2 sample 0; p3 has no tests.
  assert.equal(pickBest(records.slice(0, 4)), 0);
  close(s.best_of_k!.allpass_pct!, 50, 1e-5);
  assert.equal(s.best_of_k!.oracle_allpass_pct, 50);
});

test('paired comparison of records refuses different prompt sets', () => {
  const a = [record('p1', 0, { passed: 1, total: 1 }), record('p2', 0, { passed: 0, total: 1 })];
  const b = [record('p1', 0, { passed: 0, total: 1 }), record('p2', 0, { passed: 0, total: 1 })];
  const r = comparePaired(['p1', 'p2'], a, b, { resamples: 1000, seed: 1 });
  assert.equal(r.allpass_pct.diff, 50);
  assert.equal(r.syn_pct.diff, 0);
  assert.throws(() => comparePaired(['p1', 'p2'], a, b.slice(0, 1), { resamples: 100 }), /same 2 prompts/);
});
