// A byte range of a file on disk, standing for an initializer's data: the model refers to the file as ONNX
// external data and ONNX Runtime reads it when the session is created, so frozen weights that live in a
// file (a quantized checkpoint's cache) never need a copy in JS to be baked into a session.

import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';

export class FileSlice {
  readonly path: string;

  constructor(path: string, readonly offset: number, readonly byteLength: number) {
    if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(byteLength) || byteLength < 0) {
      throw new Error(`FileSlice ${path}: offset ${offset} and length ${byteLength} must be non-negative integers`);
    }
    this.path = resolve(path);
  }

  /** Throws (naming the file) unless the file still holds the whole range. */
  check(): void {
    let size: number;
    try {
      const fd = openSync(this.path, 'r');
      try { size = fstatSync(fd).size; } finally { closeSync(fd); }
    } catch (e) {
      throw new Error(`weights file ${this.path} cannot be read (${(e as Error).message}): it was moved or deleted while the model was in use`);
    }
    if (this.offset + this.byteLength > size) {
      throw new Error(`weights file ${this.path} is ${size} bytes, shorter than the range ${this.offset}..${this.offset + this.byteLength} it held: it was changed while the model was in use`);
    }
  }

  /** The bytes, read into a new array. */
  read(): Uint8Array {
    this.check();
    const out = new Uint8Array(this.byteLength);
    const fd = openSync(this.path, 'r');
    try {
      let at = 0;
      while (at < out.length) {
        const got = readSync(fd, out, at, Math.min(out.length - at, 1 << 30), this.offset + at);
        if (got <= 0) throw new Error(`weights file ${this.path}: unexpected end of file at byte ${this.offset + at}`);
        at += got;
      }
    } finally {
      closeSync(fd);
    }
    return out;
  }
}
