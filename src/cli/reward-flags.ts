import type { RewardConfig } from '../reward/scorer.js';
import { oneOf, positiveNumber, UsageError, type Options } from './args.js';

/** Flags shared by every command that computes rewards. */
export const REWARD_FLAGS: Options = {
  reward: { type: 'string' },
  security: { type: 'string' },
  compare: { type: 'string' },
  'sec-shape': { type: 'string' },
  weights: { type: 'string' },
  workers: { type: 'string' },
  'cpu-limit': { type: 'string' },
};

export const REWARD_FLAGS_HELP = `  --reward partial|binary|additive   R_func: the ladder (default), all-or-nothing, or the reference code's formula
  --security ruff|bandit|off         where security findings come from (default ruff, in process)
  --compare default|strict|float     stdout comparison (default: per line, trailing whitespace ignored)
  --sec-shape linear|exp|graded      R_sec = 1 - V (default), exp(-V), or graded: each finding weighs
                                     by its CWE's severity and the tool's severity and confidence,
                                     V = 1 - prod(1 - w)
  --weights A,B[,C]                  weights of R_func, R_sec and R_lint (default 0.6,0.4,0)
  --workers N                        sandboxed workers (default: one per core)
  --cpu-limit SECONDS                CPU time per test (default 4)`;

export function rewardConfigFromFlags(values: Record<string, string | boolean | undefined>): Partial<RewardConfig> {
  const config: Partial<RewardConfig> = {
    mode: oneOf('reward', values.reward, ['partial', 'binary', 'additive'] as const, 'partial'),
    security: oneOf('security', values.security, ['ruff', 'bandit', 'off'] as const, 'ruff'),
    securityShape: oneOf('sec-shape', values['sec-shape'], ['linear', 'exp', 'graded'] as const, 'linear'),
  };
  if (values.compare !== undefined) config.compare = oneOf('compare', values.compare, ['default', 'strict', 'float'] as const, 'default');
  if (values.weights !== undefined) {
    const parts = String(values.weights).split(',').map(Number);
    if (parts.length < 2 || parts.length > 3 || parts.some((w) => !Number.isFinite(w) || w < 0)) {
      throw new UsageError(`--weights: expected two or three non-negative numbers like 0.6,0.4 or 0.5,0.3,0.2, got ${JSON.stringify(values.weights)}`);
    }
    config.weights = { func: parts[0], sec: parts[1], lint: parts[2] ?? 0 };
  }
  return config;
}

export function judgeOptionsFromFlags(values: Record<string, string | boolean | undefined>) {
  const workers = positiveNumber('workers', values.workers);
  const cpu = positiveNumber('cpu-limit', values['cpu-limit']);
  return {
    ...(workers ? { workers: Math.floor(workers) } : {}),
    ...(cpu ? { limits: { cpuSeconds: cpu, wallSeconds: Math.max(2 * cpu, cpu + 2) } } : {}),
  };
}
