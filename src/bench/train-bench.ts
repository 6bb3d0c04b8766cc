// `bench train`: steps of the trainers themselves (src/train/ppo.ts, grpo.ts, rloo.ts, nothing re-implemented)
// on a ~10M Llama-style model with random weights and a 4,096-token BPE, split into sampling, scoring and
// training as the trainers log them, with the PPO training part's utilisation of the in-graph matmul rate.
//
// FLOPs counted for the training part, per token the graphs process (the rollout batch × its padded
// length): the policy's forward for old log-probs and values, and the reference's forward, 2·P each; each
// PPO epoch's update, forward and backward to the activations, 4·P (the frozen base gets no weight
// gradient; LoRA's own FLOPs are < 1% and not counted). P = the decoder's parameters without the
// embedding table's lookups, i.e. every matmul weight (the tied LM head counted once).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureMatmulGflops, releaseSessions } from '../engine/index.js';
import { saveTrainedTokenizer, trainBpe } from '../model/bpe-trainer.js';
import { CausalLM } from '../model/causal-lm.js';
import type { ModelConfig } from '../model/config.js';
import { LoraAdapter } from '../model/lora.js';
import { generate } from '../model/sampler.js';
import { ValueHead } from '../model/value-head.js';
import { checkpointParameters } from '../model/quantized.js';
import { randomWeights, saveCheckpoint, tinyModel, type Checkpoint } from '../model/weights.js';
import { Rng } from '../random.js';
import { tokenBatch } from '../train/batch.js';
import { PolicyGraph, referenceFeeds, trainerSession } from '../train/policy.js';
import { episodeItems, episodeUpdates } from './ppo-episode.js';
import { pythonStdlibSources } from '../train/corpus.js';
import { parseGrpoConfig, grpo } from '../train/grpo.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo } from '../train/ppo.js';
import { parseRlooConfig, rloo } from '../train/rloo.js';
import { DEFAULT_TASK_DATA } from '../train/task-split.js';
import { RunFolder } from '../train/run.js';

export interface TrainBenchOptions {
  /** PPO steps measured after one warm-up step [3; quick: 1]. */
  steps?: number;
  threads?: number;
  quick?: boolean;
  log?: (line: string) => void;
}

export interface TrainBenchResult {
  model_params: number;
  matmul_params: number;
  batch: number;
  ppo_epochs: number;
  steps: number;
  prompt_tokens_mean: number;
  response_tokens_mean: number;
  sample_s: number;
  score_wait_s: number;
  train_s: number;
  sample_tokens_per_s: number;
  train_tokens_per_s: number;
  matmul_gflops: number;
  train_utilization: number;
  /** A GRPO step: one prompt × G = 8 completions, two passes of two minibatches. */
  grpo: StepSplit & { generations: number };
  /** An RLOO self-correction step: 2 prompts × k = 4 trajectories × 2 turns. */
  rloo: StepSplit & { k: number; turns: number };
}

/** One trainer step's mean seconds in each part, as the trainer's metrics log them. */
export interface StepSplit {
  steps: number;
  rows: number;
  response_tokens_mean: number;
  sample_s: number;
  score_wait_s: number;
  train_s: number;
  sample_tokens_per_s: number;
}

/** A finished run's metrics lines, the first (warm-up) step left out. */
function measuredSteps(runDir: string): Record<string, unknown>[] {
  return RunFolder.open(runDir).folder.metrics().slice(1);
}

const total = (m: readonly Record<string, unknown>[], k: string) => m.reduce((a, r) => a + (r[k] as number), 0);

/** One step's mean seconds in each part, as the trainer's metrics log them; `rows` sampled per step. */
function stepSplit(m: readonly Record<string, unknown>[], rows: number): StepSplit {
  return {
    steps: m.length, rows, response_tokens_mean: total(m, 'response_tokens') / (m.length * rows),
    sample_s: total(m, 'time_sample_s') / m.length, score_wait_s: total(m, 'time_score_s') / m.length, train_s: total(m, 'time_train_s') / m.length,
    sample_tokens_per_s: total(m, 'response_tokens') / total(m, 'time_sample_s'),
  };
}

