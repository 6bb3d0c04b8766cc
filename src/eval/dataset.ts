import { existsSync } from 'node:fs';
import { DATASET_NAMES, loadDataset } from '../data/index.js';
import type { LoadReport, Problem } from '../data/problem.js';
import { Rng } from '../random.js';

export interface LoadedDataset {
  /** The `--data` argument as given. */
  spec: string;
  /** The file it was read from, when there is one. */
  path?: string;
  problems: Problem[];
}

/** A data file with bad records: evaluation refuses it rather than silently changing the prompt set. */
export class DataError extends Error {}

/**
 * Resolves `--data`: a bundled data set's name (data's DATASET_NAMES) or a problem file in any format
 * data/ reads. Unlike training, evaluation refuses a file with bad records instead of dropping them.
 */
export async function loadEvalDataset(spec: string): Promise<LoadedDataset> {
  const named = (DATASET_NAMES as readonly string[]).includes(spec);
  if (!named && !existsSync(spec)) throw new DataError(`--data: ${spec} is neither a data set (${DATASET_NAMES.join(', ')}) nor an existing file`);
  let report: LoadReport;
  try {
    report = loadDataset(spec);
  } catch (error) {
    throw new DataError(`--data ${spec}: ${(error as Error).message}`);
  }
  return fromReport(spec, named ? undefined : spec, report);
}

function fromReport(spec: string, path: string | undefined, report: LoadReport): LoadedDataset {
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
  return { spec, path, problems: report.problems };
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
