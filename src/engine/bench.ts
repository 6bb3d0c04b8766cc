// Engine measurements for `bench engine`: the in-graph matmul rate (the reference for model-FLOP
// utilisation), one forward+backward(+AdamW) step of a 2-layer MLP, and a training step of a Llama-style
// decoder built from the engine's layers.

import { performance } from 'node:perf_hooks';
import { gradients } from './autodiff.js';
import { Graph } from './graph.js';
import { attention, attentionUnfused, crossEntropy, headTokenLogProbs, linear, rmsNorm, rope, rotary, silu, swiglu } from './nn.js';
import * as op from './ops.js';
import { AdamW } from './optim.js';
import { compile, releaseSessions, type Executable, type Feed, type Output, type SessionOptions } from './session.js';
import type { Tensor } from './tensor.js';

export interface MatmulBenchOptions {
  /** Square matrix size (default 1024). */
  n?: number;
  /** MatMul nodes chained in one graph (default 8). */
  chain?: number;
  /** Weights as graph inputs, like trainable weights (default), or initializers, which ORT may prepack. */
  weights?: 'inputs' | 'initializers';
  /** Return the last product to JS instead of its sum (shows what output copies cost; default false). */
  returnOutput?: boolean;
  /** Timed runs after `warmup` untimed ones (defaults 5 and 2). */
  iters?: number;
  warmup?: number;
  session?: SessionOptions;
}

export interface MatmulBenchResult {
  /** From the median run time. */
  gflops: number;
  /** From the fastest run. */
  gflopsBest: number;
  msPerRun: number;
  flopsPerRun: number;
  n: number;
  chain: number;
  weights: 'inputs' | 'initializers';
  threads: number | undefined;
}

/** Deterministic values in [−s, s) (a tiny LCG: benchmark data only needs to be finite and non-trivial). */
function fill(n: number, s: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; a[i] = (x / 2 ** 32 * 2 - 1) * s; }
  return a;
}

/** Median and fastest of `iters` timed runs. On a shared machine the fastest is the closest to what the
 * hardware does; the median is what a run of many steps sees. Both are reported. */
async function timeRuns(fn: () => Promise<unknown>, iters: number, warmup: number): Promise<{ median: number; best: number }> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iters; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], best: times[0] };
}

/**
 * GFLOP/s of fp32 matmul inside ORT: `chain` n×n MatMuls in one graph with only a scalar returned to JS,
 * so output copies do not dilute the figure (one MatMul whose output goes to JS shows about half).
 */
export async function measureMatmulGflops(opts: MatmulBenchOptions = {}): Promise<MatmulBenchResult> {
  const n = opts.n ?? 1024, chain = opts.chain ?? 8, weights = opts.weights ?? 'inputs';
  const g = new Graph({ name: `matmul-${n}x${chain}` });
  const x = g.input('x', 'float32', [n, n]);
  const feeds: Record<string, Float32Array> = { x: fill(n * n, 1, 1) };
  let y: Tensor = x;
  for (let i = 0; i < chain; i++) {
    const data = fill(n * n, Math.sqrt(3 / n), i + 2); // keeps activations at unit scale along the chain
    const W = weights === 'inputs' ? g.input(`W${i}`, 'float32', [n, n]) : g.initializer(`W${i}`, data, [n, n]);
    if (weights === 'inputs') feeds[`W${i}`] = data;
    y = op.matmul(y, W);
  }
  g.output('s', opts.returnOutput ? y : op.sum(y));
  const exe = await compile(g, ['s'], opts.session);
  const t = await timeRuns(() => exe.run(feeds), opts.iters ?? 5, opts.warmup ?? 2);
  await releaseSessions(g);
  const flopsPerRun = 2 * n * n * n * chain;
  return {
    gflops: flopsPerRun / (t.median * 1e6), gflopsBest: flopsPerRun / (t.best * 1e6), msPerRun: t.median,
    flopsPerRun, n, chain, weights, threads: opts.session?.threads,
  };
}

export interface MlpBenchOptions {
  /** Rows per step (tokens), model width and hidden width (defaults 1024, 1024, 4096). */
  rows?: number;
  dim?: number;
  hidden?: number;
  /** Also time an AdamW update of the weights in JS (default true). */
  optimizer?: boolean;
  iters?: number;
  warmup?: number;
  session?: SessionOptions;
}

export interface MlpBenchResult {
  /** Forward + backward in one session run, gradients returned to JS (median; and the fastest run). */
  msPerStep: number;
  msPerStepBest: number;
  /** AdamW over all weights in JS (0 when not measured). */
  msOptimizer: number;
  /**
   * Matmul FLOPs per step over the forward+backward time: 5 × params × rows (forward 2, weight gradients 2,
   * the hidden layer's input gradient 1; the input x needs none).
   */
  gflops: number;
  gflopsBest: number;
  /** The same (median) including the optimizer time. */
  gflopsWithOptimizer: number;
  params: number;
  rows: number;
}