export async function benchTrain(o: TrainBenchOptions = {}): Promise<TrainBenchResult> {
  const log = o.log ?? (() => {});
  const steps = o.steps ?? (o.quick ? 1 : 3);
  const dir = mkdtempSync(join(tmpdir(), 'securecoderl-bench-train-'));
  try {
    // The ~10M shape of `bench engine` (6 layers, d 320, 5 heads, SwiGLU 864, vocab 4096), random weights.
    const vocab = o.quick ? 512 : 4096;
    const bpe = trainBpe(pythonStdlibSources({ maxBytes: o.quick ? 200_000 : 1_500_000 }), { vocabSize: vocab });
    const ck = tinyModel({ vocabSize: vocab, hiddenSize: 320, numHeads: 5, numKvHeads: 5, intermediateSize: 864, numLayers: 6,
      tieWordEmbeddings: true, bosTokenId: 0, eosTokenIds: [0], maxPositionEmbeddings: 2048, seed: 3 });
    saveCheckpoint(join(dir, 'model'), ck.config, ck.weights);
    saveTrainedTokenizer(join(dir, 'model'), bpe, { eosToken: '<|endoftext|>', bosToken: null });
    let params = 0, matmulParams = 0;
    for (const w of ck.weights.values()) {
      params += w.data.length;
      if (w.shape.length === 2) matmulParams += w.data.length; // every 2-D weight is a matmul operand (tied: the head)
    }
    const batch = 8, epochs = o.quick ? 1 : 2;
    const cfg = parsePpoConfig({
      ...DEFAULT_PPO_CONFIG, run_name: 'bench', model: join(dir, 'model'), variant: 'fresh',
      data: { ...DEFAULT_PPO_CONFIG.data, dataset: 'apps-plus', evalSize: 100 }, maxPromptTokens: 256,
      episodes: (steps + 1) * batch, batchSize: batch, miniBatchSize: batch, ppoEpochs: epochs, microBatch: batch,
      sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: o.quick ? 16 : 128 },
      lora: { r: 16, alpha: 32, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] }, saveEvery: 1000, threads: o.threads ?? 0, lr: 1e-5,
    }, 'bench train');
    log(`bench train: ${steps + 1} PPO steps (1 warm-up) of batch ${batch} on a ${(params / 1e6).toFixed(2)}M-parameter model`);
    // The matmul rate is probed before and after the run and the higher kept (a shared machine's rate
    // varies; the higher one makes the utilisation the conservative figure).
    const probe = async () => (await measureMatmulGflops({ session: { threads: o.threads || undefined } })).gflopsBest;
    const before = await probe();
    await ppo({ config: cfg, outDir: join(dir, 'run') }, { quiet: true });
    const gflopsBest = Math.max(before, await probe());

    // GRPO and RLOO on the same model, prompts and sampling settings.
    const common = {
      model: join(dir, 'model'), seed: 0, data: { ...DEFAULT_TASK_DATA, dataset: 'apps-plus', split: 'seeded', evalSize: 100 }, maxPromptTokens: 256,
      steps: steps + 1, sampling: cfg.sampling, lora: cfg.lora, saveEvery: 1000, microBatch: batch, threads: o.threads ?? 0, lr: 1e-5,
    };
    log(`bench train: ${steps + 1} GRPO steps (G 8) and ${steps + 1} RLOO steps (2 prompts × k 4 × 2 turns)`);
    await grpo({ config: parseGrpoConfig({ ...common, run_name: 'bench-grpo', promptsPerStep: 1, numGenerations: 8, numIterations: 2, stepsPerGeneration: 2 }, 'bench train'), outDir: join(dir, 'grpo') }, { quiet: true });
    await rloo({ config: parseRlooConfig({ ...common, run_name: 'bench-rloo', promptsPerStep: 2, k: 4, turns: 2 }, 'bench train'), outDir: join(dir, 'rloo') }, { quiet: true });

    const m = measuredSteps(join(dir, 'run'));
    const { rows: _rows, ...ppoSplit } = stepSplit(m, batch);
    const graphTokens = total(m, 'graph_tokens');
    const flops = matmulParams * graphTokens * (2 + 2 + 4 * epochs);
    const trainS = total(m, 'time_train_s');
    return {
      model_params: params, matmul_params: matmulParams, batch, ppo_epochs: epochs, ...ppoSplit,
      prompt_tokens_mean: total(m, 'prompt_tokens') / (m.length * batch),
      train_tokens_per_s: (graphTokens * (2 + epochs)) / trainS,
      matmul_gflops: gflopsBest, train_utilization: flops / trainS / (gflopsBest * 1e9),
      grpo: { ...stepSplit(measuredSteps(join(dir, 'grpo')), 8), generations: 8 },
      // An RLOO step samples each turn's 8 rows in turn: 16 rows a step.
      rloo: { ...stepSplit(measuredSteps(join(dir, 'rloo')), 16), k: 4, turns: 2 },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface LargeEpisodeResult {
  mode: 'default' | 'low-memory';
  parameters: number;
  batch: number;
  prompt_tokens: number;
  new_tokens: number;
  sample_s: number;
  logprob_s: number;
  update_s: number;
  episode_s: number;
  peak_rss_bytes: number;
}

/**
 * One PPO episode at DeepSeek-Coder-1.3B's shape with random weights (batch 2, 256-token prompts, 128 new
 * tokens at the paper's sampling settings, never stopping early; 4 epochs of one minibatch), through the
 * trainer's own parts: the sampler on CausalLM, PolicyGraph's log-probs for the policy and the reference
 * (zero-B adapter) and its PPO step, GAE and AdamW. Scoring is left out (the judge runs in other processes;
 * random weights write no program). Run it in a fresh process so the peak RSS is this episode's own.
 */
export async function benchLargeEpisode(mode: 'default' | 'low-memory', config: ModelConfig, o: { threads?: number } = {}): Promise<LargeEpisodeResult> {
  const ck: Checkpoint = { config, weights: randomWeights(config, 0) };
  const parameters = checkpointParameters(ck);
  const session = trainerSession(o.threads ?? 0); // the trainer's options (PolicyGraph's gradient runs: no arena at this size)
  const adapter = LoraAdapter.init(config, { r: 16, alpha: 32, dropout: 0 }, 1);
  const head = ValueHead.init(config, 2);
  const lm = new CausalLM(ck, { adapter, session, baseWeights: mode === 'low-memory' ? 'inputs' : 'initializers' });
  const graph = new PolicyGraph(ck, { lora: adapter.config, valueHead: true, temperature: 0.7, baseWeights: 'inputs', session });
  const rng = new Rng(5);
  const B = 2, P = 256, N = 128;
  const prompts = Array.from({ length: B }, () => Array.from({ length: P }, () => rng.int(config.vocabSize)));
  const t0 = performance.now();
  const sampled = await generate(lm, prompts, { maxNewTokens: N, temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, eosTokenIds: [], rng });
  const t1 = performance.now();
  const seqs = prompts.map((p, b) => ({ tokens: [...p, ...sampled.tokens[b]], lossStart: p.length }));
  const tb = tokenBatch(seqs);
  const params = { ...adapter.feeds(), ...head.feeds() };
  const cur = await graph.forward(tb, params, { values: true, entropy: true, microBatch: 1 });
  const ref = await graph.forward(tb, { ...params, ...referenceFeeds(null, adapter) }, { microBatch: 1 });
  const t2 = performance.now();
  await episodeUpdates(graph, episodeItems(seqs, tb, cur, ref, rng), adapter, head, 4, tb.seq, `1.3B episode (${mode})`);
  const t3 = performance.now();
  await releaseSessions(lm.graph);
  await releaseSessions(graph.graph);
  return {
    mode, parameters, batch: B, prompt_tokens: P, new_tokens: N, sample_s: (t1 - t0) / 1000, logprob_s: (t2 - t1) / 1000, update_s: (t3 - t2) / 1000,
    episode_s: (t3 - t0) / 1000, peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
}
