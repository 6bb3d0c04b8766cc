// The securecoderl library: everything the command line does, as typed functions and classes.
// The core (judge, analysis, reward, data, evaluation) is exported flat; the larger subsystems as
// namespaces, so their many names do not crowd (or collide in) the top level.
export * from './judge/index.js';
export * from './analyze/index.js';
export * from './reward/index.js';
export * from './data/index.js';
export { Rng, hash32, fnv1a64, type Seed } from './random.js';
export * from './eval/index.js';
export { scoreFiles, type ScoreFilesOptions, type ScoreFilesResult } from './eval/score-files.js';
export { summarize, formatSummary, type ScoreSummary } from './eval/summary.js';
export { runDemo, type DemoResult } from './eval/demo.js';
export { benchJudge, type JudgeBenchOptions, type JudgeBenchResult } from './bench/judge-bench.js';
export * as report from './report/index.js';
export { createRewardServer, RewardServer, type RewardServerOptions } from './serve/index.js';
export * as serve from './serve/index.js';
export * as model from './model/index.js';
export * as engine from './engine/index.js';
export * as train from './train/index.js';
