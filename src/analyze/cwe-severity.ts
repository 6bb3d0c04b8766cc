// How severe each CWE is, on CodeQL's 0–10 `@security-severity` scale. Data only, with its source per
// row; the graded security reward (src/reward/security.ts) turns it into finding weights.
//
// MITRE publishes no per-CWE severity. CodeQL gives each security query a `@security-severity` (GitHub
// derives it from the CVSS scores of CVEs mapped to the query's CWE tags), which is the per-CWE scale
// used here. Rule for a row: the score of a CodeQL query tagged with that CWE (a Python query where one
// exists, else another language's); else of a query tagged with its parent CWE, or of the CodeQL query
// that detects the same Python pattern as the Bandit check filing it (noted); else DEFAULT_CWE_SEVERITY.
// Values were read from the query headers in github/codeql (python/ql/src/Security/…, java/…, javascript/…,
// swift/…). The CWE Top 25 (2023) rank and score are carried for context: they rank prevalence × severity
// in NVD data, not the severity of one finding, so the weight does not use them.

export interface CweSeverity {
  cwe: number;
  name: string;
  /** 0–10, CodeQL's `@security-severity` scale. */
  score: number;
  /** Where the score comes from (a CodeQL query id, or the default). */
  source: string;
  /** 2023 CWE Top 25: [rank, score], when the CWE is on it. */
  top25?: [number, number];
}

/** The score of a CWE that no CodeQL query covers (the middle of CVSS's 4.0–6.9 "medium" band, rounded). */
export const DEFAULT_CWE_SEVERITY = 5.0;

const DEFAULT_SOURCE = 'default: no CodeQL query tags it';

export const CWE_SEVERITY: readonly CweSeverity[] = [
  { cwe: 20, name: 'Improper Input Validation', score: 7.8, source: 'py/incomplete-url-substring-sanitization', top25: [6, 15.50] },
  { cwe: 22, name: 'Path Traversal', score: 7.5, source: 'py/path-injection, py/tarslip', top25: [8, 14.11] },
  { cwe: 78, name: 'OS Command Injection', score: 9.8, source: 'py/command-line-injection', top25: [5, 15.65] },
  { cwe: 79, name: 'Cross-site Scripting', score: 6.1, source: 'py/reflective-xss, py/jinja2/autoescape-false', top25: [2, 45.54] },
  { cwe: 80, name: 'Basic XSS', score: 6.1, source: 'parent CWE-79: py/reflective-xss' },
  { cwe: 89, name: 'SQL Injection', score: 8.8, source: 'py/sql-injection', top25: [3, 34.27] },
  { cwe: 94, name: 'Code Injection', score: 9.3, source: 'py/code-injection', top25: [23, 3.30] },
  { cwe: 155, name: 'Improper Neutralization of Wildcards', score: DEFAULT_CWE_SEVERITY, source: DEFAULT_SOURCE },
  { cwe: 259, name: 'Use of Hard-coded Password', score: 9.8, source: 'py/hardcoded-credentials' },
  { cwe: 284, name: 'Improper Access Control', score: DEFAULT_CWE_SEVERITY, source: DEFAULT_SOURCE },
  { cwe: 295, name: 'Improper Certificate Validation', score: 7.5, source: 'py/request-without-cert-validation, py/paramiko-missing-host-key-validation' },
  { cwe: 312, name: 'Cleartext Storage of Sensitive Information', score: 7.5, source: 'py/clear-text-storage-sensitive-data' },
  { cwe: 319, name: 'Cleartext Transmission of Sensitive Information', score: 7.5, source: 'swift/cleartext-transmission' },
  { cwe: 326, name: 'Inadequate Encryption Strength', score: 7.5, source: 'py/weak-crypto-key' },
  { cwe: 327, name: 'Broken or Risky Cryptographic Algorithm', score: 7.5, source: 'py/weak-cryptographic-algorithm, py/weak-sensitive-data-hashing' },
  { cwe: 328, name: 'Use of Weak Hash', score: 7.5, source: 'parent CWE-327: py/weak-sensitive-data-hashing' },
  { cwe: 330, name: 'Use of Insufficiently Random Values', score: 7.8, source: 'java/insecure-randomness' },
  { cwe: 338, name: 'Cryptographically Weak PRNG', score: 7.8, source: 'js/insecure-randomness, java/insecure-randomness' },
  { cwe: 377, name: 'Insecure Temporary File', score: 7.0, source: 'py/insecure-temporary-file' },
  { cwe: 400, name: 'Uncontrolled Resource Consumption', score: 7.5, source: 'py/xml-bomb, py/polynomial-redos' },
  { cwe: 494, name: 'Download of Code Without Integrity Check', score: DEFAULT_CWE_SEVERITY, source: DEFAULT_SOURCE },
  { cwe: 502, name: 'Deserialization of Untrusted Data', score: 9.8, source: 'py/unsafe-deserialization', top25: [15, 5.56] },
  { cwe: 605, name: 'Multiple Binds to the Same Port', score: 6.5, source: 'same check as B104: py/bind-socket-all-network-interfaces (tagged CWE-200)' },
  { cwe: 703, name: 'Improper Check or Handling of Exceptional Conditions', score: DEFAULT_CWE_SEVERITY, source: DEFAULT_SOURCE },
  { cwe: 732, name: 'Incorrect Permission Assignment for Critical Resource', score: 7.8, source: 'py/overly-permissive-file' },
  { cwe: 798, name: 'Use of Hard-coded Credentials', score: 9.8, source: 'py/hardcoded-credentials', top25: [18, 4.57] },
  { cwe: 838, name: 'Inappropriate Encoding for Output Context', score: DEFAULT_CWE_SEVERITY, source: DEFAULT_SOURCE },
];

const BY_CWE = new Map(CWE_SEVERITY.map((row) => [row.cwe, row]));

/** A CWE's score on the 0–10 scale (DEFAULT_CWE_SEVERITY for a CWE the table lacks or null). */
export function cweSeverity(cwe: number | null): number {
  return (cwe === null ? undefined : BY_CWE.get(cwe)?.score) ?? DEFAULT_CWE_SEVERITY;
}

/** The table as Markdown; docs/security.md embeds this text verbatim (a test checks it). */
export function cweSeverityMarkdown(): string {
  const lines = ['| CWE | name | score | source (CodeQL query) | Top 25 (2023) |', '|---|---|---|---|---|'];
  for (const r of CWE_SEVERITY) {
    lines.push(`| ${r.cwe} | ${r.name} | ${r.score.toFixed(1)} | ${r.source} | ${r.top25 ? `#${r.top25[0]} (${r.top25[1].toFixed(2)})` : ''} |`);
  }
  return lines.join('\n');
}
