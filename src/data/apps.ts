import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import type { PlainValue, TestCase } from '../judge/types.js';
import type { LoadOptions } from './apps-plus.js';
import { isPlainObject, parseJson } from './json.js';
import { DEFAULT_MAX_TESTS, type LoadReport, type Problem } from './problem.js';
import { detectStyle } from './style.js';

/**
 * The original APPS layout: one folder per problem with `question.txt`, `input_output.json`
 * (`inputs`, `outputs`, optional `fn_name`), `solutions.json` (a list of programs), `metadata.json`
 * (`difficulty`, `url`) and, for call-style problems, `starter_code.py`.
 */

function isProblemDir(dir: string): boolean {
  return existsSync(join(dir, 'question.txt'));
}

function subdirs(dir: string): string[] {
  return readdirSync(dir).filter((name) => {
    try {
      return statSync(join(dir, name)).isDirectory();
    } catch {
      return false;
    }
  }).sort().map((name) => join(dir, name));
}

/** Problem folders under `root`: root itself, its subfolders, or their subfolders (`train/0001`). */
export function appsProblemDirs(root: string): string[] {
  if (isProblemDir(root)) return [root];
  const found: string[] = [];
  for (const dir of subdirs(root)) {
    if (isProblemDir(dir)) found.push(dir);
    else found.push(...subdirs(dir).filter(isProblemDir));
  }
  return found;
}

function readJson(path: string): unknown {
  const text = readFileSync(path, 'utf8');
  try {
    return parseJson(text);
  } catch (error) {
    throw new Error(`${basename(path)}: not valid JSON (${(error as Error).message})`);
  }
}

/** APPS joins list-valued stdin inputs and outputs with newlines. */
function asText(value: unknown, field: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((x) => typeof x === 'string')) return value.join('\n');
  throw new Error(`input_output.json: field "${field}": expected a string (or a list of lines)`);
}

/** One APPS problem folder as a Problem; throws an Error naming the file and field. */
export function problemFromAppsDir(dir: string, id: string, options: LoadOptions = {}): Problem {
  const question = readFileSync(join(dir, 'question.txt'), 'utf8');
  const ioPath = join(dir, 'input_output.json');
  if (!existsSync(ioPath)) throw new Error('input_output.json: missing (a problem without tests cannot be judged)');
  const io = readJson(ioPath);
  if (!isPlainObject(io)) throw new Error('input_output.json: expected a JSON object');
  const { inputs, outputs } = io;
  if (!Array.isArray(inputs)) throw new Error('input_output.json: field "inputs": expected a list');
  if (!Array.isArray(outputs)) throw new Error('input_output.json: field "outputs": expected a list');
  if (inputs.length !== outputs.length) throw new Error(`input_output.json: fields "inputs"/"outputs": ${inputs.length} inputs but ${outputs.length} outputs`);
  if (io.fn_name !== undefined && typeof io.fn_name !== 'string') throw new Error('input_output.json: field "fn_name": expected a string');
  const fnName = io.fn_name as string | undefined;
  const starterPath = join(dir, 'starter_code.py');
  const starter = existsSync(starterPath) ? readFileSync(starterPath, 'utf8') : undefined;
  let solutions: string[] = [];
  const solutionsPath = join(dir, 'solutions.json');
  if (existsSync(solutionsPath)) {
    const parsed = readJson(solutionsPath);
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'string')) throw new Error('solutions.json: expected a list of programs');
    solutions = parsed as string[];
  }
  let metadata: Record<string, unknown> = {};
  const metadataPath = join(dir, 'metadata.json');
  if (existsSync(metadataPath)) {
    const parsed = readJson(metadataPath);
    if (!isPlainObject(parsed)) throw new Error('metadata.json: expected a JSON object');
    metadata = parsed;
  }
  let decision;
  try {
    decision = detectStyle({
      fnName, inputs: inputs.map((x) => (Array.isArray(x) && !fnName && x.every((l) => typeof l === 'string') ? x.join('\n') : x)),
      stub: starter, solution: solutions[0],
    });
  } catch (error) {
    throw new Error(`input_output.json: ${(error as Error).message}`);
  }
  const call = decision.style === 'call';
  let tests: TestCase[];
  if (call) {
    if (!fnName) throw new Error('input_output.json: field "fn_name": missing for a call-style problem');
    const args = decision.decodedInputs ?? inputs;
    tests = args.map((input, i) => {
      if (!Array.isArray(input)) throw new Error(`input_output.json: field "inputs[${i}]": expected the argument list`);
      return { input: input as PlainValue[], output: outputs[i] as PlainValue };
    });
  } else {
    tests = inputs.map((input, i) => ({ input: asText(input, `inputs[${i}]`), output: asText(outputs[i], `outputs[${i}]`) }));
  }
  const total = tests.length;
  tests = tests.slice(0, options.maxTests ?? DEFAULT_MAX_TESTS);
  const format = call ? 'Use Call-Based format' : 'Use Standard Input format';
  const prompt = `${question.trim()}\n\n${starter && starter.trim() !== '' ? `${starter.trimEnd()}\n\n` : ''}${format}\n`;
  return {
    id,
    prompt,
    style: call ? 'call' : 'stdin',
    ...(call ? { fnName, acceptWrappedResult: true } : {}),
    ...(starter !== undefined ? { starterCode: starter } : {}),
    tests,
    ...(solutions.length ? { canonicalSolution: solutions[0] } : {}),
    ...(typeof metadata.difficulty === 'string' ? { difficulty: metadata.difficulty } : {}),
    source: dir,
    promptKind: 'text',
    dataset: 'apps',
    meta: {
      question,
      solutions: solutions.length,
      testsAvailable: total,
      style: decision.reason,
      ...(typeof metadata.url === 'string' ? { url: metadata.url } : {}),
    },
  };
}

/** Original APPS: a folder of problem folders (`0001/`, …, or `train/0001/`, `test/0001/`), or one
 * problem folder. Ids are the folder paths relative to `root` (`0001`, `train/0001`). */
export function loadApps(root: string, options: LoadOptions = {}): LoadReport {
  if (!existsSync(root)) throw new Error(`cannot read data folder ${root}: ENOENT`);
  const report: LoadReport = { problems: [], errors: [] };
  const dirs = appsProblemDirs(root);
  if (dirs.length === 0) throw new Error(`${root}: no APPS problem folders (folders with question.txt) found`);
  for (const dir of dirs) {
    const id = dir === root ? basename(dir) : relative(root, dir).split(sep).join('/');
    try {
      report.problems.push(problemFromAppsDir(dir, id, options));
    } catch (error) {
      report.errors.push(`${dir}: ${(error as Error).message}`);
    }
  }
  return report;
}
