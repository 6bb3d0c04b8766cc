export * from './types.js';
export { Judge, type JudgeOptions } from './judge.js';
export { outputsMatch, valuesEqual } from './compare.js';
export { DEFAULT_SANDBOX, type SandboxOptions } from './sandbox.js';
