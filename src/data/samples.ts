import { readFileSync } from 'node:fs';
import { isPlainObject } from './json.js';
import { eachJsonlRecord } from './jsonl.js';

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
  eachJsonlRecord(path, text, errors, (record, where) => {
    if (!isPlainObject(record)) throw new Error('expected a JSON object');
    const id = record.problem_id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new Error('field "problem_id": missing (a string or number)');
    if (typeof record.completion !== 'string') throw new Error('field "completion": missing (a string)');
    if (knownIds && !knownIds.has(String(id))) throw new Error(`field "problem_id": unknown problem ${JSON.stringify(String(id))}`);
    samples.push({ problemId: String(id), completion: record.completion, source: where });
  });
  return { samples, errors };
}
