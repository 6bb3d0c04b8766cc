import { readFileSync } from 'node:fs';
import type { PlainValue, TestCase } from '../judge/types.js';
import { isPlainObject, parseJson } from './json.js';
import type { LoadReport, Problem } from './problem.js';
import { detectStyle } from './style.js';

/**
 * APPS+ conventions (the MPLSandbox release, and our own problem JSONL):
 * - stdin style: every input is a string; the program is a zero-argument function that reads stdin,
 *   defined but never called, so the judge calls it (its name comes from the stub).
 * - call style: each input is the argument list and each output a one-element list wrapping the
 *   return value; string arguments and string results at the top level are stored as JSON string
 *   literals (`"\"abc\""`), which we decode.
 */

/** The last function name defined in a stub (`def name(` or a `Solution` method). */
export function stubFunctionName(stub: string): string | undefined {
  const names = [...stub.matchAll(/^\s*def\s+([A-Za-z_]\w*)\s*\(/gmu)].map((m) => m[1]);
  return names[names.length - 1];
}

function decodeQuoted(value: PlainValue): PlainValue {
  if (typeof value === 'string' && value.length >= 2 && value.startsWith('"') && value.endsWith('"')) {
    try {
      const decoded = JSON.parse(value);
      if (typeof decoded === 'string') return decoded;
    } catch { /* not a JSON literal: keep the text as it is */ }
  }
  return value;
}

/** Options shared by the loaders. */
export interface LoadOptions {
  /** Keep at most this many tests per problem (the first ones). Unlimited unless given. */
  maxTests?: number;
}

/** Builds a Problem from one APPS+ record; throws an Error naming the bad field. Style comes from
 * `detectStyle` (argument-list inputs, `fn_name`, or a stub with parameters that never reads stdin). */
export function problemFromAppsPlus(record: unknown, id: string, source: string, options: LoadOptions = {}): Problem {
  if (!isPlainObject(record)) throw new Error('expected a JSON object');
  const { prompt, inputs, outputs } = record;
  if (typeof prompt !== 'string') throw new Error('field "prompt": expected a string');
  if (!Array.isArray(inputs)) throw new Error('field "inputs": expected a list');
  if (!Array.isArray(outputs)) throw new Error('field "outputs": expected a list');
  if (inputs.length !== outputs.length) throw new Error(`fields "inputs"/"outputs": ${inputs.length} inputs but ${outputs.length} outputs`);
  const starterCode = typeof record.starter_code === 'string' ? record.starter_code : undefined;
  if (record.fn_name !== undefined && typeof record.fn_name !== 'string') throw new Error('field "fn_name": expected a string');
  const explicitFn = typeof record.fn_name === 'string' ? record.fn_name : undefined;
  const canonicalSolution = typeof record.canonical_solution === 'string' ? record.canonical_solution : undefined;
  const decision = detectStyle({ fnName: explicitFn, inputs, stub: `${prompt}\n${starterCode ?? ''}`, solution: canonicalSolution });
  const fnName = explicitFn ?? stubFunctionName(starterCode ?? prompt) ?? stubFunctionName(prompt);
  const stdin = decision.style === 'stdin';
  let tests: TestCase[];
  if (stdin) {
    tests = inputs.map((input, i) => {
      if (typeof outputs[i] !== 'string') throw new Error(`field "outputs[${i}]": expected a string for a stdin-style problem`);
      return { input: input as string, output: outputs[i] as string };
    });
  } else {
    if (!fnName) throw new Error('call-style problem without "fn_name" and without a function in the stub');
    const args = decision.decodedInputs ?? inputs;
    tests = args.map((input, i) => {
      if (!Array.isArray(input)) throw new Error(`field "inputs[${i}]": expected the argument list`);
      const output = outputs[i];
      const expected = Array.isArray(output) && output.length === 1 ? output[0] : output;
      return { input: (input as PlainValue[]).map(decodeQuoted), output: decodeQuoted(expected as PlainValue) };
    });
  }
  const total = tests.length;
  if (options.maxTests !== undefined) tests = tests.slice(0, options.maxTests);
  return {
    id,
    prompt,
    style: stdin ? 'stdin' : 'call',
    fnName,
    starterCode,
    tests,
    canonicalSolution,
    difficulty: typeof record.difficulty === 'string' ? record.difficulty : undefined,
    source,
    ...(total > tests.length || decision.decodedInputs ? { meta: { testsAvailable: total, style: decision.reason } } : {}),
  };
}

/** Reads an APPS+ JSON list (`valid_500.json`, or the full upstream `data.json`). Records without an
 * `id` are named by their index in the list. */
export function loadAppsPlus(path: string, options: LoadOptions = {}): LoadReport {
  const data = parseJson(readFileSync(path, 'utf8'));
  if (!Array.isArray(data)) throw new Error(`${path}: expected a JSON list of APPS+ problems`);
  const report: LoadReport = { problems: [], errors: [] };
  data.forEach((record, index) => {
    const id = isPlainObject(record) && (typeof record.id === 'string' || typeof record.id === 'number') ? String(record.id) : String(index);
    try {
      report.problems.push({ ...problemFromAppsPlus(record, id, `${path}#${index}`, options), dataset: 'apps-plus' });
    } catch (error) {
      report.errors.push(`${path}: record ${index}: ${(error as Error).message}`);
    }
  });
  return report;
}
