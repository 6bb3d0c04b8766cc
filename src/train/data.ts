// The problems a trainer learns from and the ones it is measured on: a named data set (or a problem file)
// split by seed into disjoint training and evaluation ids (src/data/split.ts), so pretraining, SFT, RL
// and evaluation of one run never see the evaluation problems' answers.

import { loadDataset } from '../data/datasets.js';
import type { Problem } from '../data/problem.js';
import { mixPromptSets } from '../data/security-prompts.js';
import { applySplit, splitIds, type DataSplit } from '../data/split.js';
import type { Rng } from '../random.js';

export interface DataConfig {
  /** A data set name (apps-plus, mbpp, …) or a problem file. */
  dataset: string;
  /** Problems held out for evaluation, and the seed of the split. */
  evalSize: number;
  splitSeed: number;
  /** Training problems used (null: all the others). */
  trainSize: number | null;
  /** Tests kept per problem (the first ones). */
  maxTests: number;
  /** Other prompt sets mixed into the training problems (e.g. `cyberseceval-train` beside APPS+): `count`
   * problems of each, drawn by `mixPromptSets` with the split seed. The evaluation split stays the data
   * set's own. Absent or empty: no mix. */
  mix?: DataMixPart[] | null;
}

/** One prompt set mixed into the training problems: a data set name or problem file, and how many to draw. */
export interface DataMixPart {
  dataset: string;
  count: number;
}

export const DEFAULT_DATA: DataConfig = { dataset: 'apps-plus', evalSize: 100, splitSeed: 42, trainSize: null, maxTests: 5 };

export interface TrainData {
  train: Problem[];
  eval: Problem[];
  split: DataSplit;
}

/** Loads and splits; refuses a data set with load errors (named by file and line) or too few problems. */
export function loadTrainData(cfg: DataConfig): TrainData {
  const report = loadDataset(cfg.dataset, { maxTests: cfg.maxTests });
  if (report.errors.length) throw new Error(`data '${cfg.dataset}': ${report.errors.length} bad record(s), first: ${report.errors[0]}`);
  const split = splitIds(report.problems.map((p) => p.id), { seed: cfg.splitSeed, evalSize: cfg.evalSize, ...(cfg.trainSize !== null ? { trainSize: cfg.trainSize } : {}) });
  const { train, eval: held } = applySplit(report.problems, split);
  if (train.length === 0) throw new Error(`data '${cfg.dataset}': no training problems left after holding out ${cfg.evalSize}`);
  return { train: cfg.mix?.length ? mixedTraining(cfg, train, held) : train, eval: held, split };
}

/** Throws `where[i]: expected …` unless `mix` is null, absent or a list of `{dataset, count}` (count ≥ 1). */
export function checkDataMix(mix: unknown, where: string): asserts mix is DataMixPart[] | null | undefined {
  if (mix === undefined || mix === null) return;
  if (!Array.isArray(mix)) throw new Error(`${where}: expected a list of {dataset, count}, got ${JSON.stringify(mix)}`);
  mix.forEach((part: unknown, i) => {
    const p = part as Partial<DataMixPart> | null;
    if (typeof p !== 'object' || p === null || Array.isArray(p) || typeof p.dataset !== 'string' || p.dataset === '') {
      throw new Error(`${where}[${i}]: expected {dataset: string, count: number}, got ${JSON.stringify(part)}`);
    }
    const unknown = Object.keys(p).find((k) => k !== 'dataset' && k !== 'count');
    if (unknown) throw new Error(`${where}[${i}]: unknown field '${unknown}' (known: dataset, count)`);
    if (!Number.isInteger(p.count) || p.count! < 1) throw new Error(`${where}[${i}].count: expected a positive integer, got ${JSON.stringify(p.count)}`);
  });
}

/** The training problems with `cfg.mix`'s sets mixed in; refuses a part that is not a valid
 * `{dataset, count}`, does not load cleanly, has fewer than `count` problems, or holds an id of the
 * evaluation split. */
function mixedTraining(cfg: DataConfig, train: Problem[], held: readonly Problem[]): Problem[] {
  const heldIds = new Set(held.map((p) => p.id));
  checkDataMix(cfg.mix, 'data.mix');
  const parts = cfg.mix!.map((part, i) => {
    const where = `data.mix[${i}]`;
    const report = loadDataset(part.dataset, { maxTests: cfg.maxTests });
    if (report.errors.length) throw new Error(`${where}: data '${part.dataset}': ${report.errors.length} bad record(s), first: ${report.errors[0]}`);
    if (part.count > report.problems.length) throw new Error(`${where}.count: ${part.count} is more than the ${report.problems.length} problems of '${part.dataset}'`);
    const leaked = report.problems.find((p) => heldIds.has(p.id));
    if (leaked) throw new Error(`${where}: '${part.dataset}' holds ${JSON.stringify(leaked.id)}, one of '${cfg.dataset}''s evaluation problems`);
    return { problems: report.problems, count: part.count };
  });
  return mixPromptSets([{ problems: train, count: train.length }, ...parts], cfg.splitSeed);
}

/** The problems of step `step` (from 0): consecutive slices of a seeded shuffle, reshuffled each pass. */
export function batchProblems(problems: readonly Problem[], root: Rng, step: number, batchSize: number): Problem[] {
  const out: Problem[] = [];
  let order: Problem[] = [], orderPass = -1;
  for (let i = 0; i < batchSize; i++) {
    const k = step * batchSize + i;
    const pass = Math.floor(k / problems.length);
    if (pass !== orderPass) { order = passOrder(problems, root, pass); orderPass = pass; }
    out.push(order[k % problems.length]);
  }
  return out;
}

function passOrder(problems: readonly Problem[], root: Rng, pass: number): Problem[] {
  return root.fork(`data pass ${pass}`).shuffled(problems);
}

/** Where in the data order a run stands after `step` steps of `batchSize` problems (saved in checkpoints). */
export function dataPosition(step: number, batchSize: number, n: number): { pass: number; index: number } {
  const k = step * batchSize;
  return { pass: Math.floor(k / n), index: k % n };
}
