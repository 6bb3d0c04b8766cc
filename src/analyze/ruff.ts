// Ruff, in process through its WebAssembly build: the `S` (flake8-bandit) rules as security findings,
// and general lint diagnostics. Workspaces are created on first use and reused (~0.3 ms a check).

import { createRequire } from 'node:module';
import v8 from 'node:v8';
import type * as RuffWasm from '@astral-sh/ruff-wasm-nodejs';
import { ROW_BY_NAME, ROW_BY_RULE } from './bandit-table.js';
import { type Finding, sortFindings } from './finding.js';
import { resolveConfidence, splitSeverity } from './severity.js';

export interface LintDiagnostic {
  code: string;
  message: string;
  line: number;
  column: number;
}

/** Ruff's own default selection: pyflakes plus the pycodestyle errors that are not style. */
export const DEFAULT_LINT_SELECT: readonly string[] = ['E4', 'E7', 'E9', 'F'];

const TARGET = 'py311';

let ruff: typeof RuffWasm | undefined;
const workspaces = new Map<string, RuffWasm.Workspace>();

/**
 * Loads Ruff's wasm with V8's baseline compiler only. With tier-up, V8 keeps optimising Ruff's hot
 * functions in the background and the process grew by ~300 MB over 30,000 checks (measured; with
 * Liftoff only, by 6 MB) for checks ~35% slower (0.09 vs 0.07 ms on a 3 kB program). The flag only
 * concerns WebAssembly, and nothing else in this process runs any.
 */
function loadRuff(): typeof RuffWasm {
  v8.setFlagsFromString('--liftoff-only');
  return createRequire(import.meta.url)('@astral-sh/ruff-wasm-nodejs') as typeof RuffWasm;
}

// Loading the wasm costs ~50 ms, so it waits until the first check rather than the first import.
function workspace(select: readonly string[], preview: boolean): RuffWasm.Workspace {
  const key = `${preview}:${select.join(',')}`;
  let ws = workspaces.get(key);
  if (!ws) {
    ruff ??= loadRuff();
    const settings = { 'target-version': TARGET, lint: { select: [...select], preview } };
    ws = new ruff.Workspace(settings, ruff.PositionEncoding.Utf16);
    workspaces.set(key, ws);
  }
  return ws;
}

/**
 * Suppression comments (`# noqa`, `# ruff: noqa`, `# ruff: disable[...]`, `# ruff: ignore[...]`) would let
 * a policy switch the analysis off, so they are defanged. Edits keep every length, so positions hold;
 * only text after a `#` changes (inside a string literal too; no S rule looks for these words).
 */
export function defangSuppressions(program: string): string {
  return program.replace(/#[^\r\n]*/g, (comment) =>
    comment.replace(/noqa/gi, (m) => m[0] + '0' + m.slice(2)).replace(/ruff(\s*):/gi, (m) => m[0] + '0' + m.slice(2)),
  );
}

function check(ws: RuffWasm.Workspace, program: string): RuffWasm.Diagnostic[] {
  return ws.check(defangSuppressions(program)) as RuffWasm.Diagnostic[];
}

const isSyntaxError = (d: RuffWasm.Diagnostic) => d.code === 'invalid-syntax' || d.code === null;

/** Whether Ruff's parser accepts the program (no `invalid-syntax` diagnostic). */
export function ruffParses(program: string): boolean {
  return !check(workspace(['E9'], false), program).some(isSyntaxError);
}

/** Ruff's `S` findings with Bandit's ids, severities and CWEs; [] when the program does not parse. */
export function ruffSecurityFindings(program: string): Finding[] {
  // Preview mode: the import rules S401-S415 and Bandit 1.7.5's chmod checks are preview-only in Ruff.
  // In preview Ruff reports rule names instead of codes, hence the lookup by name.
  const diagnostics = check(workspace(['S'], true), program);
  if (diagnostics.some(isSyntaxError)) return [];
  const lineStarts = lineOffsets(program);
  return sortFindings(diagnostics.map((d) => toFinding(d, program, lineStarts)));
}

function toFinding(d: RuffWasm.Diagnostic, program: string, lineStarts: number[]): Finding {
  const code = d.code ?? '';
  const row = ROW_BY_NAME.get(code) ?? ROW_BY_RULE.get(code);
  // A rule missing from the table (a newer Ruff) stays visible but weightless; a test covers the table.
  let severity: Finding['severity'] = row?.severity ?? 'LOW';
  let confidence: Finding['confidence'] = row?.confidence ?? 'LOW';
  if (row) {
    const start = offset(lineStarts, d.start_location, program.length);
    const end = offset(lineStarts, d.end_location, program.length);
    const flagged = { message: d.message, program, start, end };
    if (row.split) severity = splitSeverity(row.split, flagged);
    confidence = resolveConfidence(row.rule, row.confidence, severity, flagged);
  }
  return {
    rule: row?.rule ?? code,
    banditId: row?.banditId ?? '',
    severity,
    confidence,
    cwe: row?.cwe ?? null,
    line: d.start_location.row,
    column: d.start_location.column,
    message: d.message,
  };
}

/** Lint diagnostics for the selected rule codes; a program that does not parse gets its syntax errors. */
export function ruffLintDiagnostics(program: string, select: readonly string[] = DEFAULT_LINT_SELECT): LintDiagnostic[] {
  return check(workspace(select, false), program)
    .map((d) => ({ code: d.code ?? 'invalid-syntax', message: d.message, line: d.start_location.row, column: d.start_location.column }))
    .sort((a, b) => a.line - b.line || a.column - b.column);
}

function offset(lineStarts: number[], at: { row: number; column: number }, length: number): number {
  return Math.min((lineStarts[at.row - 1] ?? length) + at.column - 1, length);
}

/** Offset of the first UTF-16 unit of each line (Ruff counts \n, \r\n and \r as line ends). */
function lineOffsets(text: string): number[] {
  const starts = [0];
  for (const m of text.matchAll(/\r\n|\r|\n/g)) starts.push(m.index! + m[0].length);
  return starts;
}
