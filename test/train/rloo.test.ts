// RLOO multi-turn self-correction: the feedback prompt's content and its bounds, the accumulated reward and
// leave-one-out advantages of trajectories, and the self-correction figures, against values worked out by
// hand; `eval --turns 2` asks the feedback prompt and reports Acc@t1, Acc@t2, Δi→c, Δc→i; a run writes the folder the docs describe with the RLOO metrics; a run killed with SIGKILL and
// resumed ends byte-identical; bad configs are errors that name the field.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type { Problem } from '../../src/data/problem.js';
import type { TestResult, TestVerdict } from '../../src/judge/types.js';
import { clipHead, clipTail, feedbackProblem, feedbackText, type ProgramOutcome } from '../../src/train/feedback.js';
import { formatRunSummary } from '../../src/eval/format.js';
import { runEval } from '../../src/eval/run.js';
import { correctionMetrics, DEFAULT_RLOO_CONFIG, parseRlooConfig, rloo, trajectoryAdvantages, type RlooConfig } from '../../src/train/rloo.js';
import type { TaskDataConfig } from '../../src/train/task-split.js';
import { runKilledAfterCheckpoint, tinyModelDir } from './fixtures.js';

const MBPP_SMALL: TaskDataConfig = { dataset: 'mbpp', split: 'mbpp', evalSize: 10, splitSeed: 42, trainSize: 12, maxTests: 3, promptTests: 1 };
let modelDir = '';

function config(over: Partial<RlooConfig> = {}): RlooConfig {
  return parseRlooConfig({
    ...DEFAULT_RLOO_CONFIG, model: modelDir, data: MBPP_SMALL, steps: 2, promptsPerStep: 2, k: 2, lr: 1e-2,
    maxPromptTokens: 4000, sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 12 },
    lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }, reward: { ...DEFAULT_RLOO_CONFIG.reward, security: 'off' }, saveEvery: 1, threads: 1, ...over,
  }, 'test config');
}

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

function result(verdict: TestVerdict, o: { stdout?: string; stderr?: string; returned?: unknown } = {}): TestResult {
  return { verdict, exitedOk: verdict === 'passed', producedOutput: true, exitCode: 0, signal: null, cpuSeconds: 0, wallSeconds: 0, stdout: o.stdout ?? '', stderr: o.stderr ?? '', ...(o.returned !== undefined ? { returned: o.returned } : {}) };
}

