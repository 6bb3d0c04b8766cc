import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Problem } from './problem.js';
import { fnv1a64, Rng, type Seed } from '../random.js';

/**
 * Train/evaluation splits by problem id. The split is a pure function of (the SET of ids, seed,
 * sizes): ids are sorted (by UTF-16 code units) before a seeded Fisher–Yates shuffle, the first
 * `evalSize` become the evaluation set and the next `trainSize` the training set. So every model and
 * variant of a comparison evaluated with the same split file (or the same ids, seed and sizes) sees
 * exactly the same evaluation problems — the reference evaluation drew a new sample per model.
 */
export interface SplitOptions {
  /** Default 42. */
  seed?: Seed;
  /** Problems in the evaluation set; or give `evalFraction`. */
  evalSize?: number;
  /** Fraction of the ids for evaluation (rounded to the nearest integer); default 0.2 when neither is given. */
  evalFraction?: number;
  /** Problems in the training set (default: all the others). */
  trainSize?: number;
}

export interface DataSplit {
  seed: Seed;
  /** How many ids the split was drawn from, and a fingerprint of them (FNV-1a-64 over the sorted ids). */
  total: number;
  fingerprint: string;
  eval: string[];
  train: string[];
  /** Free-form: which data set, options … (kept in the file). */
  about?: Record<string, unknown>;
}

/** FNV-1a-64 of the sorted ids joined by newlines, as 16 hex digits. */
export function idsFingerprint(ids: readonly string[]): string {
  return fnv1a64([...ids].sort().join('\n')).toString(16).padStart(16, '0');
}

/** Splits ids into disjoint evaluation and training sets (see the module comment). Throws on
 * duplicate ids or sizes that do not fit. */
export function splitIds(ids: Iterable<string>, options: SplitOptions = {}): DataSplit {
  const sorted = [...ids].sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new Error(`splitIds: duplicate id ${JSON.stringify(sorted[i])}`);
  }
  const seed = options.seed ?? 42;
  const total = sorted.length;
  let evalSize = options.evalSize;
  if (evalSize === undefined) {
    const fraction = options.evalFraction ?? 0.2;
    if (!(fraction >= 0 && fraction <= 1)) throw new Error(`splitIds: evalFraction must be in [0, 1], got ${fraction}`);
    evalSize = Math.round(total * fraction);
  }
  if (!Number.isInteger(evalSize) || evalSize < 0 || evalSize > total) throw new Error(`splitIds: evalSize ${evalSize} does not fit ${total} ids`);
  const trainSize = options.trainSize ?? total - evalSize;
  if (!Number.isInteger(trainSize) || trainSize < 0 || evalSize + trainSize > total) {
    throw new Error(`splitIds: evalSize ${evalSize} + trainSize ${trainSize} exceeds ${total} ids`);
  }
  const order = new Rng(seed).fork('split').shuffle(sorted);
  return {
    seed,
    total,
    fingerprint: idsFingerprint(order),
    eval: order.slice(0, evalSize),
    train: order.slice(evalSize, evalSize + trainSize),
  };
}

/** Writes a split as JSON (pretty, one id per line). */
export function writeSplit(path: string, split: DataSplit): void {
  mkdirSync(dirname(path), { recursive: true });
  const body = { format: 'securecoderl-split/1', ...split, seed: typeof split.seed === 'bigint' ? split.seed.toString() : split.seed };
  writeFileSync(path, `${JSON.stringify(body, null, 1)}\n`);
}

/** Reads a split file; throws naming the file and field when it is not one. */
export function readSplit(path: string): DataSplit {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`cannot read split file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const bad = (field: string, what: string) => new Error(`${path}: field "${field}": expected ${what}`);
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new Error(`${path}: expected a JSON object`);
  const d = data as Record<string, unknown>;
  if (d.format !== 'securecoderl-split/1') throw bad('format', '"securecoderl-split/1"');
  for (const field of ['eval', 'train'] as const) {
    if (!Array.isArray(d[field]) || !(d[field] as unknown[]).every((x) => typeof x === 'string')) throw bad(field, 'a list of ids');
  }
  if (typeof d.seed !== 'number' && typeof d.seed !== 'string') throw bad('seed', 'a number or string');
  if (typeof d.total !== 'number') throw bad('total', 'a number');
  if (typeof d.fingerprint !== 'string') throw bad('fingerprint', 'a string');
  const evalIds = d.eval as string[];
  const train = d.train as string[];
  const evalSet = new Set(evalIds);
  const overlap = train.find((id) => evalSet.has(id));
  if (overlap !== undefined) throw new Error(`${path}: id ${JSON.stringify(overlap)} is in both eval and train`);
  return {
    seed: d.seed, total: d.total, fingerprint: d.fingerprint, eval: evalIds, train,
    ...(d.about && typeof d.about === 'object' ? { about: d.about as Record<string, unknown> } : {}),
  };
}

/** The problems of each side of a split, in the split's order; ids the split names but the problems
 * lack are returned as `missing` (a split drawn from other data). */
export function applySplit(problems: readonly Problem[], split: DataSplit): { eval: Problem[]; train: Problem[]; missing: string[] } {
  const byId = new Map(problems.map((p) => [p.id, p]));
  const missing: string[] = [];
  const pick = (ids: string[]) => ids.flatMap((id) => {
    const p = byId.get(id);
    if (!p) missing.push(id);
    return p ? [p] : [];
  });
  return { eval: pick(split.eval), train: pick(split.train), missing };
}
