// Engine measurements for `bench engine`: the in-graph matmul rate (the reference for model-FLOP
// utilisation) and one forward+backward(+AdamW) step of a 2-layer MLP.

import { performance } from 'node:perf_hooks';
import { gradients } from './autodiff.js';
import { Graph } from './graph.js';
import { linear, silu } from './nn.js';
import * as op from './ops.js';
import { AdamW } from './optim.js';
import { compile, releaseSessions, type SessionOptions } from './session.js';
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
