import { benchJudge } from '../bench/judge-bench.js';
import { oneOf, parse, positiveNumber, UsageError } from './args.js';

export const usage = `securecoderl bench judge [--json] [--quick] [--limit SECONDS] [--python PATH] [--baseline-python PATH]

Runs the same workloads through the sandboxed judge and through a baseline that does what the
reference code does (one python process per test, no sandbox), sequentially and one process per
core, and the light workload through the limit (a bare fork server per worker: fork per test, no
sandbox, no verdict logic); prints test executions per second and the ratios. --json ends with one
JSON line.
  --limit SECONDS   CPU limit for the judge and wall timeout for the baseline (default 4)
  --quick           a small subset, to check that it runs
  --python PATH     interpreter for both sides (default /usr/bin/python3)
  --baseline-python PATH   the baseline's interpreter, if it should differ (the reference code runs
                    \`python\` from PATH)

securecoderl bench engine [--json] [--quick] [--threads N] [--large auto|on|off]
  ORT matmul GFLOP/s, training tokens/s and utilisation of a ~10M Llama-style model at sequence 512,
  sampling tokens/s (batch 1, 16), decode ms/token at 128 vs 1024 tokens of context, and DeepSeek-Coder-
  1.3B's config with random weights (forward, one LoRA step; --large auto runs it when memory allows)

securecoderl bench train [--json] [--quick] [--threads N] [--steps N] [--large auto|on|off]
  PPO steps of the trainer on a ~10M model (batch 8, prompts ≤ 256 tokens, 128 new tokens, 2 epochs):
  sampling, scoring and training seconds, tokens/s, and the training part's share of the matmul rate;
  then GRPO (G 8) and RLOO (k 4, 2 turns) steps on the same model, split the same way;
  then one PPO episode at DeepSeek-Coder-1.3B's shape (random weights, batch 2, 256-token prompts, 128 new
  tokens) in each memory mode, each in its own process: time and peak RSS (--large auto: when memory allows)

securecoderl bench quantize --shape tiny|10m|1.3b [--json] [--modes none,int8,nbits4] [--threads N]
  float32 vs int8 vs 4-bit frozen base weights, each mode in its own process: forward tokens/s, decode
  ms/token, one LoRA step, peak RSS; held-out loss and KL vs fp32 on the tiny pretrained model

securecoderl bench models --config FILE
  several models on one prompt set, the paper's Table 2 and 3 columns with intervals
  (\`securecoderl bench models --help\` is this text; see docs/eval.md for FILE)`;

