export { extractProgram, endsInFunctionStub, firstFencedBlock, type ExtractedProgram, type ExtractionSource } from './extract.js';
export { functionalReward, stageOf, ADDITIVE_MIN_PROGRAM_CHARS, type RewardMode, type Stage } from './ladder.js';
export { securityReward, securityClean, vulnerabilityScore, SEVERITY_WEIGHT, type SecurityShape } from './security.js';
export { lintReward, LINT_ZERO_AT } from './lint.js';
export { Scorer, breakdownRecord, combineReward, judgeResultOf, DEFAULT_REWARD, type RewardConfig, type RewardBreakdown } from './scorer.js';
export { mapOrdered } from './batch.js';
