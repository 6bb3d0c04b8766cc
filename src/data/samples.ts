import { readFileSync } from 'node:fs';
import { isPlainObject, parseJson } from './json.js';
import { jsonlLines } from './jsonl.js';

/** One completion to score, as read from a samples JSONL file. */
export interface Sample {
  problemId: string;
  completion: string;
  /** Where it came from (`file:line`), for error messages. */
  source: string;
}

/** Reads samples JSONL (`problem_id`, `completion` per line). Bad lines are reported, not dropped
 * silently; `knownIds`, when given, also rejects samples for unknown problems. */
export function loadSamples(path: string, knownIds?: ReadonlySet<string>): { samples: Sample[]; errors: string[] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read samples file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const samples: Sample[] = [];
  const errors: string[] = [];
  for (const { line, text: row } of jsonlLines(text)) {
    const where = `${path}:${line}`;
    let record: unknown;
    try {
      record = parseJson(row);
    } catch (error) {
      errors.push(`${where}: not valid JSON (${(error as Error).message})`);
      continue;
    }
    if (!isPlainObject(record)) {
      errors.push(`${where}: expected a JSON object`);
      continue;
    }
    const id = record.problem_id;
    if (typeof id !== 'string' && typeof id !== 'number') {
      errors.push(`${where}: field "problem_id": missing (a string or number)`);
      continue;
    }
    if (typeof record.completion !== 'string') {
      errors.push(`${where}: field "completion": missing (a string)`);
      continue;
    }
    if (knownIds && !knownIds.has(String(id))) {
      errors.push(`${where}: field "problem_id": unknown problem ${JSON.stringify(String(id))}`);
      continue;
    }
    samples.push({ problemId: String(id), completion: record.completion, source: where });
  }
  return { samples, errors };
}
