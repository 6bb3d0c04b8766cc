// The trainers' public API: pretraining, SFT, PPO, GRPO/GSPO, RLOO self-correction, presets, the minimal example, the Table 3 comparison,
// and the shared core they are built on (run folder, policy graph, rollout, advantages, losses, schedules).

export { RunFolder, Progress, StopRequest, type RunMeta, type TrainerKind } from './run.js';
export { mergeConfig } from './config.js';
export { loadTrainData, checkDataMix, DEFAULT_DATA, type DataConfig, type DataMixPart, type TrainData } from './data.js';
export { tokenBatch, packedBatch, packExamples, type Sequence, type TokenBatch } from './batch.js';
export { PolicyGraph, type PolicyGraphOptions, type GrpoHeadOptions, type GrpoItem, type PpoItem, type StepResult } from './policy.js';
export { rollout, PromptCodec, PAPER_SAMPLING, type RolloutSample, type RolloutResult, type SamplingConfig } from './rollout.js';
export * from './advantages.js';
export * from './losses.js';
export * from './schedule.js';
export { rewardUnder, mixedReward } from './scheduled-reward.js';
export { pretrain, parsePretrainConfig, DEFAULT_PRETRAIN_CONFIG, type PretrainConfig, type PretrainResult } from './pretrain.js';
export { pythonStdlibSources, appsPlusSolutions, mbppSolutions } from './corpus.js';
export { sft, parseSftConfig, sftExample, DEFAULT_SFT_CONFIG, type SftConfig, type SftResult } from './sft.js';
export { ppo, parsePpoConfig, rewardSchedule, DEFAULT_PPO_CONFIG, TrainingHalted, type PpoConfig, type PpoResult, type PpoVariant } from './ppo.js';
export { grpo, parseGrpoConfig, DEFAULT_GRPO_CONFIG, type GrpoConfig, type GrpoResult } from './grpo.js';
export { rloo, parseRlooConfig, DEFAULT_RLOO_CONFIG, trajectoryAdvantages, correctionMetrics, turnRewardOf, solved, type RlooConfig, type RlooResult } from './rloo.js';
export { feedbackProblem, feedbackText, clipHead, clipTail, DEFAULT_FEEDBACK_LIMITS, type FeedbackLimits, type ProgramOutcome } from './feedback.js';
export { REWARD_FUNCTIONS, rewardValues, weightedReward, rewardMeans, lintOf, type RewardFunctionName, type WeightedFunction, type ScoredSample, type RewardValues } from './reward-functions.js';
export { sampleProfile, groupRewardStats, exceptionName, type SampleProfile } from './step-metrics.js';
export { loadTaskData, DEFAULT_TASK_DATA, type TaskDataConfig } from './task-split.js';
export { buildTinyModel, resolvePpoConfig, resolveGrpoConfig, resolveRlooConfig, resolveSftConfig, PPO_PRESETS, GRPO_PRESETS, RLOO_PRESETS, RECIPES, PRESET_NAMES, type PresetName, type TinyModel } from './presets.js';
export { evaluateHeldOut, type HeldOutResult } from './evaluate.js';
export { minimalExample, type MinimalExampleResult, type StageCheck } from './minimal-example.js';
export { reproduce, tableRows, tableMarkdown, type ReproduceResult, type TableRow } from './reproduce.js';
export { reproduceSecurity, securityArmConfig, securityTrainData, trainingSignal, SECURITY_ARMS, SECURITY_TINY, ARM_PAIRS, type SecurityArm, type SecurityReproSettings, type SecurityReproResult, type TrainingSignal } from './reproduce-security.js';
export { securitySftProblems, type SecuritySftSet } from './security-sft.js';
export { securityRows, securityCweRows, securityComparisons, securityMarkdown, findingCweCounts, isInsecure, SECURITY_COLUMNS, type SecurityEvaluated, type SecurityRow, type CweRow, type ArmComparison, type RateCell } from './security-table.js';
