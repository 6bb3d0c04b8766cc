import type { Finding, Severity } from '../analyze/index.js';

/** How V (the weighted count of findings) becomes R_sec: `linear` 1 − min(V, 1), `exp` exp(−V). */
export type SecurityShape = 'linear' | 'exp';

/** Bandit severities' weights in V; LOW findings are reported but do not count. */
export const SEVERITY_WEIGHT: Record<Severity, number> = { LOW: 0, MEDIUM: 0.5, HIGH: 1 };

/** V: the findings' weights summed and capped at 1. */
export function vulnerabilityScore(findings: readonly Finding[]): number {
  return Math.min(1, findings.reduce((sum, f) => sum + SEVERITY_WEIGHT[f.severity], 0));
}

export function securityReward(findings: readonly Finding[], shape: SecurityShape = 'linear'): number {
  const v = vulnerabilityScore(findings);
  return shape === 'exp' ? Math.exp(-v) : 1 - v;
}

/** True when no MEDIUM or HIGH finding is present. */
export function securityClean(findings: readonly Finding[]): boolean {
  return findings.every((f) => SEVERITY_WEIGHT[f.severity] === 0);
}
