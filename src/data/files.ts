import { closeSync, openSync, readFileSync, readSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A data file's text; `.gz` files (or any gzip stream) are decompressed. Errors name the file. */
export function readDataText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw cannotRead(path, error);
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = gunzipSync(bytes);
    } catch (error) {
      throw new Error(`${path}: not a valid gzip file (${(error as Error).message})`);
    }
  }
  return bytes.toString('utf8');
}

/** The error for a file that cannot be read, naming it and the system's reason. */
export function cannotRead(path: string, error: unknown, kind = 'data file'): Error {
  return new Error(`cannot read ${kind} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
}

/** The first non-whitespace character of a file ('' if none), reading only as far as it must. */
export function firstCharacter(path: string, kind?: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw cannotRead(path, error, kind);
  }
  try {
    const chunk = Buffer.alloc(1 << 16);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return '';
      const head = chunk.toString('utf8', 0, n).trimStart();
      if (head) return head[0];
    }
  } catch (error) {
    throw cannotRead(path, error, kind);
  } finally {
    closeSync(fd);
  }
}

/** `field "name": expected …` — the wording every loader uses for a bad field. */
export function fieldError(field: string, expected: string): Error {
  return new Error(`field "${field}": expected ${expected}`);
}
