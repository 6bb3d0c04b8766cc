// GRPO and GSPO: the named reward functions, their weighting and the step's metrics against values worked
// out by hand; the GRPO head's first ratio is exactly 1 however the rows are regrouped; a minibatch split
// into micro-batches has the unsplit minibatch's loss and gradient under every loss type and level; a run
// writes the folder the docs describe; a run killed with SIGKILL and resumed ends byte-identical; bad
// configs are errors that name the field.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { TestResult, TestVerdict } from '../../src/judge/types.js';
import { releaseSessions } from '../../src/engine/index.js';
import { LoraAdapter } from '../../src/model/lora.js';
import { loadCheckpoint } from '../../src/model/weights.js';
import type { RewardBreakdown } from '../../src/reward/scorer.js';
import type { Stage } from '../../src/reward/ladder.js';
import { countedValues, tokenBatch } from '../../src/train/batch.js';
import { DEFAULT_GRPO_CONFIG, grpo, parseGrpoConfig, type GrpoConfig } from '../../src/train/grpo.js';
import { PolicyGraph, type GrpoHeadOptions, type GrpoItem } from '../../src/train/policy.js';
import { rewardMeans, rewardValues, weightedReward, type ScoredSample } from '../../src/train/reward-functions.js';
import { exceptionName, groupRewardStats, sampleProfile } from '../../src/train/step-metrics.js';
import type { TaskDataConfig } from '../../src/train/task-split.js';
import { runKilledAfterCheckpoint, tinyModelDir } from './fixtures.js';

const MBPP_SMALL: TaskDataConfig = { dataset: 'mbpp', split: 'mbpp', evalSize: 10, splitSeed: 42, trainSize: 12, maxTests: 3, promptTests: 1 };
let modelDir = '';

function config(over: Partial<GrpoConfig> = {}): GrpoConfig {
  return parseGrpoConfig({
    ...DEFAULT_GRPO_CONFIG, model: modelDir, data: MBPP_SMALL, steps: 2, promptsPerStep: 2, numGenerations: 4, lr: 1e-2, lrSchedule: 'constant',
    maxPromptTokens: 4000, sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 12 },
    lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }, saveEvery: 1, threads: 1, ...over,
  }, 'test config');
}

function test(verdict: TestVerdict, stderr = ''): TestResult {
  return { verdict, exitedOk: verdict === 'passed' || verdict === 'wrong_output', producedOutput: verdict === 'passed', exitCode: 0, signal: null, cpuSeconds: 0, wallSeconds: 0, stdout: '', stderr };
}

function sample(o: { stage: Stage; passed: number; tests: TestResult[]; reward: number; rFunc: number; rSec: number | null; lint: string[] | null; severities?: ('LOW' | 'MEDIUM' | 'HIGH')[] }): ScoredSample {
  const breakdown: RewardBreakdown = {
    problemId: 'p', reward: o.reward, rFunc: o.rFunc, rSec: o.rSec, rLint: null, stage: o.stage, syntaxOk: o.stage > 0, testsPassed: o.passed,
    testsTotal: o.tests.length, verdicts: o.tests.map((t) => t.verdict), lintCount: null, program: '', extraction: 'whole', tests: o.tests,
    findings: (o.severities ?? []).map((severity) => ({ rule: 'S', banditId: 'B', severity, cwe: null, line: 1, column: 1, message: '' })),
  };
  return { breakdown, lint: o.lint && o.lint.map((code) => ({ code, message: '', line: 1, column: 1 })) };
}

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

