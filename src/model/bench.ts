// Model-side measurements for `securecoderl bench engine`: sampling throughput with the KV cache, per-token
// decode cost against context length, and for a given config (e.g. DeepSeek-Coder-1.3B's, random weights)
// the forward rate and one LoRA training step's time and peak memory. Library functions only: the command
// prints them next to the engine's matmul and training figures.

import { AdamW, clipGradNorm, compile, gradients, Graph, releaseSessions, tokenLogProbs, type Feed, type SessionOptions } from '../engine/index.js';
import * as op from '../engine/ops.js';
import { CausalLM } from './causal-lm.js';
import type { ModelConfig } from './config.js';
import { appendDecoder, attentionBias, decoderInputs, LORA_DROPOUT_KEEP } from './decoder.js';
import { LoraAdapter } from './lora.js';
import { checkpointParameters } from './quantized.js';
import { Rng } from '../random.js';
import { generate } from './sampler.js';
import { randomWeights, type Checkpoint } from './weights.js';

export interface SamplingBenchResult {
  batch: number;
  promptTokens: number;
  newTokens: number;
  seconds: number;
  /** Generated tokens per second over the whole batch (prefill included in the time). */
  tokensPerSecond: number;
}

/** Sampling settings for `measureSampling` (default: temperature 1, top-k 50). */
export interface SamplingBenchSettings { temperature?: number; topK?: number; topP?: number; repetitionPenalty?: number }

/** Times `generate` for one batch size (random prompts, no eos; temperature 1, top-k 50 unless `sampling` says otherwise). */
export async function measureSampling(lm: CausalLM, o: { batch: number; promptTokens?: number; newTokens?: number; seed?: number; sampling?: SamplingBenchSettings }): Promise<SamplingBenchResult> {
  const promptTokens = o.promptTokens ?? 64, newTokens = o.newTokens ?? 64;
  const rng = new Rng(o.seed ?? 1);
  const prompts = Array.from({ length: o.batch }, () => Array.from({ length: promptTokens }, () => rng.int(lm.config.vocabSize)));
  await generate(lm, prompts.slice(0, 1), { maxNewTokens: 2, eosTokenIds: [] }); // sessions compiled
  const t0 = performance.now();
  const r = await generate(lm, prompts, { maxNewTokens: newTokens, eosTokenIds: [], topK: 50, ...o.sampling, seed: 2 });
  const seconds = (performance.now() - t0) / 1000;
  const n = r.tokens.reduce((s, t) => s + t.length, 0);
  return { batch: o.batch, promptTokens, newTokens, seconds, tokensPerSecond: n / seconds };
}

/** Milliseconds per decode step (batch 1) after `context` cached tokens: best of `rounds`, `steps` each. */
export async function measureDecodeAtContext(lm: CausalLM, context: number, o: { steps?: number; rounds?: number } = {}): Promise<number> {
  const steps = o.steps ?? 20, rounds = o.rounds ?? 2;
  let best = Infinity;
  for (let r = 0; r < rounds; r++) {
    const cache = lm.newCache(1, context + steps + 4);
    await lm.prefill(cache, [Array.from({ length: context }, (_, i) => (i * 31 + 7) % lm.config.vocabSize)]);
    await lm.step(cache, [1]);
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) await lm.step(cache, [1]);
    best = Math.min(best, (performance.now() - t0) / steps);
  }
  return best;
}

export interface LoraStepBenchResult {
  parameters: number;
  seq: number;
  /** Forward (logits of the last position) tokens per second over one sequence of `seq`. */
  forwardTokensPerSecond: number;
  /** One LoRA training step: forward + backward through the frozen model + AdamW on A/B. */
  loraStepSeconds: number;
  /** Peak resident memory of this process so far (bytes). */
  peakRssBytes: number;
}

/**
 * For a config (random weights, e.g. DeepSeek-Coder-1.3B's): forward rate at one sequence of `seq` and the
 * time of one LoRA (r 16, q/k/v/o) training step on it. Needs ~4× the fp32 weight size in memory.
 */
export async function measureLoraStep(config: ModelConfig, o: { seq?: number; r?: number; session?: SessionOptions; seed?: number } = {}): Promise<LoraStepBenchResult> {
  const seq = o.seq ?? 512;
  const ck: Checkpoint = { config, weights: randomWeights(config, o.seed ?? 0) };
  const session: SessionOptions = o.session ?? {};
  const rng = new Rng(3);
  const ids = Array.from({ length: seq }, () => rng.int(config.vocabSize));

  const lm = new CausalLM(ck, { session });
  const cache0 = lm.newCache(1, seq);
  await lm.prefill(cache0, [ids.slice(0, 8)]); // compile
  const cache = lm.newCache(1, seq);
  const t0 = performance.now();
  await lm.prefill(cache, [ids]);
  const forwardTokensPerSecond = seq / ((performance.now() - t0) / 1000);
  await releaseSessions(lm.graph); // its copy of the weights inside ORT is not needed for the step

  const adapter = LoraAdapter.init(config, { r: o.r ?? 16 }, 1);
  const g = new Graph({ name: 'lora-step', contribOps: true });
  const t = appendDecoder(g, ck, decoderInputs(g, config, false), { lora: adapter.config, dropout: true });
  const targets = g.input('targets', 'int64', ['batch', 'seq']);
  const loss = op.neg(op.mean(tokenLogProbs(t.logits, targets)));
  const params = adapter.parameters();
  const wrt = params.map((p) => t.trainable.get(p.name)!);
  gradients(loss, wrt).forEach((d, i) => g.output(`grad:${wrt[i].name}`, d));
  g.output('loss', loss);
  const exe = await compile(g, ['loss', ...wrt.map((w) => `grad:${w.name}`)], session);
  const adam = new AdamW(params, { lr: 1e-4 });
  const x = BigInt64Array.from(ids, BigInt), y = BigInt64Array.from([...ids.slice(1), 0], BigInt);
  const feeds: Record<string, Feed> = {
    input_ids: { data: x, dims: [1, seq] }, targets: { data: y, dims: [1, seq] },
    position_ids: { data: BigInt64Array.from({ length: seq }, (_, i) => BigInt(i)), dims: [1, seq] },
    attn_bias: { data: attentionBias(1, seq, 0, null, 0, new Uint8Array(seq).fill(1)), dims: [1, 1, 1, seq, seq] },
    ...adapter.feeds(),
  };
  const t1 = performance.now();
  const out = await exe.run({ ...feeds, [LORA_DROPOUT_KEEP]: Float32Array.of(1 - adapter.config.dropout) });
  const grads = wrt.map((w) => out[`grad:${w.name}`].data as Float32Array);
  clipGradNorm(grads, 1);
  adam.update(grads);
  const loraStepSeconds = (performance.now() - t1) / 1000;
  return { parameters: checkpointParameters(ck), seq, forwardTokensPerSecond, loraStepSeconds, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
}
