import { confidenceForBanditId, cweSeverity, type Finding, type Severity } from '../analyze/index.js';

/**
 * How findings become R_sec. `linear` (the paper): V = Σ severity weights capped at 1, R_sec = 1 − V.
 * `exp` (the paper's earlier form): R_sec = exp(−V). `graded`: every finding weighs by its CWE's
 * severity and the tool's severity and confidence, and V = 1 − Π(1 − wᵢ) (see gradedWeight).
 */
export type SecurityShape = 'linear' | 'exp' | 'graded';
export const SECURITY_SHAPES: readonly SecurityShape[] = ['linear', 'exp', 'graded'];

/** Bandit severities' weights in the linear and exp shapes; LOW findings are reported but do not count. */
export const SEVERITY_WEIGHT: Record<Severity, number> = { LOW: 0, MEDIUM: 0.5, HIGH: 1 };

/** Graded shape: the tool's severity as a factor. HIGH and MEDIUM keep the paper's 1 and 0.5; LOW
 * (weak random, assert, subprocess imports) weighs a little instead of nothing. */
export const GRADED_SEVERITY_FACTOR: Record<Severity, number> = { HIGH: 1, MEDIUM: 0.5, LOW: 0.1 };
/** Graded shape: the tool's confidence as a factor (a guess the check itself calls unsure counts less). */
export const GRADED_CONFIDENCE_FACTOR: Record<Severity, number> = { HIGH: 1, MEDIUM: 0.8, LOW: 0.6 };

/** A finding's confidence; one made by hand without it takes the table's for its Bandit id, else HIGH. */
export function confidenceOf(f: Finding): Severity {
  return f.confidence ?? confidenceForBanditId(f.banditId) ?? 'HIGH';
}

/** Graded weight in [0, 1]: (CWE score / 10) × severity factor × confidence factor. */
export function gradedWeight(f: Finding): number {
  return (cweSeverity(f.cwe) / 10) * GRADED_SEVERITY_FACTOR[f.severity] * GRADED_CONFIDENCE_FACTOR[confidenceOf(f)];
}

/** The weight a finding has in V under a shape. */
export function findingWeight(f: Finding, shape: SecurityShape = 'linear'): number {
  return shape === 'graded' ? gradedWeight(f) : SEVERITY_WEIGHT[f.severity];
}

/**
 * V in [0, 1]. linear/exp: the severity weights summed and capped at 1. graded: findings of the same
 * CWE on the same line count once (the heaviest; Ruff and Bandit often report one call twice, e.g. an
 * import and its use, or B308 beside B703), then V = 1 − Π(1 − wᵢ): each further finding raises V,
 * by less the higher V already is, and V reaches 1 only with a finding of weight 1.
 */
export function vulnerabilityScore(findings: readonly Finding[], shape: SecurityShape = 'linear'): number {
  if (shape !== 'graded') return Math.min(1, findings.reduce((sum, f) => sum + SEVERITY_WEIGHT[f.severity], 0));
  const heaviest = new Map<string, number>();
  for (const f of findings) {
    const key = `${f.line}\u0000${f.cwe ?? `rule ${f.rule || f.banditId}`}`;
    heaviest.set(key, Math.max(heaviest.get(key) ?? 0, gradedWeight(f)));
  }
  let clean = 1;
  for (const w of heaviest.values()) clean *= 1 - w;
  return 1 - clean;
}

export function securityReward(findings: readonly Finding[], shape: SecurityShape = 'linear'): number {
  const v = vulnerabilityScore(findings, shape);
  return shape === 'exp' ? Math.exp(-v) : 1 - v;
}

/** True when no MEDIUM or HIGH finding is present. */
export function securityClean(findings: readonly Finding[]): boolean {
  return findings.every((f) => SEVERITY_WEIGHT[f.severity] === 0);
}
