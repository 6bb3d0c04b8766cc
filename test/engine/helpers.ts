// Shared by the engine tests: a seeded PRNG and a one-op gradient check.

import assert from 'node:assert/strict';
import { checkGradients, Graph, run, sum, mul, type Feed, type Tensor, type Shape } from '../../src/engine/index.js';

/** mulberry32: small, seeded, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function uniform(r: () => number, n: number, lo = -1, hi = 1): Float64Array {
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}

export interface InputSpec {
  name: string;
  shape: Shape;
  dims?: number[];
  lo?: number;
  hi?: number;
  /** Int64 data instead of float64 (not differentiated). */
  ints?: number[];
  /** A float input that is not differentiated (e.g. one that only feeds a comparison). */
  noGrad?: boolean;
  /** Fixed float64 data instead of random values (e.g. a causal mask). */
  values?: number[];
}

/**
 * Builds `build(inputs)` in a float64 graph, makes a scalar loss Σ y ∘ R with a random R (so every output
 * element carries a different weight), and checks every float input's gradient against central differences.
 */
export async function checkOp(name: string, specs: InputSpec[], build: (xs: Tensor[], g: Graph) => Tensor,
  opts: { tol?: number; seed?: number; eps?: number } = {}): Promise<number> {
  const r = rng(opts.seed ?? 1);
  const g = new Graph({ name });
  const feeds: Record<string, Feed> = {};
  const xs = specs.map((s) => {
    const dims = s.dims ?? (s.shape as number[]);
    const n = dims.reduce((p, d) => p * d, 1);
    if (s.ints) {
      feeds[s.name] = { data: BigInt64Array.from(s.ints, BigInt), dims };
      return g.input(s.name, 'int64', s.shape);
    }
    feeds[s.name] = { data: s.values ? Float64Array.from(s.values) : uniform(r, n, s.lo, s.hi), dims };
    return g.input(s.name, 'float64', s.shape);
  });
  const y = build(xs, g);
  g.output('y', y);
  const yDims = (await run(g, ['y'], feeds, { optimization: 'basic', denormalAsZero: false, valueInfo: true })).y.dims;
  const R = g.input('R', 'float64', y.shape);
  feeds.R = { data: uniform(r, yDims.reduce((p, d) => p * d, 1)), dims: yDims };
  const loss = sum(mul(y, R));
  const wrt = xs.filter((t, i) => t.dtype === 'float64' && !specs[i].noGrad);
  const res = await checkGradients(g, loss, wrt, feeds, { eps: opts.eps, session: { valueInfo: true } });
  const tol = opts.tol ?? 1e-6;
  for (const t of res.tensors) {
    assert.ok(t.maxGrad > 0, `${name}: gradient of ${t.name} is identically zero`);
    assert.ok(t.relErr < tol, `${name}: d/d${t.name} relative error ${t.relErr.toExponential(2)} ≥ ${tol}`);
  }
  return res.worstRelErr;
}
