import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** A data file's text; `.gz` files (or any gzip stream) are decompressed. Errors name the file. */
export function readDataText(path: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read data file ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
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

/** `field "name": expected …` — the wording every loader uses for a bad field. */
export function fieldError(field: string, expected: string): Error {
  return new Error(`field "${field}": expected ${expected}`);
}
