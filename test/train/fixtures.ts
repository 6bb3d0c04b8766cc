// A tiny model folder for trainer tests (random Llama weights with small embeddings, so its distributions are
// not degenerate, and a byte-level BPE trained on a few bundled solutions, in Hugging Face layout), and a
// run killed with SIGKILL after a checkpoint, for the exact-resume tests.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { saveTrainedTokenizer, trainBpe } from '../../src/model/bpe-trainer.js';
import { saveCheckpoint, tinyModel, type Checkpoint } from '../../src/model/weights.js';
import { releaseSessions } from '../../src/engine/index.js';
import { LoraAdapter, type LoraModule } from '../../src/model/lora.js';
import { klPerToken } from '../../src/train/advantages.js';
import { countedValues, tokenBatch } from '../../src/train/batch.js';
import { PolicyGraph } from '../../src/train/policy.js';
import type { DataConfig } from '../../src/train/data.js';

export const APPS_PLUS = fileURLToPath(new URL('../../../data/apps_plus/valid_500.json', import.meta.url));

/** A few training problems of APPS+, held apart from 100 evaluation problems. */
export const SMALL_DATA: DataConfig = { dataset: 'apps-plus', evalSize: 100, splitSeed: 42, trainSize: 12, maxTests: 3 };

export function tinyModelDir(o: { vocab?: number; hidden?: number; seed?: number } = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'securecoderl-train-model-'));
  const records = JSON.parse(readFileSync(APPS_PLUS, 'utf8')) as { prompt: string; canonical_solution: string }[];
  const bpe = trainBpe(records.slice(0, 60).map((r) => r.prompt + r.canonical_solution), { vocabSize: o.vocab ?? 320 });
  const hidden = o.hidden ?? 32;
  const ck = tinyModel({
    vocabSize: bpe.vocab.size, hiddenSize: hidden, numHeads: 4, numKvHeads: 2, intermediateSize: 2 * hidden, numLayers: 2,
    tieWordEmbeddings: true, bosTokenId: 0, eosTokenIds: [0], maxPositionEmbeddings: 4096, seed: o.seed ?? 1,
  });
  for (const w of ck.weights.values()) if (w.shape[0] === bpe.vocab.size) w.data.forEach((_, i, a) => { a[i] *= 0.05; });
  saveCheckpoint(dir, ck.config, ck.weights);
  saveTrainedTokenizer(dir, bpe, { eosToken: '<|endoftext|>', bosToken: null });
  return dir;
}

const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/**
 * Starts `train <trainer> --config` (the config written next to a new run folder) in a child process and
 * kills it with SIGKILL once checkpoint `step` exists; checks it got that far and did not finish. Returns
 * the run folder, ready for `--resume`.
 */
export async function runKilledAfterCheckpoint(trainer: string, config: unknown, step: number): Promise<string> {
  const killed = mkdtempSync(join(tmpdir(), `securecoderl-${trainer}-killed-`));
  const file = `${killed}.json`;
  writeFileSync(file, JSON.stringify(config));
  const child = spawn(process.execPath, [CLI, 'train', trainer, '--config', file, '--out', killed, '--quiet'], { stdio: 'ignore' });
  // Killed once the checkpoint exists: somewhere after it, in that step's logging or the next step.
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timer = setInterval(() => { if (existsSync(join(killed, 'checkpoints', `step-${step}`))) child.kill('SIGKILL'); }, 10);
  await exited;
  clearInterval(timer);
  assert.ok(existsSync(join(killed, 'checkpoints', `step-${step}`)), `the child run stopped before its step-${step} checkpoint`);
  assert.ok(!existsSync(join(killed, 'final')), 'the killed run did not finish');
  return killed;
}

/**
 * The first-ratio check both the float and the quantized PPO tests make: a LoRA policy (non-zero B) with a
 * value head over `ck`; four sequences of different lengths; old log-probs from one micro-batch layout and
 * a reference pass (the same policy) from another: KL 0 under k1 and k3; then PPO steps over several
 * regroupings of the rows and micro-batch sizes give ratio exactly 1, approx KL 0 and no clipping; a
 * changed policy moves the ratio off 1 (so the check can fail).
 */
export async function checkFirstRatioIsOne(ck: Checkpoint, o: { targetModules: LoraModule[]; baseWeights?: 'inputs'; threads: number }): Promise<void> {
  const adapter = LoraAdapter.init(ck.config, { r: 4, alpha: 8, dropout: 0, targetModules: o.targetModules }, 5);
  for (const p of adapter.pairs.values()) p.B.forEach((_, i, a) => { a[i] = 0.05 * Math.sin(i + 1); });
  const graph = new PolicyGraph(ck, { lora: adapter.config, valueHead: true, temperature: 0.7, ...(o.baseWeights ? { baseWeights: o.baseWeights } : {}), session: { threads: o.threads } });
  const head = { 'v_head.summary.weight': new Float32Array(ck.config.hiddenSize).fill(0.02), 'v_head.summary.bias': new Float32Array(1) };
  const params = { ...adapter.feeds(), ...head };
  const seqs = [0, 1, 2, 3].map((b) => ({ tokens: Array.from({ length: 9 + 4 * b }, (_, i) => (i * 11 + b * 7 + 1) % 300), lossStart: 3 + b }));
  const tb = tokenBatch(seqs);
  const cur = await graph.forward(tb, params, { values: true, microBatch: 4 });
  const ref = await graph.forward(tb, params, { microBatch: 1 });
  const items = seqs.map((q, b) => {
    const old = countedValues(tb, cur.logprobs, b);
    // KL against an identical reference (computed in another micro-batch layout) is exactly 0.
    assert.deepEqual([...klPerToken(old, countedValues(tb, ref.logprobs, b), 'k1')], new Array(old.length).fill(0));
    assert.deepEqual([...klPerToken(old, countedValues(tb, ref.logprobs, b), 'k3')], new Array(old.length).fill(0));
    return { ...q, oldLogprobs: old, advantages: Float64Array.from(old, (_, i) => (i % 3) - 1), oldValues: countedValues(tb, cur.values!, b), returns: countedValues(tb, cur.values!, b) };
  });
  for (const microBatch of [1, 2, 4]) {
    for (const order of [[0, 1, 2, 3], [3, 1], [2]]) {
      const r = await graph.ppoStep(order.map((i) => items[i]), params, { microBatch, padTo: tb.seq });
      assert.equal(r.stats.ratio_mean, 1, `ratio with micro-batch ${microBatch}, rows ${order}`);
      assert.equal(r.stats.approx_kl, 0);
      assert.equal(r.stats.clip_frac, 0);
    }
  }
  // A changed policy moves the ratio off 1 (the check above can fail).
  for (const p of adapter.pairs.values()) p.B[0] += 0.5;
  const moved = await graph.ppoStep(items, { ...adapter.feeds(), ...head }, { microBatch: 4, padTo: tb.seq });
  assert.notEqual(moved.stats.ratio_mean, 1);
  await releaseSessions(graph.graph);
}