/**
 * One training step of a SiLU MLP (x → W1 → silu → W2, squared-error loss): forward and backward in one
 * graph, weight gradients returned to JS, then optionally AdamW in JS.
 */
export async function measureMlpStep(opts: MlpBenchOptions = {}): Promise<MlpBenchResult> {
  const rows = opts.rows ?? 1024, d = opts.dim ?? 1024, h = opts.hidden ?? 4096;
  const g = new Graph({ name: `mlp-${rows}-${d}-${h}` });
  const x = g.input('x', 'float32', ['rows', d]), target = g.input('target', 'float32', ['rows', d]);
  const W1 = g.input('W1', 'float32', [h, d]), W2 = g.input('W2', 'float32', [d, h]);
  const err = op.sub(linear(silu(linear(x, W1)), W2), target);
  const loss = op.mean(op.mul(err, err));
  const [dW1, dW2] = gradients(loss, [W1, W2]);
  g.output('loss', loss); g.output('dW1', dW1); g.output('dW2', dW2);
  const exe = await compile(g, ['loss', 'dW1', 'dW2'], opts.session);

  const w1 = fill(h * d, Math.sqrt(3 / d), 7), w2 = fill(d * h, Math.sqrt(3 / h), 8);
  const feeds = { x: { data: fill(rows * d, 1, 5), dims: [rows, d] }, target: { data: fill(rows * d, 1, 6), dims: [rows, d] }, W1: w1, W2: w2 };
  let grads: Float32Array[] = [];
  const step = await timeRuns(async () => {
    const out = await exe.run(feeds);
    grads = [out.dW1.data as Float32Array, out.dW2.data as Float32Array];
  }, opts.iters ?? 5, opts.warmup ?? 2);
  let msOptimizer = 0;
  if (opts.optimizer ?? true) {
    const adam = new AdamW([{ name: 'W1', data: w1 }, { name: 'W2', data: w2 }], { lr: 1e-4 });
    msOptimizer = (await timeRuns(async () => adam.update(grads), 3, 1)).median;
  }
  await releaseSessions(g);
  const params = 2 * d * h;
  const flops = 5 * params * rows;
  return {
    msPerStep: step.median, msPerStepBest: step.best, msOptimizer,
    gflops: flops / (step.median * 1e6), gflopsBest: flops / (step.best * 1e6),
    gflopsWithOptimizer: flops / ((step.median + msOptimizer) * 1e6), params, rows,
  };
}

// ---- a Llama-style decoder training step ---------------------------------------------------------

/** The shape of the benchmark decoder (untied embedding and head, SwiGLU MLP, RMSNorm, RoPE). */
export interface DecoderBenchConfig {
  layers: number;
  dim: number;
  heads: number;
  ffn: number;
  vocab: number;
  batch: number;
  seq: number;
}

/** DESIGN.md's prototype ("Engine notes"): 6.84M parameters, batch 8 × 512. */
export const PROTOTYPE_DECODER: DecoderBenchConfig = { layers: 6, dim: 256, heads: 4, ffn: 688, vocab: 4096, batch: 8, seq: 512 };
/** The ~10M-parameter model of `bench engine` (issue 3): 6 layers, d 320, 5 heads of 64, SwiGLU 864, 10.06M. */
export const DECODER_10M: DecoderBenchConfig = { layers: 6, dim: 320, heads: 5, ffn: 864, vocab: 4096, batch: 8, seq: 512 };

/** Which engine features the benchmark graph uses (defaults: the fastest measured). */
export interface DecoderBenchVariant {
  /** com.microsoft ops allowed (FusedMatMul; default true). */
  contribOps?: boolean;
  /** `attention`'s causalBlocks (default 2). */
  causalBlocks?: number;
  /** The chain-rule attention instead of the fused region (default false). */
  unfusedAttention?: boolean;
  /** rmsNorm's forward as ORT's SimplifiedLayerNormalization kernel (default true). */
  normKernel?: boolean;
  /** RoPE by `rotary` (ORT's RotaryEmbedding kernel, default true) rather than `rope` (standard ops). */
  rotary?: boolean;
  /** The loss by `headTokenLogProbs` (head and log-probs in one region, default true) rather than crossEntropy(linear(…)). */
  headLoss?: boolean;
  /** AdamW by its plain JS loop rather than the WebAssembly kernel (default false). */
  jsOptimizer?: boolean;
  /** Gradients written by ORT into preallocated JS buffers (default true) rather than copied out. */
  preallocated?: boolean;
}

