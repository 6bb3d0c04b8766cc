// The problems an RL trainer samples prompts from and the ones its model is evaluated on, with the data
// set's own prompt options: MBPP under its standard split by task id (train 601–974 for training, test
// 11–510 for evaluation) and its own prompt (the task's text and the first `promptTests` asserts), or any
// data set split by seed as `loadTrainData` does.

import { loadDataset } from '../data/datasets.js';
import type { Problem } from '../data/problem.js';
import { splitIds } from '../data/split.js';

export interface TaskDataConfig {
  /** A data set name (mbpp, apps-plus, …) or a problem file. */
  dataset: string;
  /** 'mbpp': MBPP's standard split (train → training, test → evaluation); 'seeded': a seeded split of all problems. */
  split: 'mbpp' | 'seeded';
  /** Evaluation problems: held out ('seeded'), or taken from the test split ('mbpp'; null: all 500). */
  evalSize: number | null;
  /** Seed of the split, and of the subsets `trainSize` and `evalSize` pick. */
  splitSeed: number;
  /** Training problems used (null: all). */
  trainSize: number | null;
  /** Tests kept per problem (the first ones). */
  maxTests: number;
  /** MBPP: asserts shown in the prompt under the task's text (the loader's default, 1, pins the function's name). */
  promptTests: number;
}

export const DEFAULT_TASK_DATA: TaskDataConfig = { dataset: 'mbpp', split: 'mbpp', evalSize: null, splitSeed: 42, trainSize: null, maxTests: 5, promptTests: 1 };

const MBPP_SETS = ['mbpp', 'mbpp-sanitized'];

/** Training and evaluation problems; refuses load errors (named by file and line) and splits that do not fit. */
export function loadTaskData(cfg: TaskDataConfig): { train: Problem[]; eval: Problem[] } {
  if (cfg.split === 'mbpp' && !MBPP_SETS.includes(cfg.dataset)) throw new Error(`data '${cfg.dataset}': split 'mbpp' needs dataset mbpp or mbpp-sanitized (use split 'seeded')`);
  const load = (split?: 'train' | 'test') => {
    const report = loadDataset(cfg.dataset, { maxTests: cfg.maxTests, promptTests: cfg.promptTests, ...(split ? { split } : {}) });
    if (report.errors.length) throw new Error(`data '${cfg.dataset}': ${report.errors.length} bad record(s), first: ${report.errors[0]}`);
    return report.problems;
  };
  let out: { train: Problem[]; eval: Problem[] };
  if (cfg.split === 'seeded') {
    const problems = load();
    if (cfg.evalSize === null) throw new Error(`data '${cfg.dataset}': split 'seeded' needs evalSize (problems held out)`);
    out = pick(problems, splitIds(problems.map((p) => p.id), { seed: cfg.splitSeed, evalSize: cfg.evalSize, ...(cfg.trainSize !== null ? { trainSize: cfg.trainSize } : {}) }));
  } else {
    out = { train: subset(load('train'), cfg.trainSize, cfg.splitSeed, 'trainSize'), eval: subset(load('test'), cfg.evalSize, cfg.splitSeed, 'evalSize') };
  }
  if (out.train.length === 0) throw new Error(`data '${cfg.dataset}': no training problems`);
  return out;
}

/** `size` problems in a seeded order (all, in that order, when size is null). */
function subset(problems: Problem[], size: number | null, seed: number, what: string): Problem[] {
  if (size !== null && size > problems.length) throw new Error(`data: ${what} ${size} exceeds the split's ${problems.length} problems`);
  const split = splitIds(problems.map((p) => p.id), { seed, evalSize: 0, trainSize: size ?? problems.length });
  return pick(problems, split).train;
}

function pick(problems: readonly Problem[], split: { train: string[]; eval: string[] }): { train: Problem[]; eval: Problem[] } {
  const byId = new Map(problems.map((p) => [p.id, p]));
  return { train: split.train.map((id) => byId.get(id)!), eval: split.eval.map((id) => byId.get(id)!) };
}