describe('GRPO reward functions and metrics (by hand)', () => {
  // Three samples: all 4 tests pass with 1 diagnostic; 1 of 4 passes, 3 diagnostics and a MEDIUM finding;
  // does not compile.
  const nameError = 'Traceback (most recent call last):\n  File "<program>", line 3, in f\nNameError: name \'x\' is not defined\n';
  const samples = [
    sample({ stage: 4, passed: 4, tests: [test('passed'), test('passed'), test('passed'), test('passed')], reward: 0.96, rFunc: 1, rSec: 1, lint: ['F401'] }),
    sample({ stage: 4, passed: 1, tests: [test('passed'), test('wrong_output'), test('runtime_error', nameError), test('runtime_error', 'ZeroDivisionError: division by zero')],
      reward: 0.5, rFunc: 0.7, rSec: 0.5, lint: ['F821', 'F821', 'E711'], severities: ['MEDIUM', 'LOW'] }),
    sample({ stage: 0, passed: 0, tests: [], reward: 0, rFunc: 0, rSec: 0, lint: null }),
  ];

  it('each function, the weighted total and the means', () => {
    const v = samples.map((s) => rewardValues(s, 'fraction'));
    assert.deepEqual(v[0], { tests: 1, lint: 0.9, security: 1, ladder: 1, combined: 0.96 });
    assert.deepEqual(v[1], { tests: 0.25, lint: 0.7, security: 0.5, ladder: 0.7, combined: 0.5 });
    assert.deepEqual(v[2], { tests: 0, lint: 0, security: 0, ladder: 0, combined: 0 });
    assert.equal(rewardValues(samples[1], 'all').tests, 0);
    assert.equal(rewardValues(samples[0], 'all').tests, 1);
    // 0.5·tests + 0.25·lint + 1·combined: 0.5 + 0.225 + 0.96 = 1.685; 0.125 + 0.175 + 0.5 = 0.8.
    const w = [{ name: 'tests', weight: 0.5 }, { name: 'lint', weight: 0.25 }, { name: 'combined', weight: 1 }] as const;
    close(weightedReward(v[0], w), 1.685);
    close(weightedReward(v[1], w), 0.8);
    const m = rewardMeans(v);
    close(m.tests!, 1.25 / 3); close(m.lint!, 1.6 / 3); close(m.combined!, 1.46 / 3);
    // Security off: the function has no value; weighting it is an error, its mean is null.
    const off = rewardValues(sample({ stage: 1, passed: 0, tests: [test('runtime_error')], reward: 0.2, rFunc: 0.2, rSec: null, lint: [] }), 'fraction');
    assert.equal(off.security, null);
    assert.equal(rewardMeans([off, v[0]]).security, null);
    assert.throws(() => weightedReward(off, [{ name: 'security', weight: 1 }]), /'security' has no value/);
  });

  it('the step profile: stages, pass rates, Ruff profile, verdicts and exceptions', () => {
    const p = sampleProfile(samples);
    assert.deepEqual(p.stage_shares, [1 / 3, 0, 0, 0, 2 / 3]);
    assert.equal(p.pass_all_rate, 1 / 3);
    assert.equal(p.pass_any_rate, 2 / 3);
    assert.equal(p.lint_count_mean, 2); // (1 + 3) / 2 compiling programs
    assert.deepEqual(p.lint_codes, { F821: 2 / 3, E711: 1 / 3, F401: 1 / 3 });
    assert.deepEqual(p.security_findings, { LOW: 1 / 3, MEDIUM: 1 / 3, HIGH: 0 });
    // 8 verdicts: 5 passed, 1 wrong output, 2 runtime errors (a NameError and a ZeroDivisionError).
    assert.deepEqual(p.verdict_shares, { passed: 5 / 8, wrong_output: 1 / 8, no_output: 0, runtime_error: 2 / 8, timeout: 0, memory_limit: 0, output_limit: 0 });
    assert.deepEqual(p.exception_shares, { NameError: 0.5, ZeroDivisionError: 0.5 });
    assert.equal(sampleProfile([samples[2]]).lint_count_mean, null);
    assert.equal(exceptionName('AssertionError\n'), 'AssertionError');
    assert.equal(exceptionName('  File "x"\nmodule.CustomError: boom'), 'CustomError');
    assert.equal(exceptionName('killed'), 'other');
  });

  it("TRL's group figures: mean group std and the share of groups without signal", () => {
    // Groups [1, 0, 1, 0] (std √(1/3)) and [0.5, 0.5, 0.5, 0.5] (std 0).
    const g = groupRewardStats([1, 0, 1, 0, 0.5, 0.5, 0.5, 0.5], 4);
    close(g.reward_std, Math.sqrt(1 / 3) / 2);
    assert.equal(g.frac_reward_zero_std, 0.5);
    assert.throws(() => groupRewardStats([1, 2, 3], 2), /not whole groups/);
  });
});

