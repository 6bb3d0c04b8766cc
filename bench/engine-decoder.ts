// How fast is a training step of a graph the engine builds? A Llama-style decoder with the prototype's
// config in DESIGN.md ("Engine notes": 6 layers, d 256, 4 heads, SwiGLU 688, vocab 4096, batch 8 × 512),
// all weights trainable, forward + backward in one session run, then AdamW in JS; utilisation counted as
// 6 × params × tokens (all parameters, the embedding included, as DESIGN.md counts) over the in-graph
// matmul rate measured in the same process.
// Run: npx tsc -p . && node dist/bench/engine-decoder.js [--layers N] [--batch N] [--seq N] [--steps N] [--json]
//      [--profile] [--unfused-attention] [--no-spinning]
// This is a measurement of the engine, not the model module's decoder (which owns the real one).

import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  AdamW, Graph, attention, attentionUnfused, compile, crossEntropy, gradients, linear, measureMatmulGflops, rmsNorm, rope, swiglu,
  type Feed, type Tensor,
} from '../src/engine/index.js';
import * as op from '../src/engine/ops.js';

const args = process.argv.slice(2);
const num = (name: string, d: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : d; };
const json = args.includes('--json');
const profile = args.includes('--profile'); // print ORT's time per op type
const fusedAttention = !args.includes('--unfused-attention'); // the chain-rule attention backward instead
// ORT's worker threads spin between ops by default; without spinning, the process's CPU time per step
// is close to the work done and barely moves with other people's jobs — a steadier figure to compare.
const spinning = !args.includes('--no-spinning');
const cfg = { layers: num('layers', 6), d: 256, heads: 4, ff: 688, vocab: 4096, batch: num('batch', 8), seq: num('seq', 512), steps: num('steps', 4) };
const dh = cfg.d / cfg.heads, half = dh / 2;

function build(contribOps: boolean) {
  const g = new Graph({ name: 'decoder-bench', contribOps });
  const ids = g.input('ids', 'int64', ['batch', 'seq']), targets = g.input('targets', 'int64', ['batch', 'seq']);
  const cos = g.input('cos', 'float32', ['seq', dh]), sin = g.input('sin', 'float32', ['seq', dh]);
  const mask = g.input('mask', 'float32', ['seq', 'seq']);
  const shapes: [string, number[]][] = [['embed', [cfg.vocab, cfg.d]], ['head', [cfg.vocab, cfg.d]], ['norm_f', [cfg.d]]];
  for (let l = 0; l < cfg.layers; l++) {
    shapes.push([`l${l}.n1`, [cfg.d]], [`l${l}.q`, [cfg.d, cfg.d]], [`l${l}.k`, [cfg.d, cfg.d]], [`l${l}.v`, [cfg.d, cfg.d]], [`l${l}.o`, [cfg.d, cfg.d]],
      [`l${l}.n2`, [cfg.d]], [`l${l}.gate`, [cfg.ff, cfg.d]], [`l${l}.up`, [cfg.ff, cfg.d]], [`l${l}.down`, [cfg.d, cfg.ff]]);
  }
  const w = new Map<string, Tensor>(shapes.map(([n, s]) => [n, g.input(n, 'float32', s)]));
  const W = (n: string) => w.get(n)!;
  const rot = (t: Tensor) => rope(t, cos, sin);
  const heads = (t: Tensor) => op.transpose(op.reshape(t, ['batch', 'seq', cfg.heads, dh]), [0, 2, 1, 3]);
  let x = op.gather(W('embed'), ids, 0);
  for (let l = 0; l < cfg.layers; l++) {
    const h = rmsNorm(x, W(`l${l}.n1`), 1e-5);
    const q = rot(heads(linear(h, W(`l${l}.q`)))), k = rot(heads(linear(h, W(`l${l}.k`)))), v = heads(linear(h, W(`l${l}.v`)));
    const o = op.reshape(op.transpose((fusedAttention ? attention : attentionUnfused)(q, k, v, { mask }), [0, 2, 1, 3]), ['batch', 'seq', cfg.d]);
    x = op.add(x, linear(o, W(`l${l}.o`)));
    const h2 = rmsNorm(x, W(`l${l}.n2`), 1e-5);
    x = op.add(x, linear(swiglu(linear(h2, W(`l${l}.gate`)), linear(h2, W(`l${l}.up`))), W(`l${l}.down`)));
  }
  const loss = crossEntropy(linear(rmsNorm(x, W('norm_f'), 1e-5), W('head')), targets);
  const params = [...w.values()];
  gradients(loss, params).forEach((d, i) => g.output(`grad:${params[i].name}`, d));
  g.output('loss', loss);
  return { g, params, shapes };
}

function fill(n: number, s: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; a[i] = (x / 2 ** 32 * 2 - 1) * s; }
  return a;
}

const log = (s: string) => { if (!json) console.log(s); };
const load0 = loadavg()[0];
// Shared machines: the matmul rate is probed before each variant and the fastest probe is the reference;
// steps are reported as fastest and median. Utilisation = fastest step against the fastest probe.
let matmulBest = 0;
const probe = async () => { matmulBest = Math.max(matmulBest, (await measureMatmulGflops({ iters: 5 })).gflopsBest); };

