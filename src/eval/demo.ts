import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUNDLED_DATA_DIR, loadAppsPlus, loadSamples, type Problem } from '../data/index.js';
import { mapOrdered } from '../reward/batch.js';
import { breakdownRecord, Scorer, type RewardBreakdown } from '../reward/scorer.js';
import { summarize, type ScoreSummary } from './summary.js';

/** The data shipped with the package (an alias kept for existing imports; the definition is data's). */
export { BUNDLED_DATA_DIR as BUNDLED_DATA } from '../data/index.js';

export interface DemoResult {
  outDir: string;
  reference: ScoreSummary;
  samples: ScoreSummary;
  /** Reference solutions that did not pass all their tests, with their verdicts. */
  referenceFailures: { problemId: string; verdicts: string[] }[];
  seconds: number;
}

/**
 * The main job until the trainers exist: scores every bundled APPS+ reference solution and the
 * bundled sample completions with the default reward, writes both as JSONL plus `summary.json`
 * into `outDir`, and returns the summaries.
 */
export async function runDemo(outDir: string, onProgress?: (done: number, total: number) => void): Promise<DemoResult> {
  const started = Date.now();
  const { problems, errors } = loadAppsPlus(join(BUNDLED_DATA_DIR, 'apps_plus/valid_500.json'));
  if (errors.length) throw new Error(`bundled data is damaged: ${errors[0]}`);
  const byId = new Map(problems.map((p) => [p.id, p]));
  const loaded = loadSamples(join(BUNDLED_DATA_DIR, 'samples/demo_completions.jsonl'), new Set(byId.keys()));
  if (loaded.errors.length) throw new Error(`bundled samples are damaged: ${loaded.errors[0]}`);
  mkdirSync(outDir, { recursive: true });
  const scorer = new Scorer();
  try {
    const total = problems.length + loaded.samples.length;
    let done = 0;
    const scoreAll = async (items: { problem: Problem; completion: string }[], file: string) => {
      const results: RewardBreakdown[] = [];
      for await (const b of mapOrdered(items, scorer.judge.options.workers * 2, (i) => scorer.score(i.problem, i.completion))) {
        results.push(b);
        onProgress?.(++done, total);
      }
      writeFileSync(join(outDir, file), results.map((b) => JSON.stringify(breakdownRecord(b))).join('\n') + '\n');
      return results;
    };
    const reference = await scoreAll(problems.map((p) => ({ problem: p, completion: p.canonicalSolution ?? '' })), 'reference.jsonl');
    const samples = await scoreAll(loaded.samples.map((s) => ({ problem: byId.get(s.problemId)!, completion: s.completion })), 'samples.jsonl');
    const result: DemoResult = {
      outDir,
      reference: summarize(reference),
      samples: summarize(samples),
      referenceFailures: reference.filter((b) => b.testsPassed < b.testsTotal).map((b) => ({ problemId: b.problemId, verdicts: b.verdicts })),
      seconds: (Date.now() - started) / 1000,
    };
    writeFileSync(join(outDir, 'summary.json'), JSON.stringify(result, null, 2) + '\n');
    return result;
  } finally {
    await scorer.close();
  }
}
