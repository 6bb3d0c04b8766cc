// How fast is a training step of a graph the engine builds? A Llama-style decoder (default: DESIGN.md's
// prototype, "Engine notes": 6 layers, d 256, 4 heads, SwiGLU 688, vocab 4096, batch 8 × 512), all weights
// trainable, forward + backward in one session run, then AdamW in JS; utilisation counted as
// 6 × params × tokens (all parameters, the embedding included, as DESIGN.md counts) over the in-graph
// matmul rate measured in the same process.
//
// Variants of the engine's features are compared in interleaved rounds in one process (this machine is
// shared: absolute times move with other people's jobs, so compare ratios taken in one run). A variant is
// features joined by '+': base (the engine before this round: fused regions, FusedMatMul, composed RMSNorm
// forward, rope by standard ops) or best (DecoderTrainBench's defaults), then std (no contrib ops), unfused
// (chain-rule attention), norm (SimplifiedLayerNormalization forward), rot (RotaryEmbedding), head (LM head and
// log-probs in one region), cbN (attention in N causal blocks), wasm / jsadam (AdamW's WebAssembly kernel or
// the JS loop), prealloc / copyout (gradients written into preallocated JS buffers, or copied out).
//
// Run: npx tsc -p . && node dist/bench/engine-decoder.js [--variants base,cb4] [--config prototype|10m]
//      [--layers N] [--batch N] [--seq N] [--steps N] [--rounds N] [--json] [--profile [--profile-top N]]
//      [--no-spinning]
// This is a measurement of the engine, not the model module's decoder (which owns the real one).

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DECODER_10M, DecoderTrainBench, PROTOTYPE_DECODER, measureMatmulGflops, type DecoderBenchVariant, type DecoderStepTiming,
} from '../src/engine/index.js';

const args = process.argv.slice(2);
const str = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const num = (name: string, d: number) => { const v = str(name); return v !== undefined ? Number(v) : d; };
const json = args.includes('--json');
const profile = args.includes('--profile'); // print ORT's time per op type
const topNodes = num('profile-top', 0); // with --profile: also the N costliest (op, output shape) groups
// ORT's worker threads spin between ops by default; without spinning, the process's CPU time per step
// is close to the work done and barely moves with other people's jobs — a steadier figure to compare.
const spinning = !args.includes('--no-spinning');
const base = str('config') === '10m' ? DECODER_10M : PROTOTYPE_DECODER;
const cfg = { ...base, layers: num('layers', base.layers), batch: num('batch', base.batch), seq: num('seq', base.seq) };
const steps = num('steps', 3), rounds = num('rounds', 2);
const names = (str('variants') ?? 'base,cb4').split(',');

function parseVariant(spec: string): DecoderBenchVariant {
  // 'base' is the engine before this round of work: composed RMSNorm forward, rope by standard ops.
  const v: DecoderBenchVariant = spec.startsWith('best') ? {} : { normKernel: false, rotary: false, headLoss: false, causalBlocks: 1, jsOptimizer: true, preallocated: false };
  for (const f of spec.split('+')) {
    if (f === 'base' || f === 'best') continue;
    else if (f === 'std') v.contribOps = false;
    else if (f === 'norm') v.normKernel = true;
    else if (f === 'rot') v.rotary = true;
    else if (f === 'head') v.headLoss = true;
    else if (f === 'wasm') v.jsOptimizer = false;
    else if (f === 'jsadam') v.jsOptimizer = true;
    else if (f === 'prealloc') v.preallocated = true;
    else if (f === 'copyout') v.preallocated = false;
    else if (f === 'unfused') v.unfusedAttention = true;
    else if (/^cb\d+$/.test(f)) v.causalBlocks = Number(f.slice(2));
    else throw new Error(`unknown feature '${f}' in variant '${spec}'`);
  }
  return v;
}

const log = (s: string) => { if (!json) console.log(s); };
const load0 = loadavg()[0];
// The matmul rate is probed before each round and at the end; the fastest probe is the reference.
let matmulBest = 0;
const probe = async () => { matmulBest = Math.max(matmulBest, (await measureMatmulGflops({ iters: 5 })).gflopsBest); };

