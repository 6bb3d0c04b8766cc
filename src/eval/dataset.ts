import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as data from '../data/index.js';
import type { Problem } from '../data/problem.js';
import { BUNDLED_DATA } from './demo.js';
import { Rng } from '../random.js';

/** The names `--data` accepts besides a file path. */
export const DATASET_NAMES = ['apps-plus', 'mbpp', 'humaneval', 'odex', 'cyberseceval'] as const;

export interface LoadedDataset {
  /** The `--data` argument as given. */
  spec: string;
  /** The file it was read from, when there is one. */
  path?: string;
  problems: Problem[];
}

/** A data file with bad records: evaluation refuses it rather than silently changing the prompt set. */
export class DataError extends Error {}

type LoadDataset = (nameOrPath: string) => unknown;

/**
 * Resolves `--data`: one of DATASET_NAMES or a problem file (our JSONL or an APPS+ JSON list).
 * When the data module provides `loadDataset(name|path)` it is used for every name; until then
 * `apps-plus` is the bundled APPS+ validation set and the other names are not available.
 */
export async function loadDataset(spec: string): Promise<LoadedDataset> {
  const shared = (data as unknown as Record<string, unknown>).loadDataset;
  if (typeof shared === 'function') return fromReport(spec, undefined, await (shared as LoadDataset)(spec));
  if (spec === 'apps-plus') {
    const path = join(BUNDLED_DATA, 'apps_plus/valid_500.json');
    return fromReport(spec, path, data.loadProblems(path));
  }
  if ((DATASET_NAMES as readonly string[]).includes(spec)) {
    throw new DataError(`--data ${spec}: the ${spec} loader is not in this build yet (data/ is being written); use apps-plus or a problem file (our JSONL or an APPS+ JSON list)`);
  }
  if (!existsSync(spec)) throw new DataError(`--data: ${spec} is neither a data set (${DATASET_NAMES.join(', ')}) nor an existing file`);
  return fromReport(spec, spec, data.loadProblems(spec));
}

function fromReport(spec: string, path: string | undefined, loaded: unknown): LoadedDataset {
  const report = Array.isArray(loaded) ? { problems: loaded as Problem[], errors: [] as string[] } : (loaded as { problems: Problem[]; errors?: string[]; path?: string });
  const errors = report.errors ?? [];
  if (errors.length > 0) {
    const more = errors.length > 5 ? `\n  ... and ${errors.length - 5} more` : '';
    throw new DataError(`${path ?? spec}: ${errors.length} bad record${errors.length === 1 ? '' : 's'}; fix or remove ${errors.length === 1 ? 'it' : 'them'} (evaluation does not drop problems silently):\n  ${errors.slice(0, 5).join('\n  ')}${more}`);
  }
  if (report.problems.length === 0) throw new DataError(`${path ?? spec}: no problems`);
  const seen = new Set<string>();
  for (const p of report.problems) {
    if (seen.has(p.id)) throw new DataError(`${p.source ?? path ?? spec}: duplicate problem id ${JSON.stringify(p.id)}`);
    seen.add(p.id);
  }
  return { spec, path: path ?? report.path, problems: report.problems };
}

/**
 * The prompt set: `n` problems drawn by a seeded shuffle of the data set, kept in data-set order; all
 * of them when `n` is absent or at least the data set's size. Depends only on the data, `n` and the
 * seed, so every model evaluated with the same three sees the same prompts.
 */
export function selectPrompts(problems: readonly Problem[], n: number | null | undefined, seed: number): Problem[] {
  if (n === null || n === undefined || n >= problems.length) return problems.slice();
  if (!Number.isInteger(n) || n < 1) throw new DataError(`--n: expected a positive integer, got ${n}`);
  const index = new Map(problems.map((p, i) => [p.id, i]));
  return new Rng(seed).fork('prompts').shuffled(problems).slice(0, n).sort((a, b) => index.get(a.id)! - index.get(b.id)!);
}
