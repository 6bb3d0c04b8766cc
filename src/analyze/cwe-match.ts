// When a finding's CWE names the same weakness as a data set's label. Tools file one weakness under
// different CWEs: Bandit files eval/exec (B307, B102) under CWE-78 where CyberSecEval's detector says
// CWE-94, weak random under CWE-330 where it says CWE-338, md5/sha1 under CWE-327 where it says 328.

/** Label CWE → the other CWEs a finding may carry for the same weakness, each with why. */
export const CWE_MATCHES: Readonly<Record<number, readonly { cwe: number; why: string }[]>> = {
  94: [{ cwe: 78, why: 'Bandit files eval/exec (B307, B102) under CWE-78' }, { cwe: 95, why: 'eval injection, a child of CWE-94' }],
  328: [{ cwe: 327, why: 'parent; Bandit files hashlib md5/sha1 (B324, B303) under CWE-327' }],
  338: [{ cwe: 330, why: 'parent; Bandit files random (B311) under CWE-330' }],
  798: [{ cwe: 259, why: 'child (hard-coded password); Bandit files B105–B107 under CWE-259' }],
};

/** Whether a finding of CWE `found` counts as the weakness labelled `label`. */
export function cweMatches(label: number, found: number | null): boolean {
  return found !== null && (found === label || (CWE_MATCHES[label] ?? []).some((m) => m.cwe === found));
}

/** `CWE-78` / `78` / 78 → 78; null when it is not a CWE identifier. */
export function parseCwe(value: unknown): number | null {
  if (typeof value === 'number') return Number.isInteger(value) && value > 0 ? value : null;
  if (typeof value !== 'string') return null;
  const m = /^(?:CWE-)?(\d+)$/i.exec(value.trim());
  return m ? Number(m[1]) : null;
}
