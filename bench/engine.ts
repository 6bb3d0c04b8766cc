// Engine benchmark: in-graph matmul rate, the cost of returning outputs to JS, and an MLP training step.
// Run: npx tsc -p . && node dist/bench/engine.js [--json] [--threads N]
// Absolute times are noise on shared machines; the ratios printed at the end are the comparable part.

import { loadavg } from 'node:os';
import { measureMatmulGflops, measureMlpStep } from '../src/engine/index.js';

const args = process.argv.slice(2);
const json = args.includes('--json');
const ti = args.indexOf('--threads');
const session = ti >= 0 ? { threads: Number(args[ti + 1]) } : {};
const log = (s: string) => { if (!json) console.log(s); };

const load0 = loadavg()[0];
const inGraph = await measureMatmulGflops({ session });
log(`matmul, ${inGraph.chain} × ${inGraph.n}² in one graph, weights as inputs:  ${inGraph.gflops.toFixed(1)} GFLOP/s (${inGraph.msPerRun.toFixed(1)} ms/run)`);
const prepacked = await measureMatmulGflops({ session, weights: 'initializers' });
log(`matmul, same, weights as initializers:              ${prepacked.gflops.toFixed(1)} GFLOP/s`);
const copied = await measureMatmulGflops({ session, chain: 1, returnOutput: true, iters: 10 });
log(`matmul, one node, output copied to JS:              ${copied.gflops.toFixed(1)} GFLOP/s`);
const mlp = await measureMlpStep({ session });
log(`MLP step (${(mlp.params / 1e6).toFixed(1)}M params, ${mlp.rows} rows), forward+backward: ${mlp.msPerStep.toFixed(1)} ms, ${mlp.gflops.toFixed(1)} GFLOP/s`);
log(`  + AdamW in JS: ${mlp.msOptimizer.toFixed(1)} ms → ${mlp.gflopsWithOptimizer.toFixed(1)} GFLOP/s`);
const load1 = loadavg()[0];
const ratios = {
  mlp_utilization: mlp.gflops / inGraph.gflops,
  one_node_copy_vs_in_graph: copied.gflops / inGraph.gflops,
  initializers_vs_inputs: prepacked.gflops / inGraph.gflops,
};
log(`ratios: MLP/matmul ${ratios.mlp_utilization.toFixed(2)}, copied/in-graph ${ratios.one_node_copy_vs_in_graph.toFixed(2)}, initializers/inputs ${ratios.initializers_vs_inputs.toFixed(2)}`);
log(`load average (1 min) before/after: ${load0.toFixed(2)} / ${load1.toFixed(2)}`);
if (json) {
  console.log(JSON.stringify({
    matmul_gflops: inGraph.gflops, matmul_gflops_initializers: prepacked.gflops, matmul_gflops_output_copied: copied.gflops,
    mlp_ms_per_step: mlp.msPerStep, mlp_optimizer_ms: mlp.msOptimizer, mlp_gflops: mlp.gflops, ...ratios, loadavg: [load0, load1],
  }));
}