describe('the feedback prompt (by hand)', () => {
  const callProblem: Problem = {
    id: 'p1', prompt: 'Write a function add(a, b) that returns a + b.', promptKind: 'text', style: 'call', fnName: 'add',
    tests: [{ input: [1, 2], output: 3 }, { input: [2, 2], output: 4 }, { input: ['x', 1], output: 'x1' }],
  };
  const outcome: ProgramOutcome = {
    program: 'def add(a, b):\n    return a - b\n', syntaxOk: true, testsPassed: 1, testsTotal: 3, verdicts: ['passed', 'wrong_output', 'runtime_error'],
    tests: [result('passed', { returned: 3 }), result('wrong_output', { returned: 0 }), result('runtime_error', { stderr: 'Traceback (most recent call last):\n  File "p", line 2\nTypeError: bad' })],
  };

  it('holds the program, verdicts and the first failing test with expected and actual output', () => {
    assert.equal(feedbackText(callProblem, outcome), [
      'Your previous program:', '```python', 'def add(a, b):\n    return a - b', '```',
      'Execution feedback: 1 of 3 tests passed.', 'Verdicts: passed, wrong_output, runtime_error',
      'First failing test (test 2, wrong_output):', 'Input: [2,2]', 'Expected output: 4', 'Actual output: 0',
    ].join('\n'));
    const next = feedbackProblem(callProblem, outcome);
    assert.equal(next.promptKind, 'text');
    assert.equal(next.id, 'p1');
    assert.deepEqual(next.tests, callProblem.tests);
    assert.ok(next.prompt.startsWith('Write a function add(a, b) that returns a + b.\n\nYour previous program:'));
    assert.ok(next.prompt.endsWith('Fix the program so that it passes all tests. Answer with the complete corrected program.'));
    // A code prompt keeps the instruction template's wording.
    assert.ok(feedbackProblem({ ...callProblem, promptKind: 'code', prompt: 'def add(a, b):\n' }, outcome).prompt.startsWith('Complete the following Python code:\n\ndef add(a, b):\n\nYour previous'));
  });

  it("the error's last lines, a check test's code, a syntax error and an empty answer", () => {
    const err = { ...outcome, verdicts: ['runtime_error', 'passed', 'passed'] as TestVerdict[], tests: [outcome.tests[2], outcome.tests[0], outcome.tests[0]] };
    assert.ok(feedbackText(callProblem, err, { programChars: 99, fieldChars: 99, errorLines: 2, errorChars: 99 })
      .endsWith('First failing test (test 1, runtime_error):\nInput: [1,2]\nExpected output: 3\nActual output: \nError (last lines):\n  File "p", line 2\nTypeError: bad'));
    const mbpp: Problem = { ...callProblem, tests: [{ input: [], output: null, check: { body: 'assert add(1, 2) == 3' } }] };
    const failed = { ...outcome, testsPassed: 0, testsTotal: 1, verdicts: ['wrong_output'] as TestVerdict[], tests: [result('wrong_output', { stderr: 'AssertionError' })] };
    assert.ok(feedbackText(mbpp, failed).endsWith('First failing test (test 1, wrong_output):\nTest code: assert add(1, 2) == 3\nError (last lines):\nAssertionError'));
    assert.equal(feedbackText(mbpp, { ...failed, syntaxOk: false, syntaxError: 'SyntaxError: invalid syntax', verdicts: [], tests: [] }),
      'Your previous program:\n```python\ndef add(a, b):\n    return a - b\n```\nExecution feedback: the program does not compile.\nError:\nSyntaxError: invalid syntax');
    assert.equal(feedbackText(mbpp, { ...failed, program: '  \n' }), 'Your previous answer contained no program.');
  });

  it('truncates every part to its bound', () => {
    assert.equal(clipHead('abcdef', 4), 'abcd…[truncated]');
    assert.equal(clipHead('abc', 4), 'abc');
    assert.equal(clipTail('a\n\nb\nc\nd\n', 2, 99), 'c\nd');
    assert.equal(clipTail('line one\nline two', 5, 6), '…[truncated]ne two');
    const huge: ProgramOutcome = {
      ...outcome, program: 'x = 1\n'.repeat(10_000), verdicts: ['wrong_output'], testsPassed: 0, testsTotal: 1,
      tests: [result('wrong_output', { returned: 'y'.repeat(50_000), stderr: 'e\n'.repeat(10_000) + 'z'.repeat(5000) })],
    };
    const big: Problem = { ...callProblem, tests: [{ input: ['q'.repeat(50_000)], output: 'w'.repeat(50_000) }] };
    const limits = { programChars: 100, fieldChars: 30, errorLines: 3, errorChars: 50 };
    const text = feedbackText(big, huge, limits);
    // 100 program characters, 3 fields of 30, 50 error characters, plus fixed wording and marks.
    assert.ok(text.length < 100 + 3 * 30 + 50 + 400, `feedback is ${text.length} characters`);
    assert.ok(text.includes(`Input: ["${'q'.repeat(28)}…[truncated]`));
    assert.ok(text.includes(`Expected output: ${'w'.repeat(30)}…[truncated]`));
    assert.ok(text.endsWith(`Error (last lines):\n…[truncated]${'z'.repeat(50)}`));
  });
});