describe('GRPO head', () => {
  before(() => { modelDir = tinyModelDir(); });

  /** A graph with the GRPO head, a LoRA adapter moved off B = 0, and five sequences of different lengths. */
  function setup(head: GrpoHeadOptions) {
    const ck = loadCheckpoint(modelDir);
    const adapter = LoraAdapter.init(ck.config, { r: 4, alpha: 8, dropout: 0, targetModules: ['q_proj', 'v_proj', 'gate_proj'] }, 5);
    for (const p of adapter.pairs.values()) p.B.forEach((_, i, a) => { a[i] = 0.05 * Math.sin(i + 1); });
    const graph = new PolicyGraph(ck, { lora: adapter.config, temperature: 0.7, grpo: head, session: { threads: 1 } });
    const seqs = [0, 1, 2, 3, 4].map((b) => ({ tokens: Array.from({ length: 7 + 3 * b }, (_, i) => (i * 11 + b * 7 + 1) % 300), lossStart: 3 + (b % 3) }));
    return { adapter, graph, seqs, tb: tokenBatch(seqs) };
  }

  async function itemsOf(s: ReturnType<typeof setup>, withRef: boolean): Promise<GrpoItem[]> {
    const cur = await s.graph.forward(s.tb, s.adapter.feeds(), { microBatch: 5 });
    const advantages = [1.2, -0.7, 0.4, -1.5, 0.6];
    return s.seqs.map((q, b) => ({
      ...q, oldLogprobs: countedValues(s.tb, cur.logprobs, b), advantage: advantages[b],
      ...(withRef ? { refLogprobs: countedValues(s.tb, cur.logprobs, b) } : {}),
    }));
  }

  it('first ratio is exactly 1 for any regrouping; at ratio 1 the loss is −A under each normaliser', async () => {
    for (const level of ['token', 'sequence'] as const) {
      const s = setup({ clipLow: 0.2, clipHigh: 0.28, level, lossType: 'dapo', beta: 0.1 });
      const items = await itemsOf(s, true);
      for (const microBatch of [1, 2, 5]) {
        for (const order of [[0, 1, 2, 3, 4], [4, 1], [2]]) {
          const r = await s.graph.grpoStep(order.map((i) => items[i]), s.adapter.feeds(), { microBatch, padTo: s.tb.seq });
          assert.equal(r.stats.ratio_mean, 1, `${level}: ratio with micro-batch ${microBatch}, rows ${order}`);
          assert.equal(r.stats.clip_frac, 0);
          assert.equal(r.stats.kl, 0);
          // dapo at ratio 1 (and KL 0): −Σ A_i·n_i / Σ n_i.
          const n = order.map((i) => items[i].oldLogprobs.length);
          const want = -order.reduce((a, i, k) => a + items[i].advantage * n[k], 0) / n.reduce((a, x) => a + x, 0);
          close(r.stats.loss, want, 1e-6);
        }
      }
      await releaseSessions(s.graph.graph);
    }
    // grpo: −mean A; dr_grpo: −Σ A_i·n_i / (B·L).
    for (const lossType of ['grpo', 'dr_grpo'] as const) {
      const s = setup({ clipLow: 0.2, clipHigh: 0.2, level: 'token', lossType, maxCompletionLength: 16 });
      const items = await itemsOf(s, false);
      const r = await s.graph.grpoStep(items, s.adapter.feeds(), { microBatch: 2, padTo: s.tb.seq });
      const want = lossType === 'grpo' ? -items.reduce((a, it) => a + it.advantage, 0) / 5 : -items.reduce((a, it) => a + it.advantage * it.oldLogprobs.length, 0) / (5 * 16);
      close(r.stats.loss, want, 1e-6);
      assert.equal(r.stats.ratio_mean, 1);
      await releaseSessions(s.graph.graph);
    }
  });

  it('a minibatch split into micro-batches has the unsplit loss and gradient (every loss type and level)', async () => {
    const heads: GrpoHeadOptions[] = [
      // Token level with DAPO's clip range, sequence level with GSPO's (3e-4, 4e-4).
      ...(['grpo', 'dr_grpo', 'dapo'] as const).flatMap((lossType) => [
        { clipLow: 0.2, clipHigh: 0.28, level: 'token' as const, lossType, maxCompletionLength: 16 },
        { clipLow: 3e-4, clipHigh: 4e-4, level: 'sequence' as const, lossType, maxCompletionLength: 16 },
      ]),
      { clipLow: 0.2, clipHigh: 0.28, level: 'token', lossType: 'grpo', beta: 0.5 },
    ];
    for (const head of heads) {
      const s = setup(head);
      const sampled = await itemsOf(s, (head.beta ?? 0) > 0);
      // The policy moves away from the one that sampled: ratios leave 1. With A and with −A, every moved
      // ratio is beyond the clip range on the side that matters in one of the two.
      for (const p of s.adapter.pairs.values()) p.B.forEach((_, i, a) => { a[i] += 0.3 * Math.cos(3 * i); });
      const what = `${head.lossType}/${head.level}${head.beta ? '/kl' : ''}`;
      let clipped = 0;
      for (const sign of [1, -1]) {
        const items = sampled.map((it) => ({ ...it, advantage: sign * it.advantage }));
        const whole = await s.graph.grpoStep(items, s.adapter.feeds(), { microBatch: 5, padTo: s.tb.seq });
        assert.notEqual(whole.stats.ratio_mean, 1, `${what}: the policy did not move`);
        clipped += whole.stats.clip_frac;
        for (const microBatch of [1, 2, 3]) {
          const split = await s.graph.grpoStep(items, s.adapter.feeds(), { microBatch, padTo: s.tb.seq });
          for (const k of ['loss', 'clip_frac', 'ratio_mean', ...(head.beta ? ['kl'] : [])]) close(split.stats[k], whole.stats[k], 1e-6);
          for (const [name, g] of whole.grads) {
            const h = split.grads.get(name)!;
            const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
            const diff = Math.max(...Array.from(g, (x, i) => Math.abs(x - h[i])));
            assert.ok(diff <= 1e-5 * scale, `${what}, A × ${sign}, micro-batch ${microBatch}: ${name} differs by ${diff} (scale ${scale})`);
          }
        }
      }
      assert.ok(clipped > 0, `${what}: no ratio was clipped`);
      await releaseSessions(s.graph.graph);
    }
  });
});

