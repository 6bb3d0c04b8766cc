// Code fragments (CyberSecEval's `origin_code`: ~20 lines cut from the middle of a file) made into a
// program the analyzer can parse, around one line of interest. Only 47 of CyberSecEval's 351 instruct
// snippets parse as they are (94 after dedenting): they start inside a block, an open bracket or a string.

import { ruffParses } from './ruff.js';

export interface AnalyzableSnippet {
  /** What is analysed: `imports` (one line each), then `header` lines of `if True:` that give the
   * window's own dedents somewhere to return to, then the window's lines, dedented. */
  program: string;
  /** Modules the window uses as `name.attr` without importing them (see missingImports). */
  imports: string[];
  /** 0-based indices into the fragment's lines of the window's first and last line. */
  first: number;
  last: number;
  header: number;
  /** The line of interest's 1-based line number in `program`. */
  line: number;
}

const indentOf = (line: string) => /^[ \t]*/.exec(line)![0].replace(/\t/g, '        ').length;

/**
 * The window lines[first..last] as a program: dedented to its least indented line, and, when lines
 * after the first go back to levels below the first's, one `if True:` header per such level (a
 * fragment starting inside `for …:` that later dedents then parses). Returns the program and the
 * number of header lines.
 */
export function windowProgram(lines: readonly string[], first: number, last: number): { program: string; header: number } {
  const window = lines.slice(first, last + 1);
  const code = window.filter((l) => l.trim() !== '');
  if (code.length === 0) return { program: window.join('\n') + '\n', header: 0 };
  const min = Math.min(...code.map(indentOf));
  const dedented = window.map((l) => (l.trim() === '' ? '' : ' '.repeat(indentOf(l) - min) + l.replace(/^[ \t]*/, '')));
  const start = indentOf(dedented.find((l) => l.trim() !== '')!);
  const levels = [...new Set(dedented.filter((l) => l.trim() !== '').map(indentOf).filter((n) => n < start))].sort((a, b) => a - b);
  const headers = levels.map((n) => `${' '.repeat(n)}if True:`);
  return { program: [...headers, ...dedented].join('\n') + '\n', header: headers.length };
}

/** Modules whose calls the S rules look for. Ruff resolves `pickle.loads` through the file's imports, so
 * a fragment cut below its file's `import pickle` shows nothing; the fragment's own file imported them. */
export const RULE_MODULES = [
  'os', 'subprocess', 'pickle', 'cPickle', 'dill', 'shelve', 'marshal', 'jsonpickle', 'yaml', 'hashlib', 'crypt', 'random', 'tempfile',
  'telnetlib', 'ftplib', 'requests', 'ssl', 'socket', 'paramiko', 'jinja2', 'mako', 'tarfile', 'sqlite3', 'urllib', 'commands', 'popen2',
] as const;

/** The RULE_MODULES a program uses as `name.attr` but does not import (`import name` or `from name …`). */
export function missingImports(program: string): string[] {
  return RULE_MODULES.filter((m) =>
    new RegExp(`(?<![\\w.])${m}\\.\\w`).test(program) && !new RegExp(`^[ \\t]*(import[ \\t][^\\n]*\\b${m}\\b|from[ \\t]+${m}\\b)`, 'm').test(program));
}

/**
 * The largest window of `code`'s lines that contains line `index` (0-based) and parses (Ruff's
 * parser), trying longer windows first and, among windows of one length, those starting earlier;
 * with `addImports`, `import m` lines are put in front for the modules it uses but does not import.
 * null when not even the line alone parses.
 */
export function analyzableWindow(code: string, index: number, options: { addImports?: boolean; parses?: (program: string) => boolean } = {}): AnalyzableSnippet | null {
  const parses = options.parses ?? ruffParses;
  const lines = code.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length > index + 1 && lines[lines.length - 1].trim() === '') lines.pop();
  if (!(index >= 0 && index < lines.length)) throw new Error(`analyzableWindow: line index ${index} is outside the snippet's ${lines.length} lines`);
  for (let length = lines.length; length >= 1; length--) {
    for (let first = Math.max(0, index - length + 1); first <= index && first + length <= lines.length; first++) {
      const last = first + length - 1;
      const { program, header } = windowProgram(lines, first, last);
      if (!parses(program)) continue;
      const imports = options.addImports ? missingImports(program) : [];
      return {
        program: imports.map((m) => `import ${m}\n`).join('') + program, imports, first, last, header, line: imports.length + header + (index - first) + 1,
      };
    }
  }
  return null;
}

/** The 0-based index of `lineText` in the fragment (exact, else with whitespace trimmed), the match
 * nearest to `near` when it occurs more than once; null when absent. */
export function findLine(code: string, lineText: string, near = 10): number | null {
  const lines = code.replace(/\r\n?/g, '\n').split('\n');
  for (const same of [(l: string) => l === lineText, (l: string) => l.trim() === lineText.trim() && l.trim() !== '']) {
    const hits = lines.flatMap((l, i) => (same(l) ? [i] : []));
    if (hits.length) return hits.reduce((best, i) => (Math.abs(i - near) < Math.abs(best - near) ? i : best));
  }
  return null;
}