describe('accumulated rewards, leave-one-out advantages, self-correction figures (by hand)', () => {
  it('R = γ·r1 + (r2 − r1) with γ 0.5, and each R minus the mean of the other k − 1', () => {
    // Two prompts, k 2: turn rewards (r1, r2) = (0, 1), (0.5, 0.5) | (1, 0), (0.25, 0.75).
    const { rewards, advantages } = trajectoryAdvantages([[0, 0.5, 1, 0.25], [1, 0.5, 0, 0.75]], 0.5, 2);
    // 0 + 1 = 1; 0.25 + 0 = 0.25; 0.5 − 1 = −0.5; 0.125 + 0.5 = 0.625.
    assert.deepEqual(rewards, [1, 0.25, -0.5, 0.625]);
    assert.deepEqual(advantages, [0.75, -0.75, -1.125, 1.125]);
    // γ 1: R = r_T; γ 0: R = r_T − r_(T−1). One turn: R = r_1. k 3: minus the mean of the other two.
    assert.deepEqual(trajectoryAdvantages([[0.2, 0.4], [0.6, 1]], 1, 2).rewards, [0.6, 1]);
    assert.deepEqual(trajectoryAdvantages([[0.25, 0.5], [0.75, 1]], 0, 2).rewards, [0.5, 0.5]);
    const three = trajectoryAdvantages([[0, 0.5, 1]], 0.5, 3);
    assert.deepEqual(three.rewards, [0, 0.5, 1]);
    assert.deepEqual(three.advantages, [-0.75, 0, 0.75]);
  });

  it('Acc@t1, Acc@t2, Δi→c, Δc→i and the share of passing tests kept', () => {
    const b = (verdicts: TestVerdict[]) => ({ verdicts, testsTotal: verdicts.length, testsPassed: verdicts.filter((v) => v === 'passed').length });
    const t1 = [b(['passed', 'passed']), b(['passed', 'wrong_output']), b(['wrong_output', 'wrong_output']), b([])];
    const t2 = [b(['passed', 'wrong_output']), b(['passed', 'passed']), b(['passed', 'passed']), b([])];
    // Solved: t1 {0}, t2 {1, 2}. i→c: 1, 2; c→i: 0. Passing at t1: 3 tests, of which 2 still pass.
    assert.deepEqual(correctionMetrics([t1, t2]), { acc_t1: 0.25, acc_t2: 0.5, delta_i_to_c: 0.5, delta_c_to_i: 0.25, kept_pass_share: 2 / 3 });
    assert.equal(correctionMetrics([[t1[2]], [t2[2]]]).kept_pass_share, null);
  });
});

describe('RLOO runs', () => {
  before(() => { modelDir = tinyModelDir(); });

  it('writes the run folder with the self-correction metrics, turn samples and a final PEFT adapter', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-rloo-'));
    const r = await rloo({ config: config(), outDir: out }, { quiet: true });
    assert.equal(r.steps, 2);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.length, 2);
    for (const f of ['step', 'episode', 'reward_mean', 'reward_t1', 'reward_t2', 'acc_t1', 'acc_t2', 'delta_i_to_c', 'delta_c_to_i', 'kept_pass_share',
      'kl', 'policy_loss', 'grad_norm', 'entropy', 'lr', 'response_len_mean', 'time_sample_s', 'time_score_s', 'time_train_s', 'r_func_mean', 'r_sec_mean', 'pass_all_rate']) {
      assert.ok(f in metrics[0], `metrics lack ${f}`);
    }
    for (const m of metrics) assert.equal(m.pass_all_rate, m.acc_t2, 'pass_all_rate is the last turn\'s');
    assert.deepEqual(metrics.map((m) => m.episode), [4, 8]);
    for (const m of metrics) {
      close(m.reward_mean, 0.5 * m.reward_t1 + (m.reward_t2 - m.reward_t1), 1e-9);
      assert.ok(m.kl >= 0);
      assert.ok(m.prompt_len_mean.t2 > m.prompt_len_mean.t1, 'turn 2 prompts carry the feedback');
    }
    const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(samples.length, 2 * 4 * 2);
    for (let s = 0; s < samples.length; s += 8) {
      const step = samples.slice(s, s + 8);
      assert.deepEqual(step.map((x) => x.turn), [1, 1, 1, 1, 2, 2, 2, 2]);
      for (let i = 0; i < 4; i++) {
        assert.equal(step[i].problem_id, step[i + 4].problem_id);
        close(step[i].reward, 0.5 * step[i].turn_reward + step[i + 4].turn_reward - step[i].turn_reward, 1e-9);
        assert.equal(step[i].advantage, step[i + 4].advantage);
      }
      close(step[0].advantage + step[1].advantage, 0, 1e-9);
    }
    for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'optimizer.safetensors', 'state.json']) assert.ok(existsSync(join(out, 'checkpoints', 'step-2', f)));
    assert.equal(JSON.parse(readFileSync(join(out, 'final', 'adapter_config.json'), 'utf8')).peft_type, 'LORA');
    assert.equal(JSON.parse(readFileSync(join(out, 'config.json'), 'utf8')).trainer, 'rloo');
  });

  it('a run killed with SIGKILL and resumed ends byte-identical to an uninterrupted run', async () => {
    const cfg = config({ steps: 4, lrSchedule: 'linear', microBatch: 3 });
    const straight = mkdtempSync(join(tmpdir(), 'securecoderl-rloo-a-'));
    await rloo({ config: cfg, outDir: straight }, { quiet: true });

    const killed = await runKilledAfterCheckpoint('rloo', cfg, 2);
    const resumed = await rloo({ resume: killed }, { quiet: true });
    assert.equal(resumed.steps, 4);
    assert.deepEqual(readFileSync(join(killed, 'final', 'adapter_model.safetensors')), readFileSync(join(straight, 'final', 'adapter_model.safetensors')));
    const lines = (dir: string, f: string, k: string) => readFileSync(join(dir, f), 'utf8').trim().split('\n').map((l) => JSON.parse(l)[k]);
    assert.deepEqual(lines(killed, 'metrics.jsonl', 'step'), [1, 2, 3, 4]);
    assert.deepEqual(lines(killed, 'samples.jsonl', 'completion'), lines(straight, 'samples.jsonl', 'completion'));
  });

  it('refuses bad configs and missing paths, naming them', async () => {
    const ok = config();
    const bad = (over: Record<string, unknown>, re: RegExp) => assert.throws(() => parseRlooConfig({ ...ok, ...over }, 'r.json'), re);
    bad({ rloo_k: 4 }, /r\.json: unknown field 'rloo_k'/);
    bad({ k: 1 }, /r\.json: k: expected an integer ≥ 2/);
    bad({ turns: 0 }, /r\.json: turns: expected a positive integer/);
    bad({ gamma: 1.5 }, /r\.json: gamma: expected a number in \[0, 1\], got 1\.5/);
    bad({ turnReward: 'ladder' }, /r\.json: turnReward: expected tests or partial, got "ladder"/);
    bad({ beta: -1 }, /r\.json: beta/);
    bad({ feedback: { ...ok.feedback, errorLines: 0 } }, /r\.json: feedback\.errorLines: expected a positive integer/);
    bad({ feedback: { ...ok.feedback, maxChars: 9 } }, /r\.json: unknown field 'feedback\.maxChars'/);
    bad({ sampling: { ...ok.sampling, temperature: 0 } }, /r\.json: sampling\.temperature/);
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-rloo-bad-'));
    await assert.rejects(rloo({ config: config({ reference: join(out, 'no-such-adapter') }), outDir: join(out, 'run') }, { quiet: true }),
      /reference adapter: .*no-such-adapter: no adapter_config\.json/);
    await assert.rejects(rloo({ resume: join(out, 'nothing-here') }, { quiet: true }), /no such file/);
  });
});