const results: Record<string, unknown> = { config: cfg, fusedAttention, spinning };
const rows: { key: string; params: number; flops: number; tokens: number; compileMs: number; fb: number; fbMedian: number; opt: number; lossV: number; cpu: number; nodes: number }[] = [];
for (const contrib of [false, true]) {
  await probe();
  const { g, params, shapes } = build(contrib);
  const names = ['loss', ...params.map((t) => `grad:${t.name}`)];
  const t0 = performance.now();
  const prefix = join(tmpdir(), `engine-decoder-${process.pid}-${contrib ? 'contrib' : 'standard'}`);
  const exe = await compile(g, names, { spinning, ...(profile ? { profile: prefix } : {}) });
  const compileMs = performance.now() - t0;
  const B = cfg.batch, S = cfg.seq;
  const feeds: Record<string, Feed> = {
    ids: { data: BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 7919) % cfg.vocab)), dims: [B, S] },
    targets: { data: BigInt64Array.from({ length: B * S }, (_, i) => BigInt((i * 104729 + 1) % cfg.vocab)), dims: [B, S] },
  };
  const cos = new Float32Array(S * dh), sin = new Float32Array(S * dh), mask = new Float32Array(S * S);
  for (let p = 0; p < S; p++) {
    for (let i = 0; i < dh; i++) { const a = p / 10000 ** ((2 * (i % half)) / dh); cos[p * dh + i] = Math.cos(a); sin[p * dh + i] = Math.sin(a); }
    for (let j = p + 1; j < S; j++) mask[p * S + j] = -1e9;
  }
  feeds.cos = { data: cos, dims: [S, dh] }; feeds.sin = { data: sin, dims: [S, dh] }; feeds.mask = { data: mask, dims: [S, S] };
  const data = shapes.map(([n, s], i) => {
    const size = s.reduce((p, q) => p * q, 1);
    const arr = s.length === 1 ? new Float32Array(size).fill(1) : fill(size, 0.02 * Math.sqrt(3), i + 1);
    feeds[n] = arr;
    return { name: n, data: arr, decay: s.length > 1 };
  });
  const nParams = data.reduce((p, d) => p + d.data.length, 0);
  const adam = new AdamW(data, { lr: 1e-3 });
  const fbs: number[] = [], opts: number[] = [], cpus: number[] = [];
  let lossV = 0;
  for (let step = 0; step <= cfg.steps; step++) { // step 0 warms up
    const c0 = process.cpuUsage();
    const a = performance.now();
    const out = await exe.run(feeds);
    const b = performance.now();
    const cu = process.cpuUsage(c0);
    adam.update(params.map((t) => out[`grad:${t.name}`].data as Float32Array));
    const c = performance.now();
    lossV = Number(out.loss.data[0]);
    if (step > 0) { fbs.push(b - a); opts.push(c - b); cpus.push((cu.user + cu.system) / 1000); }
  }
  const fb = Math.min(...fbs), opt = Math.min(...opts);
  const fbMedian = [...fbs].sort((p, q) => p - q)[Math.floor(fbs.length / 2)];
  if (profile) {
    exe.endProfiling(); // ORT appends a timestamp to the prefix
    const base = prefix.slice(tmpdir().length + 1);
    for (const f of readdirSync(tmpdir()).filter((f) => f.startsWith(base))) printProfile(join(tmpdir(), f), cfg.steps + 1);
  }
  await probe();
  const tokens = B * S;
  const key = contrib ? 'contrib' : 'standard';
  rows.push({ key, params: nParams, flops: 6 * nParams * tokens, tokens, compileMs, fb, fbMedian, opt, lossV, cpu: Math.min(...cpus), nodes: g.nodes.length });
}
results.matmul_gflops = matmulBest;
log(`reference in-graph matmul rate (fastest of the probes): ${matmulBest.toFixed(1)} GFLOP/s`);
for (const r of rows) {
  const util = r.flops / ((r.fb + r.opt) * 1e6) / matmulBest, tps = r.tokens / ((r.fb + r.opt) / 1000);
  results[r.key] = {
    params: r.params, nodes: r.nodes, compile_ms: r.compileMs, fwd_bwd_ms: r.fb, fwd_bwd_ms_median: r.fbMedian, fwd_bwd_cpu_ms: r.cpu, adamw_ms: r.opt,
    tokens_per_s: tps, utilization: util, loss: r.lossV,
  };
  log(`${r.key.padEnd(8)} ${(r.params / 1e6).toFixed(2)}M params, ${r.nodes} nodes: compile ${r.compileMs.toFixed(0)} ms; step ${r.fb.toFixed(0)} ms fwd+bwd (median ${r.fbMedian.toFixed(0)}, CPU ${r.cpu.toFixed(0)}) + ${r.opt.toFixed(0)} ms AdamW = ${tps.toFixed(0)} tokens/s, ${(100 * util).toFixed(1)}% of the matmul rate (loss ${r.lossV.toFixed(3)})`);
}
results.loadavg = [load0, loadavg()[0]];
log(`load average (1 min) before/after: ${load0.toFixed(2)} / ${loadavg()[0].toFixed(2)}`);
if (json) console.log(JSON.stringify(results));

function printProfile(file: string, runs: number): void {
  let events: { cat: string; name: string; dur: number; args?: { op_name?: string } }[];
  try { events = JSON.parse(readFileSync(file, 'utf8')); } catch { console.log(`(no profile at ${file})`); return; }
  rmSync(file, { force: true });
  const byOp = new Map<string, number>();
  for (const e of events) {
    if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
    const k = e.args?.op_name ?? '?';
    byOp.set(k, (byOp.get(k) ?? 0) + e.dur / 1000 / runs);
  }
  const total = [...byOp.values()].reduce((a, b) => a + b, 0);
  console.log(`  ORT kernel time per run: ${total.toFixed(0)} ms; by op: ` +
    [...byOp].sort((a, b) => b[1] - a[1]).slice(0, 12).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
}
