// Where a quantized (or float) base's memory peaks, phase by phase, in this process: building the
// checkpoint, the sampler's session (CausalLM, weights baked in), a prefill, and one LoRA r 16 step of the
// trainers' PolicyGraph — RSS and peak RSS after each, so a setting's effect on one phase can be read off.
// Also the LoRA step's time with and without activation recomputation, interleaved (`--speed`).
//
// Run: npx tsc -p . && node dist/bench/memory-phases.js [--shape 1.3b|10m] [--mode none|int8|nbits4]
//   [--phases sampler,lora] [--recompute] [--nbits4-fed] [--arena on|off] [--float-head] [--seq N] [--speed N]
// One setting per process (peak RSS is the process's). `--arena` overrides ORT's memory arena for every
// session (default: the trainers' choice); `--speed N` times N LoRA steps of each kind instead.

import { performance } from 'node:perf_hooks';
import { releaseSessions, type SessionOptions } from '../src/engine/index.js';
import { benchRandomCheckpoint, benchShapeConfig } from '../src/bench/quantize-bench.js';
import { CausalLM } from '../src/model/causal-lm.js';
import { LoraAdapter } from '../src/model/lora.js';
import { tokenBatch } from '../src/train/batch.js';
import { PolicyGraph, trainerSession } from '../src/train/policy.js';

const args = process.argv.slice(2);
const value = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const flag = (name: string) => args.includes(`--${name}`);
const shape = (value('shape') ?? '1.3b') as '1.3b' | '10m';
const mode = (value('mode') ?? 'int8') as 'none' | 'int8' | 'nbits4';
const phases = (value('phases') ?? 'sampler,lora').split(',');
const seq = Number(value('seq') ?? 512);
const speed = value('speed') !== undefined ? Number(value('speed')) : 0;

const gib = (b: number) => (b / 2 ** 30).toFixed(2);
const report = (phase: string) => process.stdout.write(`${phase.padEnd(28)} RSS ${gib(process.memoryUsage().rss)} GiB, peak ${gib(process.resourceUsage().maxRSS * 1024)} GiB, JS arrays ${gib(process.memoryUsage().arrayBuffers)} GiB\n`);

const config = benchShapeConfig(shape);
const ck = benchRandomCheckpoint(config, { mode, embedding: true, head: !flag('float-head') });
report(`${shape} ${mode} built`);
const arena = value('arena');
const withArena = (s: SessionOptions): SessionOptions => (arena === undefined ? s : { ...s, memoryArena: arena === 'on' });
const session = withArena(trainerSession(2));
const ids = Array.from({ length: seq + 1 }, (_, i) => (i * 7919) % config.vocabSize);

if (phases.includes('sampler') && !speed) {
  const lm = new CausalLM(ck, { session });
  await lm.prefill(lm.newCache(1, 8), [ids.slice(0, 8)]);
  report('sampler session');
  await lm.prefill(lm.newCache(1, seq), [ids.slice(0, seq)]);
  report(`prefill ${seq}`);
  await releaseSessions(lm.graph);
}

const adapter = LoraAdapter.init(config, { r: 16, alpha: 32, dropout: 0 }, 1);
const policy = (recompute: boolean) => new PolicyGraph(ck, { lora: adapter.config, baseWeights: 'inputs', nbits4As: flag('nbits4-fed') ? 'inputs' : 'initializers', recompute, session });
const batch = tokenBatch([{ tokens: ids, lossStart: 1 }]);
if (speed) {
  const graphs = [policy(false), policy(true)];
  for (const g of graphs) await g.sftStep([batch], adapter.feeds()); // compiled
  const best = [Infinity, Infinity];
  for (let r = 0; r < speed; r++) {
    for (const [k, g] of graphs.entries()) {
      const t0 = performance.now();
      await g.sftStep([batch], adapter.feeds());
      best[k] = Math.min(best[k], performance.now() - t0);
    }
  }
  process.stdout.write(`LoRA step, ${shape} ${mode}, ${seq} tokens: keeping activations ${best[0].toFixed(0)} ms, recomputing ${best[1].toFixed(0)} ms (×${(best[1] / best[0]).toFixed(2)}), fastest of ${speed}\n`);
} else if (phases.includes('lora')) {
  const p = policy(flag('recompute'));
  await p.sftStep([tokenBatch([{ tokens: ids.slice(0, 33), lossStart: 1 }])], adapter.feeds());
  report('LoRA graph compiled');
  const t0 = performance.now();
  await p.sftStep([batch], adapter.feeds());
  report(`LoRA step ${seq} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}