describe('eval --turns 2', () => {
  before(() => { modelDir ||= tinyModelDir(); });

  it('asks each sample again with its feedback, reports the self-correction figures and resumes without asking again', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-eval-turns-'));
    const cfg = { data: 'mbpp', backend: { kind: 'local' as const, dir: modelDir, sampling: { temperature: 1, maxTokens: 12 }, threads: 1 }, n: 3, turns: 2, reward: { security: 'off' as const } };
    const r = await runEval(cfg, { outDir: out });
    assert.equal(r.generated, 6);
    assert.equal(r.records.length, 3);
    for (const rec of r.records) {
      assert.equal(rec.turns?.length, 1);
      assert.equal(rec.turns![0].turn, 2);
      assert.equal(rec.turns![0].tests_total, rec.tests_total);
    }
    const c = r.summary.self_correction!;
    assert.deepEqual(Object.keys(c), ['acc_t1', 'acc_t2', 'delta_i_to_c', 'delta_c_to_i', 'kept_pass_share']);
    assert.deepEqual(c, correctionMetrics([r.records.map((x) => ({ testsPassed: x.tests_passed, testsTotal: x.tests_total, verdicts: x.verdicts })),
      r.records.map((x) => ({ testsPassed: x.turns![0].tests_passed, testsTotal: x.turns![0].tests_total, verdicts: x.turns![0].verdicts }))]));
    assert.match(formatRunSummary(r.summary), /self-correct {2}Acc@t1 .*Acc@t2 .*Δi→c .*Δc→i/);
    const gens = readFileSync(join(out, 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(gens.map((g) => g.turn ?? 1).sort(), [1, 1, 1, 2, 2, 2]);
    // Samples scored lose nothing on a rerun; a rerun without the samples file regenerates nothing.
    writeFileSync(join(out, 'samples.jsonl'), '');
    const again = await runEval(cfg, { outDir: out });
    assert.equal(again.generated, 0);
    assert.deepEqual(again.summary.self_correction, c);
    await assert.rejects(runEval({ ...cfg, turns: 1 }, { outDir: out }), /different turns/);
    await assert.rejects(runEval({ data: 'mbpp', backend: { kind: 'completions-file', path: join(out, 'x.jsonl') }, turns: 2 }, { outDir: join(out, 'f') }), /--turns: a completions file/);
  });
});