export async function run(argv: string[]): Promise<number> {
  const [target, ...rest] = argv;
  if (target === 'models') return (await import('./bench-models.js')).run(rest);
  if (target === 'engine') return (await import('./bench-engine.js')).run(rest);
  if (target === 'quantize') return (await import('./bench-quantize.js')).run(rest);
  if (target === 'train') return runTrainBench(rest);
  if (target !== 'judge') throw new UsageError(`unknown benchmark ${JSON.stringify(target ?? '')} (available: judge, engine, train, quantize, models)`);
  const values = parse(rest, {
    json: { type: 'boolean' }, quick: { type: 'boolean' }, limit: { type: 'string' }, python: { type: 'string' }, 'baseline-python': { type: 'string' },
  });
  const result = await benchJudge({
    limitSeconds: positiveNumber('limit', values.limit) ?? 4,
    quick: values.quick === true,
    python: (values.python as string | undefined) ?? '/usr/bin/python3',
    baselinePython: values['baseline-python'] as string | undefined,
    log: (line) => process.stdout.write(`${line}\n`),
  });
  const x = (r: number) => `${r.toFixed(1)}x`;
  process.stdout.write([
    '',
    `isolation ${result.isolation ? 'on' : 'OFF'}, ${result.cores} cores, limit ${result.limitSeconds} s, ours ${result.python}, baseline ${result.baseline_python}`,
    `light: ${result.ours_per_s.toFixed(1)}/s vs baseline ${result.baseline_per_s.toFixed(1)}/s sequential = ${x(result.ratio)}, vs ${result.baseline_parallel_per_s.toFixed(1)}/s parallel = ${x(result.ratio_parallel)}`,
    `light vs the limit (a bare fork server, no sandbox, no verdicts): ${result.ours_per_s.toFixed(1)}/s of ${result.limit_per_s.toFixed(1)}/s = ${result.ratio_to_limit.toFixed(2)}`,
    `full (with timeouts): ${result.ours_with_timeouts_per_s.toFixed(1)}/s vs ${result.baseline_with_timeouts_per_s.toFixed(1)}/s sequential = ${x(result.ratio_with_timeouts)}`,
    `full, per-problem limits (4x reference, 1 s floor): ${result.ours_derived_limits_per_s.toFixed(1)}/s vs ${result.baseline_derived_limits_per_s.toFixed(1)}/s sequential = ${x(result.ratio_with_timeouts_derived_limits)}`,
    '',
  ].join('\n'));
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

async function runTrainBench(argv: string[]): Promise<number> {
  const v = parse(argv, { json: { type: 'boolean' }, quick: { type: 'boolean' }, threads: { type: 'string' }, steps: { type: 'string' }, large: { type: 'string' }, episode: { type: 'string' } });
  const { benchTrain, benchLargeEpisode } = await import('../bench/train-bench.js');
  const threads = positiveNumber('threads', v.threads);
  if (v.episode !== undefined) {
    // The child process of --large: one episode in one memory mode, its figures as one JSON line.
    const mode = oneOf('episode', v.episode, ['default', 'low-memory'] as const, 'default');
    const { DEEPSEEK_CODER_1_3B_CONFIG } = await import('../bench/engine.js');
    const { parseConfig } = await import('../model/config.js');
    const r = await benchLargeEpisode(mode, parseConfig(DEEPSEEK_CODER_1_3B_CONFIG, 'DeepSeek-Coder-1.3B config'), { threads });
    process.stdout.write(`${JSON.stringify(r)}\n`);
    return 0;
  }
  const large = oneOf('large', v.large, ['auto', 'on', 'off'] as const, 'auto');
  const r = await benchTrain({ quick: v.quick === true, threads, steps: positiveNumber('steps', v.steps), log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write([
    `PPO step (batch ${r.batch}, ${r.prompt_tokens_mean.toFixed(0)} prompt + ${r.response_tokens_mean.toFixed(0)} new tokens per row, ${r.ppo_epochs} epochs), mean of ${r.steps}:`,
    `  sampling  ${r.sample_s.toFixed(2)} s   ${r.sample_tokens_per_s.toFixed(0)} new tokens/s`,
    `  scoring   ${r.score_wait_s.toFixed(2)} s   (waiting after sampling; scoring overlaps it)`,
    `  training  ${r.train_s.toFixed(2)} s   ${r.train_tokens_per_s.toFixed(0)} tokens/s through the graphs, ${(100 * r.train_utilization).toFixed(1)}% of ${r.matmul_gflops.toFixed(0)} GFLOP/s`,
    ...([['GRPO step (1 prompt × G 8', r.grpo], ['RLOO step (2 prompts × k 4 × 2 turns', r.rloo]] as const).map(([what, x]) =>
      `${what}, ${x.response_tokens_mean.toFixed(0)} new tokens per row), mean of ${x.steps}: sampling ${x.sample_s.toFixed(2)} s (${x.sample_tokens_per_s.toFixed(0)} new tokens/s), `
      + `scoring wait ${x.score_wait_s.toFixed(2)} s, training ${x.train_s.toFixed(2)} s`),
  ].join('\n') + '\n');
  const episodes: unknown[] = [];
  let skipped: string | null = null;
  const { freemem } = await import('node:os');
  const need = 16 * 2 ** 30;
  if (v.quick === true || large === 'off') skipped = v.quick === true ? 'quick run' : 'turned off';
  else if (large === 'auto' && freemem() < need) skipped = `needs ~16 GiB free, ${(freemem() / 2 ** 30).toFixed(1)} GiB free (force with --large on)`;
  else {
    const { spawnSync } = await import('node:child_process');
    for (const mode of ['default', 'low-memory']) {
      const child = spawnSync(process.execPath, [process.argv[1], 'bench', 'train', '--episode', mode, ...(threads ? ['--threads', String(threads)] : [])], { encoding: 'utf8', maxBuffer: 1 << 24 });
      if (child.status !== 0) { process.stdout.write(`DeepSeek-Coder-1.3B shape, ${mode}: failed (${child.signal ?? child.status}) ${child.stderr.slice(-500)}\n`); continue; }
      const e = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as { episode_s: number; sample_s: number; logprob_s: number; update_s: number; peak_rss_bytes: number; parameters: number };
      episodes.push(e);
      process.stdout.write(`DeepSeek-Coder-1.3B shape (${(e.parameters / 1e9).toFixed(2)}B, random weights), ${mode}: PPO episode ${e.episode_s.toFixed(0)} s ` +
        `(sampling ${e.sample_s.toFixed(0)} s, log-probs ${e.logprob_s.toFixed(0)} s, 4 updates ${e.update_s.toFixed(0)} s), peak RSS ${(e.peak_rss_bytes / 2 ** 30).toFixed(1)} GiB\n`);
    }
  }
  if (skipped) process.stdout.write(`DeepSeek-Coder-1.3B shape: not measured (${skipped})\n`);
  if (v.json) process.stdout.write(`${JSON.stringify({ ...r, deepseek_1_3b_episodes: episodes, ...(skipped ? { deepseek_1_3b_skipped: skipped } : {}) })}\n`);
  return 0;
}
