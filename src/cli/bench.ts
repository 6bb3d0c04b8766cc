import { benchJudge } from '../bench/judge-bench.js';
import { parse, positiveNumber, UsageError } from './args.js';

export const usage = `securecoderl bench judge [--json] [--quick] [--limit SECONDS] [--python PATH] [--baseline-python PATH]

Runs the same workloads through the sandboxed judge and through a baseline that does what the
reference code does (one python process per test, no sandbox), sequentially and one process per
core, and prints test executions per second and the ratios. --json ends with one JSON line.
  --limit SECONDS   CPU limit for the judge and wall timeout for the baseline (default 4)
  --quick           a small subset, to check that it runs
  --python PATH     interpreter for both sides (default /usr/bin/python3)
  --baseline-python PATH   the baseline's interpreter, if it should differ (the reference code runs
                    \`python\` from PATH)

securecoderl bench engine [--json] [--quick] [--threads N] [--large auto|on|off]
  ORT matmul GFLOP/s, training tokens/s and utilisation of a ~10M Llama-style model at sequence 512,
  sampling tokens/s (batch 1, 16), decode ms/token at 128 vs 1024 tokens of context, and DeepSeek-Coder-
  1.3B's config with random weights (forward, one LoRA step; --large auto runs it when memory allows)

securecoderl bench train [--json] [--quick] [--threads N] [--steps N]
  PPO steps of the trainer on a ~10M model (batch 8, prompts ≤ 256 tokens, 128 new tokens, 2 epochs):
  sampling, scoring and training seconds, tokens/s, and the training part's share of the matmul rate

securecoderl bench models --config FILE
  several models on one prompt set, the paper's Table 2 and 3 columns with intervals
  (\`securecoderl bench models --help\` is this text; see docs/eval.md for FILE)`;

export async function run(argv: string[]): Promise<number> {
  const [target, ...rest] = argv;
  if (target === 'models') return (await import('./bench-models.js')).run(rest);
  if (target === 'engine') return (await import('./bench-engine.js')).run(rest);
  if (target === 'train') return runTrainBench(rest);
  if (target !== 'judge') throw new UsageError(`unknown benchmark ${JSON.stringify(target ?? '')} (available: judge, engine, train, models)`);
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
    `full (with timeouts): ${result.ours_with_timeouts_per_s.toFixed(1)}/s vs ${result.baseline_with_timeouts_per_s.toFixed(1)}/s sequential = ${x(result.ratio_with_timeouts)}`,
    `full, per-problem limits (4x reference, 1 s floor): ${result.ours_derived_limits_per_s.toFixed(1)}/s vs ${result.baseline_derived_limits_per_s.toFixed(1)}/s sequential = ${x(result.ratio_with_timeouts_derived_limits)}`,
    '',
  ].join('\n'));
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

async function runTrainBench(argv: string[]): Promise<number> {
  const v = parse(argv, { json: { type: 'boolean' }, quick: { type: 'boolean' }, threads: { type: 'string' }, steps: { type: 'string' } });
  const { benchTrain } = await import('../bench/train-bench.js');
  const r = await benchTrain({ quick: v.quick === true, threads: positiveNumber('threads', v.threads), steps: positiveNumber('steps', v.steps), log: (line) => process.stdout.write(`${line}\n`) });
  process.stdout.write([
    `PPO step (batch ${r.batch}, ${r.prompt_tokens_mean.toFixed(0)} prompt + ${r.response_tokens_mean.toFixed(0)} new tokens per row, ${r.ppo_epochs} epochs), mean of ${r.steps}:`,
    `  sampling  ${r.sample_s.toFixed(2)} s   ${r.sample_tokens_per_s.toFixed(0)} new tokens/s`,
    `  scoring   ${r.score_wait_s.toFixed(2)} s   (waiting after sampling; scoring overlaps it)`,
    `  training  ${r.train_s.toFixed(2)} s   ${r.train_tokens_per_s.toFixed(0)} tokens/s through the graphs, ${(100 * r.train_utilization).toFixed(1)}% of ${r.matmul_gflops.toFixed(0)} GFLOP/s`,
  ].join('\n') + '\n');
  if (v.json) process.stdout.write(`${JSON.stringify(r)}\n`);
  return 0;
}
