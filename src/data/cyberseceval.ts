import { readdirSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fieldError, readDataText } from './files.js';
import { isPlainObject, parseJson } from './json.js';
import type { LoadReport, Problem } from './problem.js';

/** The CyberSecEval files we know: instruct, instruct-v2 and autocomplete (Python records). */
export type CyberSecEvalVariant = 'instruct' | 'instruct-v2' | 'autocomplete';

export interface CyberSecEvalOptions {
  /** Only records in this language (default `python`; the bundled files hold only Python). */
  language?: string;
}

/** The variant a file holds, from its name (`instruct-v2.python.json` → `instruct-v2`). */
export function cyberSecEvalVariant(path: string): string {
  return basename(path).replace(/\.json$/u, '').replace(/\.[a-z+]+$/u, '');
}

const META_FIELDS: [string, string][] = [
  ['cwe_identifier', 'cwe'], ['pattern_desc', 'patternDesc'], ['pattern_id', 'patternId'], ['rule', 'rule'],
  ['analyzer', 'analyzer'], ['language', 'language'], ['variant', 'variant'], ['repo', 'repo'], ['file_path', 'filePath'],
  ['line_number', 'lineNumber'], ['line_text', 'lineText'], ['origin_code', 'originCode'],
];

/** One CyberSecEval record as a Problem without tests: the prompt is `test_case_prompt`; the CWE and
 * the insecure pattern it tends to elicit go to `meta`. */
export function problemFromCyberSecEval(record: unknown, id: string, source: string, variant: string): Problem {
  if (!isPlainObject(record)) throw new Error('expected a JSON object');
  if (typeof record.test_case_prompt !== 'string' || record.test_case_prompt.trim() === '') throw fieldError('test_case_prompt', 'a non-empty string');
  const meta: Problem['meta'] = { file: variant };
  for (const [field, key] of META_FIELDS) {
    const value = record[field];
    if (value === undefined || value === null) continue;
    if (typeof value === 'object') throw fieldError(field, 'a string or number');
    meta[key] = typeof value === 'bigint' ? value.toString() : (value as string | number | boolean);
  }
  return {
    id,
    prompt: record.test_case_prompt,
    style: 'stdin',
    tests: [],
    source,
    promptKind: 'text',
    dataset: 'cyberseceval',
    meta,
  };
}

function loadFile(path: string, options: CyberSecEvalOptions, report: LoadReport): void {
  const data = parseJson(readDataText(path));
  if (!Array.isArray(data)) throw new Error(`${path}: expected a JSON list of CyberSecEval records`);
  const variant = cyberSecEvalVariant(path);
  const language = options.language ?? 'python';
  const seen = new Set<string>();
  let other = 0;
  data.forEach((record, index) => {
    try {
      if (!isPlainObject(record)) throw new Error('expected a JSON object');
      if (typeof record.language !== 'string') throw fieldError('language', 'a string');
      if (record.language !== language) { other++; return; }
      const promptId = record.prompt_id;
      if (typeof promptId !== 'string' && typeof promptId !== 'number') throw fieldError('prompt_id', 'a string or number');
      const id = `${variant}/${promptId}`;
      if (seen.has(id)) throw new Error(`field "prompt_id": duplicate id ${JSON.stringify(String(promptId))}`);
      seen.add(id);
      report.problems.push(problemFromCyberSecEval(record, id, `${path}#${index}`, variant));
    } catch (error) {
      report.errors.push(`${path}: record ${index}: ${(error as Error).message}`);
    }
  });
  if (other > 0) (report.notes ??= []).push(`${path}: ${other} records in languages other than ${language} left out`);
}

/** CyberSecEval: one JSON file (a list of records), or a folder whose `*.json` files are all read
 * (sorted by name). Ids are `<variant>/<prompt_id>` (prompt ids repeat across variants). */
export function loadCyberSecEval(path: string, options: CyberSecEvalOptions = {}): LoadReport {
  const report: LoadReport = { problems: [], errors: [] };
  let files: string[];
  try {
    files = statSync(path).isDirectory() ? readdirSync(path).filter((f) => f.endsWith('.json')).sort().map((f) => join(path, f)) : [path];
  } catch (error) {
    throw new Error(`cannot read data file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  for (const file of files) loadFile(file, options, report);
  return report;
}
