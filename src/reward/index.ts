export { extractProgram, endsInFunctionStub, firstFencedBlock, type ExtractedProgram, type ExtractionSource } from './extract.js';
export { functionalReward, stageOf, ADDITIVE_MIN_PROGRAM_CHARS, type RewardMode, type Stage } from './ladder.js';
export {
  securityReward, securityClean, vulnerabilityScore, findingWeight, gradedWeight, confidenceOf, SEVERITY_WEIGHT, SECURITY_SHAPES,
  GRADED_SEVERITY_FACTOR, GRADED_CONFIDENCE_FACTOR, type SecurityShape,
} from './security.js';
export { lintReward, LINT_ZERO_AT } from './lint.js';
export { Scorer, extractProgramFor, breakdownRecord, combineReward, judgeResultOf, validRewardConfig, DEFAULT_REWARD, type RewardConfig, type RewardBreakdown, type WeightedFinding } from './scorer.js';
export { mapOrdered } from './batch.js';
export {
  repairTasks, repairReward, repairPrompt, identifiersOf, definedNamesOf, REPAIR_MIN_KEPT_IDENTIFIERS, type RepairTask, type RepairScore,
} from './repair.js';
