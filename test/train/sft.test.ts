// SFT with real parts: packing changes no example's log-probs (block-diagonal attention, positions reset),
// the loss counts the response and EOS only, and a LoRA run writes PEFT adapters (best and final) that
// the model loader reads back; full fine-tuning writes a loadable model folder.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { releaseSessions } from '../../src/engine/index.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { loadAdapter } from '../../src/model/peft.js';
import { Tokenizer } from '../../src/model/tokenizer.js';
import { loadCheckpoint } from '../../src/model/weights.js';
import { loadDataset } from '../../src/data/datasets.js';
import { packedBatch, packExamples, tokenBatch } from '../../src/train/batch.js';
import { PolicyGraph } from '../../src/train/policy.js';
import { PromptCodec } from '../../src/train/rollout.js';
import { DEFAULT_SFT_CONFIG, parseSftConfig, sft, sftExample } from '../../src/train/sft.js';
import { SMALL_DATA, tinyModelDir } from './fixtures.js';

let modelDir = '';

describe('SFT', () => {
  before(() => { modelDir = tinyModelDir(); });

  it('packing several examples in a row gives each the log-probs it has alone', async () => {
    const ck = loadCheckpoint(modelDir);
    const graph = new PolicyGraph(ck, { session: { threads: 1 } });
    const params = Object.fromEntries(graph.trainable.map((n) => [n, ck.weights.get(n)!.data]));
    const examples = [5, 9, 3, 12].map((n, k) => ({ tokens: Array.from({ length: n }, (_, i) => (i * 13 + k * 29 + 3) % 300), lossStart: 2 }));
    const rows = packExamples(examples, 20);
    assert.deepEqual(rows.map((r) => r.map((e) => e.tokens.length)), [[5, 9, 3], [12]]);
    const packed = packedBatch(rows);
    const alone = await Promise.all(examples.map(async (e) => {
      const b = tokenBatch([e]);
      return { lp: (await graph.forward(b, params)).logprobs, b };
    }));
    const lp = (await graph.forward(packed, params)).logprobs;
    // Walk the packed rows' counted positions in order and compare with each example alone.
    const packedCounted: number[] = [], aloneCounted: number[] = [];
    for (let i = 0; i < lp.length; i++) if (packed.mask[i]) packedCounted.push(lp[i]);
    for (const k of [0, 1, 2, 3]) for (let i = 0; i < alone[k].lp.length; i++) if (alone[k].b.mask[i]) aloneCounted.push(alone[k].lp[i]);
    assert.equal(packed.counted, examples.reduce((s, e) => s + e.tokens.length - e.lossStart, 0));
    assert.equal(packedCounted.length, aloneCounted.length);
    packedCounted.forEach((x, i) => assert.ok(Math.abs(x - aloneCounted[i]) < 1e-5, `position ${i}: ${x} vs ${aloneCounted[i]}`));
    await releaseSessions(graph.graph);
  });

  it('an example is prompt + response + EOS, and the loss counts from the response on', () => {
    const tokenizer = Tokenizer.load(modelDir);
    const codec = new PromptCodec(tokenizer, { name: 'instruction' }, [0]);
    const problem = loadDataset('apps-plus', { maxTests: 1 }).problems[0];
    const e = sftExample(codec, problem, 'print(1)\n', 0);
    assert.equal(e.tokens.at(-1), 0);
    assert.deepEqual(e.tokens.slice(0, e.lossStart), codec.encode(problem));
    assert.equal(tokenizer.decode(e.tokens.slice(e.lossStart, -1)), 'print(1)\n');
    const b = tokenBatch([e]);
    assert.equal(b.counted, e.tokens.length - e.lossStart); // response tokens and EOS, nothing else
  });

  it('LoRA SFT writes best/ and final/ PEFT adapters, metrics and a validation loss', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-sft-'));
    const cfg = parseSftConfig({ ...DEFAULT_SFT_CONFIG, model: modelDir, data: { ...SMALL_DATA, trainSize: 20 }, lr: 1e-2, batchSize: 4, gradAccum: 1,
      maxSeqLen: 4096, valFraction: 0.2, evalEvery: 2, maxSteps: 4, threads: 1 }, 'test');
    const r = await sft(cfg, { outDir: out, quiet: true });
    assert.equal(r.steps, 4);
    assert.ok(r.valLoss !== null && Number.isFinite(r.valLoss));
    for (const d of ['final', 'best']) {
      assert.ok(existsSync(join(out, d, 'adapter_model.safetensors')), `${d} lacks the adapter`);
      loadAdapter(join(out, d), loadCheckpoint(modelDir).config);
    }
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4]);
    assert.ok(metrics.filter((m) => 'val_loss' in m).length >= 2);
    // The adapter changed the model: B moved off zero.
    const a = loadAdapter(join(out, 'final'), loadCheckpoint(modelDir).config);
    assert.ok([...a.pairs.values()].some((p) => p.B.some((x) => x !== 0)));
  });

  it('full fine-tuning lowers the training loss and writes a loadable model folder', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-sft-full-'));
    const cfg = parseSftConfig({ ...DEFAULT_SFT_CONFIG, model: modelDir, mode: 'full', data: { ...SMALL_DATA, trainSize: 8 }, lr: 3e-3, batchSize: 8, gradAccum: 1,
      maxSeqLen: 4096, valFraction: 0, epochs: 8, threads: 1 }, 'test');
    const r = await sft(cfg, { outDir: out, quiet: true });
    const metrics = readFileSync(join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(metrics.at(-1).loss < metrics[0].loss, `loss ${metrics[0].loss} → ${metrics.at(-1).loss}`);
    const lm = CausalLM.load(r.finalDir);
    assert.equal((await lm.logits([[1, 2, 3]]))[0].length, 3 * lm.config.vocabSize);
    await releaseSessions(lm.graph);
    assert.ok(existsSync(join(r.finalDir, 'tokenizer.json')));
  });

  it('trains on problems the caller gives instead of the data split, and records them in config.json', async () => {
    const out = mkdtempSync(join(tmpdir(), 'securecoderl-sft-given-'));
    const given = ['a', 'b', 'c'].map((id, i) => ({ id: `given/${id}`, prompt: `Print ${i}.`, style: 'stdin' as const, tests: [], canonicalSolution: `print(${i})\n` }));
    const noSolution = { id: 'given/none', prompt: 'Nothing.', style: 'stdin' as const, tests: [] };
    const cfg = parseSftConfig({ ...DEFAULT_SFT_CONFIG, model: modelDir, data: SMALL_DATA, lr: 1e-2, batchSize: 3, gradAccum: 1,
      maxSeqLen: 4096, valFraction: 0, warmupSteps: 0, maxSteps: 2, threads: 1 }, 'test');
    const r = await sft(cfg, { outDir: out, quiet: true, problems: [...given, noSolution] });
    assert.equal(r.steps, 2);
    const written = JSON.parse(readFileSync(join(out, 'config.json'), 'utf8'));
    assert.deepEqual([written.examples.train, written.examples.given_problems, 'split_fingerprint' in written.examples], [3, 4, false]);
  });

  it('refuses a config with an unknown or ill-typed field, naming it', () => {
    assert.throws(() => parseSftConfig({ model: modelDir, epoch: 3 }, 'sft.json'), /sft\.json: unknown field 'epoch'/);
    assert.throws(() => parseSftConfig({ model: modelDir, lora: { r: 'big' } }, 'sft.json'), /sft\.json: lora\.r: expected a number/);
    assert.throws(() => parseSftConfig({ model: modelDir, mode: 'half' }, 'sft.json'), /mode/);
  });
});
