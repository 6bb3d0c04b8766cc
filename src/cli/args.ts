import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A mistake in the command line; main prints its message and the command's usage. */
export class UsageError extends Error {}

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parse(argv: string[], options: Options): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values as Record<string, string | boolean | undefined>;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export function oneOf<T extends string>(flag: string, value: string | boolean | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`--${flag}: expected one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
}

export function positiveNumber(flag: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n) || n <= 0) throw new UsageError(`--${flag}: expected a positive number, got ${JSON.stringify(value)}`);
  return n;
}

export function required(flag: string, value: string | boolean | undefined): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${flag} is required`);
  return value;
}

/** Progress on a terminal (items, rate, ETA); silent when stderr is not a TTY, as in CI logs. */
export function progressReporter(label: string): (done: number, total: number) => void {
  if (!process.stderr.isTTY) return () => {};
  const started = Date.now();
  let last = 0;
  return (done, total) => {
    const now = Date.now();
    if (now - last < 200 && done < total) return;
    last = now;
    const rate = done / Math.max((now - started) / 1000, 1e-3);
    const eta = rate > 0 ? (total - done) / rate : 0;
    process.stderr.write(`\r${label} ${done}/${total}  ${rate.toFixed(1)}/s  ETA ${eta.toFixed(0)} s   ${done === total ? '\n' : ''}`);
  };
}
