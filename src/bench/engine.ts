// `securecoderl bench engine`: what the engine and the model do on this machine, in one run.
//  - ORT's fp32 matmul rate: several MatMul nodes chained in one graph, outputs kept inside ORT (the
//    reference for utilisation; a one-node session copying its output to JS would understate it).
//  - Training throughput of a ~10M-parameter Llama-style model at sequence 512 (forward + backward in one
//    session run, gradients to JS, AdamW in JS), and its utilisation: 6 × params × tokens per step over
//    the matmul rate (issue 3's target ≥ 60%), with the matmul rate probed between steps and the fastest
//    figures of each used (the machine is shared).
//  - The same model's training step built by the model module and run by the trainers' code (PolicyGraph's
//    sftStep, clipping, AdamW), full fine-tuning and LoRA r 16, against the same matmul rate (issue 10).
//  - Sampling tokens/s at batch 1 and 16 (and at 16 with the paper's settings, the full softmax and greedy) and the decode cost per token at 128 vs 1024 tokens of context,
//    with the model module's CausalLM on a random model of the same shape.
//  - For DeepSeek-Coder-1.3B's exact config with random weights (never downloaded): forward tokens/s and
//    one LoRA (r 16) training step's time and peak memory at sequence 512 — only where the memory allows.

import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import { DECODER_10M, DecoderTrainBench, measureMatmulGflops, type DecoderBenchConfig } from '../engine/index.js';
import { CausalLM, parseConfig, parameterCount, tinyModel, type ModelConfig } from '../model/index.js';
import { measureDecodeAtContext, measureLoraStep, measureSampling } from '../model/bench.js';
import type { LoraConfig } from '../model/lora.js';
import { ModelTrainBench } from './model-train.js';

/** DeepSeek-Coder-1.3B's config.json fields (as published); the weights are random. */
export const DEEPSEEK_CODER_1_3B_CONFIG = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32256, hidden_size: 2048,
  intermediate_size: 5504, num_hidden_layers: 24, num_attention_heads: 16, num_key_value_heads: 16,
  hidden_act: 'silu', max_position_embeddings: 16384, rms_norm_eps: 1e-6, rope_theta: 100000,
  rope_scaling: { factor: 4.0, type: 'linear' }, tie_word_embeddings: false, bos_token_id: 32013,
  eos_token_id: 32021, torch_dtype: 'bfloat16', pretraining_tp: 1, attention_bias: false,
};

export interface EngineBenchOptions {
  /** ORT intra-op threads (default: all cores). */
  threads?: number;
  /** Tiny sizes everywhere and no 1.3B model: checks that everything runs, measures nothing useful. */
  quick?: boolean;
  /** Training steps per round and rounds (defaults 3 and 3); the matmul rate is probed before each round. */
  steps?: number;
  rounds?: number;
  /**
   * The DeepSeek-Coder-1.3B measurements: 'auto' (default) runs them when free memory exceeds their
   * estimate, 'on' always, 'off' never.
   */
  large?: 'auto' | 'on' | 'off';
  log?: (line: string) => void;
}

