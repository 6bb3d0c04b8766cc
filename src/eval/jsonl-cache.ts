import { appendFileSync, existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';

/**
 * Reads a JSONL file that this program appends to as it goes. Every complete record ends in a
 * newline, so text after the last newline is a line cut short by a crash: it is removed from the
 * file, and appending continues on a clean line. A bad complete line is an error naming file and
 * line. `check` returns an error message for a record of the wrong shape, or null.
 */
export function readAppendLog<T>(path: string, check: (record: unknown) => string | null): T[] {
  if (!existsSync(path)) return [];
  const buffer = readFileSync(path);
  const end = buffer.lastIndexOf(0x0a) + 1;
  if (end < buffer.length) truncateSync(path, end);
  const lines = buffer.subarray(0, end).toString('utf8').split('\n');
  const records: T[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      throw new Error(`${path}:${i + 1}: not valid JSON (${(error as Error).message}); the run folder is damaged: remove that line or the file`);
    }
    const problem = check(record);
    if (problem) throw new Error(`${path}:${i + 1}: ${problem}`);
    records.push(record as T);
  });
  return records;
}

/** Appends one record as a line (synchronously, so a crash loses at most the line being written). */
export function appendRecord(path: string, record: unknown): void {
  appendFileSync(path, `${JSON.stringify(record)}\n`);
}

/** Writes a file through a temporary name and a rename, so readers never see half of it. */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
