// A tiny model folder for trainer tests: random Llama weights (small embeddings, so its distributions are
// not degenerate) and a byte-level BPE trained on a few bundled solutions, saved in Hugging Face layout.

import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
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
