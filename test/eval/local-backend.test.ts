// The local model backend (`eval --model DIR [--adapter DIR]`) with a real tiny model: random weights in
// Hugging Face layout and a byte-level BPE tokenizer trained here on a little bundled Python, run by
// model/'s CausalLM and sampler through runEval, the real judge and the CLI. The model writes noise, so
// the tests check the machinery (run folder, caching, seeds, batching, stops, chat template, errors),
// not what the completions score.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { releaseSessions } from '../../src/engine/index.js';
import { createLocalBackend } from '../../src/eval/backends/local.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { generate } from '../../src/model/sampler.js';
import type { GenerationRequest } from '../../src/eval/backends/backend.js';
import { benchModelConfig, benchModels, readBenchConfig } from '../../src/eval/bench-models.js';
import { promptTemplate } from '../../src/eval/prompt.js';
import { runEval, type EvalConfig, type EvalResult } from '../../src/eval/run.js';
import type { GenerationRecord } from '../../src/eval/record.js';
import { saveTrainedTokenizer, trainBpe } from '../../src/model/bpe-trainer.js';
import { LoraAdapter } from '../../src/model/lora.js';
import { saveAdapter } from '../../src/model/peft.js';
import { createTinyModel } from '../../src/model/weights.js';
import { loadEvalDataset } from '../../src/eval/dataset.js';
import { Rng, hash32 } from '../../src/random.js';
import { Scorer } from '../../src/reward/scorer.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const cli = join(root, 'dist/src/cli/main.js');
const runCli = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000 });

const CHAT_TEMPLATE = "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}";
/** The four bundled APPS+ validation problems with the shortest prompts (indices in valid_500.json). */
const PICKED = [311, 346, 304, 357];
const MAX_TOKENS = 32;

