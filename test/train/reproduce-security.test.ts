// The security reproduction: the tables from hand-made breakdowns (rates worked out by hand, intervals
// that hold them, paired differences), the mixed training data PPO reads, the arms' configs, the command's
// argument errors, and one small run from a given model (the test fixture's, one PPO step per arm).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { run as reproduceCli } from '../../src/cli/reproduce.js';
import { UsageError } from '../../src/cli/args.js';
import type { Finding } from '../../src/analyze/index.js';
import type { RewardBreakdown } from '../../src/reward/scorer.js';
import { loadDataset } from '../../src/data/datasets.js';
import { cyberSecEvalOrigin } from '../../src/data/security-prompts.js';
import { vulnerabilityScore } from '../../src/reward/security.js';
import { securityFindings } from '../../src/analyze/index.js';
import { loadTrainData } from '../../src/train/data.js';
import { securitySftProblems } from '../../src/train/security-sft.js';
import { mergeConfig } from '../../src/train/config.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig } from '../../src/train/ppo.js';
import { reproduceSecurity, SECURITY_ARMS, SECURITY_TINY, securityArmConfig, securityTrainData, trainingSignal } from '../../src/train/reproduce-security.js';
import { tinyModelDir } from './fixtures.js';
import { findingCweCounts, isInsecure, securityComparisons, securityCweRows, securityMarkdown, securityRows, type SecurityEvaluated } from '../../src/train/security-table.js';

const HIGH: Finding = { rule: 'S602', banditId: 'B602', severity: 'HIGH', confidence: 'HIGH', cwe: 78, line: 1, column: 1, message: 'shell' };
const LOW: Finding = { rule: 'S311', banditId: 'B311', severity: 'LOW', confidence: 'HIGH', cwe: 330, line: 1, column: 1, message: 'random' };

/** A breakdown: compiles?, findings, tests passed of total. */
function b(id: string, syntaxOk: boolean, findings: Finding[] = [], passed = 0, total = 0): RewardBreakdown {
  return {
    problemId: id, reward: 0, rFunc: 0, rSec: 1, rLint: null, stage: syntaxOk ? 1 : 0, syntaxOk, testsPassed: passed, testsTotal: total,
    verdicts: [], findings, lintCount: null, program: '', extraction: 'whole', tests: [],
  };
}

// Four CyberSecEval prompts (CWE-78, CWE-78, CWE-89, none) and two APPS+ problems.
const labels = [78, 78, 89, null];
const sft: SecurityEvaluated = {
  name: 'SFT',
  cse: [b('c1', true, [HIGH]), b('c2', false), b('c3', true, [LOW]), b('c4', false)],
  apps: [b('a1', false, [], 0, 3), b('a2', true, [], 0, 3)],
};
const ppo: SecurityEvaluated = {
  name: 'PPO-graded',
  cse: [b('c1', true), b('c2', true, [HIGH]), b('c3', true), b('c4', true)],
  apps: [b('a1', true, [], 1, 3), b('a2', true, [], 0, 3)],
};
const none: SecurityEvaluated = {
  name: 'PPO-none',
  cse: [b('c1', true, [HIGH]), b('c2', true, [HIGH]), b('c3', false), b('c4', true, [HIGH])],
  apps: [b('a1', true, [], 0, 3), b('a2', false, [], 0, 3)],
};

const inside = (v: number, ci: [number, number]) => ci[0] <= v + 1e-9 && v <= ci[1] + 1e-9;

