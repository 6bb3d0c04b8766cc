// How our analyzer agrees with CyberSecEval's own labels on its `origin_code`: every record says that
// its detector (CodeShield's semgrep and regex rules) flagged CWE-X at one line of the snippet. We run
// our analyzer on the largest parseable window around that line and count, per labelled CWE, what it
// sees there and what it misses. All records are positives, so this measures recall and the CWE
// confusion, not false positives.

import { banditFindingsMany, cweMatches, parseCwe, ruffSecurityFindings, type Finding, type SecurityBackend } from '../analyze/index.js';
import { analyzableWindow, findLine, type AnalyzableSnippet } from '../analyze/snippet.js';
import { cyberSecEvalOrigin } from '../data/security-prompts.js';
import type { Problem } from '../data/problem.js';

/** One source snippet with its label, the window analysed and what the analyzer found there. */
export interface SnippetVerdict {
  origin: string;
  /** A record made from the snippet (the first by id). */
  id: string;
  cwe: number;
  pattern: string;
  window: AnalyzableSnippet | null;
  /** Findings in the window, lines as in `window.program`. */
  findings: Finding[];
  /** A finding of the label's weakness (cweMatches) on the labelled line / anywhere in the window. */
  sameAtLine: boolean;
  sameAnywhere: boolean;
  /** Any finding on the labelled line / anywhere. */
  anyAtLine: boolean;
  anyAnywhere: boolean;
  /** A MEDIUM or HIGH finding of the label's weakness anywhere (what `linear` R_sec would punish). */
  sameMediumHigh: boolean;
}

export interface AgreementRow {
  cwe: number;
  snippets: number;
  /** Snippets with a window that parses around the labelled line. */
  analyzable: number;
  sameAtLine: number;
  sameAnywhere: number;
  sameMediumHigh: number;
  anyAtLine: number;
  /** Analyzable snippets without a finding of the label's weakness. */
  missed: number;
}

export interface AgreementReport {
  backend: SecurityBackend;
  /** Whether `import m` lines were added for modules the fragment uses but does not import. */
  addImports: boolean;
  records: number;
  snippets: number;
  rows: AgreementRow[];
  /** Per labelled CWE: snippets with a finding of each CWE on the labelled line (`none`: no finding there). */
  confusion: { cwe: number; found: Record<string, number> }[];
  /** Analyzable snippets the analyzer missed, by the data set's detector rule. */
  misses: { cwe: number; pattern: string; count: number; example: string }[];
  verdicts: SnippetVerdict[];
}

/** The rule name at the end of a CodeShield pattern id (`…semgrep.python.insecure-crypto-prng-random`). */
export function shortPattern(patternId: string): string {
  return patternId.split('.').pop() || patternId;
}

/**
 * The agreement of `backend` with the labels of CyberSecEval `problems` (as loaded by
 * loadCyberSecEval: meta.cwe, meta.lineText, meta.originCode). Records made from one snippet are
 * counted once. A record without its origin code or labelled line is an error naming it.
 */
