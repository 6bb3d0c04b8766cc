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
import { saveCheckpoint, tinyModel } from '../../src/model/weights.js';
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
