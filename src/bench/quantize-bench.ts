// `securecoderl bench quantize`: float32 against int8 and 4-bit frozen base weights, each mode measured in
// its own process (so its peak RSS is its own), on one model shape:
//  - tiny: the trainers' pretrained tiny model (presets' `minimal` recipe, built and cached on first use),
//    with the held-out loss on its pretraining held-out documents and the mean per-token KL(fp32 ‖ mode);
//  - 10m: the ~10M shape of `bench engine` (6 layers, d 320), random weights;
//  - 1.3b: DeepSeek-Coder-1.3B's config, random weights (uniform, generated and quantized tensor by tensor).
// Per mode: forward tokens/s (one sequence of 512, CausalLM's prefill), decode ms per token (batch 1, after a
// 64-token prompt), one LoRA step (r 16 on q/k/v/o, batch 1 × 512: the trainers' PolicyGraph with their
// session options, clipping and AdamW) and the process's peak RSS (and the peak before the LoRA step).
// Quantized modes quantize the embedding and the LM head too unless asked not to (the default of
// QuantizeConfig, DEFAULT_QUANTIZE).

import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism, cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { AdamW, clipGradNorm, releaseSessions, type SessionOptions } from '../engine/index.js';
import { CausalLM } from '../model/causal-lm.js';
import { parseConfig, type ModelConfig } from '../model/config.js';
import { measureDecodeAtContext } from '../model/bench.js';
import { LoraAdapter } from '../model/lora.js';
import { compareModels } from '../model/quant-eval.js';
import { checkpointBytes, checkpointParameters, DEFAULT_QUANTIZE, loadQuantizedCheckpoint, randomQuantizedCheckpoint, type QuantizeConfig, type QuantizeMode } from '../model/quantized.js';
import { Tokenizer } from '../model/tokenizer.js';
import { tinyConfig, type Checkpoint } from '../model/weights.js';
import { Rng } from '../random.js';
import { tokenBatch } from '../train/batch.js';
import { episodeItems, episodeUpdates } from './ppo-episode.js';
import { PolicyGraph, referenceFeeds, trainerSession } from '../train/policy.js';
import { generate } from '../model/sampler.js';
import { ValueHead } from '../model/value-head.js';
import { buildTinyModel, cacheDir, pretrainTexts, RECIPES } from '../train/presets.js';
import { quantizedOnDisk, randomQuantizedOnDisk } from '../model/quant-cache.js';
import { isHeldout } from '../train/pretrain.js';
import { DEEPSEEK_CODER_1_3B_CONFIG } from './engine.js';

export const QUANT_BENCH_SHAPES = ['tiny', '10m', '1.3b'] as const;
export type QuantBenchShape = (typeof QUANT_BENCH_SHAPES)[number];
export const QUANT_BENCH_MODES: readonly QuantizeMode[] = ['none', 'int8', 'nbits4'];

export interface QuantModeFigures {
  mode: QuantizeMode;
  parameters: number;
  /** Bytes of the weights (float32 tensors + quantized copies), wherever held. */
  weight_bytes: number;
  /** Of them, held in JS at the end (quantized weights stay in their file until a session that feeds them
   * reads them: int8's always, nbits4's with --nbits4-fed). */
  weight_bytes_in_js: number;
  /** Seconds to build the checkpoint (load + quantize, or generate + quantize). */
  load_s: number;
  forward_tokens_per_s: number;
  decode_ms_per_token: number;
  lora_step_s: number;
  peak_rss_bytes: number;
  /** Peak RSS before the LoRA step (loading, forward, decode and, for tiny, the held-out comparison). */
  peak_rss_before_lora_bytes: number;
  /** Whether the embedding and the LM head were quantized too. */
  embedding_quantized: boolean;
  head_quantized: boolean;
  /** nbits4 weights fed to the LoRA step's session (not baked in). */
  nbits4_fed: boolean;
  /** The LoRA step rebuilt each block's activations in its backward pass (`--recompute`). */
  recompute: boolean;
  /** glibc's MALLOC_MMAP_THRESHOLD_ in the environment (a fixed threshold returns freed large blocks to the
   * system at once: a lower peak RSS; see README), or null. */
  malloc_mmap_threshold: string | null;
  /** tiny only: mean next-token loss on the held-out windows, and the mean per-token KL(fp32 ‖ this mode). */
  heldout_loss?: number;
  kl_vs_fp32?: number;
  heldout_tokens?: number;
  /** 1-minute load average when the mode started and ended. */
  load_before: number;
  load_after: number;
}