export interface EngineBenchResult {
  cores: number;
  threads: number;
  /** In-graph fp32 matmul rate (fastest probe), GFLOP/s. */
  matmul_gflops: number;
  train_config: DecoderBenchConfig;
  train_params: number;
  /** Fastest step (forward + backward + AdamW), and the median. */
  train_step_ms: number;
  train_step_ms_median: number;
  train_adamw_ms: number;
  train_tokens_per_s: number;
  /** 6 × params × tokens / step time, as a fraction of matmul_gflops. */
  train_utilization: number;
  /** FLOPs the step's matmuls really execute (weights without the embedding gather, attention) per second. */
  train_executed_matmul_gflops: number;
  /**
   * The same shape built by the model module, timed through the trainers' code: PolicyGraph.sftStep,
   * gradient clipping and AdamW. Full fine-tuning: fastest step, tokens/s, and 6 × params × tokens as a
   * fraction of matmul_gflops.
   */
  model_train_step_ms: number;
  model_train_tokens_per_s: number;
  model_train_utilization: number;
  /** LoRA r 16 on q/k/v/o over the frozen model, counted as (4 × base params + 6 × adapter params) × tokens. */
  model_lora_train_step_ms: number;
  model_lora_train_tokens_per_s: number;
  model_lora_train_utilization: number;
  sampling_tokens_per_s_batch1: number;
  sampling_tokens_per_s_batch16: number;
  /** Batch 16 with the paper's settings (temperature 0.7, top-p 0.95, top-k 50, repetition penalty 1.1). */
  sampling_tokens_per_s_batch16_paper: number;
  /** Batch 16, temperature 1, top-k and top-p off (a draw from the full softmax). */
  sampling_tokens_per_s_batch16_full: number;
  /** Batch 16, greedy (temperature 0): the reference the two above are compared with (issue 10: within 10%). */
  sampling_tokens_per_s_batch16_greedy: number;
  decode_ms_per_token_ctx128: number;
  decode_ms_per_token_ctx1024: number;
  /** DeepSeek-Coder-1.3B's config, random weights; null with a reason when not measured. */
  deepseek_1_3b: { parameters: number; seq: number; forward_tokens_per_s: number; lora_step_s: number; peak_rss_bytes: number } | null;
  deepseek_1_3b_skipped?: string;
  loadavg: [number, number];
}

/** The random model of the model module's training, sampling and decode figures: the training benchmark's shape (~10M). */
function samplingConfig(c: DecoderBenchConfig): Partial<ModelConfig> {
  return {
    vocabSize: c.vocab, hiddenSize: c.dim, intermediateSize: c.ffn, numLayers: c.layers, numHeads: c.heads,
    numKvHeads: c.heads, headDim: c.dim / c.heads, maxPositionEmbeddings: 4096, eosTokenIds: [],
  };
}

