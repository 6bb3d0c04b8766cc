import { compileAsserts } from './asserts.js';
import type { LoadOptions } from './apps-plus.js';
import { fieldError, readDataText } from './files.js';
import { isPlainObject } from './json.js';
import { eachJsonlRecord } from './jsonl.js';
import { DEFAULT_MAX_TESTS, type LoadReport, type Problem } from './problem.js';
import { statements, tokenize } from './python-syntax.js';

/**
 * A HumanEval test module split into what runs at module level (imports, METADATA, helpers) and the
 * body of `check(candidate)`, whose statements are the tests. Throws naming the problem.
 */
export function splitCheckModule(test: string): { setup: string; body: string } {
  const src = test.replace(/\r\n?/gu, '\n');
  const stmts = statements(src, tokenize(src));
  const isCheck = (s: (typeof stmts)[number]) => s.tokens[0].text === 'def' && s.tokens[1]?.text === 'check';
  const checks = stmts.filter(isCheck);
  if (checks.length !== 1) throw new Error(`expected one "def check(candidate):", found ${checks.length}`);
  const check = checks[0];
  const params = check.tokens.slice(3, check.tokens.findIndex((t, i) => i > 2 && t.text === ')' && t.depth === 0)).map((t) => t.text).join('');
  if (params !== 'candidate') throw new Error(`expected "def check(candidate):", found check(${params})`);
  const colon = check.tokens.find((t) => t.text === ':' && t.depth === 0 && t.kind === 'op');
  if (!colon) throw new Error('"def check" without a body');
  const headerEnd = src.indexOf('\n', colon.end);
  const body = headerEnd === -1 ? '' : src.slice(headerEnd + 1, check.tokens[check.tokens.length - 1].end);
  if (body.trim() === '') throw new Error('"def check(candidate):" has an empty body (or a body on its header line)');
  const setup = stmts.filter((s) => !isCheck(s)).map((s) => s.text).join('\n');
  return { setup, body };
}

/** One HumanEval record as a Problem; throws an Error naming the bad field. `canonicalSolution` is the
 * complete program (prompt + canonical body). */
export function problemFromHumanEval(record: unknown, source: string, options: LoadOptions = {}): Problem {
  if (!isPlainObject(record)) throw new Error('expected a JSON object');
  const { task_id: id, prompt, entry_point: entry, canonical_solution: solution, test } = record;
  if (typeof id !== 'string' || id === '') throw fieldError('task_id', 'a string');
  if (typeof prompt !== 'string') throw fieldError('prompt', 'a string');
  if (typeof entry !== 'string' || !/^[A-Za-z_]\w*$/u.test(entry)) throw fieldError('entry_point', 'a function name');
  if (solution !== undefined && typeof solution !== 'string') throw fieldError('canonical_solution', 'a string');
  if (typeof test !== 'string') throw fieldError('test', 'the test module (a string)');
  let compiled;
  try {
    const { setup, body } = splitCheckModule(test);
    compiled = compileAsserts({ blocks: [body], setup, entryPoint: entry, maxTests: options.maxTests ?? DEFAULT_MAX_TESTS });
  } catch (error) {
    throw new Error(`field "test": ${(error as Error).message}`);
  }
  return {
    id,
    prompt,
    style: 'call',
    fnName: entry,
    tests: compiled.tests,
    ...(typeof solution === 'string' ? { canonicalSolution: prompt + solution } : {}),
    ...(compiled.compare ? { compare: compiled.compare } : {}),
    source,
    harness: compiled.harness,
    promptKind: 'code',
    dataset: 'humaneval',
    meta: {
      testsAvailable: compiled.tests.length + compiled.truncated,
      ...(compiled.constantAsserts ? { constantAssertsDropped: compiled.constantAsserts } : {}),
      ...(typeof solution === 'string' ? { canonicalCompletion: solution } : {}),
    },
  };
}

/** HumanEval (`HumanEval.jsonl.gz` or an uncompressed JSONL). */
export function loadHumanEval(path: string, options: LoadOptions = {}): LoadReport {
  const report: LoadReport = { problems: [], errors: [] };
  const seen = new Set<string>();
  eachJsonlRecord(path, readDataText(path), report.errors, (record, where) => {
    const problem = problemFromHumanEval(record, where, options);
    if (seen.has(problem.id)) throw new Error(`field "task_id": duplicate id ${JSON.stringify(problem.id)}`);
    seen.add(problem.id);
    report.problems.push(problem);
  });
  return report;
}