const prefix = (name: string) => join(tmpdir(), `engine-decoder-${process.pid}-${name.replace(/\W/g, '_')}`);
const benches: { name: string; b: DecoderTrainBench; times: DecoderStepTiming[] }[] = [];
for (const name of names) {
  const b = await DecoderTrainBench.create(cfg, parseVariant(name), { spinning, ...(profile ? { profile: prefix(name) } : {}) });
  await b.step(); // warm-up
  benches.push({ name, b, times: [] });
}
// Steps alternate between the variants, so each sees the same mix of quiet and busy moments.
for (let r = 0; r < rounds; r++) {
  await probe();
  for (let s = 0; s < steps; s++) for (const x of benches) x.times.push(await x.b.step());
}
await probe();

const med = (xs: number[]) => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)];
const results: Record<string, unknown> = { config: cfg, spinning, steps, rounds, matmul_gflops: matmulBest };
log(`reference in-graph matmul rate (fastest of ${rounds + 1} probes): ${matmulBest.toFixed(1)} GFLOP/s`);
let first: number | null = null;
for (const { name, b, times } of benches) {
  const total = times.map((t) => t.fwdBwdMs + t.optimizerMs);
  const best = Math.min(...total), median = med(total);
  const util = b.modelFlops / (best * 1e6) / matmulBest, tps = b.tokens / (best / 1000);
  first ??= best;
  results[name] = {
    params: b.params, nodes: b.nodes, compile_ms: b.compileMs, step_ms: best, step_ms_median: median,
    fwd_bwd_ms: Math.min(...times.map((t) => t.fwdBwdMs)), fwd_bwd_cpu_ms: Math.min(...times.map((t) => t.cpuMs)),
    adamw_ms: Math.min(...times.map((t) => t.optimizerMs)), tokens_per_s: tps, utilization: util,
    executed_matmul_gflops: b.matmulFlops / (best * 1e6), loss: times[0].loss, time_vs_first: best / first,
  };
  log(`${name.padEnd(14)} ${(b.params / 1e6).toFixed(2)}M params, ${b.nodes} nodes, compile ${b.compileMs.toFixed(0)} ms: step ${best.toFixed(0)} ms best ` +
    `(median ${median.toFixed(0)}; fwd+bwd ${Math.min(...times.map((t) => t.fwdBwdMs)).toFixed(0)}, CPU ${Math.min(...times.map((t) => t.cpuMs)).toFixed(0)}; ` +
    `AdamW ${Math.min(...times.map((t) => t.optimizerMs)).toFixed(0)}) = ${tps.toFixed(0)} tokens/s, ${(100 * util).toFixed(1)}% of the matmul rate, ` +
    `time ×${(best / first).toFixed(3)} (loss ${times[0].loss.toFixed(4)})`);
}
for (const { name, b } of benches) {
  if (profile) {
    b.endProfiling(); // ORT appends a timestamp to the prefix
    const p = prefix(name), base = p.slice(tmpdir().length + 1);
    for (const f of readdirSync(tmpdir()).filter((f) => f.startsWith(base))) printProfile(name, join(tmpdir(), f), rounds * steps + 1);
  }
  await b.release();
}
results.loadavg = [load0, loadavg()[0]];
log(`load average (1 min) before/after: ${load0.toFixed(2)} / ${loadavg()[0].toFixed(2)}`);
if (json) console.log(JSON.stringify(results));

function printProfile(name: string, file: string, runs: number): void {
  let events: { cat: string; name: string; dur: number; args?: { op_name?: string; output_type_shape?: unknown } }[];
  try { events = JSON.parse(readFileSync(file, 'utf8')); } catch { console.log(`(no profile at ${file})`); return; }
  rmSync(file, { force: true });
  const byOp = new Map<string, number>(), byNode = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const k = e.args?.op_name ?? '?';
    byOp.set(k, (byOp.get(k) ?? 0) + e.dur / 1000 / runs);
    const nk = `${k} ${JSON.stringify(e.args?.output_type_shape ?? '')}`;
    byNode.set(nk, (byNode.get(nk) ?? 0) + e.dur / 1000 / runs);
  }
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  console.log(`${name}: ORT kernel time per run ${total.toFixed(0)} ms; by op: ` +
    [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
  if (topNodes > 0) {
    console.log(`  by op and output shape (top ${topNodes}, ms per run summed over nodes):`);
    for (const [k, v] of [...byNode].sort((a, b) => b[1] - a[1]).slice(0, topNodes)) console.log(`    ${v.toFixed(1).padStart(7)}  ${k}`);
  }
}
