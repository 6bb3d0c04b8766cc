// The result type shared by both security backends.

export type Severity = 'LOW' | 'MEDIUM' | 'HIGH';

export interface Finding {
  /** Ruff code, e.g. 'S307'; for the bandit backend the matching Ruff code, or '' if Ruff has none. */
  rule: string;
  /** Bandit test id, e.g. 'B307' ('' for a Ruff rule this table does not know). */
  banditId: string;
  severity: Severity;
  /** How sure the check is that this is a real issue: Bandit's own confidence for the check (the ruff
   * backend takes it from the table, the bandit backend from Bandit's report). Both backends set it;
   * a finding made by hand without it counts with the table's confidence for its Bandit id, else HIGH. */
  confidence?: Severity;
  /** CWE number, e.g. 78. */
  cwe: number | null;
  /** 1-based. */
  line: number;
  /** 1-based (UTF-16 code units for the ruff backend; 1 when Bandit gives no column). */
  column: number;
  message: string;
}

export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule));
}
