/** Diagnostics at which the lint term reaches 0. */
export const LINT_ZERO_AT = 10;

/** R_lint in [0, 1]: 1 − n/10 for n Ruff diagnostics, floored at 0 (the RLVR study's style term,
 * in a bounded form). A program that does not compile gets 0. */
export function lintReward(diagnosticCount: number, syntaxOk: boolean): number {
  if (!syntaxOk) return 0;
  return Math.max(0, 1 - diagnosticCount / LINT_ZERO_AT);
}
