// eval/: generation backends, run folders, metrics with bootstrap intervals, pass@k, best-of-k, benchmarks.
export { runEval, createBackend, defaultLabel, visibleScore, RUN_FILES, type EvalConfig, type EvalRunOptions, type EvalResult, type RunSummary, type BackendSpec } from './run.js';
export { BackendError, DEFAULT_SAMPLING, type GenerationBackend, type GenerationRequest, type Generation, type SamplingParams, type PlannedPrompt, type BackendErrorKind } from './backends/backend.js';
export { OpenAIBackend, apiBase, type OpenAIBackendOptions } from './backends/openai.js';
export { CompletionsFileBackend } from './backends/completions-file.js';
export { createLocalBackend, LocalBackend, templateStops, type LocalBackendOptions } from './backends/local.js';
export { loadEvalDataset, selectPrompts, DataError, type LoadedDataset } from './dataset.js';
export { promptTemplate, type EvalTemplate, type BackendPrompt } from './prompt.js';
export { computeSummary, groupByPrompt, pickBest, sampleFailure, failureKind, FAILURE_KINDS, type EvalSummary, type BestOfK, type FailureKind, type MetricsOptions } from './metrics.js';
export { comparePaired, PAIRED_METRICS, type PairedMetric, type PairedResult } from './compare.js';
export { bootstrapRatios, pairedDifference, ratio, quantile, DEFAULT_RESAMPLES, type Interval, type RatioStat, type BootstrapOptions } from './bootstrap.js';
export { passAtK } from './passk.js';
export { securitySummary, findingOfRecord, type SecuritySummary, type PromptCweRate, type FindingCweRate } from './security-metrics.js';
export { benchModels, readBenchConfig, benchModelConfig, type BenchModelsConfig, type BenchModel, type BenchModelsResult } from './bench-models.js';
export { formatRunSummary } from './format.js';
export type { SampleRecord, GenerationRecord, FindingRecord, VisibleScore } from './record.js';
export { cyberSecEvalAgreement, agreementMarkdown, shortPattern, type AgreementReport, type AgreementRow, type SnippetVerdict } from './agreement.js';