export interface QuantBenchResult {
  shape: QuantBenchShape;
  modes: Partial<Record<QuantizeMode, QuantModeFigures>>;
  cpu: string;
  cores: number;
  threads: number;
}

export interface QuantBenchOptions {
  threads?: number;
  /** Short sequences (64): checks that it runs, measures nothing useful. */
  quick?: boolean;
  /** Quantize the embedding / LM head too (default true, as DEFAULT_QUANTIZE; false keeps them float32). */
  embedding?: boolean;
  head?: boolean;
  /** nbits4: feed the 4-bit weights to the LoRA step's training session instead of baking them in. */
  nbits4Fed?: boolean;
  /** The LoRA step with activation recomputation (PolicyGraphOptions.recompute). */
  recompute?: boolean;
}

/** A model shape's config. */
export function benchShapeConfig(shape: Exclude<QuantBenchShape, 'tiny'>): ModelConfig {
  if (shape === '1.3b') return parseConfig(DEEPSEEK_CODER_1_3B_CONFIG, 'DeepSeek-Coder-1.3B config');
  return tinyConfig({ vocabSize: 4096, hiddenSize: 320, intermediateSize: 864, numLayers: 6, numHeads: 5, numKvHeads: 5, headDim: 64, maxPositionEmbeddings: 2048 });
}

/** Token windows of `len` + 1 from the tiny model's pretraining held-out documents (evenly spread). */
export function tinyHeldoutWindows(modelDir: string, count: number, len: number): number[][] {
  const recipe = RECIPES.minimal;
  const docs = pretrainTexts(recipe).filter((t) => t.length > 0).filter((_, i) => isHeldout(i, recipe.pretrain.heldoutFraction));
  const tok = Tokenizer.load(modelDir);
  const ids: number[] = [];
  for (const d of docs) { ids.push(...tok.encode(d), 0); } // as pretraining: <|endoftext|> (id 0) after each document
  const last = ids.length - len - 1;
  if (last < 0) throw new Error(`bench quantize: the held-out documents give ${ids.length} tokens, fewer than a window of ${len + 1}`);
  return Array.from({ length: count }, (_, i) => {
    const at = count === 1 ? 0 : Math.floor((i * last) / (count - 1));
    return ids.slice(at, at + len + 1);
  });
}

function processAlive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/** Files under the model cache ($SECURECODERL_CACHE/bench) for this process's quantized benchmark weights,
 * one per checkpoint, removed when the process exits. */
const benchFiles: string[] = [];

