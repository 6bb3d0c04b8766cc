// Engine benchmark: in-graph matmul rate, the cost of returning outputs to JS, and an MLP training step.
// Run: npx tsc -p . && node dist/bench/engine.js [--json] [--threads N] [--iters N] [--rounds N]
// Shared machines: the measurements are interleaved over several rounds, and each figure is given from
// the fastest run (closest to the hardware) and the median run (what a long job sees), with the load
// average. Compare ratios taken in one run rather than absolute times across runs.

import { availableParallelism, loadavg } from 'node:os';
import { measureMatmulGflops, measureMlpStep } from '../src/engine/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const opt = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : undefined; };
const session = opt('threads') ? { threads: opt('threads') } : {};
const iters = opt('iters') ?? 5, rounds = opt('rounds') ?? 3;
const log = (s: string) => { if (!json) console.log(s); };

type Fig = { best: number; median: number[] };
const figs: Record<string, Fig> = {};
const note = (k: string, best: number, median: number) => {
  const f = (figs[k] ??= { best: -Infinity, median: [] });
  f.best = Math.max(f.best, best);
  f.median.push(median);
};
const load0 = loadavg()[0];
let mlpParams = 0, mlpRows = 0, adamMs = Infinity;
for (let r = 0; r < rounds; r++) {
  const a = await measureMatmulGflops({ session, iters });
  note('matmul', a.gflopsBest, a.gflops);
  const b = await measureMatmulGflops({ session, iters, weights: 'initializers' });
  note('matmul_initializers', b.gflopsBest, b.gflops);
  const c = await measureMatmulGflops({ session, iters: iters * 2, chain: 1, returnOutput: true });
  note('matmul_one_node_copied', c.gflopsBest, c.gflops);
  const m = await measureMlpStep({ session, iters });
  note('mlp', m.gflopsBest, m.gflops);
  note('mlp_ms', -m.msPerStepBest, m.msPerStep);
  mlpParams = m.params; mlpRows = m.rows; adamMs = Math.min(adamMs, m.msOptimizer);
}
const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const row = (label: string, k: string) => log(`${label.padEnd(58)} ${figs[k].best.toFixed(1).padStart(6)} best, ${med(figs[k].median).toFixed(1).padStart(6)} median GFLOP/s`);
row(`matmul: 8 × 1024² chained in one graph, weights as inputs`, 'matmul');
row(`matmul: the same, weights as initializers (prepacked)`, 'matmul_initializers');
row(`matmul: one node, its output copied to JS`, 'matmul_one_node_copied');
row(`MLP step (${(mlpParams / 1e6).toFixed(1)}M params, ${mlpRows} rows): fwd+bwd, grads to JS`, 'mlp');
log(`  MLP step time: ${(-figs.mlp_ms.best).toFixed(0)} ms best, ${med(figs.mlp_ms.median).toFixed(0)} ms median; AdamW in JS over its weights: ${adamMs.toFixed(0)} ms`);
const ratios = {
  mlp_vs_matmul: figs.mlp.best / figs.matmul.best,
  one_node_copied_vs_in_graph: figs.matmul_one_node_copied.best / figs.matmul.best,
  initializers_vs_inputs: figs.matmul_initializers.best / figs.matmul.best,
};
log(`ratios of the best figures: MLP/matmul ${ratios.mlp_vs_matmul.toFixed(2)}, one node copied/in-graph ${ratios.one_node_copied_vs_in_graph.toFixed(2)}, initializers/inputs ${ratios.initializers_vs_inputs.toFixed(2)}`);
const load1 = loadavg()[0];
log(`load average (1 min) before/after: ${load0.toFixed(2)} / ${load1.toFixed(2)} on this ${availableParallelism()}-core machine`);
if (json) {
  console.log(JSON.stringify({
    matmul_gflops: figs.matmul.best, matmul_gflops_median: med(figs.matmul.median),
    matmul_gflops_initializers: figs.matmul_initializers.best, matmul_gflops_one_node_copied: figs.matmul_one_node_copied.best,
    mlp_gflops: figs.mlp.best, mlp_gflops_median: med(figs.mlp.median), mlp_ms_per_step: -figs.mlp_ms.best,
    mlp_ms_per_step_median: med(figs.mlp_ms.median), mlp_adamw_ms: adamMs, mlp_params: mlpParams, mlp_rows: mlpRows,
    ...ratios, loadavg: [load0, load1],
  }));
}
