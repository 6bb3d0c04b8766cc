// The securecoderl library: everything the command line does, as typed functions and classes.
export * from './judge/index.js';
export * from './analyze/index.js';
export * from './reward/index.js';
export * from './data/index.js';
export { scoreFiles, type ScoreFilesOptions, type ScoreFilesResult } from './eval/score-files.js';
export { summarize, formatSummary, type ScoreSummary } from './eval/summary.js';
export { runDemo, BUNDLED_DATA, type DemoResult } from './eval/demo.js';
export { benchJudge, type JudgeBenchOptions, type JudgeBenchResult } from './bench/judge-bench.js';
export * as engine from './engine/index.js';