describe('security table', () => {
  it('insecure means compiling with a MEDIUM or HIGH finding', () => {
    assert.equal(isInsecure(b('x', true, [HIGH])), true);
    assert.equal(isInsecure(b('x', true, [LOW])), false);
    assert.equal(isInsecure(b('x', false, [HIGH])), false);
  });

  it('computes each rate, its n, its interval and the paired difference against SFT', () => {
    const [r0, r1] = securityRows([sft, ppo], 1);
    // SFT: compiles 2/4; insecure of compiling 1/2; insecure of all 1/4; APPS+ syntax 1/2, ≥1-pass 0/2.
    assert.deepEqual(['cse_compiles', 'cse_insecure', 'cse_insecure_all', 'apps_syntax', 'apps_pass1'].map((k) => r0.values[k].value), [50, 50, 25, 50, 0]);
    assert.equal(r0.values.cse_insecure.n, 2);
    assert.equal(r0.values.cse_compiles.vsSft, null);
    // PPO: compiles 4/4; insecure 1/4 of compiling and of all; syntax 2/2, ≥1-pass 1/2.
    assert.deepEqual(['cse_compiles', 'cse_insecure', 'cse_insecure_all', 'apps_syntax', 'apps_pass1'].map((k) => r1.values[k].value), [100, 25, 25, 100, 50]);
    assert.equal(r1.values.cse_insecure.n, 4);
    assert.equal(r1.values.cse_compiles.vsSft!.diff, 50);
    assert.equal(r1.values.cse_insecure.vsSft!.diff, -25);
    assert.equal(r1.values.cse_insecure_all.vsSft!.diff, 0);
    for (const row of [r0, r1]) for (const v of Object.values(row.values)) assert.ok(inside(v.value!, v.ci!));
  });

  it('a rate with no compiling sample is null, not 0', () => {
    const dead: SecurityEvaluated = { name: 'dead', cse: sft.cse.map((x) => b(x.problemId, false)), apps: sft.apps };
    const [, r] = securityRows([sft, dead]);
    assert.equal(r.values.cse_insecure.value, null);
    assert.equal(r.values.cse_insecure.ci, null);
    assert.equal(r.values.cse_insecure.vsSft, null);
    assert.equal(r.values.cse_insecure_all.value, 0);
  });

  it('per CWE of the prompt: insecure of compiling, most prompts first', () => {
    const rows = securityCweRows([sft, ppo], labels, 1);
    assert.deepEqual(rows.map((r) => [r.cwe, r.prompts]), [[78, 2], [89, 1]]);
    // CWE-78: SFT 1 insecure of 1 compiling; PPO 1 of 2. CWE-89: SFT 0 of 1 (LOW only); PPO 0 of 1.
    assert.equal(rows[0].values.SFT.value, 100);
    assert.equal(rows[0].values.SFT.n, 1);
    assert.equal(rows[0].values['PPO-graded'].value, 50);
    assert.equal(rows[0].values['PPO-graded'].vsSft!.diff, -50);
    assert.equal(rows[1].values.SFT.value, 0);
    assert.throws(() => securityCweRows([sft, ppo], [78]), /1 CWE labels for 4 CyberSecEval prompts/);
  });

  it('pairs of arms, and refuses models that answered other prompts', () => {
    const [c] = securityComparisons([sft, none, ppo], [['PPO-graded', 'PPO-none']], 1);
    // graded insecure of compiling 1/4 vs none 3/3: −75; of all 1/4 vs 3/4: −50.
    assert.equal(c.values.cse_insecure!.diff, -75);
    assert.equal(c.values.cse_insecure_all!.diff, -50);
    assert.ok(inside(c.values.cse_insecure_all!.diff, c.values.cse_insecure_all!.ci));
    assert.throws(() => securityComparisons([sft, ppo], [['PPO-graded', 'PPO-linear']]), /no model named 'PPO-linear'/);
    const other = { ...ppo, cse: [...ppo.cse].reverse() };
    assert.throws(() => securityRows([sft, other]), /answered other cse prompts than 'SFT'/);
  });

  it('markdown: the main table with n and Δ, the arms\' differences and the per-CWE table', () => {
    const models = [sft, none, ppo];
    const counts = findingCweCounts(models);
    // SFT: c1 (HIGH, CWE-78) and c3 (LOW, CWE-330) compile; c2's finding-free failure and c4 do not count.
    assert.deepEqual(counts.SFT, { 'CWE-330': 1, 'CWE-78': 1 });
    assert.deepEqual(counts['PPO-none'], { 'CWE-78': 3 });
    const md = securityMarkdown(securityRows(models, 1), securityCweRows(models, labels, 1), securityComparisons(models, [['PPO-graded', 'PPO-none']], 1), 'the note', counts);
    assert.match(md, /\| SFT \| 50\.0 \[[\d.]+, [\d.]+\] \| 50\.0 \[[\d.]+, [\d.]+\] \(n 2\) \|/);
    assert.match(md, /\| PPO-graded \| 100\.0 \[100\.0, 100\.0\]<br>Δ \+50\.0 \[/);
    assert.match(md, /\| PPO-graded − PPO-none \| \+25\.0 \[0\.0, 75\.0\], p [\d.]+ \| −75\.0 \[/);
    assert.match(md, /\| CWE-78 \(2\) \| 100\.0 \[100\.0, 100\.0\] \(n 1\) \|/);
    assert.match(md, /- PPO-none: CWE-78 3\n/);
    assert.match(md, /\nthe note\n/);
  });
});

describe('mixed training data', () => {
  it('mixes cyberseceval-train into the APPS+ training split, seeded, the evaluation side unchanged', () => {
    const cfg = securityTrainData({ ...SECURITY_TINY, appsTrain: 20, cseTrain: 10 });
    const a = loadTrainData(cfg), again = loadTrainData(cfg);
    const plain = loadTrainData({ ...cfg, mix: null });
    assert.equal(a.train.length, 30);
    assert.equal(a.train.filter((p) => p.dataset === 'cyberseceval').length, 10);
    assert.deepEqual(a.train.map((p) => p.id), again.train.map((p) => p.id));
    assert.deepEqual(a.eval.map((p) => p.id), plain.eval.map((p) => p.id));
    assert.deepEqual(new Set(a.train.filter((p) => p.dataset !== 'cyberseceval').map((p) => p.id)), new Set(plain.train.map((p) => p.id)));
    // Mixed, not appended: a cyberseceval prompt sits among the first half.
    assert.ok(a.train.slice(0, 15).some((p) => p.dataset === 'cyberseceval'));
  });

  it('refuses a part that leaks evaluation problems, asks for too many, or is malformed', () => {
    const base = securityTrainData(SECURITY_TINY);
    assert.throws(() => loadTrainData({ ...base, mix: [{ dataset: 'apps-plus', count: 5 }] }), /data\.mix\[0\]: 'apps-plus' holds "\d+", one of 'apps-plus''s evaluation problems/);
    assert.throws(() => loadTrainData({ ...base, mix: [{ dataset: 'cyberseceval-train', count: 100_000 }] }), /data\.mix\[0\]\.count: 100000 is more than the \d+ problems of 'cyberseceval-train'/);
    assert.throws(() => loadTrainData({ ...base, mix: [{ dataset: 'cyberseceval-train', count: 0 }] }), /data\.mix\[0\]\.count: expected a positive integer, got 0/);
  });
});

describe('training signal', () => {
  it('counts a run\'s samples, compiled, insecure (MEDIUM/HIGH) and flagged; a bad line names file and line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'scrl-signal-'));
    const rec = (ok: boolean, severities: string[]) => JSON.stringify({ syntax_ok: ok, findings: severities.map((severity) => ({ severity })) });
    writeFileSync(join(dir, 'samples.jsonl'), [rec(false, []), rec(true, []), rec(true, ['LOW']), rec(true, ['LOW', 'HIGH']), rec(false, ['HIGH']), ''].join('\n'));
    assert.deepEqual(trainingSignal(dir), { samples: 5, compiled: 3, insecure: 1, flagged: 2 });
    writeFileSync(join(dir, 'samples.jsonl'), `${rec(true, [])}\n{"syntax_ok": 1}\n`);
    assert.throws(() => trainingSignal(dir), /samples\.jsonl:2: expected a sample record with syntax_ok and findings/);
  });
});

describe('SFT on the mix', () => {
  it('answers CyberSecEval training prompts with their snippet\'s code, which the analyzer flags; seeded', async () => {
    const apps = loadTrainData(securityTrainData(SECURITY_TINY)).train.filter((p) => p.dataset !== 'cyberseceval');
    const cse = loadDataset('cyberseceval-train').problems;
    const o = { appsCount: 5, cseCount: 6, seed: 3 };
    const set = securitySftProblems(apps, cse, o);
    assert.deepEqual([set.apps, set.cyberseceval, set.problems.length], [5, 6, 11]);
    assert.deepEqual(securitySftProblems(apps, cse, o).problems.map((p) => p.id), set.problems.map((p) => p.id));
    const trainOrigins = new Set(cse.map(cyberSecEvalOrigin));
    for (const p of set.problems) assert.ok(p.canonicalSolution, p.id);
    for (const p of set.problems.filter((q) => q.dataset === 'cyberseceval')) {
      assert.ok(trainOrigins.has(cyberSecEvalOrigin(p)));
      assert.ok(vulnerabilityScore(await securityFindings(p.canonicalSolution!, 'ruff'), 'graded') > 0, p.id);
    }
    assert.throws(() => securitySftProblems(apps, cse, { ...o, cseCount: 10_000 }), /security SFT: 10000 CyberSecEval prompts with a window asked for, \d+ available/);
  });
});

describe('security arms', () => {
  it('differ only in the reward; none has no security weight', () => {
    const configs = SECURITY_ARMS.map((a) => securityArmConfig(a, '/models/sft', SECURITY_TINY));
    assert.deepEqual(SECURITY_ARMS.map((a) => a.name), ['none', 'linear', 'graded']);
    const strip = (c: Record<string, unknown>) => ({ ...c, reward: null, run_name: null });
    for (const c of configs) assert.deepEqual(strip(c as never), strip(configs[0] as never));
    assert.deepEqual(configs[0].reward.weights, { func: 1, sec: 0, lint: 0 });
    assert.deepEqual([configs[1].reward.securityShape, configs[2].reward.securityShape], ['linear', 'graded']);
    assert.equal(configs[0].episodes, 384);
    assert.deepEqual(configs[0].data.mix, [{ dataset: 'cyberseceval-train', count: 200 }]);
    assert.equal(configs[0].data.trainSize, null);
  });

  it('a PPO config takes data.mix and checks it; other unknown fields stay refused', () => {
    const json = { ...DEFAULT_PPO_CONFIG, model: 'm', data: { ...DEFAULT_PPO_CONFIG.data, mix: [{ dataset: 'cyberseceval-train', count: 3 }] } };
    assert.deepEqual(parsePpoConfig(json, 'c.json').data.mix, [{ dataset: 'cyberseceval-train', count: 3 }]);
    assert.equal('mix' in parsePpoConfig({ model: 'm' }, 'c.json').data, false);
    assert.throws(() => parsePpoConfig({ model: 'm', data: { mix: [{ dataset: 'x', count: 1.5 }] } }, 'c.json'), /c\.json: data\.mix\[0\]\.count: expected a positive integer, got 1\.5/);
    assert.throws(() => parsePpoConfig({ model: 'm', data: { mix: [{ dataset: 'x', count: 1, weight: 2 }] } }, 'c.json'), /data\.mix\[0\]: unknown field 'weight'/);
    assert.throws(() => parsePpoConfig({ model: 'm', data: { mix: { dataset: 'x' } } }, 'c.json'), /data\.mix: expected an array or null/);
    assert.throws(() => mergeConfig({ a: 1 }, { b: 2 }, 'f'), /f: unknown field 'b'/);
  });
});

describe('reproduce --preset security-tiny: argument errors', () => {
  it('refuses --steps, a bad --episodes and an unknown preset before any work', async () => {
    await assert.rejects(reproduceCli(['--preset', 'security-tiny', '--steps', '3']), (e: Error) => e instanceof UsageError && /--steps is for toy; security-tiny takes --episodes/.test(e.message));
    await assert.rejects(reproduceCli(['--preset', 'security-tiny', '--episodes', '0']), (e: Error) => e instanceof UsageError && /--episodes: expected a positive integer, got "0"/.test(e.message));
    await assert.rejects(reproduceCli(['--preset', 'security']), (e: Error) => e instanceof UsageError && /--preset: expected one of tiny, minimal, toy, security-tiny, got "security"/.test(e.message));
    await assert.rejects(reproduceCli(['--preset', 'tiny', '--model', '.']), (e: Error) => e instanceof UsageError && /--model and --skip-mix-sft are for security-tiny; tiny starts from its preset's model/.test(e.message));
    const empty = mkdtempSync(join(tmpdir(), 'no-model-'));
    await assert.rejects(reproduceCli(['--preset', 'security-tiny', '--model', empty]), (e: Error) => e instanceof UsageError && e.message.includes(`--model ${empty}: no config.json there`));
  });

  it('runs from a given model without the mix SFT: three arms trained, four models evaluated, the model named in the note', async () => {
    const model = tinyModelDir({ hidden: 32 });
    const outDir = mkdtempSync(join(tmpdir(), 'security-repro-'));
    const r = await reproduceSecurity({
      outDir, quiet: true, model: { sftDir: model, key: model },
      settings: { episodes: 8, cseTrain: 8, appsTrain: 8, cseEval: 3, appsEval: 3, sftApps: 0, sftCse: 0 },
    });
    assert.ok(!existsSync(join(outDir, 'runs', 'sft')), 'the mix SFT ran');
    for (const arm of SECURITY_ARMS) assert.ok(existsSync(join(outDir, 'runs', arm.name)), `arm ${arm.name}`);
    assert.match(r.markdown, new RegExp(`SFT = the model in ${model.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}[;.]`));
    for (const name of ['SFT', 'PPO-none', 'PPO-linear', 'PPO-graded']) assert.ok(r.markdown.includes(name), name);
    assert.equal((r.table.heldOut as { cyberseceval: string[] }).cyberseceval.length, 3);
  });
});
