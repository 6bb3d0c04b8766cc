// The HTTP reward service: our sandboxed judge and reward for trainers on other machines.
export { createRewardServer, RewardServer, ROUTES, type ScoreResponse, type HealthResponse } from './server.js';
export { DEFAULT_SERVE_LIMITS, resolveLimits, isLoopback, type RewardServerOptions, type ServeLimits, type JudgeSetup } from './options.js';
export { loadProblemFiles, problemIndex } from './problems.js';
export { ScoringQueue, type Outcome, type QueueOptions, type BatchOptions } from './queue.js';
export { parseScoreRequest, type ScoreItem, type ScoreRequest, type RequestLimits } from './score-request.js';
export { parseOpenRlhfRequest, openRlhfResponse, completionFromQuery, stripSpecialTokens, type OpenRlhfItem, type OpenRlhfResponse } from './openrlhf.js';
export { sampleRecord, batchSummary, allPass, type SampleStatus, type SampleOutcome, type BatchSummary } from './records.js';
export { RequestError, type ErrorBody } from './errors.js';
export { ServeMetrics } from './service-metrics.js';
export { Registry, Counter, Histogram, Collected, PROMETHEUS_CONTENT_TYPE } from './metrics.js';
