import { compileAsserts } from './asserts.js';
import type { LoadOptions } from './apps-plus.js';
import { fieldError, readDataText } from './files.js';
import { isPlainObject } from './json.js';
import { eachJsonlRecord } from './jsonl.js';
import { DEFAULT_MAX_TESTS, type LoadReport, type Problem } from './problem.js';

/** Libraries named in ODEX's `library` field that are not part of Python's standard library. */
export const ODEX_THIRD_PARTY = new Set([
  'pandas', 'numpy', 'matplotlib', 'requests', 'bs4', 'flask', 'django', 'scipy', 'multidict', 'regex', 'sqlalchemy',
  'obspy', 'pytz', 'sklearn', 'tensorflow', 'torch', 'seaborn', 'lxml', 'yaml', 'mock', 'selenium', 'nltk', 'PIL',
]);

export interface OdexOptions extends LoadOptions {
  /** `all` (default); `none`: only problems whose `library` list is empty (209 of the 439);
   * `no-third-party`: only problems that need nothing outside the standard library. */
  libraries?: 'all' | 'none' | 'no-third-party';
}

/** The ODEX prompt with the intent as the function's docstring (ODEX puts the NL intent there). */
export function odexPrompt(prompt: string, intent: string): string {
  const newline = prompt.indexOf('\n');
  if (newline === -1 || intent.trim() === '') return prompt;
  const indent = /^[ \t]*/u.exec(prompt.slice(newline + 1))![0] || '\t';
  const text = intent.trim().replace(/\\/gu, '\\\\').replace(/"""/gu, '\\"\\"\\"');
  return `${prompt.slice(0, newline + 1)}${indent}"""${text}\n${indent}"""\n${prompt.slice(newline + 1)}`;
}

/** One ODEX record as a Problem; throws an Error naming the bad field. `id` must be unique (the file
 * repeats task ids, so loaders number them). `canonicalSolution` is the complete program. */
export function problemFromOdex(record: unknown, id: string, source: string, options: OdexOptions = {}): Problem {
  if (!isPlainObject(record)) throw new Error('expected a JSON object');
  const { prompt, suffix, canonical_solution: solution, test_start: testStart, test, entry_point: entry, intent, library } = record;
  if (typeof prompt !== 'string') throw fieldError('prompt', 'a string');
  if (suffix !== undefined && typeof suffix !== 'string') throw fieldError('suffix', 'a string');
  if (solution !== undefined && typeof solution !== 'string') throw fieldError('canonical_solution', 'a string');
  if (typeof testStart !== 'string') throw fieldError('test_start', 'a string');
  if (!Array.isArray(test) || !test.every((t) => typeof t === 'string') || test.length === 0) throw fieldError('test', 'a non-empty list of strings');
  if (typeof entry !== 'string' || !/^[A-Za-z_]\w*$/u.test(entry)) throw fieldError('entry_point', 'a function name');
  if (intent !== undefined && typeof intent !== 'string') throw fieldError('intent', 'a string');
  if (library !== undefined && (!Array.isArray(library) || !library.every((l) => typeof l === 'string'))) throw fieldError('library', 'a list of strings');
  const start = testStart.replace(/\r\n?/gu, '\n').replace(/\s+$/u, '');
  const header = /(^|\n)def[ \t]+check[ \t]*\([ \t]*([A-Za-z_]\w*)[ \t]*\)[ \t]*:$/u.exec(start);
  if (!header) throw fieldError('test_start', 'setup code ending in "def check(candidate):"');
  let compiled;
  try {
    compiled = compileAsserts({
      blocks: test as string[], setup: start.slice(0, header.index), entryPoint: entry, candidateName: header[2],
      maxTests: options.maxTests ?? DEFAULT_MAX_TESTS,
    });
  } catch (error) {
    throw new Error(`field "test": ${(error as Error).message}`);
  }
  const fullPrompt = odexPrompt(prompt, typeof intent === 'string' ? intent : '');
  const libs = (library as string[] | undefined) ?? [];
  return {
    id,
    prompt: fullPrompt,
    style: 'call',
    fnName: entry,
    tests: compiled.tests,
    ...(typeof solution === 'string' ? { canonicalSolution: fullPrompt + solution + (suffix ?? '') } : {}),
    ...(compiled.compare ? { compare: compiled.compare } : {}),
    source,
    harness: compiled.harness,
    ...(typeof suffix === 'string' && suffix !== '' ? { suffix } : {}),
    promptKind: 'code',
    dataset: 'odex',
    meta: {
      taskId: String(record.task_id),
      intent: typeof intent === 'string' ? intent : null,
      libraries: libs,
      thirdParty: libs.some((l) => ODEX_THIRD_PARTY.has(l)),
      testsAvailable: compiled.tests.length + compiled.truncated,
      ...(typeof solution === 'string' ? { canonicalCompletion: solution } : {}),
    },
  };
}

/** ODEX (`en_test.jsonl` and the other languages' files). Ids are `<task_id>-<n>`, n numbering the
 * records that share a task id (the file repeats task ids). */
export function loadOdex(path: string, options: OdexOptions = {}): LoadReport {
  const report: LoadReport = { problems: [], errors: [] };
  const occurrences = new Map<string, number>();
  let skipped = 0;
  eachJsonlRecord(path, readDataText(path), report.errors, (record, where) => {
    if (!isPlainObject(record)) throw new Error('expected a JSON object');
    const taskId = record.task_id;
    if (typeof taskId !== 'number' && typeof taskId !== 'string') throw fieldError('task_id', 'a number or string');
    const n = occurrences.get(String(taskId)) ?? 0;
    occurrences.set(String(taskId), n + 1);
    const problem = problemFromOdex(record, `${taskId}-${n}`, where, options);
    const libs = problem.meta!.libraries as string[];
    if ((options.libraries === 'none' && libs.length > 0) || (options.libraries === 'no-third-party' && problem.meta!.thirdParty)) skipped++;
    else report.problems.push(problem);
  });
  if (skipped > 0) (report.notes ??= []).push(`${path}: ${skipped} problems needing libraries left out (libraries: ${options.libraries})`);
  return report;
}
