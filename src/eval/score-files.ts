import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { loadProblems, loadSamples, type Problem } from '../data/index.js';
import type { JudgeOptions } from '../judge/judge.js';
import type { Limits } from '../judge/types.js';
import { mapOrdered } from '../reward/batch.js';
import { breakdownRecord, Scorer, type RewardBreakdown, type RewardConfig } from '../reward/scorer.js';
import { summarize, type ScoreSummary } from './summary.js';

export interface ScoreFilesOptions {
  problems: string;
  samples: string;
  /** Output JSONL path; standard output when absent. */
  out?: string;
  reward?: Partial<RewardConfig>;
  judge?: Partial<Omit<JudgeOptions, 'limits'>> & { limits?: Partial<Limits> };
  /** Called after each sample is written (for progress). */
  onProgress?: (done: number, total: number) => void;
}

export interface ScoreFilesResult {
  summary: ScoreSummary;
  /** Problems about bad input (file:line: field: what), in file order. */
  errors: string[];
  results: RewardBreakdown[];
}

/**
 * The `score` command as a function: loads problems and samples, scores every valid sample in input
 * order, and streams one JSON line per sample to `out` as it goes, so partial results survive a
 * failure. Bad records are reported in `errors` and skipped.
 */
export async function scoreFiles(options: ScoreFilesOptions): Promise<ScoreFilesResult> {
  const problemReport = loadProblems(options.problems);
  const byId = new Map<string, Problem>(problemReport.problems.map((p) => [p.id, p]));
  const { samples, errors: sampleErrors } = loadSamples(options.samples, new Set(byId.keys()));
  const errors = [...problemReport.errors, ...sampleErrors];
  const scorer = new Scorer(options.reward, options.judge);
  const out: WriteStream | NodeJS.WriteStream = options.out ? createWriteStream(options.out) : process.stdout;
  const results: RewardBreakdown[] = [];
  try {
    const concurrency = scorer.judge.options.workers * 2;
    let done = 0;
    for await (const breakdown of mapOrdered(samples, concurrency, (s) => scorer.score(byId.get(s.problemId)!, s.completion))) {
      results.push(breakdown);
      if (!out.write(`${JSON.stringify(breakdownRecord(breakdown))}\n`)) await once(out, 'drain');
      options.onProgress?.(++done, samples.length);
    }
  } finally {
    await scorer.close();
    if (out !== process.stdout) await new Promise<void>((resolve, reject) => (out as WriteStream).end((error?: Error | null) => (error ? reject(error) : resolve())));
  }
  return { summary: summarize(results), errors, results };
}