const dir = mkdtempSync(join(tmpdir(), 'scrl-local-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const modelDir = join(dir, 'tiny');
const data = join(dir, 'apps4.json');
let scorer: Scorer;

before(() => {
  const all = JSON.parse(readFileSync(join(root, 'data/apps_plus/valid_500.json'), 'utf8')) as { canonical_solution: string }[];
  writeFileSync(data, JSON.stringify(PICKED.map((i) => all[i])));
  // A 512-token BPE on 150 reference solutions, with an end-of-text token (id 0) and a chat template.
  const bpe = trainBpe(all.slice(0, 150).map((p) => p.canonical_solution), { vocabSize: 512, specialTokens: ['<|endoftext|>'] });
  saveTrainedTokenizer(modelDir, bpe, { chatTemplate: CHAT_TEMPLATE });
  createTinyModel(modelDir, { vocabSize: 512, hiddenSize: 64, numLayers: 2, intermediateSize: 128, maxPositionEmbeddings: 4096, eosTokenIds: [0], bosTokenId: null, seed: 5 });
  scorer = new Scorer({}, { workers: 2 });
});
after(() => scorer?.close());

const config = (seed: number, extra: Partial<EvalConfig> = {}): EvalConfig => ({
  data, n: 4, samplesPerPrompt: 2, seed, resamples: 200,
  backend: { kind: 'local', dir: modelDir, sampling: { maxTokens: MAX_TOKENS, temperature: 1 }, batchSize: 4, threads: 2 },
  ...extra,
});
const generations = (out: string): GenerationRecord[] =>
  readFileSync(join(out, 'generations.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as GenerationRecord)
    .sort((a, b) => a.problem_id.localeCompare(b.problem_id) || a.sample - b.sample);
const completions = (out: string) => generations(out).map((g) => g.completion);

/** The requests runEval makes for the four problems (instruction template). */
async function requests(seed: number, template = 'instruction'): Promise<GenerationRequest[]> {
  const { problems } = await loadEvalDataset(data);
  const t = promptTemplate(template);
  return problems.flatMap((p) => [0, 1].map((sample) => ({ problemId: p.id, sample, ...t.render(p), seed: hash32(`${p.id}#${sample}`, seed) })));
}

describe('local model backend', () => {
  let first: EvalResult;
  const out = (name: string) => join(dir, name);

  test('runEval: a complete run folder from the local model; a rerun generates nothing', async () => {
    first = await runEval(config(7), { outDir: out('run-a'), scorer });
    assert.equal(first.summary.status, 'complete');
    assert.equal(first.summary.n, 4);
    assert.equal(first.summary.samples, 8);
    assert.equal(first.generated, 8);
    for (const f of ['config.json', 'prompts.jsonl', 'generations.jsonl', 'samples.jsonl', 'summary.json']) assert.ok(existsSync(join(out('run-a'), f)), f);
    const cfg = JSON.parse(readFileSync(join(out('run-a'), 'config.json'), 'utf8'));
    assert.equal(cfg.label, 'tiny');
    assert.equal(cfg.backend.kind, 'local');
    assert.equal(cfg.backend.model_dir, modelDir);
    assert.equal(cfg.backend.prompt_format, 'text');
    assert.deepEqual(cfg.backend.stop, ['\n### Instruction:']);
    assert.deepEqual(cfg.backend.eos_token_ids, [0]);
    assert.match(cfg.backend.fingerprint, /^[0-9a-f]{16}$/);
    const gens = generations(out('run-a'));
    assert.equal(gens.length, 8);
    for (const g of gens) {
      assert.ok(g.completion_tokens! >= 1 && g.completion_tokens! <= MAX_TOKENS, `${g.completion_tokens} tokens`);
      assert.ok(g.finish_reason === 'length' ? g.completion_tokens === MAX_TOKENS : g.finish_reason === 'stop');
      assert.equal(g.attempts, 1);
    }
    // The two samples of a prompt have their own seeds: they differ.
    for (let i = 0; i < 8; i += 2) assert.notEqual(gens[i].completion, gens[i + 1].completion);
    const samples = readFileSync(join(out('run-a'), 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(samples.length, 8);
    for (const s of samples) assert.equal(typeof s.reward, 'number');

    // Rerun in the same folder: nothing generated, nothing scored again.
    const again = await runEval(config(7), { outDir: out('run-a'), scorer });
    assert.equal(again.generated, 0);
    assert.equal(again.reusedScores, 8);
    // Scores gone, generations kept: the samples are scored again from the cache, still nothing generated.
    rmSync(join(out('run-a'), 'samples.jsonl'));
    const rescored = await runEval(config(7), { outDir: out('run-a'), scorer });
    assert.equal(rescored.generated, 0);
    assert.equal(rescored.reusedGenerations, 8);
    assert.deepEqual(rescored.records.map((r) => r.completion), first.records.map((r) => r.completion));
    assert.equal(rescored.summary.mean_r, first.summary.mean_r);
  });

  test('the same seed gives the same generations in a fresh folder, another seed other ones', async () => {
    const same = await runEval(config(7), { outDir: out('run-b'), scorer });
    assert.equal(same.generated, 8);
    assert.deepEqual(completions(out('run-b')), completions(out('run-a')));
    const other = await runEval(config(8), { outDir: out('run-c'), scorer });
    assert.deepEqual(other.promptIds, first.promptIds, 'n = 4 of 4: the same prompts for both seeds');
    const a = completions(out('run-a')), c = completions(out('run-c'));
    assert.equal(a.filter((x, i) => x === c[i]).length, 0, 'no sample repeats under another seed');
  });

  test('a row gives the same tokens alone, in any batch, and through the queue', async () => {
    const backend = createLocalBackend({ modelDir, sampling: { maxTokens: 24, temperature: 1 }, batchSize: 8, threads: 2, template: 'instruction' });
    try {
      const reqs = await requests(3);
      const together = await backend.generateBatch(reqs);
      const reversed = (await backend.generateBatch([...reqs].reverse())).reverse();
      const alone = [];
      for (const r of reqs) alone.push((await backend.generateBatch([r]))[0]);
      const queued = await Promise.all(reqs.map((r) => backend.generate(r)));
      const text = (gs: { completion: string }[]) => gs.map((g) => g.completion);
      assert.deepEqual(text(reversed), text(together));
      assert.deepEqual(text(alone), text(together));
      assert.deepEqual(text(queued), text(together));
      assert.equal(new Set(text(together)).size, 8);
      // One batch each for `together` and `reversed`, eight alone, and the queue ran the 8 requests as one.
      assert.deepEqual([backend.stats.batches, backend.stats.rows], [1 + 1 + 8 + 1, 32]);
    } finally {
      await backend.close();
    }
  });

  test('a queued request that is aborted is dropped; a batch that is not full runs after the linger', async () => {
    const backend = createLocalBackend({ modelDir, sampling: { maxTokens: 4 }, batchSize: 8, lingerMs: 100, threads: 2 });
    try {
      const [r0, r1] = await requests(4);
      const controller = new AbortController();
      const kept = backend.generate(r0);
      const dropped = backend.generate({ ...r1, signal: controller.signal });
      controller.abort();
      await assert.rejects(dropped, /generation aborted/);
      const g = await kept;
      assert.ok(g.completionTokens! >= 1);
      assert.deepEqual([backend.stats.batches, backend.stats.rows], [1, 1]);
    } finally {
      await backend.close();
    }
  });

  test('stops at eos (generation_config.json) and at stop strings, which are cut from the completion', async () => {
    const [request] = await requests(1);
    const greedy = createLocalBackend({ modelDir, sampling: { maxTokens: 24, temperature: 0 }, threads: 2 });
    const base = await greedy.generateBatch([request]);
    await greedy.close();
    assert.equal(base[0].finishReason, 'length');
    assert.equal(base[0].completionTokens, 24);
    const full = base[0].completion;
    // A stop string from the middle of the greedy completion (printable ASCII, so token edges do not matter).
    const at = [...full].findIndex((_, i) => i >= 2 && /^[ -~]{2}$/.test(full.slice(i, i + 2)));
    assert.ok(at >= 0, JSON.stringify(full));
    const stop = full.slice(at, at + 2);
    const stopped = createLocalBackend({ modelDir, sampling: { maxTokens: 24, temperature: 0, stop: [stop] }, threads: 2 });
    const [s] = await stopped.generateBatch([request]);
    await stopped.close();
    assert.equal(s.finishReason, 'stop');
    assert.equal(s.completion, full.slice(0, full.indexOf(stop)));
    assert.ok(s.completionTokens! < 24);

    // The first greedy token declared an eos id in generation_config.json: the row ends there, and the
    // eos is not part of the completion.
    const eosDir = join(dir, 'tiny-eos');
    cpSync(modelDir, eosDir, { recursive: true });
    const lm = CausalLM.load(modelDir, { session: { threads: 2 } });
    const firstToken = (await generate(lm, [greedy.prepare(request).ids], { maxNewTokens: 1, temperature: 0 })).tokens[0][0];
    await releaseSessions(lm.graph);
    writeFileSync(join(eosDir, 'generation_config.json'), JSON.stringify({ eos_token_id: [0, firstToken] }));
    const eos = createLocalBackend({ modelDir: eosDir, sampling: { maxTokens: 24, temperature: 0 }, threads: 2 });
    assert.deepEqual(eos.eosTokenIds, [0, firstToken].sort((a, b) => a - b));
    const [e] = await eos.generateBatch([request]);
    await eos.close();
    assert.deepEqual([e.completion, e.finishReason, e.completionTokens], ['', 'stop', 1]);
  });

  test('the chat template when the run uses `chat` and the tokenizer has one; the prompt text otherwise', async () => {
    const [request] = await requests(1, 'chat');
    const chat = createLocalBackend({ modelDir, template: 'chat', sampling: { maxTokens: 8 }, threads: 2 });
    assert.equal(chat.describe().prompt_format, 'chat_template');
    assert.equal(chat.promptText(request), `<|user|>\n${request.messages[0].content}\n<|assistant|>\n`);
    const [g] = await chat.generateBatch([request]);
    assert.ok(g.completionTokens! >= 1);
    await chat.close();
    assert.equal(createLocalBackend({ modelDir, template: 'instruction' }).promptText(request), request.prompt);
    // A tokenizer without a chat template: the messages joined as text (what the template gives as prompt).
    const plainDir = join(dir, 'tiny-plain');
    cpSync(modelDir, plainDir, { recursive: true });
    const tc = JSON.parse(readFileSync(join(plainDir, 'tokenizer_config.json'), 'utf8'));
    delete tc.chat_template;
    writeFileSync(join(plainDir, 'tokenizer_config.json'), JSON.stringify(tc));
    const plain = createLocalBackend({ modelDir: plainDir, template: 'chat' });
    assert.equal(plain.describe().prompt_format, 'text');
    assert.equal(plain.promptText(request), request.prompt);
  });

  test('a LoRA adapter changes the generations; one for another model is refused with file and field', async () => {
    const reqs = (await requests(2)).slice(0, 2);
    const base = createLocalBackend({ modelDir, sampling: { maxTokens: 16 }, threads: 2 });
    const adapter = LoraAdapter.init(base.config, { r: 4, alpha: 8 }, 1);
    const rng = new Rng(9);
    for (const p of adapter.pairs.values()) p.B.forEach((_, i, b) => { b[i] = rng.normal(); });
    const adapterDir = join(dir, 'adapter');
    saveAdapter(adapterDir, adapter);
    const adapted = createLocalBackend({ modelDir, adapterDir, sampling: { maxTokens: 16 }, threads: 2 });
    assert.deepEqual(adapted.describe().adapter, { r: 4, lora_alpha: 8, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
    assert.notEqual(adapted.describe().fingerprint, base.describe().fingerprint);
    const a = await adapted.generateBatch(reqs), b = await base.generateBatch(reqs);
    assert.notDeepEqual(a.map((g) => g.completion), b.map((g) => g.completion));
    await adapted.close();
    await base.close();
    // A run folder of the base model is not resumed with the adapter (other weights, other fingerprint).
    await assert.rejects(runEval(config(7, { backend: { kind: 'local', dir: modelDir, adapter: adapterDir, sampling: { maxTokens: MAX_TOKENS, temperature: 1 } } }), { outDir: out('run-a'), scorer }),
      /run-a\/config\.json: the run folder holds a run with a different backend/);

    const wide = createTinyModel(join(dir, 'wide'), { vocabSize: 512, hiddenSize: 96, numHeads: 4, seed: 1 });
    const wrongDir = join(dir, 'adapter-wide');
    saveAdapter(wrongDir, LoraAdapter.init(wide.config, { r: 4 }, 1));
    assert.throws(() => createLocalBackend({ modelDir, adapterDir: wrongDir }),
      new RegExp(`--adapter ${wrongDir} does not match the model in ${modelDir}: .*adapter_model\\.safetensors: '[^']*q_proj\\.lora_A\\.weight' has shape \\[4, 96\\], expected \\[4, 64\\]`));
    const doraDir = join(dir, 'adapter-dora');
    cpSync(adapterDir, doraDir, { recursive: true });
    const ac = JSON.parse(readFileSync(join(doraDir, 'adapter_config.json'), 'utf8'));
    writeFileSync(join(doraDir, 'adapter_config.json'), JSON.stringify({ ...ac, use_dora: true }));
    assert.throws(() => createLocalBackend({ modelDir, adapterDir: doraDir }), /adapter-dora\/adapter_config\.json: field 'use_dora' is true; DoRA is not implemented/);
    assert.throws(() => createLocalBackend({ modelDir, adapterDir: join(dir, 'no-adapter') }), /--adapter .*no-adapter: no such folder/);
  });

  test('clear errors for a missing or broken model folder and a missing tokenizer.json', async () => {
    assert.throws(() => createLocalBackend({ modelDir: join(dir, 'nowhere') }), /--model .*nowhere: no such folder/);
    const empty = join(dir, 'empty');
    mkdirSync(empty);
    assert.throws(() => createLocalBackend({ modelDir: empty }), /empty\/config\.json: cannot read/);
    const badConfig = join(dir, 'bad-config');
    cpSync(modelDir, badConfig, { recursive: true });
    const cfg = JSON.parse(readFileSync(join(badConfig, 'config.json'), 'utf8'));
    writeFileSync(join(badConfig, 'config.json'), JSON.stringify({ ...cfg, num_attention_heads: 0 }));
    assert.throws(() => createLocalBackend({ modelDir: badConfig }), /bad-config\/config\.json: field 'num_attention_heads' must be a positive integer, got 0/);
    const noWeights = join(dir, 'no-weights');
    cpSync(modelDir, noWeights, { recursive: true });
    rmSync(join(noWeights, 'model.safetensors'));
    assert.throws(() => createLocalBackend({ modelDir: noWeights }), /no-weights: no model\.safetensors or model\.safetensors\.index\.json/);
    const noTok = join(dir, 'no-tokenizer');
    cpSync(modelDir, noTok, { recursive: true });
    rmSync(join(noTok, 'tokenizer.json'));
    assert.throws(() => createLocalBackend({ modelDir: noTok }), /--model .*no-tokenizer: no tokenizer\.json/);
    const small = join(dir, 'small-vocab');
    cpSync(modelDir, small, { recursive: true });
    writeFileSync(join(small, 'config.json'), JSON.stringify({ ...cfg, vocab_size: 300 }));
    assert.throws(() => createLocalBackend({ modelDir: small }), /tokenizer\.json has 512 ids but config\.json's field 'vocab_size' is 300/);
    // Weights that do not fit the config: found when they load (check(), before any generation).
    const shapes = join(dir, 'bad-shapes');
    cpSync(modelDir, shapes, { recursive: true });
    writeFileSync(join(shapes, 'config.json'), JSON.stringify({ ...cfg, intermediate_size: 96 }));
    await assert.rejects(createLocalBackend({ modelDir: shapes }).check(),
      /--model .*bad-shapes: .*bad-shapes\/model\.safetensors: tensor 'model\.layers\.0\.mlp\.gate_proj\.weight' has shape \[128, 64\], the config implies \[96, 64\]/);
    await assert.rejects(runEval(config(7, { backend: { kind: 'local', dir: shapes } }), { outDir: out('run-shapes'), scorer }), /has shape \[128, 64\], the config implies \[96, 64\]/);
    assert.equal(JSON.parse(readFileSync(join(out('run-shapes'), 'summary.json'), 'utf8')).status, 'partial');
  });

  test('CLI: eval --model DIR gives the generations runEval gave; usage errors', () => {
    const cliOut = out('cli-run');
    const r = runCli(['eval', '--data', data, '--model', modelDir, '--n', '4', '--samples-per-prompt', '2', '--seed', '7', '--max-tokens', String(MAX_TOKENS), '--temperature', '1',
      '--batch-size', '4', '--threads', '2', '--resamples', '200', '--workers', '2', '--out', cliOut, '--json']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim().split('\n').at(-1)!);
    assert.equal(summary.status, 'complete');
    assert.equal(summary.samples, 8);
    assert.deepEqual(completions(cliOut), completions(out('run-a')));
    const noFolder = runCli(['eval', '--data', data, '--model', join(dir, 'nowhere'), '--out', out('cli-none')]);
    assert.equal(noFolder.status, 1);
    assert.match(noFolder.stderr, /--model .*nowhere: no such folder/);
    const misplaced = runCli(['eval', '--data', data, '--endpoint', 'http://127.0.0.1:1/v1', '--model', 'm', '--adapter', dir]);
    assert.equal(misplaced.status, 2);
    assert.match(misplaced.stderr, /--adapter goes with a local model/);
  });

  test('bench models: "model" without "endpoint" is a local model (with an adapter, top-k, batch size)', async () => {
    const file = join(dir, 'bench.json');
    writeFileSync(file, JSON.stringify({ data, out: out('bench'), max_tokens: 16, resamples: 200, models: [{ name: 'tiny', model: modelDir, adapter: join(dir, 'adapter'), top_k: 20, batch_size: 4 }] }));
    const bench = readBenchConfig(file);
    assert.deepEqual(benchModelConfig(bench, bench.models[0]).backend, { kind: 'local', dir: modelDir, adapter: join(dir, 'adapter'), sampling: { maxTokens: 16 }, topK: 20, batchSize: 4 });
    const result = await benchModels(readBenchConfig(file), {});
    assert.deepEqual(result.runs.map((r) => [r.name, r.error, r.result?.summary.status, r.result?.summary.samples]), [['tiny', undefined, 'complete', 4]]);
    const cfg = JSON.parse(readFileSync(join(out('bench'), 'tiny', 'config.json'), 'utf8'));
    assert.deepEqual([cfg.backend.kind, cfg.backend.adapter_dir, cfg.backend.top_k, cfg.backend.max_tokens], ['local', join(dir, 'adapter'), 20, 16]);
    writeFileSync(file, JSON.stringify({ data, out: out('bench'), models: [{ name: 'x', endpoint: 'http://127.0.0.1:1/v1', model: 'm', batch_size: 4 }] }));
    assert.throws(() => readBenchConfig(file), /field "models\[0\]\.batch_size": goes with a local model/);
  });
});