export async function benchEngine(o: EngineBenchOptions = {}): Promise<EngineBenchResult> {
  const log = o.log ?? (() => {});
  const threads = o.threads ?? availableParallelism();
  const session = { threads };
  const quick = o.quick ?? false;
  const steps = quick ? 1 : (o.steps ?? 3), rounds = quick ? 1 : (o.rounds ?? 3);
  const load0 = loadavg()[0];
  log(`${availableParallelism()} cores, ${threads} ORT threads, load average ${load0.toFixed(2)}`);

  // Matmul rate and training, interleaved: a probe before each round of steps, the fastest of each kept.
  const mm = quick ? { n: 128, chain: 2, iters: 2 } : { iters: 5 };
  let matmul = 0;
  const probe = async () => { matmul = Math.max(matmul, (await measureMatmulGflops({ ...mm, session })).gflopsBest); };
  const timeSteps = async (step: () => Promise<{ total: number; adam: number }>) => {
    await step(); // warm-up
    const times: { total: number; adam: number }[] = [];
    for (let r = 0; r < rounds; r++) {
      await probe();
      for (let s = 0; s < steps; s++) times.push(await step());
    }
    const totals = times.map((t) => t.total).sort((a, b) => a - b);
    return { best: totals[0], median: totals[Math.floor(totals.length / 2)], adam: Math.min(...times.map((t) => t.adam)) };
  };
  const cfg: DecoderBenchConfig = quick ? { layers: 1, dim: 32, heads: 2, ffn: 64, vocab: 64, batch: 2, seq: 16 } : DECODER_10M;
  const train = await DecoderTrainBench.create(cfg, {}, session);
  const bt = await timeSteps(async () => { const t = await train.step(); return { total: t.fwdBwdMs + t.optimizerMs, adam: t.optimizerMs }; });
  await train.release();

  // The same shape through the model module: the trainers' PolicyGraph and its sftStep (full and LoRA r 16).
  const ck = tinyModel({ ...samplingConfig(cfg), seed: 1 });
  const modelSteps = async (lora?: Partial<LoraConfig>) => {
    const m = ModelTrainBench.create(ck, { batch: cfg.batch, seq: cfg.seq, lora, session });
    const t = await timeSteps(async () => { const r = await m.step(); return { total: r.totalMs, adam: r.optimizerMs }; });
    await m.release();
    return { ...t, tokens: m.tokens, flops: m.modelFlops, trainable: m.trainableParams };
  };
  const full = await modelSteps();
  const lora = await modelSteps({ r: 16, alpha: 32, dropout: 0, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
  await probe();

  const utilization = train.modelFlops / (bt.best * 1e6) / matmul;
  const util = (m: typeof full) => m.flops / (m.best * 1e6) / matmul;
  log(`matmul (${quick ? '128²×2' : '8 × 1024²'} chained in one graph, outputs kept in ORT): ${matmul.toFixed(1)} GFLOP/s`);
  log(`training, ${(train.params / 1e6).toFixed(2)}M params (${cfg.layers} layers, d ${cfg.dim}, ${cfg.heads} heads, SwiGLU ${cfg.ffn}, vocab ${cfg.vocab}), batch ${cfg.batch} × ${cfg.seq}: ` +
    `${bt.best.toFixed(0)} ms per step (median ${bt.median.toFixed(0)}; AdamW ${bt.adam.toFixed(0)}) = ` +
    `${(train.tokens / (bt.best / 1000)).toFixed(0)} tokens/s, ${(100 * utilization).toFixed(1)}% of the matmul rate (6 × params × tokens); ` +
    `executed matmuls ${(train.matmulFlops / (bt.best * 1e6)).toFixed(0)} GFLOP/s`);
  log(`model module (PolicyGraph.sftStep + clipping + AdamW), full fine-tuning: ${full.best.toFixed(0)} ms per step (median ${full.median.toFixed(0)}; ` +
    `clip + AdamW ${full.adam.toFixed(0)}) = ${(full.tokens / (full.best / 1000)).toFixed(0)} tokens/s, ${(100 * util(full)).toFixed(1)}% (6 × params × tokens)`);
  log(`model module, LoRA r 16 on q/k/v/o (${(lora.trainable / 1e6).toFixed(2)}M trainable): ${lora.best.toFixed(0)} ms per step (median ${lora.median.toFixed(0)}; ` +
    `clip + AdamW ${lora.adam.toFixed(0)}) = ${(lora.tokens / (lora.best / 1000)).toFixed(0)} tokens/s, ${(100 * util(lora)).toFixed(1)}% ((4 × base + 6 × adapter params) × tokens)`);

  // Sampling and decode with the model module on a random model of the same shape.
  const lm = new CausalLM(ck, { session });
  const newTokens = quick ? 4 : 64, promptTokens = quick ? 4 : 64;
  const s1 = await measureSampling(lm, { batch: 1, promptTokens, newTokens });
  const s16 = await measureSampling(lm, { batch: 16, promptTokens, newTokens });
  log(`sampling (prompt ${promptTokens}, ${newTokens} new tokens, top-k 50): batch 1 ${s1.tokensPerSecond.toFixed(0)} tokens/s, batch 16 ${s16.tokensPerSecond.toFixed(0)} tokens/s`);
  // Batch 16 under three settings, interleaved over rounds, fastest of each kept (the machine is shared).
  const modes = {
    paper: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1 },
    full: { temperature: 1, topK: 0, topP: 1 },
    greedy: { temperature: 0, topK: 0 },
  };
  const best = { paper: 0, full: 0, greedy: 0 };
  for (let r = 0; r < (quick ? 1 : 3); r++) {
    for (const k of ['greedy', 'paper', 'full'] as const) {
      best[k] = Math.max(best[k], (await measureSampling(lm, { batch: 16, promptTokens, newTokens, sampling: modes[k] })).tokensPerSecond);
    }
  }
  log(`sampling, batch 16 (fastest of ${quick ? 1 : 3} interleaved rounds): greedy ${best.greedy.toFixed(0)} tokens/s; ` +
    `paper settings (T 0.7, top-p 0.95, top-k 50, repetition penalty 1.1) ${best.paper.toFixed(0)} (${(100 * best.paper / best.greedy).toFixed(0)}% of greedy); ` +
    `full softmax (T 1, top-k/top-p off) ${best.full.toFixed(0)} (${(100 * best.full / best.greedy).toFixed(0)}%)`);
  const dOpts = quick ? { steps: 2, rounds: 1 } : { steps: 20, rounds: 3 };
  const d128 = await measureDecodeAtContext(lm, 128, dOpts);
  const d1024 = await measureDecodeAtContext(lm, 1024, dOpts);
  log(`decode, batch 1: ${d128.toFixed(2)} ms per token at 128 tokens of context, ${d1024.toFixed(2)} ms at 1024 (×${(d1024 / d128).toFixed(2)})`);

  // DeepSeek-Coder-1.3B (random weights): only where the memory allows.
  let deepseek: EngineBenchResult['deepseek_1_3b'] = null;
  let skipped: string | undefined;
  const ds = parseConfig(DEEPSEEK_CODER_1_3B_CONFIG, 'DeepSeek-Coder-1.3B config');
  const need = 4 * 4 * parameterCount(ds); // the model bench's estimate: ~4× the fp32 weights
  const large = quick ? 'off' : (o.large ?? 'auto');
  if (large === 'off') skipped = quick ? 'quick run' : 'turned off';
  else if (large === 'auto' && freemem() < need) {
    skipped = `needs ~${(need / 2 ** 30).toFixed(1)} GiB, ${(freemem() / 2 ** 30).toFixed(1)} GiB free of ${(totalmem() / 2 ** 30).toFixed(1)} (force with --large on)`;
  } else {
    const r = await measureLoraStep(ds, { seq: 512, r: 16, session });
    deepseek = { parameters: r.parameters, seq: r.seq, forward_tokens_per_s: r.forwardTokensPerSecond, lora_step_s: r.loraStepSeconds, peak_rss_bytes: r.peakRssBytes };
  }
  if (deepseek) {
    log(`DeepSeek-Coder-1.3B config (${(deepseek.parameters / 1e9).toFixed(2)}B params, random weights): forward ${deepseek.forward_tokens_per_s.toFixed(1)} tokens/s at ${deepseek.seq}; ` +
      `LoRA r 16 step ${deepseek.lora_step_s.toFixed(1)} s; peak RSS ${(deepseek.peak_rss_bytes / 2 ** 30).toFixed(1)} GiB`);
  } else {
    log(`DeepSeek-Coder-1.3B config: not measured (${skipped})`);
  }
  const load1 = loadavg()[0];
  log(`load average (1 min) before/after: ${load0.toFixed(2)} / ${load1.toFixed(2)}`);
  return {
    cores: availableParallelism(), threads, matmul_gflops: matmul,
    train_config: cfg, train_params: train.params, train_step_ms: bt.best, train_step_ms_median: bt.median,
    train_adamw_ms: bt.adam, train_tokens_per_s: train.tokens / (bt.best / 1000), train_utilization: utilization,
    train_executed_matmul_gflops: train.matmulFlops / (bt.best * 1e6),
    model_train_step_ms: full.best, model_train_tokens_per_s: full.tokens / (full.best / 1000), model_train_utilization: util(full),
    model_lora_train_step_ms: lora.best, model_lora_train_tokens_per_s: lora.tokens / (lora.best / 1000), model_lora_train_utilization: util(lora),
    sampling_tokens_per_s_batch1: s1.tokensPerSecond, sampling_tokens_per_s_batch16: s16.tokensPerSecond,
    sampling_tokens_per_s_batch16_paper: best.paper, sampling_tokens_per_s_batch16_full: best.full, sampling_tokens_per_s_batch16_greedy: best.greedy,
    decode_ms_per_token_ctx128: d128, decode_ms_per_token_ctx1024: d1024,
    deepseek_1_3b: deepseek, ...(skipped ? { deepseek_1_3b_skipped: skipped } : {}),
    loadavg: [load0, load1],
  };
}
