import type { JudgeResult } from '../judge/types.js';

/** How R_func is computed from the judge's verdicts. */
export type RewardMode = 'partial' | 'binary' | 'additive';

/** The partial-credit ladder's rungs: 0 syntax error (or empty), 1 compiles, 2 runs without crashing
 * on some test, 3 prints something (or returns a value) on such a test, 4 passes at least one test. */
export type Stage = 0 | 1 | 2 | 3 | 4;

export function stageOf(result: JudgeResult): Stage {
  if (!result.syntaxOk) return 0;
  if (result.passed > 0) return 4;
  if (result.tests.some((t) => t.exitedOk && t.producedOutput)) return 3;
  if (result.tests.some((t) => t.exitedOk)) return 2;
  return 1;
}

/** Reference implementation's minimum program length; shorter code gets a total reward of 0. */
export const ADDITIVE_MIN_PROGRAM_CHARS = 10;

/**
 * R_func in [0, 1].
 * - `partial` (the paper's ladder): 0, 0.2, 0.4, 0.6 for stages 0–3; 0.6 + 0.4·k/T when k ≥ 1 of T
 *   tests pass.
 * - `binary`: 1 if the program compiles and passes all of at least one test, else 0.
 * - `additive` (the reference code, as a compatibility mode): 0.2 for compiling + 0.2 if any test
 *   exited 0 + 0.2 if any test printed something + 0.4·k/T, capped at 1; 1 for a compiling program
 *   when the problem has no tests.
 *
 * For a problem without tests, `result.tests` holds one smoke run on empty input, `result.total` is 0,
 * and the partial ladder stops at stage 3 (0.6).
 */
export function functionalReward(result: JudgeResult, mode: RewardMode): number {
  if (!result.syntaxOk) return 0;
  const { passed, total } = result;
  if (mode === 'binary') return total > 0 && passed === total ? 1 : 0;
  if (mode === 'additive') {
    if (total === 0) return 1;
    const ran = result.tests.some((t) => t.exitCode === 0) ? 0.2 : 0;
    const printed = result.tests.some((t) => t.producedOutput) ? 0.2 : 0;
    return Math.min(1, 0.2 + ran + printed + 0.4 * (passed / total));
  }
  const stage = stageOf(result);
  return stage === 4 ? 0.6 + 0.4 * (passed / total) : 0.2 * stage;
}
