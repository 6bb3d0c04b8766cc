// Files of a local model folder that the local backend reads besides what model/ loads:
// generation_config.json's eos ids, and a fingerprint of the folder for the run config.

import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';

/**
 * The eos ids of DIR/generation_config.json (Hugging Face's `generate` stops at these; instruct models
 * list their end-of-turn token there, e.g. Llama 3's <|eot_id|>). None when the file is absent.
 */
export function generationEosIds(dir: string): number[] {
  const file = join(dir, 'generation_config.json');
  if (!existsSync(file)) return [];
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`${file}: not valid JSON (${(error as Error).message})`);
  }
  const v = json?.eos_token_id;
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  for (const x of list) {
    if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new Error(`${file}: field 'eos_token_id' must be a token id or a list of ids, got ${JSON.stringify(v)}`);
  }
  return list as number[];
}

const WHOLE = 8 << 20;
const CHUNK = 64 << 10;
const CHUNKS = 32;

/** SHA-256 of a file's size and content: all of a small file; of a large one its first MiB (the
 * safetensors header), 32 evenly spaced 64 KiB chunks and its last 64 KiB. */
function digestFile(hash: ReturnType<typeof createHash>, path: string): void {
  const size = statSync(path).size;
  hash.update(`${path.split('/').pop()}\0${size}\0`);
  const fd = openSync(path, 'r');
  try {
    const read = (offset: number, length: number) => {
      const buf = Buffer.alloc(Math.max(0, Math.min(length, size - offset)));
      let got = 0;
      while (got < buf.length) {
        const n = readSync(fd, buf, got, buf.length - got, offset + got);
        if (n === 0) break;
        got += n;
      }
      hash.update(buf.subarray(0, got));
    };
    if (size <= WHOLE) { read(0, size); return; }
    read(0, 1 << 20);
    for (let i = 0; i < CHUNKS; i++) read(Math.floor((size - CHUNK) * (i / CHUNKS)), CHUNK);
    read(size - CHUNK, CHUNK);
  } finally {
    closeSync(fd);
  }
}

const MODEL_FILES = /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json)$/;
const ADAPTER_FILES = /^(adapter_config\.json|adapter_model\.safetensors)$/;

/**
 * A short fingerprint of the model folder (config, tokenizer, weights) and the adapter, recorded in the
 * run config so a folder holding a run of other weights (a retrained checkpoint or adapter) is not
 * resumed. Large weight files are sampled rather than read whole, so this takes milliseconds.
 */
export function modelFingerprint(modelDir: string, adapterDir?: string): string {
  const hash = createHash('sha256');
  const add = (dir: string, pattern: RegExp) => {
    const names = readdirSync(dir).filter((n) => pattern.test(n)).sort();
    for (const n of names) digestFile(hash, join(dir, n));
  };
  add(modelDir, MODEL_FILES);
  if (adapterDir) { hash.update('\0adapter\0'); add(adapterDir, ADAPTER_FILES); }
  return hash.digest('hex').slice(0, 16);
}