export async function cyberSecEvalAgreement(
  problems: readonly Problem[],
  options: { backend?: SecurityBackend; addImports?: boolean } = {},
): Promise<AgreementReport> {
  const backend = options.backend ?? 'ruff';
  const addImports = options.addImports ?? true;
  const snippets = new Map<string, Omit<SnippetVerdict, 'findings' | 'sameAtLine' | 'sameAnywhere' | 'anyAtLine' | 'anyAnywhere' | 'sameMediumHigh'>>();
  for (const p of [...problems].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    const m = p.meta ?? {};
    const where = `${p.source ?? p.id}`;
    if (typeof m.originCode !== 'string') throw new Error(`${where}: field "origin_code": expected a string`);
    if (typeof m.lineText !== 'string') throw new Error(`${where}: field "line_text": expected a string`);
    const cwe = parseCwe(m.cwe);
    if (cwe === null) throw new Error(`${where}: field "cwe_identifier": expected CWE-<number>, got ${JSON.stringify(m.cwe)}`);
    const origin = cyberSecEvalOrigin(p);
    if (snippets.has(origin)) continue;
    const index = findLine(m.originCode, m.lineText);
    if (index === null) throw new Error(`${where}: field "line_text": not a line of origin_code`);
    snippets.set(origin, { origin, id: p.id, cwe, pattern: shortPattern(String(m.patternId ?? m.rule ?? '')), window: analyzableWindow(m.originCode, index, { addImports }) });
  }
  const list = [...snippets.values()];
  const programs = list.map((s) => s.window?.program ?? '');
  const found = backend === 'bandit' ? await banditFindingsMany(programs) : programs.map((p) => (p ? ruffSecurityFindings(p) : []));
  const verdicts: SnippetVerdict[] = list.map((s, i) => {
    const findings = found[i];
    const line = s.window?.line ?? -1;
    const same = findings.filter((f) => cweMatches(s.cwe, f.cwe));
    return {
      ...s, findings,
      sameAtLine: same.some((f) => f.line === line), sameAnywhere: same.length > 0,
      anyAtLine: findings.some((f) => f.line === line), anyAnywhere: findings.length > 0,
      sameMediumHigh: same.some((f) => f.severity !== 'LOW'),
    };
  });

  const cwes = [...new Set(verdicts.map((v) => v.cwe))].sort((a, b) => a - b);
  const count = (vs: SnippetVerdict[], f: (v: SnippetVerdict) => boolean) => vs.filter(f).length;
  const rows = cwes.map((cwe): AgreementRow => {
    const vs = verdicts.filter((v) => v.cwe === cwe);
    const analyzable = vs.filter((v) => v.window !== null);
    return {
      cwe, snippets: vs.length, analyzable: analyzable.length,
      sameAtLine: count(vs, (v) => v.sameAtLine), sameAnywhere: count(vs, (v) => v.sameAnywhere), sameMediumHigh: count(vs, (v) => v.sameMediumHigh),
      anyAtLine: count(vs, (v) => v.anyAtLine), missed: count(analyzable, (v) => !v.sameAnywhere),
    };
  });
  const confusion = cwes.map((cwe) => {
    const foundAt: Record<string, number> = {};
    for (const v of verdicts.filter((x) => x.cwe === cwe && x.window)) {
      const at = [...new Set(v.findings.filter((f) => f.line === v.window!.line).map((f) => (f.cwe === null ? '?' : `CWE-${f.cwe}`)))];
      for (const key of at.length ? at : ['none']) foundAt[key] = (foundAt[key] ?? 0) + 1;
    }
    return { cwe, found: foundAt };
  });
  const missGroups = new Map<string, { cwe: number; pattern: string; count: number; example: string }>();
  for (const v of verdicts.filter((x) => x.window && !x.sameAnywhere)) {
    const key = `${v.cwe}\u0000${v.pattern}`;
    const g = missGroups.get(key) ?? { cwe: v.cwe, pattern: v.pattern, count: 0, example: v.id };
    g.count++;
    missGroups.set(key, g);
  }
  const misses = [...missGroups.values()].sort((a, b) => b.count - a.count || a.cwe - b.cwe || a.pattern.localeCompare(b.pattern));
  return { backend, addImports, records: problems.length, snippets: verdicts.length, rows, confusion, misses, verdicts };
}

/** The report as Markdown tables (what docs/security.md shows). */
export function agreementMarkdown(r: AgreementReport): string {
  const pct = (n: number, d: number) => (d === 0 ? '–' : `${n} (${Math.round((100 * n) / d)}%)`);
  const total = (k: keyof AgreementRow) => r.rows.reduce((s, row) => s + (row[k] as number), 0);
  const lines = [
    `${r.records} records, ${r.snippets} source snippets; backend ${r.backend}; ${r.addImports ? 'imports of the modules a fragment uses added' : 'fragments as cut'}. Percentages are of analyzable snippets.`,
    '',
    '| label CWE | snippets | analyzable | its CWE at the labelled line | its CWE anywhere | … MEDIUM/HIGH | any finding at the line | missed |',
    '|---|---|---|---|---|---|---|---|',
  ];
  const row = (name: string, x: Omit<AgreementRow, 'cwe'>) =>
    `| ${name} | ${x.snippets} | ${x.analyzable} | ${pct(x.sameAtLine, x.analyzable)} | ${pct(x.sameAnywhere, x.analyzable)} | ${pct(x.sameMediumHigh, x.analyzable)} | ${pct(x.anyAtLine, x.analyzable)} | ${pct(x.missed, x.analyzable)} |`;
  for (const x of r.rows) lines.push(row(`CWE-${x.cwe}`, x));
  lines.push(row('all', {
    snippets: total('snippets'), analyzable: total('analyzable'), sameAtLine: total('sameAtLine'), sameAnywhere: total('sameAnywhere'),
    sameMediumHigh: total('sameMediumHigh'), anyAtLine: total('anyAtLine'), missed: total('missed'),
  }));
  const columns = [...new Set(r.confusion.flatMap((c) => Object.keys(c.found)))].sort((a, b) =>
    a === 'none' ? 1 : b === 'none' ? -1 : Number(a.slice(4)) - Number(b.slice(4)));
  lines.push('', 'What the analyzer reports on the labelled line (snippets; a snippet with findings of two CWEs there counts in both):', '',
    `| label CWE | ${columns.join(' | ')} |`, `|---|${columns.map(() => '---').join('|')}|`);
  for (const c of r.confusion) lines.push(`| CWE-${c.cwe} | ${columns.map((k) => c.found[k] ?? '').join(' | ')} |`);
  lines.push('', 'Misses (analyzable snippets without a finding of the label\'s weakness), by the data set\'s detector rule:', '',
    '| label CWE | detector rule | snippets | e.g. |', '|---|---|---|---|');
  for (const m of r.misses) lines.push(`| CWE-${m.cwe} | ${m.pattern} | ${m.count} | ${m.example} |`);
  return lines.join('\n');
}
