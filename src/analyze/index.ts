// Static analysis of generated Python: security findings (Ruff's S rules in process, or the real Bandit)
// and lint diagnostics. See docs/security.md.

import { banditFindings } from './bandit.js';
import type { Finding } from './finding.js';
import { type LintDiagnostic, ruffLintDiagnostics, ruffSecurityFindings } from './ruff.js';

export type { Finding, Severity } from './finding.js';
export type { LintDiagnostic } from './ruff.js';
export { DEFAULT_LINT_SELECT, defangSuppressions, ruffParses, ruffSecurityFindings } from './ruff.js';
export { type BanditOptions, banditFindings, banditFindingsMany } from './bandit.js';
export { analyzableWindow, windowProgram, findLine, missingImports, RULE_MODULES, type AnalyzableSnippet } from './snippet.js';
export { CWE_MATCHES, cweMatches, parseCwe } from './cwe-match.js';
export { CWE_SEVERITY, DEFAULT_CWE_SEVERITY, cweSeverity, cweSeverityMarkdown, type CweSeverity } from './cwe-severity.js';
export { BANDIT_ONLY, BANDIT_TABLE, type BanditRow, SPLITS, type Split, banditTableMarkdown, confidenceForBanditId, cweForBanditId } from './bandit-table.js';

export type SecurityBackend = 'ruff' | 'bandit';

/**
 * Security findings, sorted by line. 'ruff' (default) runs in process in well under a millisecond;
 * 'bandit' needs Bandit installed and costs ~0.3 s a call. A program that does not parse yields [].
 */
export async function securityFindings(program: string, backend: SecurityBackend = 'ruff'): Promise<Finding[]> {
  if (backend === 'ruff') return ruffSecurityFindings(program);
  if (backend === 'bandit') return banditFindings(program);
  throw new Error(`securityFindings: unknown backend '${String(backend)}' (expected 'ruff' or 'bandit')`);
}

/** Lint diagnostics for `select` (Ruff rule codes or prefixes; default E4, E7, E9, F). */
export function lintDiagnostics(program: string, select?: string[]): LintDiagnostic[] {
  return ruffLintDiagnostics(program, select);
}
