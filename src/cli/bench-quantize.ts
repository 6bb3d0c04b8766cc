// `securecoderl bench quantize`: flags in, figures out (the measurements are in src/bench/quantize-bench.ts).

import { loadavg } from 'node:os';
import { benchQuantize, benchQuantizeMode, QUANT_BENCH_MODES, QUANT_BENCH_SHAPES, type QuantModeFigures } from '../bench/quantize-bench.js';
import { oneOf, parse, positiveNumber } from './args.js';

export const usage = `securecoderl bench quantize --shape tiny|10m|1.3b [--json] [--modes none,int8,nbits4] [--threads N]
    [--float-embedding] [--float-head] [--nbits4-fed] [--recompute] [--quick]
  float32 against int8 and 4-bit frozen base weights, each mode in its own process: forward tokens/s
  (sequence 512), decode ms/token (batch 1), one LoRA r 16 step (batch 1 × 512), peak RSS; for tiny (the
  trainers' pretrained tiny model) the held-out loss and the mean per-token KL(fp32 ‖ mode). Quantized modes
  quantize the embedding and the LM head too unless --float-embedding / --float-head keep them float32;
  --nbits4-fed feeds the 4-bit weights to the training session instead of baking them in (prepacked);
  --recompute rebuilds each block's activations in the LoRA step's backward pass (less memory).
  --json ends with one JSON line {"shape", "modes": {"none": {...}, "int8": {...}, "nbits4": {...}}, ...}
securecoderl bench quantize --episode 6.7b|1.3b [--mode nbits4|int8|none] [--epochs N] [--threads N] [--float-embedding] [--float-head] [--nbits4-fed] [--recompute]
  one LoRA PPO episode (batch 2, 256-token prompts, 64 new tokens) at DeepSeek-Coder's shape with random
  weights, quantized: time per phase and peak RSS, one JSON line`;

export async function run(argv: string[]): Promise<number> {
  const v = parse(argv, {
    shape: { type: 'string' }, json: { type: 'boolean' }, modes: { type: 'string' }, threads: { type: 'string' }, quick: { type: 'boolean' },
    mode: { type: 'string' }, child: { type: 'boolean' }, episode: { type: 'string' }, epochs: { type: 'string' }, 'float-embedding': { type: 'boolean' }, 'float-head': { type: 'boolean' }, 'nbits4-fed': { type: 'boolean' }, recompute: { type: 'boolean' },
  });
  if (v.episode !== undefined) {
    // One LoRA PPO episode at a big model's shape (random weights) in this process: time and peak RSS.
    const which = oneOf('episode', v.episode, ['6.7b', '1.3b'] as const, '6.7b');
    const mode = oneOf('mode', v.mode, QUANT_BENCH_MODES, 'nbits4');
    const { benchQuantizedEpisode, DEEPSEEK_CODER_6_7B_CONFIG } = await import('../bench/quantize-bench.js');
    const { parseConfig } = await import('../model/config.js');
    const { DEEPSEEK_CODER_1_3B_CONFIG } = await import('../bench/engine.js');
    const config = parseConfig(which === '6.7b' ? DEEPSEEK_CODER_6_7B_CONFIG : DEEPSEEK_CODER_1_3B_CONFIG, `DeepSeek-Coder-${which} config`);
    const r = await benchQuantizedEpisode(mode, config, {
      threads: positiveNumber('threads', v.threads), epochs: positiveNumber('epochs', v.epochs), embedding: !v['float-embedding'], head: !v['float-head'], nbits4Fed: v['nbits4-fed'] === true, recompute: v.recompute === true,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const shape = oneOf('shape', v.shape, QUANT_BENCH_SHAPES, 'tiny');
  const o = { threads: positiveNumber('threads', v.threads), quick: v.quick === true, embedding: v['float-embedding'] !== true, head: v['float-head'] !== true, nbits4Fed: v['nbits4-fed'] === true, recompute: v.recompute === true };
  if (v.child) {
    // One mode in this process (what the parent spawns): its figures as one JSON line.
    const mode = oneOf('mode', v.mode, QUANT_BENCH_MODES, 'none');
    process.stdout.write(`${JSON.stringify(await benchQuantizeMode(shape, mode, o))}\n`);
    return 0;
  }
  const modes = typeof v.modes === 'string' ? v.modes.split(',').map((m) => oneOf('modes', m.trim(), QUANT_BENCH_MODES, 'none')) : QUANT_BENCH_MODES;
  const r = await benchQuantize(shape, { ...o, modes, log: (line) => process.stdout.write(`${line}\n`) });
  const fp = r.modes.none;
  const gib = (b: number) => (b >= 2 ** 30 ? `${(b / 2 ** 30).toFixed(2)} GiB` : `${(b / 2 ** 20).toFixed(1)} MiB`);
  const vs = (x: number, base: number | undefined, lowerIsBetter: boolean) => (base === undefined ? '' : ` (${(lowerIsBetter ? base / x : x / base).toFixed(2)}×)`);
  const lines = [`bench quantize --shape ${shape}: ${r.cpu}, ${r.cores} cores, ${r.threads} threads; load now ${loadavg()[0].toFixed(2)}`];
  for (const [mode, f] of Object.entries(r.modes) as [string, QuantModeFigures][]) {
    lines.push(`  ${mode.padEnd(6)} weights ${gib(f.weight_bytes)}, load ${f.load_s.toFixed(1)} s; forward ${f.forward_tokens_per_s.toFixed(1)} tokens/s${vs(f.forward_tokens_per_s, fp?.forward_tokens_per_s, false)}; ` +
      `decode ${f.decode_ms_per_token.toFixed(2)} ms/token${vs(f.decode_ms_per_token, fp?.decode_ms_per_token, true)}; LoRA step ${f.lora_step_s.toFixed(2)} s${vs(f.lora_step_s, fp?.lora_step_s, true)}; ` +
      `peak RSS ${gib(f.peak_rss_bytes)}${vs(f.peak_rss_bytes, fp?.peak_rss_bytes, true)} (before the LoRA step ${gib(f.peak_rss_before_lora_bytes)})` +
      (f.heldout_loss !== undefined ? `; held-out loss ${f.heldout_loss.toFixed(4)}, KL vs fp32 ${f.kl_vs_fp32!.toExponential(2)}` : '') +
      ` (load ${f.load_before.toFixed(2)} → ${f.load_after.toFixed(2)})`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  if (v.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  return 0;
}
