import { compileAsserts, definedNames } from './asserts.js';
import type { LoadOptions } from './apps-plus.js';
import { fieldError, readDataText } from './files.js';
import { isPlainObject, parseJson } from './json.js';
import { eachJsonlRecord } from './jsonl.js';
import { DEFAULT_MAX_TESTS, type LoadReport, type Problem } from './problem.js';
import { tokenize } from './python-syntax.js';

/** MBPP's own split by task id: 1–10 few-shot prompts, 11–510 test, 511–600 validation, 601–974 train. */
export type MbppSplit = 'prompt' | 'test' | 'validation' | 'train';

export interface MbppOptions extends LoadOptions {
  /** Only the problems of these splits (default: all). The sanitized set keeps the same ids. */
  split?: MbppSplit | MbppSplit[] | 'all';
  /** How many of the test asserts the prompt shows (default 1, as in the usual MBPP prompt that pins
   * the function's name and signature; the asserts shown are judged too). */
  promptTests?: number;
  /** Also judge `challenge_test_list` (full MBPP; default false, as the benchmark does). */
  challengeTests?: boolean;
}

export function mbppSplitOf(taskId: number): MbppSplit {
  if (taskId <= 10) return 'prompt';
  if (taskId <= 510) return 'test';
  if (taskId <= 600) return 'validation';
  return 'train';
}

function stringList(record: Record<string, unknown>, field: string, required: boolean): string[] {
  const value = record[field];
  if (value === undefined && !required) return [];
  if (!Array.isArray(value) || !value.every((x) => typeof x === 'string')) throw fieldError(field, 'a list of strings');
  return value as string[];
}

/** The prompt: the task and the first `shown` asserts in a docstring (the form code models are
 * usually given MBPP in). */
export function mbppPrompt(text: string, asserts: string[]): string {
  const body = [text.trim(), ...asserts.map((a) => a.trim())].join('\n').replace(/"""/gu, '\\"\\"\\"');
  return `"""\n${body}\n"""\n`;
}

/** The function the tests call: the first name of the reference solution called in the first test. */
function entryPoint(functions: string[], firstTest: string): string | undefined {
  try {
    const tokens = tokenize(firstTest);
    const called = tokens.find((t, i) => t.kind === 'name' && functions.includes(t.text) && tokens[i + 1]?.text === '(');
    if (called) return called.text;
  } catch { /* fall back to the last function */ }
  return functions[functions.length - 1];
}

/** One MBPP record (full or sanitized) as a Problem; throws an Error naming the bad field. */
export function problemFromMbpp(record: unknown, source: string, options: MbppOptions = {}, dataset = 'mbpp'): Problem {
  if (!isPlainObject(record)) throw new Error('expected a JSON object');
  const taskId = record.task_id;
  if (typeof taskId !== 'number' || !Number.isInteger(taskId)) throw fieldError('task_id', 'an integer');
  const textField = typeof record.text === 'string' ? 'text' : 'prompt';
  const text = record[textField];
  if (typeof text !== 'string') throw fieldError('text', 'the task description (a string; `prompt` in the sanitized set)');
  const code = record.code;
  if (typeof code !== 'string') throw fieldError('code', 'the reference solution (a string)');
  const tests = stringList(record, 'test_list', true);
  if (tests.length === 0) throw fieldError('test_list', 'at least one assert');
  const challenge = options.challengeTests ? stringList(record, 'challenge_test_list', false) : [];
  const imports = stringList(record, 'test_imports', false);
  const setupCode = record.test_setup_code;
  if (setupCode !== undefined && typeof setupCode !== 'string') throw fieldError('test_setup_code', 'a string');
  const functions = definedNames(code);
  if (functions.length === 0) throw fieldError('code', 'a reference solution that defines a function');
  const setup = [...imports, setupCode ?? ''].filter((s) => s.trim() !== '').join('\n');
  const blocks = [...tests, ...challenge];
  let compiled;
  try {
    compiled = compileAsserts({ blocks, setup, programFunctions: functions, maxTests: options.maxTests ?? DEFAULT_MAX_TESTS });
  } catch (error) {
    throw new Error(`field "test_list": ${(error as Error).message}`);
  }
  const shown = Math.max(0, Math.min(options.promptTests ?? 1, tests.length));
  return {
    id: String(taskId),
    prompt: mbppPrompt(text, tests.slice(0, shown)),
    style: 'call',
    fnName: entryPoint(functions, tests[0]),
    tests: compiled.tests,
    canonicalSolution: code,
    ...(compiled.compare ? { compare: compiled.compare } : {}),
    source,
    harness: compiled.harness,
    promptKind: 'code',
    dataset,
    meta: {
      split: mbppSplitOf(taskId),
      text,
      testsAvailable: compiled.tests.length + compiled.truncated,
      ...(challenge.length ? { challengeTests: challenge.length } : {}),
    },
  };
}

function wanted(split: MbppOptions['split']): Set<MbppSplit> | null {
  if (split === undefined || split === 'all') return null;
  return new Set(Array.isArray(split) ? split : [split]);
}

function finish(report: LoadReport, skipped: number, options: MbppOptions, path: string): LoadReport {
  if (skipped > 0) (report.notes ??= []).push(`${path}: ${skipped} problems outside split ${JSON.stringify(options.split)} left out`);
  return report;
}

/** Full MBPP (`mbpp.jsonl`, 974 problems). */
export function loadMbpp(path: string, options: MbppOptions = {}): LoadReport {
  const report: LoadReport = { problems: [], errors: [] };
  const splits = wanted(options.split);
  const seen = new Set<string>();
  let skipped = 0;
  eachJsonlRecord(path, readDataText(path), report.errors, (record, where) => {
    const problem = problemFromMbpp(record, where, options, 'mbpp');
    if (seen.has(problem.id)) throw new Error(`field "task_id": duplicate id ${problem.id}`);
    seen.add(problem.id);
    if (splits && !splits.has(problem.meta!.split as MbppSplit)) skipped++;
    else report.problems.push(problem);
  });
  return finish(report, skipped, options, path);
}

/** Sanitized MBPP (`sanitized-mbpp.json`, a JSON list of 427 problems). */
export function loadMbppSanitized(path: string, options: MbppOptions = {}): LoadReport {
  const data = parseJson(readDataText(path));
  if (!Array.isArray(data)) throw new Error(`${path}: expected a JSON list of MBPP problems`);
  const report: LoadReport = { problems: [], errors: [] };
  const splits = wanted(options.split);
  const seen = new Set<string>();
  let skipped = 0;
  data.forEach((record, index) => {
    const where = `${path}#${index}`;
    try {
      const problem = problemFromMbpp(record, where, options, 'mbpp-sanitized');
      if (seen.has(problem.id)) throw new Error(`field "task_id": duplicate id ${problem.id}`);
      seen.add(problem.id);
      if (splits && !splits.has(problem.meta!.split as MbppSplit)) { skipped++; return; }
      report.problems.push(problem);
    } catch (error) {
      report.errors.push(`${path}: record ${index}: ${(error as Error).message}`);
    }
  });
  return finish(report, skipped, options, path);
}
