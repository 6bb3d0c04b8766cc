// Pretraining from scratch with real parts: the machine's python3 standard library as text, our BPE, the
// engine on ONNX Runtime, and the written folder loaded back by CausalLM and Tokenizer.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { CausalLM } from '../../src/model/causal-lm.js';
import { Tokenizer } from '../../src/model/tokenizer.js';
import { appsPlusSolutions, mbppSolutions, pythonStdlibSources } from '../../src/train/corpus.js';
import { DEFAULT_PRETRAIN_CONFIG, parsePretrainConfig, pretrain, pretrainLr, type PretrainConfig } from '../../src/train/pretrain.js';
import { RunFolder } from '../../src/train/run.js';

const dataDir = fileURLToPath(new URL('../../../data/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'securecoderl-pretrain-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

/** A small, fast config: vocabulary 300, 2 layers of width 32. */
function tinyPretrain(over: Partial<PretrainConfig> = {}): PretrainConfig {
  return parsePretrainConfig({
    tokenizer: { vocabSize: 300 },
    model: { hiddenSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, intermediateSize: 64, maxPositionEmbeddings: 256, tieWordEmbeddings: true },
    steps: 40, batchSize: 8, seqLen: 64, lr: 5e-3, warmupSteps: 5, heldoutFraction: 0.1, evalEvery: 20, evalBatches: 2, threads: 2,
    ...over,
  }, 'test');
}

const stdlib = pythonStdlibSources({ maxBytes: 300_000 });

describe('pretrain', () => {
  it('writes a model folder that loads, with a tokenizer that round-trips Python and a falling held-out loss', async () => {
    const outDir = join(scratch, 'run');
    const result = await pretrain(tinyPretrain(), { outDir, texts: stdlib, quiet: true });
    assert.equal(result.modelDir, join(outDir, 'model'));
    assert.ok(result.heldoutLoss < result.initialHeldoutLoss - 0.5, `held-out ${result.heldoutLoss} vs initial ${result.initialHeldoutLoss}`);
    assert.ok(result.initialHeldoutLoss > result.unigramLoss, 'an untrained model is worse than unigram');
    assert.equal(result.tokens, 40 * 8 * 64);

    const tok = Tokenizer.load(result.modelDir);
    assert.equal(tok.vocabSize, 300);
    assert.equal(tok.eosId, 0);
    assert.equal(tok.bosId, 0);
    const source = 'def f(x: int) -> str:\n    """Doc, with ünïcode."""\n    return f"{x!r:>8}"  # done\n\tpass\r\n';
    assert.equal(tok.decode(tok.encode(source)), source);
    assert.equal(tok.decode(tok.encode(stdlib[3])), stdlib[3]);

    const lm = CausalLM.load(result.modelDir, { session: { threads: 2 } });
    assert.equal(lm.config.vocabSize, 300);
    assert.equal(lm.config.bosTokenId, 0);
    assert.deepEqual(lm.config.eosTokenIds, [0]);
    const [logits] = await lm.logits([tok.encode('import os\n')]);
    assert.ok(logits.length > 0 && logits.every(Number.isFinite));
    const gen = JSON.parse(readFileSync(join(result.modelDir, 'generation_config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(gen.eos_token_id, 0);

    const { folder, config } = RunFolder.open(outDir);
    assert.equal(config.trainer, 'pretrain');
    assert.equal(config.run_name, 'run');
    const metrics = folder.metrics();
    assert.deepEqual(metrics.map((m) => m.step), Array.from({ length: 40 }, (_, i) => i + 1));
    for (const m of metrics) for (const k of ['loss', 'lr', 'tokens']) assert.equal(typeof m[k], 'number', `step ${m.step}: ${k}`);
    assert.deepEqual(metrics.filter((m) => 'heldout_loss' in m).map((m) => m.step), [20, 40]);
    assert.equal(metrics[39].heldout_loss, result.heldoutLoss);
    assert.throws(() => RunFolder.create(outDir, { trainer: 'pretrain', run_name: 'again' }), /already holds a run/);
  });

  it('is deterministic: the same seed gives byte-identical files, another seed different weights', async () => {
    const texts = stdlib.slice(0, 30);
    const config = tinyPretrain({ steps: 6, evalEvery: 6 });
    const run = async (name: string, c: PretrainConfig) => (await pretrain(c, { outDir: join(scratch, name), texts, quiet: true })).modelDir;
    const [a, b, other] = [await run('seed0-a', config), await run('seed0-b', config), await run('seed1', { ...config, seed: 1 })];
    const bytes = (dir: string, file: string) => readFileSync(join(dir, file));
    assert.ok(bytes(a, 'model.safetensors').equals(bytes(b, 'model.safetensors')));
    assert.ok(bytes(a, 'tokenizer.json').equals(bytes(b, 'tokenizer.json')));
    assert.ok(!bytes(a, 'model.safetensors').equals(bytes(other, 'model.safetensors')));
    assert.ok(bytes(a, 'tokenizer.json').equals(bytes(other, 'tokenizer.json')), 'the tokenizer depends on the texts only');
  });

  it('learning rate: linear warmup, then cosine down to minLrRatio at the last step', () => {
    const c = { ...DEFAULT_PRETRAIN_CONFIG, steps: 100, warmupSteps: 10, lr: 1e-3, minLrRatio: 0.1 };
    assert.equal(pretrainLr(c, 0), 1e-4);
    assert.equal(pretrainLr(c, 9), 1e-3);
    assert.ok(Math.abs(pretrainLr(c, 99) - 1e-4) < 1e-12);
    assert.ok(pretrainLr(c, 50) < 1e-3 && pretrainLr(c, 50) > 1e-4);
  });
});

describe('pretraining corpus', () => {
  it('pythonStdlibSources finds the standard library, in a stable order, within maxBytes', () => {
    assert.ok(stdlib.length > 5);
    const bytes = stdlib.reduce((n, t) => n + Buffer.byteLength(t), 0);
    assert.ok(bytes <= 300_000 && bytes > 200_000, `${bytes} bytes`);
    assert.deepEqual(pythonStdlibSources({ maxBytes: 300_000 }), stdlib);
    const small = pythonStdlibSources({ maxBytes: 50_000 });
    assert.ok(small.reduce((n, t) => n + Buffer.byteLength(t), 0) <= 50_000);
    assert.deepEqual(small, stdlib.slice(0, small.length));
    assert.throws(() => pythonStdlibSources({ maxBytes: 1000, python: '/nonexistent/python3' }), /cannot run \/nonexistent\/python3/);
  });

  it('appsPlusSolutions keeps only the problems the filter accepts; mbppSolutions reads every code field', () => {
    const file = join(dataDir, 'apps_plus/train_16.json');
    const records = JSON.parse(readFileSync(file, 'utf8')) as { canonical_solution: string }[];
    const all = appsPlusSolutions(file);
    assert.equal(all.length, 16);
    const even = appsPlusSolutions(file, (i) => i % 2 === 0);
    assert.equal(even.length, 8);
    assert.equal(even[1], records[2].canonical_solution.replace(/\r\n?/g, '\n'));
    const mbpp = mbppSolutions(join(dataDir, 'mbpp/mbpp.jsonl'));
    assert.equal(mbpp.length, 974);
    assert.ok(mbpp.every((code) => code.includes('def ') && !code.includes('\r')));
    assert.equal(mbppSolutions(join(dataDir, 'mbpp/mbpp.jsonl'), (id) => id > 600).length, 374);
  });
});

describe('pretrain config', () => {
  it('merges over the defaults and names the bad field', () => {
    assert.deepEqual(parsePretrainConfig({}, 'p.json'), DEFAULT_PRETRAIN_CONFIG);
    assert.equal(parsePretrainConfig({ model: { numLayers: 2 } }, 'p.json').model.hiddenSize, 128);
    assert.throws(() => parsePretrainConfig({ stepz: 1 }, 'p.json'), /p\.json: unknown field 'stepz'/);
    assert.throws(() => parsePretrainConfig({ model: { depth: 1 } }, 'p.json'), /unknown field 'model\.depth'/);
    assert.throws(() => parsePretrainConfig({ lr: '3e-3' }, 'p.json'), /p\.json: lr: expected a number/);
    assert.throws(() => parsePretrainConfig({ model: { hiddenSize: 130 } }, 'p.json'), /p\.json: model\.hiddenSize: expected a multiple of model\.numHeads/);
    assert.throws(() => parsePretrainConfig({ model: { numKvHeads: 3 } }, 'p.json'), /model\.numHeads: expected a multiple of model\.numKvHeads/);
    assert.throws(() => parsePretrainConfig({ steps: 0 }, 'p.json'), /steps: expected a positive integer/);
    assert.throws(() => parsePretrainConfig({ tokenizer: { vocabSize: 256 } }, 'p.json'), /tokenizer\.vocabSize: expected an integer ≥ 257/);
    assert.throws(() => parsePretrainConfig({ seqLen: 2048 }, 'p.json'), /seqLen: expected at most model\.maxPositionEmbeddings/);
  });
});
