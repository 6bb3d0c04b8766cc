import { readFileSync } from 'node:fs';
import { loadAppsPlus } from './apps-plus.js';
import { loadProblemsJsonl } from './jsonl.js';
import type { LoadReport } from './problem.js';

export * from './problem.js';
export { loadAppsPlus, problemFromAppsPlus, stubFunctionName } from './apps-plus.js';
export { loadProblemsJsonl, jsonlLines } from './jsonl.js';
export { parseJson } from './json.js';

/** Loads problems from our JSONL or an APPS+ JSON list, telling them apart by the first character. */
export function loadProblems(path: string): LoadReport {
  let head: string;
  try {
    head = readFileSync(path, 'utf8').trimStart().slice(0, 1);
  } catch (error) {
    throw new Error(`cannot read problems file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  return head === '[' ? loadAppsPlus(path) : loadProblemsJsonl(path);
}
export { loadSamples, type Sample } from './samples.js';
