// Shared by the model tests: temporary folders and float comparisons.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

/** A fresh temporary folder, removed when the test file ends. */
export function tempDir(label = 'model'): string {
  const dir = mkdtempSync(join(tmpdir(), `securecoderl-${label}-`));
  after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** max |a − b| / max |b| over all elements (the error relative to the reference's scale). */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} vs ${b.length}`);
  let err = 0, scale = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / (scale || 1);
}