export interface DecoderStepTiming {
  /** One session run: forward, backward, loss and all gradients returned to JS. */
  fwdBwdMs: number;
  /** AdamW over all parameters in JS. */
  optimizerMs: number;
  /** Process CPU time of the session run (all threads). */
  cpuMs: number;
  loss: number;
}

/**
 * A training step of a Llama-style decoder built by this engine, all weights trainable: forward and
 * backward in one session run, the gradients returned to JS, then AdamW in JS. `create` builds and
 * compiles; `step` runs one step (call it a few times: the first runs are warm-up).
 */
export class DecoderTrainBench {
  private constructor(
    readonly config: DecoderBenchConfig,
    readonly variant: DecoderBenchVariant,
    /** Parameters, all of them (the embedding table included, as DESIGN.md's 6 × params × tokens counts). */
    readonly params: number,
    /** Matmul FLOPs one step really executes: weights (embedding gather excluded) and attention scores. */
    readonly matmulFlops: number,
    readonly nodes: number,
    readonly compileMs: number,
    private readonly graph: Graph,
    private readonly exe: Executable,
    private readonly feeds: Record<string, Feed>,
    private readonly gradNames: string[],
    private readonly adam: AdamW,
    private readonly into: Record<string, Output> | undefined,
  ) {}

  get tokens(): number { return this.config.batch * this.config.seq; }
  /** 6 × params × tokens: the model FLOPs utilisation counts. */
  get modelFlops(): number { return 6 * this.params * this.tokens; }

