// Resolves the severity of a split rule (see SPLITS in bandit-table.ts) from Ruff's message and the
// flagged source text, following Bandit's own rule for each.

import type { Split } from './bandit-table.js';
import type { Severity } from './finding.js';

/** The slice of a Ruff diagnostic the splits look at. Offsets index into the program string. */
export interface FlaggedCode {
  message: string;
  program: string;
  start: number;
  end: number;
}

const S_IWOTH = 0o002;

export function splitSeverity(split: Split, d: FlaggedCode): Severity {
  switch (split) {
    case 'shell-literal':
      // Ruff words the literal-command variant "... seems safe, but may be changed in the future".
      return /seems safe/.test(d.message) ? 'LOW' : 'HIGH';
    case 'chmod-mode': {
      // Ruff prints the resolved mask (stat constants included); an "invalid mask" has none.
      const printed = /mask `(0o[0-7]+)`/.exec(d.message);
      const mode = printed ? Number(printed[1]) : pythonInt(d.program.slice(d.start, d.end));
      return mode !== null && mode & S_IWOTH ? 'HIGH' : 'MEDIUM';
    }
    case 'key-size': {
      // Ruff flags every EC curve below 224 bits; the ones it knows are 163 or 192 bits, so MEDIUM.
      if (d.message.startsWith('EC ')) return 'MEDIUM';
      // For RSA/DSA Ruff's range is the key-size argument.
      const bits = pythonInt(d.program.slice(d.start, d.end));
      return bits !== null && bits < 1024 ? 'HIGH' : 'MEDIUM';
    }
    case 'hash-module':
      return /in `crypt`/.test(d.message) ? 'MEDIUM' : 'HIGH';
    case 'tar-members': {
      // Ruff's range is `x.extractall`; Bandit grades the members= keyword inside the call.
      const members = /\bmembers\s*=\s*([\w.]+\s*\()?/.exec(callArguments(d.program, d.end));
      if (!members) return 'HIGH';
      return members[1] ? 'LOW' : 'MEDIUM';
    }
  }
}

/**
 * Bandit's confidence for a finding whose row depends on the code: S202 (tarfile) reports its
 * severity's level as confidence; S608 (SQL built from strings) is MEDIUM when the string is the
 * argument of an `execute`/`executemany` call and LOW otherwise, as Bandit's injection_sql does;
 * S701 (jinja2) is MEDIUM when `autoescape=` is given something other than the literal False
 * (Ruff's range is then the keyword), HIGH when it is False or missing.
 */
export function resolveConfidence(rule: string, tableConfidence: Severity, severity: Severity, d: FlaggedCode): Severity {
  if (rule === 'S202') return severity;
  if (rule === 'S701') {
    const keyword = /^autoescape\s*=\s*(.*)$/s.exec(d.program.slice(d.start, d.end).trim());
    return keyword && keyword[1].trim() !== 'False' ? 'MEDIUM' : 'HIGH';
  }
  if (rule === 'S608') return /\.(execute|executemany)\s*\(\s*$/.test(d.program.slice(Math.max(0, d.start - 200), d.start)) ? 'MEDIUM' : 'LOW';
  return tableConfidence;
}

/** A Python integer literal (decimal, 0x, 0o, 0b, with underscores), or null. */
export function pythonInt(text: string): number | null {
  const t = text.trim().replace(/_/g, '');
  if (!/^(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|[0-9]+)$/.test(t)) return null;
  return Number(t);
}

/** The text of the parenthesised argument list starting at `from` (brackets inside strings not handled). */
function callArguments(program: string, from: number): string {
  const open = program.indexOf('(', from);
  if (open < 0 || program.slice(from, open).trim() !== '') return '';
  let depth = 0;
  for (let i = open; i < program.length; i++) {
    const c = program[i];
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']' || c === '}') depth--;
    if (depth === 0) return program.slice(open, i + 1);
  }
  return program.slice(open);
}