describe('GRPO runs', () => {
  before(() => { modelDir ||= tinyModelDir(); });

  it('writes the run folder: named reward means, profile, checkpoints, samples, final PEFT adapter', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-grpo-'));
    const rewardFuncs = [{ name: 'tests', weight: 0.5 }, { name: 'lint', weight: 0.3 }, { name: 'combined', weight: 0.2 }] as GrpoConfig['rewardFuncs'];
    const r = await grpo({ config: config({ rewardFuncs, beta: 0.04 }), outDir: out }, { quiet: true });
    assert.equal(r.steps, 2);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.length, 2);
    for (const f of ['step', 'episode', 'reward_mean', 'reward_std', 'frac_reward_zero_std', 'reward/tests_mean', 'reward/lint_mean', 'reward/security_mean',
      'reward/ladder_mean', 'reward/combined_mean', 'response_len_mean', 'stage_shares', 'pass_all_rate', 'lint_count_mean', 'lint_codes', 'security_findings',
      'verdict_shares', 'exception_shares', 'kl', 'clip_frac', 'entropy', 'lr', 'time_sample_s', 'time_score_s', 'time_train_s', 'r_func_mean', 'r_sec_mean']) {
      assert.ok(f in metrics[0], `metrics lack ${f}`);
    }
    assert.deepEqual(metrics.map((m) => m.episode), [8, 16]);
    for (const m of metrics) {
      close(m.reward_mean, 0.5 * m['reward/tests_mean'] + 0.3 * m['reward/lint_mean'] + 0.2 * m['reward/combined_mean'], 1e-9);
      assert.equal(m.stage_shares.length, 5);
      // One on-policy update per step (1 iteration × 1 minibatch, rows shuffled): its ratio is exactly 1.
      assert.equal(m.ratio_mean, 1);
      assert.equal(m.clip_frac, 0);
      assert.ok(m.kl >= 0);
    }
    const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(samples.length, 16);
    for (const s of samples) {
      close(s.reward, 0.5 * s.rewards.tests + 0.3 * s.rewards.lint + 0.2 * s.rewards.combined, 1e-9);
      assert.ok('verdicts' in s && 'completion' in s && 'advantage' in s && 'lint_codes' in s);
    }
    // Each group: the same prompt G times, advantages summing to 0.
    for (let g = 0; g < 16; g += 4) {
      const group = samples.slice(g, g + 4);
      assert.equal(new Set(group.map((s) => s.problem_id)).size, 1);
      close(group.reduce((a, s) => a + s.advantage, 0), 0, 1e-9);
    }
    for (const step of [1, 2]) {
      for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'state.json']) {
        assert.ok(existsSync(join(out, 'checkpoints', `step-${step}`, f)), `checkpoint ${step} lacks ${f}`);
      }
    }
    const cfg = JSON.parse(readFileSync(join(out, 'final', 'adapter_config.json'), 'utf8'));
    assert.equal(cfg.peft_type, 'LORA');
    assert.equal(cfg.lora_dropout, 0);
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).trainer, 'grpo');
  });

  it('a run killed with SIGKILL and resumed ends byte-identical to an uninterrupted run (GSPO, 2 × 2 updates a step)', async () => {
    const cfg = config({ steps: 4, importanceLevel: 'sequence', lossType: 'grpo', numIterations: 2, stepsPerGeneration: 2, lrSchedule: 'linear', microBatch: 3 });
    const straight = mkdtempSync(join(tmpdir(), 'securecoderl-grpo-a-'));
    await grpo({ config: cfg, outDir: straight }, { quiet: true });

    const killed = await runKilledAfterCheckpoint('grpo', cfg, 2);
    const resumed = await grpo({ resume: killed }, { quiet: true });
    assert.equal(resumed.steps, 4);
    assert.deepEqual(readFileSync(join(killed, 'final', 'adapter_model.safetensors')), readFileSync(join(straight, 'final', 'adapter_model.safetensors')));
    const steps = readFileSync(join(killed, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.deepEqual(steps, [1, 2, 3, 4]);
    const rewards = (dir: string) => readFileSync(join(dir, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).reward);
    assert.deepEqual(rewards(killed), rewards(straight));
  });

  it('refuses bad configs and missing paths, naming them', async () => {
    const ok = config();
    const bad = (over: Record<string, unknown>, re: RegExp) => assert.throws(() => parseGrpoConfig({ ...ok, ...over }, 'g.json'), re);
    bad({ num_generations: 8 }, /g\.json: unknown field 'num_generations'/);
    bad({ numGenerations: 1 }, /g\.json: numGenerations: expected an integer ≥ 2/);
    bad({ lossType: 'bnpo' }, /g\.json: lossType: expected grpo, dr_grpo or dapo, got "bnpo"/);
    bad({ importanceLevel: 'seq' }, /g\.json: importanceLevel/);
    bad({ scaleRewards: true }, /g\.json: scaleRewards: expected a string, got true/);
    bad({ epsilonHigh: -1 }, /g\.json: epsilonHigh/);
    bad({ stepsPerGeneration: 99 }, /g\.json: stepsPerGeneration: expected at most the completions per step \(8\)/);
    bad({ sampling: { ...ok.sampling, temperature: 0 } }, /g\.json: sampling\.temperature/);
    bad({ rewardFuncs: [] }, /g\.json: rewardFuncs: expected at least one/);
    bad({ rewardFuncs: [{ name: 'style', weight: 1 }] }, /g\.json: rewardFuncs\[0\]\.name: expected one of tests, lint, security, ladder, combined, got "style"/);
    bad({ rewardFuncs: [{ name: 'lint', weight: 1, scale: 2 }] }, /g\.json: unknown field 'rewardFuncs\[0\]\.scale'/);
    bad({ rewardFuncs: [{ name: 'lint', weight: 1 }, { name: 'lint', weight: 2 }] }, /rewardFuncs\[1\]\.name: expected a function not listed before/);
    bad({ rewardFuncs: [{ name: 'lint', weight: 0 }] }, /rewardFuncs: expected at least one non-zero weight/);
    bad({ rewardFuncs: [{ name: 'security', weight: 1 }], reward: { ...ok.reward, security: 'off' } }, /rewardFuncs\[0\]\.name: .*needs reward\.security/);
    bad({ data: { ...ok.data, split: 'random' } }, /g\.json: data\.split/);
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-grpo-bad-'));
    await assert.rejects(grpo({ config: config({ reference: join(out, 'no-such-adapter') }), outDir: join(out, 'run') }, { quiet: true }),
      /reference adapter: .*no-such-adapter: no adapter_config\.json/);
    await assert.rejects(grpo({ config: config({ data: { ...MBPP_SMALL, dataset: 'apps-plus' } }), outDir: join(out, 'run2') }, { quiet: true }), /split 'mbpp' needs dataset mbpp/);
    await assert.rejects(grpo({ resume: join(out, 'nothing-here') }, { quiet: true }), /no such file/);
  });
});
