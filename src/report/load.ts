import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readAppendLog } from '../eval/jsonl-cache.js';
import type { SampleRecord } from '../eval/record.js';
import { RUN_FILES, type RunSummary } from '../eval/run.js';

/** A run folder as the report reads it. */
export interface LoadedRun {
  dir: string;
  label: string;
  config: Record<string, unknown>;
  summary: RunSummary;
  promptIds: string[];
  /** The sample records (for paired comparisons); read on demand. */
  records(): SampleRecord[];
}

/** Reads a run folder written by `eval` (config.json, summary.json, prompts.jsonl, samples.jsonl). */
export function loadRun(dir: string): LoadedRun {
  const read = (name: string) => {
    const path = join(dir, name);
    if (!existsSync(path)) throw new Error(`${dir}: not a run folder (no ${name}; run \`securecoderl eval --out ${dir}\` first)`);
    try {
      return JSON.parse(readFileSync(path, 'utf8'));
    } catch (error) {
      throw new Error(`${path}: not valid JSON (${(error as Error).message})`);
    }
  };
  const config = read(RUN_FILES.config) as Record<string, unknown>;
  const summary = read(RUN_FILES.summary) as RunSummary;
  for (const field of ['n', 'syn_pct', 'secclean_pct', 'mean_r', 'stages'] as const) {
    if (summary[field] === undefined) throw new Error(`${join(dir, RUN_FILES.summary)}: field "${field}" missing (written by an older version? rerun eval to rewrite it)`);
  }
  const promptIds = readAppendLog<{ problem_id: string }>(join(dir, RUN_FILES.prompts), (r) => (typeof (r as { problem_id?: unknown })?.problem_id === 'string' ? null : 'expected problem_id')).map((p) => p.problem_id);
  let cached: SampleRecord[] | undefined;
  return {
    dir,
    label: summary.label ?? String(config.label ?? dir),
    config,
    summary,
    promptIds,
    records: () => (cached ??= readAppendLog<SampleRecord>(join(dir, RUN_FILES.samples), () => null)),
  };
}