function benchWeightsFile(mode: QuantizeMode): string {
  const dir = join(cacheDir(), 'bench');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${mode}-${process.pid}-${benchFiles.length}.safetensors`);
  if (benchFiles.length === 0) {
    process.on('exit', () => { for (const f of benchFiles) rmSync(f, { force: true }); });
    for (const f of readdirSync(dir)) { // left by a bench that was killed
      const pid = Number(/^\w+-(\d+)-\d+\.safetensors$/.exec(f)?.[1]);
      if (pid && !processAlive(pid)) rmSync(join(dir, f), { force: true });
    }
  }
  benchFiles.push(path);
  return path;
}

/**
 * Random weights of a benchmark shape (fastRandomTensor's), quantized as `q`. A quantized one is held as a
 * trainer holds its base (loadBaseModel): the quantized weights stay in a file, written tensor by tensor;
 * ONNX Runtime reads them for the sessions that bake them in, JS reads the ones it feeds.
 */
export function benchRandomCheckpoint(config: ModelConfig, q: QuantizeConfig): Checkpoint {
  return q.mode === 'none' ? randomQuantizedCheckpoint(config, q, 0, 0.5, { fast: true }) : randomQuantizedOnDisk(config, q, benchWeightsFile(q.mode));
}

/** One mode, in this process (run it in a fresh process so that peak_rss_bytes is this mode's own). */
export async function benchQuantizeMode(shape: QuantBenchShape, mode: QuantizeMode, o: QuantBenchOptions = {}): Promise<QuantModeFigures> {
  const load_before = loadavg()[0];
  const q: QuantizeConfig = { mode, embedding: o.embedding ?? DEFAULT_QUANTIZE.embedding, head: o.head ?? DEFAULT_QUANTIZE.head };
  const seq = o.quick ? 64 : 512;
  const t0 = performance.now();
  let ck: Checkpoint;
  let tinyDir: string | null = null;
  if (shape === 'tiny') {
    tinyDir = (await buildTinyModel('minimal', { quiet: true })).baseDir;
    ck = loadQuantizedCheckpoint(tinyDir, q);
    if (mode !== 'none') ck = quantizedOnDisk(ck, benchWeightsFile(mode)); // as a trainer holds it
  } else {
    ck = benchRandomCheckpoint(benchShapeConfig(shape), q);
  }
  const load_s = (performance.now() - t0) / 1000;
  const config = ck.config;
  const parameters = checkpointParameters(ck);
  const session: SessionOptions = trainerSession(o.threads ?? 0); // the trainers' options
  const rng = new Rng(3);
  const ids = Array.from({ length: seq }, () => rng.int(config.vocabSize));

  // Forward and decode: the sampler's CausalLM (base weights baked into its session, as by default).
  const lm = new CausalLM(ck, { session });
  await lm.prefill(lm.newCache(1, 8), [ids.slice(0, 8)]); // compiled
  const t1 = performance.now();
  await lm.prefill(lm.newCache(1, seq), [ids]);
  const forward_tokens_per_s = seq / ((performance.now() - t1) / 1000);
  const decode_ms_per_token = await measureDecodeAtContext(lm, 64, { steps: o.quick ? 4 : 16, rounds: 2 });

  let heldout: { heldout_loss: number; kl_vs_fp32: number; heldout_tokens: number } | undefined;
  if (tinyDir) {
    const windows = tinyHeldoutWindows(tinyDir, o.quick ? 2 : 16, o.quick ? 64 : 256);
    const ref = mode === 'none' ? lm : new CausalLM(loadQuantizedCheckpoint(tinyDir, { ...q, mode: 'none' }), { session });
    const c = await compareModels(ref, lm, windows);
    heldout = { heldout_loss: c.lossQuant, kl_vs_fp32: mode === 'none' ? 0 : c.klMean, heldout_tokens: c.tokens };
    if (ref !== lm) await releaseSessions(ref.graph);
  }
  await releaseSessions(lm.graph);
  const peak_rss_before_lora_bytes = process.resourceUsage().maxRSS * 1024;

  // One LoRA step through the trainers' graph: base weights fed as the trainers feed them.
  const adapter = LoraAdapter.init(config, { r: 16, alpha: 32, dropout: 0 }, 1);
  const policy = new PolicyGraph(ck, { lora: adapter.config, baseWeights: 'inputs', nbits4As: o.nbits4Fed ? 'inputs' : 'initializers', recompute: o.recompute, session });
  const adam = new AdamW(adapter.parameters(), { lr: 1e-4 });
  const step = async (n: number) => {
    const tb = tokenBatch([{ tokens: ids.slice(0, n), lossStart: 1 }]);
    const r = await policy.sftStep([tb], adapter.feeds());
    const grads = adapter.parameters().map((p) => r.grads.get(p.name)!);
    clipGradNorm(grads, 1);
    adam.update(grads);
  };
  await step(Math.min(32, seq)); // compiled
  const t2 = performance.now();
  await step(seq);
  const lora_step_s = (performance.now() - t2) / 1000;
  await releaseSessions(policy.graph);
  return {
    mode, parameters, weight_bytes: checkpointBytes(ck), weight_bytes_in_js: checkpointBytes(ck, { inJs: true }), load_s, forward_tokens_per_s, decode_ms_per_token, lora_step_s,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024, peak_rss_before_lora_bytes,
    embedding_quantized: mode !== 'none' && q.embedding, head_quantized: mode !== 'none' && q.head, nbits4_fed: mode === 'nbits4' && o.nbits4Fed === true,
    recompute: o.recompute === true, malloc_mmap_threshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, ...heldout, load_before, load_after: loadavg()[0],
  };
}

/** DeepSeek-Coder-6.7B's config.json fields (as published); the weights are random. */
export const DEEPSEEK_CODER_6_7B_CONFIG = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32256, hidden_size: 4096,
  intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, num_key_value_heads: 32,
  hidden_act: 'silu', max_position_embeddings: 16384, rms_norm_eps: 1e-6, rope_theta: 100000,
  rope_scaling: { factor: 4.0, type: 'linear' }, tie_word_embeddings: false, bos_token_id: 32013,
  eos_token_id: 32021, torch_dtype: 'bfloat16', attention_bias: false,
};

export interface QuantEpisodeResult {
  mode: QuantizeMode;
  parameters: number;
  weight_bytes: number;
  batch: number;
  prompt_tokens: number;
  new_tokens: number;
  ppo_epochs: number;
  load_s: number;
  sample_s: number;
  logprob_s: number;
  update_s: number;
  episode_s: number;
  peak_rss_bytes: number;
  /** Peak RSS up to the end of sampling (the sampler's session released). */
  peak_rss_sampling_bytes: number;
  embedding_quantized: boolean;
  head_quantized: boolean;
  recompute: boolean;
  malloc_mmap_threshold: string | null;
  load_before: number;
  load_after: number;
}

/**
 * One LoRA PPO episode on a quantized base of `config`'s shape (random weights): sampling (the trainers'
 * CausalLM, paper settings), old log-probs and values, reference log-probs (zero-B adapter), GAE, and
 * `epochs` PPO updates with AdamW — the phases' sessions released in turn, so one phase's copies of the
 * weights are alive at a time; the quantized weights stay in their file until a session reads them. Run it
 * in a fresh process so the peak RSS is its own.
 */
export async function benchQuantizedEpisode(mode: QuantizeMode, config: ModelConfig, o: { batch?: number; promptTokens?: number; newTokens?: number; epochs?: number; threads?: number; embedding?: boolean; head?: boolean; nbits4Fed?: boolean; recompute?: boolean; log?: (line: string) => void } = {}): Promise<QuantEpisodeResult> {
  const load_before = loadavg()[0];
  const B = o.batch ?? 2, P = o.promptTokens ?? 256, N = o.newTokens ?? 64, epochs = o.epochs ?? 1;
  const say = o.log ?? (() => {});
  const t0 = performance.now();
  const q: QuantizeConfig = { mode, embedding: o.embedding ?? DEFAULT_QUANTIZE.embedding, head: o.head ?? DEFAULT_QUANTIZE.head };
  const ck = benchRandomCheckpoint(config, q);
  const parameters = checkpointParameters(ck);
  const load_s = (performance.now() - t0) / 1000;
  say(`episode ${mode}: ${(parameters / 1e9).toFixed(2)}B parameters, ${(checkpointBytes(ck) / 2 ** 30).toFixed(2)} GiB of weights (in the cache file), built in ${load_s.toFixed(0)} s; RSS ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`);
  const session = trainerSession(o.threads ?? 0);
  const adapter = LoraAdapter.init(config, { r: 16, alpha: 32, dropout: 0 }, 1);
  const head = ValueHead.init(config, 2);
  const rng = new Rng(5);
  const prompts = Array.from({ length: B }, () => Array.from({ length: P }, () => rng.int(config.vocabSize)));
  const t1 = performance.now();
  const lm = new CausalLM(ck, { adapter, session, baseWeights: 'inputs' });
  const sampled = await generate(lm, prompts, { maxNewTokens: N, temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, eosTokenIds: [], rng });
  await releaseSessions(lm.graph);
  const t2 = performance.now();
  const peak_rss_sampling_bytes = process.resourceUsage().maxRSS * 1024;
  say(`episode ${mode}: sampled ${B} × ${N} tokens in ${((t2 - t1) / 1000).toFixed(1)} s; RSS ${(process.memoryUsage().rss / 2 ** 30).toFixed(2)} GiB`);
  const graph = new PolicyGraph(ck, { lora: adapter.config, valueHead: true, temperature: 0.7, baseWeights: 'inputs', nbits4As: o.nbits4Fed ? 'inputs' : 'initializers', recompute: o.recompute, session });
  const seqs = prompts.map((p, b) => ({ tokens: [...p, ...sampled.tokens[b]], lossStart: p.length }));
  const tb = tokenBatch(seqs);
  const params = { ...adapter.feeds(), ...head.feeds() };
  const cur = await graph.forward(tb, params, { values: true, entropy: true, microBatch: 1 });
  const ref = await graph.forward(tb, { ...params, ...referenceFeeds(null, adapter) }, { microBatch: 1 });
  await releaseSessions(graph.graph);
  const t3 = performance.now();
  say(`episode ${mode}: old and reference log-probs in ${((t3 - t2) / 1000).toFixed(1)} s`);
  await episodeUpdates(graph, episodeItems(seqs, tb, cur, ref, rng), adapter, head, epochs, tb.seq, `episode ${mode}`);
  await releaseSessions(graph.graph);
  const t4 = performance.now();
  say(`episode ${mode}: ${epochs} PPO update(s) in ${((t4 - t3) / 1000).toFixed(1)} s`);
  return {
    mode, parameters, weight_bytes: checkpointBytes(ck), batch: B, prompt_tokens: P, new_tokens: N, ppo_epochs: epochs, load_s,
    sample_s: (t2 - t1) / 1000, logprob_s: (t3 - t2) / 1000, update_s: (t4 - t3) / 1000, episode_s: (t4 - t1) / 1000,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024, peak_rss_sampling_bytes,
    embedding_quantized: mode !== 'none' && q.embedding, head_quantized: mode !== 'none' && q.head, recompute: o.recompute === true,
    malloc_mmap_threshold: process.env.MALLOC_MMAP_THRESHOLD_ ?? null, load_before, load_after: loadavg()[0],
  };
}

const CLI = fileURLToPath(new URL('../cli/main.js', import.meta.url));

/** Runs `securecoderl bench quantize --child` for one mode in a fresh Node process; its last stdout line is the JSON. */
export function runModeProcess(shape: QuantBenchShape, mode: QuantizeMode, o: QuantBenchOptions = {}): Promise<QuantModeFigures> {
  const args = [CLI, 'bench', 'quantize', '--shape', shape, '--mode', mode, '--child', ...(o.threads ? ['--threads', String(o.threads)] : []),
    ...(o.quick ? ['--quick'] : []), ...(o.nbits4Fed ? ['--nbits4-fed'] : []), ...(o.recompute ? ['--recompute'] : []), ...(o.embedding === false ? ['--float-embedding'] : []), ...(o.head === false ? ['--float-head'] : [])];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => { out += b.toString('utf8'); });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) { reject(new Error(`bench quantize: the ${mode} process ended with ${signal ?? `code ${code}`}${signal === 'SIGKILL' ? ' (out of memory?)' : ''}`)); return; }
      try { resolve(JSON.parse(last) as QuantModeFigures); } catch { reject(new Error(`bench quantize: the ${mode} process printed no JSON line (last line: ${JSON.stringify(last.slice(0, 200))})`)); }
    });
  });
}

/** Every mode, one process each, one after another. */
export async function benchQuantize(shape: QuantBenchShape, o: QuantBenchOptions & { modes?: readonly QuantizeMode[]; log?: (line: string) => void } = {}): Promise<QuantBenchResult> {
  const modes: QuantBenchResult['modes'] = {};
  for (const mode of o.modes ?? QUANT_BENCH_MODES) {
    o.log?.(`bench quantize ${shape}: ${mode} (own process)…`);
    modes[mode] = await runModeProcess(shape, mode, o);
  }
  return { shape, modes, cpu: cpus()[0]?.model ?? 'unknown', cores: availableParallelism(), threads: o.threads || availableParallelism() };
}
