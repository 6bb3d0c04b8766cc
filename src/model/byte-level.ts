// The byte ↔ character map of byte-level BPE (GPT-2's scheme, used by DeepSeek-Coder, Qwen and Llama 3
// tokenizers): printable Latin-1 bytes stand for themselves, the other 68 bytes are shifted to U+0100+,
// so every byte string is a string of visible characters that BPE merges operate on.

let toChar: string[] | null = null;
let toByte: Map<string, number> | null = null;

function build(): void {
  const keep = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  toChar = new Array<string>(256);
  toByte = new Map();
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    const cp = keep(b) ? b : 256 + extra++;
    toChar[b] = String.fromCodePoint(cp);
    toByte.set(toChar[b], b);
  }
}

/** The character standing for each byte value. */
export function byteToChar(b: number): string {
  if (!toChar) build();
  return toChar![b];
}

/** UTF-8 text → its byte-level character string. */
export function bytesToSymbols(bytes: Uint8Array): string {
  if (!toChar) build();
  let s = '';
  for (const b of bytes) s += toChar![b];
  return s;
}

/** A byte-level character string → the bytes it stands for (undefined if a character is not in the map). */
export function symbolsToBytes(s: string): Uint8Array | undefined {
  if (!toByte) build();
  const out: number[] = [];
  for (const ch of s) {
    const b = toByte!.get(ch);
    if (b === undefined) return undefined;
    out.push(b);
  }
  return Uint8Array.from(out);
}
