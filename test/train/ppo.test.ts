// PPO with real parts: a tiny model folder, the sandboxed judge through the Scorer, ONNX Runtime graphs.
// The first ratio of a batch is exactly 1 however its rows are regrouped; KL is 0 when policy = reference;
// a run writes the folder the docs describe; a run killed with SIGKILL and resumed ends byte-identical to
// an uninterrupted one; bad configs and missing paths are errors that name what is wrong.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { loadCheckpoint } from '../../src/model/weights.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo, type PpoConfig } from '../../src/train/ppo.js';
import { checkFirstRatioIsOne, SMALL_DATA, runKilledAfterCheckpoint, tinyModelDir } from './fixtures.js';

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
let modelDir = '';

function config(over: Partial<PpoConfig> = {}): PpoConfig {
  return parsePpoConfig({
    ...DEFAULT_PPO_CONFIG, model: modelDir, data: SMALL_DATA, episodes: 8, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2, lr: 1e-2,
    maxPromptTokens: 4000, sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 12 },
    lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }, saveEvery: 1, threads: 1, ...over,
  }, 'test config');
}

describe('PPO', () => {
  before(() => { modelDir = tinyModelDir(); });

  it('first ratio is exactly 1 for any regrouping of the rows, and KL is 0 when policy = reference', async () => {
    await checkFirstRatioIsOne(loadCheckpoint(modelDir), { targetModules: ['q_proj', 'v_proj', 'gate_proj'], threads: 1 });
  });

  it('writes the run folder: config, metrics after checkpoints, samples, checkpoints, final PEFT adapter', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-ppo-'));
    const r = await ppo({ config: config({ variant: 'scheduled', switchEpisode: 4 }), outDir: out }, { quiet: true });
    assert.equal(r.steps, 2);
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(metrics.length, 2);
    for (const f of ['step', 'episode', 'reward_mean', 'r_func_mean', 'r_sec_mean', 'stage_shares', 'pass_all_rate', 'kl', 'entropy', 'policy_loss',
      'value_loss', 'clip_frac', 'approx_kl', 'lr', 'response_len_mean', 'time_sample_s', 'time_score_s', 'time_train_s']) {
      assert.ok(f in metrics[0], `metrics lack ${f}`);
    }
    assert.equal(metrics[0].stage_shares.length, 5);
    assert.ok(Math.abs(metrics[0].stage_shares.reduce((a: number, x: number) => a + x, 0) - 1) < 1e-9);
    // The scheduled variant: binary for episodes 0–3, partial from episode 4 on.
    assert.deepEqual(metrics[0].reward_weights, { binary: 1 });
    assert.deepEqual(metrics[1].reward_weights, { partial: 1 });
    assert.equal(metrics[0].reward_mean, metrics[0].reward_binary_mean);
    assert.equal(metrics[1].reward_mean, metrics[1].reward_partial_mean);
    const samples = readFileSync(join(out, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(samples.length, 8);
    for (const s of samples) assert.ok('verdicts' in s && 'findings' in s && 'completion' in s && 'stage' in s);
    for (const step of [1, 2]) {
      for (const f of ['adapter_config.json', 'adapter_model.safetensors', 'value_head.safetensors', 'optimizer.safetensors', 'state.json']) {
        assert.ok(existsSync(join(out, 'checkpoints', `step-${step}`, f)), `checkpoint ${step} lacks ${f}`);
      }
    }
    const cfg = JSON.parse(readFileSync(join(out, 'final', 'adapter_config.json'), 'utf8'));
    assert.equal(cfg.peft_type, 'LORA');
    assert.equal(cfg.lora_dropout, 0);
    assert.ok(existsSync(join(out, 'final', 'value_head.safetensors')));
  });

  it('a run killed with SIGKILL and resumed ends byte-identical to an uninterrupted run', async () => {
    const cfg = config({ episodes: 16 });
    const straight = mkdtempSync(join(tmpdir(), 'securecoderl-ppo-a-'));
    await ppo({ config: cfg, outDir: straight }, { quiet: true });

    const killed = await runKilledAfterCheckpoint('ppo', cfg, 2);
    const resumed = await ppo({ resume: killed }, { quiet: true });
    assert.equal(resumed.steps, 4);
    assert.deepEqual(readFileSync(join(killed, 'final', 'adapter_model.safetensors')), readFileSync(join(straight, 'final', 'adapter_model.safetensors')));
    assert.deepEqual(readFileSync(join(killed, 'final', 'value_head.safetensors')), readFileSync(join(straight, 'final', 'value_head.safetensors')));
    const steps = readFileSync(join(killed, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.deepEqual(steps, [1, 2, 3, 4]);
  });

  it('Ctrl-C (SIGINT) finishes the step, saves a checkpoint and exits 130; the run then resumes to the end', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-ppo-int-'));
    const file = `${out}.json`;
    writeFileSync(file, JSON.stringify(config({ episodes: 16, saveEvery: 100 })));
    const child = spawn(process.execPath, [CLI, 'train', 'ppo', '--config', file, '--out', out, '--quiet'], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    // saveEvery 100: the only checkpoint before the end is the one Ctrl-C asks for.
    const timer = setInterval(() => { if (existsSync(join(out, 'metrics.jsonl'))) { clearInterval(timer); child.kill('SIGINT'); } }, 10);
    const code = await exited;
    clearInterval(timer);
    assert.equal(code, 130);
    const steps = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).step);
    assert.ok(existsSync(join(out, 'checkpoints', `step-${steps.at(-1)}`)), `a checkpoint for the last logged step ${steps.at(-1)}`);
    assert.ok(!existsSync(join(out, 'final')));
    const r = await ppo({ resume: out }, { quiet: true });
    assert.equal(r.steps, 4);
    assert.ok(existsSync(join(out, 'final', 'adapter_model.safetensors')));
  });

  it('stops with a clear message when the KL to the reference passes its bound, keeping the last good checkpoint', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-ppo-kl-'));
    await assert.rejects(ppo({ config: config({ episodes: 16, kl: { ...DEFAULT_PPO_CONFIG.kl, max: 1e-9 } }), outDir: out }, { quiet: true }),
      /step \d+: KL to the reference is .* beyond kl\.max 1e-9; the last good checkpoint is kept/);
    // Step 1 samples from the reference itself (KL exactly 0); a later step trips the bound.
    assert.ok(existsSync(join(out, 'checkpoints', 'step-1')));
    assert.ok(!existsSync(join(out, 'final')));
  });

  it('refuses bad configs and missing paths, naming them', async () => {
    assert.throws(() => parsePpoConfig({ ...config(), lerning_rate: 1 }, 'cfg.json'), /cfg\.json: unknown field 'lerning_rate'/);
    assert.throws(() => parsePpoConfig({ ...config(), lr: 'fast' }, 'cfg.json'), /cfg\.json: lr: expected a number, got "fast"/);
    assert.throws(() => parsePpoConfig({ ...config(), kl: { coef: 0.1, estimator: 'k9' } }, 'cfg.json'), /kl\.estimator/);
    assert.throws(() => parsePpoConfig({ ...config(), variant: 'continue', init: null }, 'cfg.json'), /init/);
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-ppo-bad-'));
    await assert.rejects(ppo({ config: config({ reference: join(out, 'no-such-adapter') }), outDir: join(out, 'run') }, { quiet: true }),
      /reference adapter: .*no-such-adapter: no adapter_config\.json .*never a fallback to the base model/);
    await assert.rejects(ppo({ resume: join(out, 'nothing-here') }, { quiet: true }), /no such file/);
  });

});
