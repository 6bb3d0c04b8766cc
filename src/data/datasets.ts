import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadApps, appsProblemDirs } from './apps.js';
import { loadAppsPlus } from './apps-plus.js';
import { loadCyberSecEval, type CyberSecEvalVariant } from './cyberseceval.js';
import { cannotRead, readDataText } from './files.js';
import { loadHumanEval } from './humaneval.js';
import { isPlainObject } from './json.js';
import { jsonlLines, loadProblemsJsonl } from './jsonl.js';
import { loadMbpp, loadMbppSanitized, type MbppSplit } from './mbpp.js';
import { loadOdex } from './odex.js';
import { loadToy } from './toy.js';
import { DEFAULT_MAX_TESTS, type LoadReport } from './problem.js';
import { SECURITY_SPLIT_DEFAULTS, splitCyberSecEval } from './security-prompts.js';

/** The data shipped with the package (`data/` at the package root). */
export const BUNDLED_DATA_DIR = join(dirname(fileURLToPath(import.meta.url)), '../../../data');

export const DATASET_NAMES = [
  'apps-plus', 'apps-plus-train', 'apps', 'mbpp', 'mbpp-sanitized', 'humaneval', 'odex', 'cyberseceval', 'cyberseceval-train', 'cyberseceval-eval', 'toy',
] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/** A data-set file format `loadDataset` can read from a path. */
export type DataFormat = 'apps-plus' | 'problems-jsonl' | 'apps' | 'mbpp' | 'mbpp-sanitized' | 'humaneval' | 'odex' | 'cyberseceval';

export interface DatasetOptions {
  /** Tests kept per problem, the first ones (default 5; `Infinity` for all). */
  maxTests?: number;
  /** Where the named sets live (default: the bundled `data/`). */
  dataDir?: string;
  /** Read a path as this format instead of guessing it from the content. */
  format?: DataFormat;
  /** MBPP: only these splits (by task id; default all). */
  split?: MbppSplit | MbppSplit[] | 'all';
  /** MBPP: asserts shown in the prompt (default 1). */
  promptTests?: number;
  /** MBPP: also judge `challenge_test_list` (default false). */
  challengeTests?: boolean;
  /** ODEX: which problems by their `library` field (default all). */
  libraries?: 'all' | 'none' | 'no-third-party';
  /** CyberSecEval: which file(s) (default `instruct`). */
  variant?: CyberSecEvalVariant | 'all';
}

/** Where each named set lives under the data folder. */
export const DATASET_FILES: Record<DatasetName, string> = {
  'apps-plus': 'apps_plus/valid_500.json',
  'apps-plus-train': 'apps_plus/train_16.json',
  apps: 'apps_original',
  mbpp: 'mbpp/mbpp.jsonl',
  'mbpp-sanitized': 'mbpp/sanitized-mbpp.json',
  humaneval: 'humaneval/HumanEval.jsonl.gz',
  odex: 'odex/en_test.jsonl',
  cyberseceval: 'cyberseceval',
  'cyberseceval-train': 'cyberseceval',
  'cyberseceval-eval': 'cyberseceval',
  toy: '(generated: src/data/toy.ts)',
};

function firstRecordKeys(text: string): Set<string> | null {
  const trimmed = text.trimStart();
  let first: unknown;
  try {
    if (trimmed.startsWith('[')) {
      const data: unknown = JSON.parse(trimmed);
      first = Array.isArray(data) ? data[0] : undefined;
    } else {
      const line = jsonlLines(trimmed).next();
      first = line.done ? undefined : JSON.parse(line.value.text);
    }
  } catch {
    return null;
  }
  return isPlainObject(first) ? new Set(Object.keys(first)) : null;
}

/** Guesses a path's format from what it holds (a folder of APPS problems or CyberSecEval files; the
 * fields of a JSON list's or JSONL file's first record). Throws naming the path when it cannot tell. */
