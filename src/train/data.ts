// The problems a trainer learns from and the ones it is measured on: a named data set (or a problem file)
// split by seed into disjoint training and evaluation ids (src/data/split.ts), so pretraining, SFT, RL
// and evaluation of one run never see the evaluation problems' answers.

import { loadDataset } from '../data/datasets.js';
import type { Problem } from '../data/problem.js';
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
  return { train, eval: held, split };
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
