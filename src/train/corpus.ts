// Pretraining texts, each source read deterministically (same files → same list, same order):
// - the Python standard library's own sources, which every machine with python3 has (found by asking the
//   interpreter for sysconfig's 'stdlib' path; tests, IDLE and installed packages left out);
// - the canonical solutions of an APPS+ JSON file, optionally only some problems (callers leave out the
//   evaluation problems: pretraining must never see held-out answers);
// - MBPP's reference code (`code` field of mbpp.jsonl), optionally only some task ids.

import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { isPlainObject, parseJson } from '../data/json.js';
import { eachJsonlRecord } from '../data/jsonl.js';
import { fieldError, readDataText } from '../data/files.js';

/** Folders never read from the standard library (at any depth). */
export const STDLIB_SKIPPED_DIRS: readonly string[] = ['test', 'tests', 'idlelib', 'site-packages', 'dist-packages'];
/** Standard-library files larger than this are left out (generated tables, not code people write). */
export const STDLIB_MAX_FILE_BYTES = 200 * 1024;

export interface StdlibOptions {
  /** Stop before the first file (in path order) that would take the total past this many UTF-8 bytes. */
  maxBytes: number;
  /** The interpreter to ask (default /usr/bin/python3 where it exists, else `python3` on PATH). */
  python?: string;
}

/** The standard library folder of `python` (sysconfig.get_paths()['stdlib']); a clear error without one. */
export function pythonStdlibDir(python?: string): string {
  const exe = python ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  let out: string;
  try {
    out = execFileSync(exe, ['-I', '-c', "import sysconfig; print(sysconfig.get_paths()['stdlib'])"], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    throw new Error(`pythonStdlibSources: cannot run ${exe} to find the standard library (${(e as Error).message.split('\n')[0]}); install python3 or pass { python }`);
  }
  const dir = out.trim();
  if (!dir || !existsSync(dir)) throw new Error(`pythonStdlibSources: ${exe} names the standard library folder ${JSON.stringify(dir)}, which does not exist`);
  return dir;
}

/** Relative paths (with '/') of the candidate .py files under `root`, sorted; symlinks are not followed. */
function stdlibPaths(root: string): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      const st = lstatSync(path);
      if (st.isDirectory()) {
        if (!STDLIB_SKIPPED_DIRS.includes(name)) walk(path);
      } else if (st.isFile() && name.endsWith('.py') && st.size <= STDLIB_MAX_FILE_BYTES) {
        found.push(relative(root, path).split(sep).join('/'));
      }
    }
  };
  walk(root);
  return found.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The .py sources of the Python standard library on this machine, sorted by path (relative to the library
 * folder), as many as fit in `maxBytes` in total: files are taken in order until the next one would not fit.
 * Leaves out test/, tests/, idlelib/, site-packages/, dist-packages/, files over 200 KB and files that are
 * not valid UTF-8. Throws when no interpreter answers or no source is found.
 */
export function pythonStdlibSources(o: StdlibOptions): string[] {
  if (!(Number.isInteger(o.maxBytes) && o.maxBytes > 0)) throw new Error(`pythonStdlibSources: maxBytes must be a positive integer, got ${o.maxBytes}`);
  const root = pythonStdlibDir(o.python);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const texts: string[] = [];
  let total = 0;
  for (const rel of stdlibPaths(root)) {
    const bytes = readFileSync(join(root, ...rel.split('/')));
    if (total + bytes.length > o.maxBytes) break;
    let text: string;
    try { text = utf8.decode(bytes); } catch { continue; }
    texts.push(text);
    total += bytes.length;
  }
  if (texts.length === 0) throw new Error(`pythonStdlibSources: no .py source of at most ${Math.min(o.maxBytes, STDLIB_MAX_FILE_BYTES)} bytes found under ${root}`);
  return texts;
}

/**
 * The canonical solutions of an APPS+ JSON list (`canonical_solution`, as loadAppsPlus reads it), in file
 * order; with `keep`, only the problems at the indexes it accepts (loadAppsPlus names records without an
 * `id` by that index), with Windows line endings made '\n'. Records without a solution are skipped.
 */
export function appsPlusSolutions(file: string, keep?: (index: number) => boolean): string[] {
  const data = parseJson(readDataText(file));
  if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON list of APPS+ problems`);
  const out: string[] = [];
  data.forEach((record, index) => {
    if (keep && !keep(index)) return;
    if (isPlainObject(record) && typeof record.canonical_solution === 'string' && record.canonical_solution.trim() !== '') {
      out.push(record.canonical_solution.replace(/\r\n?/g, '\n'));
    }
  });
  return out;
}

/**
 * MBPP's reference solutions (`code` of each mbpp.jsonl record), in file order, with Windows line endings
 * made '\n'; with `keep`, only the task ids it accepts (pass e.g. `(id) => mbppSplitOf(id) === 'train'` when
 * MBPP's test split is evaluated). A record without an integer `task_id` or a string `code` is an error
 * naming its line.
 */
export function mbppSolutions(file: string, keep?: (taskId: number) => boolean): string[] {
  const out: string[] = [];
  const errors: string[] = [];
  eachJsonlRecord(file, readDataText(file), errors, (record) => {
    if (!isPlainObject(record)) throw new Error('expected a JSON object');
    const { task_id: taskId, code } = record;
    if (typeof taskId !== 'number' || !Number.isInteger(taskId)) throw fieldError('task_id', 'an integer');
    if (typeof code !== 'string') throw fieldError('code', 'the reference solution (a string)');
    if (!keep || keep(taskId)) out.push(code.replace(/\r\n?/g, '\n'));
  });
  if (errors.length) throw new Error(`${errors.length} bad MBPP record(s): ${errors.slice(0, 3).join('; ')}`);
  return out;
}
