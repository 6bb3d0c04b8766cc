import { readFileSync } from 'node:fs';
import { problemFromAppsPlus, type LoadOptions } from './apps-plus.js';
import { isPlainObject, parseJson } from './json.js';
import type { LoadReport } from './problem.js';
import type { CompareMode } from '../judge/types.js';

/** Lines of a JSONL file with their 1-based numbers; blank lines are skipped. */
export function* jsonlLines(text: string): Generator<{ line: number; text: string }> {
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== '') yield { line: i + 1, text: lines[i] };
  }
}

/**
 * Parses each non-blank line of a JSONL text and hands the record to `take` with its `file:line`. A
 * line that is not JSON, or that `take` throws on, becomes `file:line: message` in `errors`; the other
 * lines are still taken.
 */
export function eachJsonlRecord(path: string, text: string, errors: string[], take: (record: unknown, where: string) => void): void {
  for (const { line, text: row } of jsonlLines(text)) {
    const where = `${path}:${line}`;
    try {
      let record: unknown;
      try {
        record = parseJson(row);
      } catch (error) {
        throw new Error(`not valid JSON (${(error as Error).message})`);
      }
      take(record, where);
    } catch (error) {
      errors.push(`${where}: ${(error as Error).message}`);
    }
  }
}

const COMPARE_MODES = new Set(['default', 'strict', 'float']);

/**
 * Our problem JSONL: one problem a line with `id`, `prompt`, `inputs`, `outputs`, optional `fn_name`,
 * `starter_code`, `compare` and `canonical_solution`; inputs and outputs follow the APPS+ conventions.
 */
export function loadProblemsJsonl(path: string, options: LoadOptions = {}): LoadReport {
  const report: LoadReport = { problems: [], errors: [] };
  const seen = new Set<string>();
  eachJsonlRecord(path, readFileSync(path, 'utf8'), report.errors, (record, where) => {
    if (!isPlainObject(record)) throw new Error('expected a JSON object');
    if (typeof record.id !== 'string' && typeof record.id !== 'number') throw new Error('field "id": missing (a string or number)');
    const id = String(record.id);
    if (seen.has(id)) throw new Error(`field "id": duplicate id ${JSON.stringify(id)}`);
    const problem = problemFromAppsPlus(record, id, where, options);
    if (record.compare !== undefined) {
      if (typeof record.compare !== 'string' || !COMPARE_MODES.has(record.compare)) throw new Error('field "compare": expected default, strict or float');
      problem.compare = record.compare as CompareMode;
    }
    seen.add(id);
    report.problems.push(problem);
  });
  return report;
}