  static async create(config: DecoderBenchConfig, variant: DecoderBenchVariant = {}, session: SessionOptions = {}): Promise<DecoderTrainBench> {
    const c = config, dh = c.dim / c.heads;
    if (!Number.isInteger(dh) || dh % 2 !== 0) throw new Error(`decoder bench: dim ${c.dim} / heads ${c.heads} must be an even head size`);
    const g = new Graph({ name: 'decoder-train-bench', contribOps: variant.contribOps ?? true });
    const ids = g.input('ids', 'int64', ['batch', 'seq']), targets = g.input('targets', 'int64', ['batch', 'seq']);
    const cos = g.input('cos', 'float32', ['seq', dh]), sin = g.input('sin', 'float32', ['seq', dh]);
    const positions = g.input('positions', 'int64', ['batch', 'seq']);
    const cosHalf = g.input('cos_cache', 'float32', [c.seq, dh / 2]), sinHalf = g.input('sin_cache', 'float32', [c.seq, dh / 2]);
    const mask = g.input('mask', 'float32', ['seq', 'seq']);
    const shapes: [string, number[]][] = [['embed', [c.vocab, c.dim]], ['head', [c.vocab, c.dim]], ['norm_f', [c.dim]]];
    for (let l = 0; l < c.layers; l++) {
      shapes.push([`l${l}.n1`, [c.dim]], [`l${l}.q`, [c.dim, c.dim]], [`l${l}.k`, [c.dim, c.dim]], [`l${l}.v`, [c.dim, c.dim]],
        [`l${l}.o`, [c.dim, c.dim]], [`l${l}.n2`, [c.dim]], [`l${l}.gate`, [c.ffn, c.dim]], [`l${l}.up`, [c.ffn, c.dim]], [`l${l}.down`, [c.dim, c.ffn]]);
    }
    const w = new Map<string, Tensor>(shapes.map(([n, s]) => [n, g.input(n, 'float32', s)]));
    const W = (n: string) => w.get(n)!;
    const heads = (t: Tensor) => op.transpose(op.reshape(t, ['batch', 'seq', c.heads, dh]), [0, 2, 1, 3]);
    const attend = variant.unfusedAttention ? attentionUnfused : attention;
    const norm = (t: Tensor, wt: Tensor) => rmsNorm(t, wt, 1e-5, { kernel: variant.normKernel ?? true });
    const rot = (t: Tensor) => ((variant.rotary ?? true) ? rotary(t, positions, cosHalf, sinHalf) : rope(t, cos, sin));
    let x = op.gather(W('embed'), ids, 0);
    for (let l = 0; l < c.layers; l++) {
      const h = norm(x, W(`l${l}.n1`));
      const q = rot(heads(linear(h, W(`l${l}.q`)))), k = rot(heads(linear(h, W(`l${l}.k`))));
      const v = heads(linear(h, W(`l${l}.v`)));
      const a = attend(q, k, v, { mask, causalBlocks: variant.causalBlocks ?? 2 });
      x = op.add(x, linear(op.reshape(op.transpose(a, [0, 2, 1, 3]), ['batch', 'seq', c.dim]), W(`l${l}.o`)));
      const h2 = norm(x, W(`l${l}.n2`));
      x = op.add(x, linear(swiglu(linear(h2, W(`l${l}.gate`)), linear(h2, W(`l${l}.up`))), W(`l${l}.down`)));
    }
    const hf = norm(x, W('norm_f'));
    const loss = (variant.headLoss ?? true) ? op.neg(op.mean(headTokenLogProbs(hf, W('head'), targets))) : crossEntropy(linear(hf, W('head')), targets);
    const params = [...w.values()];
    gradients(loss, params).forEach((d, i) => g.output(`grad:${params[i].name}`, d));
    g.output('loss', loss);
    const gradNames = params.map((t) => `grad:${t.name}`);
    const t0 = performance.now();
    const exe = await compile(g, ['loss', ...gradNames], session);
    const compileMs = performance.now() - t0;

    const B = c.batch, S = c.seq;
    const feeds: Record<string, Feed> = {
      ids: { data: BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 7919) % c.vocab)), dims: [B, S] },
      targets: { data: BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 104729 + 1) % c.vocab)), dims: [B, S] },
    };
    const cosD = new Float32Array(S * dh), sinD = new Float32Array(S * dh), maskD = new Float32Array(S * S);
    for (let p = 0; p < S; p++) {
      for (let i = 0; i < dh; i++) {
        const ang = p / 10000 ** ((2 * (i % (dh / 2))) / dh);
        cosD[p * dh + i] = Math.cos(ang); sinD[p * dh + i] = Math.sin(ang);
      }
      for (let j = p + 1; j < S; j++) maskD[p * S + j] = -1e9;
    }
    feeds.cos = { data: cosD, dims: [S, dh] }; feeds.sin = { data: sinD, dims: [S, dh] }; feeds.mask = { data: maskD, dims: [S, S] };
    const cosH = new Float32Array(S * dh / 2), sinH = new Float32Array(S * dh / 2);
    for (let p = 0; p < S; p++) for (let i = 0; i < dh / 2; i++) { cosH[p * dh / 2 + i] = cosD[p * dh + i]; sinH[p * dh / 2 + i] = sinD[p * dh + i]; }
    feeds.cos_cache = cosH; feeds.sin_cache = sinH;
    feeds.positions = { data: BigInt64Array.from({ length: B * S }, (_, i) => BigInt(i % S)), dims: [B, S] };
    const data = shapes.map(([n, s], i) => {
      const size = s.reduce((p, q) => p * q, 1);
      const arr = s.length === 1 ? new Float32Array(size).fill(1) : fill(size, 0.02 * Math.sqrt(3), i + 1);
      feeds[n] = arr;
      return { name: n, data: arr, decay: s.length > 1 };
    });
    const nParams = data.reduce((p, d) => p + d.data.length, 0);
    const embed = c.vocab * c.dim;
    const tokens = B * S;
    // Attention: q·kᵀ and P·v forward (2 · 2·S²·dh per head), twice that backward; block-causal computes
    // (n+1)/2n of the square.
    const n = variant.unfusedAttention ? 1 : (variant.causalBlocks ?? 2), cb = Math.ceil(S / n);
    let pairs = 0;
    for (let i = 0; i * cb < S; i++) pairs += Math.min(cb, S - i * cb) * Math.min((i + 1) * cb, S);
    const attnFlops = c.layers * B * c.heads * 3 * 2 * 2 * pairs * dh;
    const matmulFlops = 6 * (nParams - embed - (2 * c.layers + 1) * c.dim) * tokens + attnFlops;
    const wasm = AdamW.useWasm;
    AdamW.useWasm = !variant.jsOptimizer;
    const adam = new AdamW(data, { lr: 1e-3 });
    AdamW.useWasm = wasm;
    const into = (variant.preallocated ?? true) ? Object.fromEntries(shapes.map(([n, sh]) => [`grad:${n}`,
      { data: new Float32Array(sh.reduce((p, q) => p * q, 1)), dims: sh }])) : undefined;
    return new DecoderTrainBench(config, variant, nParams, matmulFlops, g.nodes.length, compileMs, g, exe, feeds, gradNames, adam, into);
  }

  async step(): Promise<DecoderStepTiming> {
    const c0 = process.cpuUsage();
    const a = performance.now();
    const out = await this.exe.run(this.feeds, this.into);
    const b = performance.now();
    const cu = process.cpuUsage(c0);
    const wasm = AdamW.useWasm;
    AdamW.useWasm = !this.variant.jsOptimizer;
    try {
      this.adam.update(this.gradNames.map((n) => out[n].data as Float32Array));
    } finally {
      AdamW.useWasm = wasm;
    }
    const c = performance.now();
    return { fwdBwdMs: b - a, optimizerMs: c - b, cpuMs: (cu.user + cu.system) / 1000, loss: Number(out.loss.data[0]) };
  }

  /** Ends ORT profiling (when the session was created with `profile`). */
  endProfiling(): void { this.exe.endProfiling(); }

  async release(): Promise<void> { await releaseSessions(this.graph); }
}