export function detectFormat(path: string): DataFormat {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    throw cannotRead(path, error);
  }
  if (isDir) {
    if (appsProblemDirs(path).length > 0) return 'apps';
    if (readdirSync(path).some((f) => f.endsWith('.json'))) return 'cyberseceval';
    throw new Error(`${path}: a folder with neither APPS problem folders nor CyberSecEval .json files`);
  }
  const text = readDataText(path);
  const list = text.trimStart().startsWith('[');
  const keys = firstRecordKeys(text);
  if (!keys) throw new Error(`${path}: cannot read its first record as a JSON object (expected a JSON list or JSONL of problems)`);
  if (keys.has('test_case_prompt')) return 'cyberseceval';
  if (keys.has('test_list')) return list ? 'mbpp-sanitized' : 'mbpp';
  if (keys.has('test_start') && keys.has('entry_point')) return 'odex';
  if (keys.has('entry_point') && keys.has('test')) return 'humaneval';
  if (keys.has('inputs') && keys.has('outputs')) return list ? 'apps-plus' : 'problems-jsonl';
  throw new Error(`${path}: unknown record format (first record has fields ${[...keys].join(', ')})`);
}

function loadPath(path: string, format: DataFormat, options: DatasetOptions): LoadReport {
  const maxTests = options.maxTests ?? DEFAULT_MAX_TESTS;
  switch (format) {
    case 'apps-plus': return loadAppsPlus(path, { maxTests });
    case 'problems-jsonl': return loadProblemsJsonl(path, { maxTests });
    case 'apps': return loadApps(path, { maxTests });
    case 'mbpp': return loadMbpp(path, { ...options, maxTests });
    case 'mbpp-sanitized': return loadMbppSanitized(path, { ...options, maxTests });
    case 'humaneval': return loadHumanEval(path, { maxTests });
    case 'odex': return loadOdex(path, { maxTests, libraries: options.libraries });
    case 'cyberseceval': return loadCyberSecEval(path);
  }
}

/**
 * Loads a named data set (`apps-plus`, `apps-plus-train`, `apps`, `mbpp`, `mbpp-sanitized`,
 * `humaneval`, `odex`, `cyberseceval`, and its fixed split `cyberseceval-train` / `cyberseceval-eval`:
 * all three Python variants, split by source snippet; and the generated `toy`) from the bundled data (or `options.dataDir`), or a file or
 * folder in any of those formats or our problem JSONL. Bad records come back in `errors` naming
 * file, line (or record) and field; the rest load. At most `maxTests` (default 5) tests per problem.
 */
export function loadDataset(nameOrPath: string, options: DatasetOptions = {}): LoadReport {
  if ((DATASET_NAMES as readonly string[]).includes(nameOrPath) && !existsSync(nameOrPath)) {
    const name = nameOrPath as DatasetName;
    const dir = options.dataDir ?? BUNDLED_DATA_DIR;
    if (name === 'toy') return loadToy({ maxTests: options.maxTests, promptTests: options.promptTests });
    if (name === 'cyberseceval-train' || name === 'cyberseceval-eval') {
      // All three Python variants, split by source snippet with the fixed defaults (splitCyberSecEval).
      const all = loadDataset('cyberseceval', { ...options, variant: 'all' });
      const { train, eval: held, split } = splitCyberSecEval(all.problems);
      const side = name === 'cyberseceval-train' ? train : held;
      const note = `${name}: ${side.length} of ${all.problems.length} prompts (${name === 'cyberseceval-train' ? split.train.length : split.eval.length} of ${split.total} source snippets; split by origin_code, seed ${SECURITY_SPLIT_DEFAULTS.seed}, ${SECURITY_SPLIT_DEFAULTS.evalFraction * 100}% held out)`;
      return { problems: side, errors: all.errors, notes: [...(all.notes ?? []), note] };
    }
    if (name === 'cyberseceval') {
      const variants = options.variant === 'all' ? ['autocomplete', 'instruct', 'instruct-v2'] : [options.variant ?? 'instruct'];
      const report: LoadReport = { problems: [], errors: [] };
      for (const v of variants) {
        const r = loadCyberSecEval(join(dir, 'cyberseceval', `${v}.python.json`));
        report.problems.push(...r.problems);
        report.errors.push(...r.errors);
        if (r.notes) (report.notes ??= []).push(...r.notes);
      }
      return report;
    }
    const format: DataFormat = name === 'apps-plus-train' ? 'apps-plus' : name as DataFormat;
    return loadPath(join(dir, DATASET_FILES[name]), format, options);
  }
  return loadPath(nameOrPath, options.format ?? detectFormat(nameOrPath), options);
}
