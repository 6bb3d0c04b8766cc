/**
 * Just enough of Python's syntax, in TypeScript, to take assert-style tests apart without running
 * Python: a tokenizer, top-level statements of a block, constant folding of literal expressions
 * (what `ast.literal_eval` accepts, plus a few pure builtins and arithmetic), and the canonical text
 * of a value that the assert harness produces in the sandbox (`CANON_PY` in harness.ts). Two values
 * are equal under Python's `==` exactly when their canonical texts are equal, for the value kinds
 * literals can express (numbers with bool ≡ int ≡ integral float, str, bytes, list, tuple, dict,
 * set/frozenset, None, complex).
 */

export type TokenKind = 'name' | 'number' | 'string' | 'op' | 'newline';

export interface Token {
  kind: TokenKind;
  text: string;
  /** Offsets into the source. */
  start: number;
  end: number;
  /** 1-based line of the first character. */
  line: number;
  /** Bracket depth before this token. */
  depth: number;
}

const OPERATORS = [
  '**=', '//=', '>>=', '<<=', '...', '->', ':=', '==', '!=', '<=', '>=', '**', '//', '<<', '>>', '+=', '-=', '*=',
  '/=', '%=', '&=', '|=', '^=', '@=', '(', ')', '[', ']', '{', '}', ',', ':', ';', '.', '+', '-', '*', '/', '%',
  '&', '|', '^', '~', '<', '>', '=', '@', '!',
];

const NUMBER_RE = /(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:[eE][+-]?\d(?:_?\d)*)?[jJ]?)/y;
const NAME_RE = /[\p{L}\p{Nl}_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}_]*/uy;
const STRING_START_RE = /(?:[rRbBuUfF]{1,2})?(?:'''|"""|'|")/y;

export class PythonSyntaxError extends Error {}

/** Tokens of Python source. Comments, blank lines and line continuations are dropped; a `newline`
 * token ends each logical line (only outside brackets). Throws PythonSyntaxError on an unterminated
 * string or an unknown character. */
export function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  let depth = 0;
  const push = (kind: TokenKind, start: number, end: number, startLine: number) => {
    tokens.push({ kind, text: src.slice(start, end), start, end, line: startLine, depth });
  };
  while (i < src.length) {
    const c = src[i];
    if (c === '\n') {
      if (depth === 0 && tokens.length > 0 && tokens[tokens.length - 1].kind !== 'newline') push('newline', i, i + 1, line);
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r' || c === '\f') { i++; continue; }
    if (c === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
      i += src[i + 1] === '\n' ? 2 : 3;
      line++;
      continue;
    }
    STRING_START_RE.lastIndex = i;
    const s = STRING_START_RE.exec(src);
    if (s) {
      const quote = s[0].replace(/^[rRbBuUfF]+/u, '');
      const start = i;
      const startLine = line;
      i += s[0].length;
      for (;;) {
        if (i >= src.length) throw new PythonSyntaxError(`unterminated string starting on line ${startLine}`);
        const ch = src[i];
        if (ch === '\\') {
          if (src[i + 1] === '\n') line++;
          i += 2;
          continue;
        }
        if (ch === '\n') {
          if (quote.length === 1) throw new PythonSyntaxError(`unterminated string on line ${startLine}`);
          line++;
        }
        if (src.startsWith(quote, i)) {
          i += quote.length;
          break;
        }
        i++;
      }
      push('string', start, i, startLine);
      continue;
    }
    NUMBER_RE.lastIndex = i;
    const n = /[0-9.]/u.test(c) ? NUMBER_RE.exec(src) : null;
    if (n && n[0] !== '.' && n[0].length > 0) {
      push('number', i, i + n[0].length, line);
      i += n[0].length;
      continue;
    }
    NAME_RE.lastIndex = i;
    const name = NAME_RE.exec(src);
    if (name) {
      push('name', i, i + name[0].length, line);
      i += name[0].length;
      continue;
    }
    const op = OPERATORS.find((o) => src.startsWith(o, i));
    if (!op) throw new PythonSyntaxError(`unexpected character ${JSON.stringify(c)} on line ${line}`);
    if (op === '(' || op === '[' || op === '{') {
      push('op', i, i + 1, line);
      depth++;
    } else if (op === ')' || op === ']' || op === '}') {
      depth = Math.max(0, depth - 1);
      push('op', i, i + 1, line);
    } else {
      push('op', i, i + op.length, line);
    }
    i += op.length;
  }
  if (tokens.length > 0 && tokens[tokens.length - 1].kind !== 'newline') tokens.push({ kind: 'newline', text: '', start: src.length, end: src.length, line, depth: 0 });
  return tokens;
}

/** One top-level statement of a block, with its tokens and its source lines (whole lines, as written). */
export interface Statement {
  tokens: Token[];
  /** The statement's lines exactly as in the source, from the start of its first line. */
  text: string;
  /** Leading whitespace of its first line. */
  indent: string;
  line: number;
}

const CONTINUATION_KEYWORDS = new Set(['elif', 'else', 'except', 'finally', 'case']);

function lineStart(src: string, offset: number): number {
  return src.lastIndexOf('\n', offset - 1) + 1;
}

/** Top-level statements of a block of source (all its logical lines at the smallest indentation,
 * each with the deeper lines and `elif`/`else`/`except`/`finally` clauses that belong to it). */
export function statements(src: string, tokens: Token[] = tokenize(src)): Statement[] {
  const lines: Token[][] = [];
  let current: Token[] = [];
  for (const t of tokens) {
    if (t.kind === 'newline') {
      if (current.length) lines.push(current);
      current = [];
    } else current.push(t);
  }
  if (current.length) lines.push(current);
  const indentOf = (l: Token[]) => src.slice(lineStart(src, l[0].start), l[0].start);
  const base = lines.reduce((min, l) => Math.min(min, indentOf(l).length), Infinity);
  const result: Statement[] = [];
  for (const l of lines) {
    const indent = indentOf(l);
    const continues = result.length > 0 && (indent.length > base || (indent.length === base && CONTINUATION_KEYWORDS.has(l[0].text) && l[0].kind === 'name'
      && result[result.length - 1].tokens.some((t) => t.depth === 0 && t.text === ':')));
    if (continues) {
      result[result.length - 1].tokens.push(...l);
    } else {
      result.push({ tokens: [...l], text: '', indent, line: l[0].line });
    }
  }
  for (const s of result) {
    const start = lineStart(src, s.tokens[0].start);
    const last = s.tokens[s.tokens.length - 1];
    const endOfLine = src.indexOf('\n', last.end);
    s.text = src.slice(start, endOfLine === -1 ? src.length : endOfLine).replace(/[ \t\r]+$/u, '');
  }
  return result;
}

/** Re-indents a block so its first line starts with `indent`, without touching the inside of
 * multi-line strings (lines that start inside a string token keep their text). */
export function reindent(block: string, indent: string): string {
  const tokens = tokenize(block);
  const insideString = new Set<number>();
  for (const t of tokens) {
    if (t.kind !== 'string') continue;
    for (let i = block.indexOf('\n', t.start); i !== -1 && i < t.end; i = block.indexOf('\n', i + 1)) insideString.add(i + 1);
  }
  const lines = block.split('\n');
  const first = /^[ \t]*/u.exec(lines.find((l) => l.trim() !== '') ?? '')![0];
  let offset = 0;
  const out: string[] = [];
  for (const l of lines) {
    if (insideString.has(offset)) out.push(l);
    else if (l.trim() === '') out.push('');
    else out.push(indent + (l.startsWith(first) ? l.slice(first.length) : l.replace(/^[ \t]*/u, '')));
    offset += l.length + 1;
  }
  return out.join('\n');
}

// ---------------------------------------------------------------- values

/** A Python value that a literal expression can produce. */
export type PyValue =
  | { t: 'none' }
  | { t: 'bool'; v: boolean }
  | { t: 'int'; v: bigint }
  | { t: 'float'; v: number }
  | { t: 'complex'; re: number; im: number }
  | { t: 'str'; v: string }
  | { t: 'bytes'; v: number[] }
  | { t: 'list' | 'tuple'; items: PyValue[] }
  | { t: 'set'; items: PyValue[]; frozen: boolean }
  | { t: 'dict'; entries: [PyValue, PyValue][] }
  /** Only as an argument of list()/tuple()/set()/sorted(). */
  | { t: 'range'; items: PyValue[] };

/** Python's repr() of a finite float (shortest round-trip digits, Python's layout). */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const [mantissa, exp] = Math.abs(x).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const e = Number(exp);
  const sign = x < 0 ? '-' : '';
  if (e < -4 || e >= 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  const point = e + 1;
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** `json.dumps(s)` with Python's default ensure_ascii=True. */
export function jsonAscii(s: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i];
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (c >= 0x20 && c <= 0x7e) out += ch;
    else out += `\\u${c.toString(16).padStart(4, '0')}`;
  }
  return `${out}"`;
}

function canonNumber(value: PyValue): string | null {
  switch (value.t) {
    case 'bool': return value.v ? '1' : '0';
    case 'int': return value.v.toString();
    case 'float':
      if (Number.isNaN(value.v)) return 'nan';
      if (!Number.isFinite(value.v)) return value.v > 0 ? 'inf' : '-inf';
      return Number.isInteger(value.v) ? BigInt(value.v).toString() : pythonFloatRepr(value.v);
    case 'complex':
      if (value.im === 0) return canonNumber({ t: 'float', v: value.re });
      return `complex(${canonNumber({ t: 'float', v: value.re })}, ${canonNumber({ t: 'float', v: value.im })})`;
    default: return null;
  }
}

/** The canonical text of a value: equal texts ⇔ equal under Python's `==` (see the module comment).
 * Mirrors `__scrl_canon` in the harness. */
export function canonical(value: PyValue): string {
  const number = canonNumber(value);
  if (number !== null) return number;
  switch (value.t) {
    case 'none': return 'None';
    case 'str': return jsonAscii(value.v);
    case 'bytes': return `b"${value.v.map((b) => b.toString(16).padStart(2, '0')).join('')}"`;
    case 'list': return `[${value.items.map(canonical).join(', ')}]`;
    case 'tuple': return `(${value.items.map(canonical).join(', ')})`;
    case 'set': return `set{${[...new Set(value.items.map(canonical))].sort().join(', ')}}`;
    case 'dict': {
      const entries = new Map<string, string>();
      for (const [k, v] of value.entries) entries.set(canonical(k), canonical(v));
      return `{${[...entries.keys()].sort().map((k) => `${k}: ${entries.get(k)}`).join(', ')}}`;
    }
    case 'range': return `range[${value.items.map(canonical).join(', ')}]`;
    default: throw new Error('unreachable');
  }
}

// ---------------------------------------------------------------- string literals

function decodeEscapes(body: string, bytes: boolean): string | null {
  let out = '';
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (c !== '\\') { out += c; continue; }
    const n = body[++i];
    if (n === undefined) return null;
    const simple: Record<string, string> = { '\n': '', '\\': '\\', "'": "'", '"': '"', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' };
    if (n in simple) { out += simple[n]; continue; }
    if (/[0-7]/u.test(n)) {
      let oct = n;
      while (oct.length < 3 && /[0-7]/u.test(body[i + 1] ?? '')) oct += body[++i];
      out += String.fromCharCode(parseInt(oct, 8));
      continue;
    }
    const hexLen = n === 'x' ? 2 : !bytes && n === 'u' ? 4 : !bytes && n === 'U' ? 8 : 0;
    if (hexLen) {
      const hex = body.slice(i + 1, i + 1 + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`, 'u').test(hex)) return null;
      const code = parseInt(hex, 16);
      if (code > 0x10ffff) return null;
      out += String.fromCodePoint(code);
      i += hexLen;
      continue;
    }
    if (!bytes && n === 'N') return null;     // \N{name}: we cannot resolve Unicode names here
    out += `\\${n}`;                          // unknown escapes keep their backslash
  }
  return out;
}

/** The value of one string token, or null for an f-string or something we cannot decode. */
export function stringTokenValue(text: string): PyValue | null {
  const prefix = /^[rRbBuUfF]*/u.exec(text)![0].toLowerCase();
  if (prefix.includes('f')) return null;
  const rest = text.slice(prefix.length);
  const q = rest.startsWith("'''") || rest.startsWith('"""') ? 3 : 1;
  const body = rest.slice(q, rest.length - q).replace(/\r\n/gu, '\n');
  const raw = prefix.includes('r');
  const bytes = prefix.includes('b');
  const decoded = raw ? body : decodeEscapes(body, bytes);
  if (decoded === null) return null;
  if (bytes) {
    const values: number[] = [];
    for (const ch of decoded) {
      const code = ch.codePointAt(0)!;
      if (code > 0xff) return null;
      values.push(code);
    }
    return { t: 'bytes', v: values };
  }
  return { t: 'str', v: decoded };
}

// ---------------------------------------------------------------- constant folding

class NotConstant extends Error {}

const MAX_INT_DIGITS = 5000;

function truthy(v: PyValue): boolean {
  switch (v.t) {
    case 'none': return false;
    case 'bool': return v.v;
    case 'int': return v.v !== 0n;
    case 'float': return v.v !== 0;
    case 'complex': return v.re !== 0 || v.im !== 0;
    case 'str': return v.v.length > 0;
    case 'bytes': return v.v.length > 0;
    case 'dict': return v.entries.length > 0;
    default: return v.items.length > 0;
  }
}

function asFloat(v: PyValue): number | null {
  if (v.t === 'bool') return v.v ? 1 : 0;
  if (v.t === 'int') return Number(v.v);
  if (v.t === 'float') return v.v;
  return null;
}

function asInt(v: PyValue): bigint | null {
  if (v.t === 'bool') return v.v ? 1n : 0n;
  if (v.t === 'int') return v.v;
  return null;
}

function iterate(v: PyValue): PyValue[] {
  switch (v.t) {
    case 'list': case 'tuple': case 'range': return v.items;
    case 'str': return [...v.v].map((c) => ({ t: 'str', v: c }));
    case 'bytes': return v.v.map((b) => ({ t: 'int', v: BigInt(b) }));
    case 'dict': return v.entries.map(([k]) => k);
    // A set's iteration order is Python's hash order, which we do not reproduce.
    default: throw new NotConstant();
  }
}

function checkInt(v: bigint): PyValue {
  if (v.toString().length > MAX_INT_DIGITS) throw new NotConstant();
  return { t: 'int', v };
}

function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return (a % b !== 0n && (a < 0n) !== (b < 0n)) ? q - 1n : q;
}

/** Python's total order for the values sorted() can compare here (numbers, str, and sequences of them). */
function pyCompare(a: PyValue, b: PyValue): number {
  const fa = asFloat(a);
  const fb = asFloat(b);
  if (fa !== null && fb !== null) {
    const ia = asInt(a);
    const ib = asInt(b);
    if (ia !== null && ib !== null) return ia < ib ? -1 : ia > ib ? 1 : 0;
    return fa < fb ? -1 : fa > fb ? 1 : 0;
  }
  if (a.t === 'str' && b.t === 'str') {
    const ca = [...a.v].map((c) => c.codePointAt(0)!);
    const cb = [...b.v].map((c) => c.codePointAt(0)!);
    for (let i = 0; i < Math.min(ca.length, cb.length); i++) if (ca[i] !== cb[i]) return ca[i] - cb[i];
    return ca.length - cb.length;
  }
  if ((a.t === 'list' && b.t === 'list') || (a.t === 'tuple' && b.t === 'tuple')) {
    for (let i = 0; i < Math.min(a.items.length, b.items.length); i++) {
      const c = pyCompare(a.items[i], b.items[i]);
      if (c !== 0) return c;
    }
    return a.items.length - b.items.length;
  }
  throw new NotConstant();
}

function binary(op: string, a: PyValue, b: PyValue): PyValue {
  const ia = asInt(a);
  const ib = asInt(b);
  if (ia !== null && ib !== null) {
    switch (op) {
      case '+': return checkInt(ia + ib);
      case '-': return checkInt(ia - ib);
      case '*': return checkInt(ia * ib);
      case '//': if (ib === 0n) throw new NotConstant(); return checkInt(floorDiv(ia, ib));
      case '%': if (ib === 0n) throw new NotConstant(); return checkInt(ia - ib * floorDiv(ia, ib));
      case '/': if (ib === 0n) throw new NotConstant(); return { t: 'float', v: Number(ia) / Number(ib) };
      case '**':
        if (ib < 0n) return { t: 'float', v: Number(ia) ** Number(ib) };
        if (ib > 20000n) throw new NotConstant();
        return checkInt(ia ** ib);
      default: throw new NotConstant();
    }
  }
  const fa = asFloat(a);
  const fb = asFloat(b);
  if (fa !== null && fb !== null) {
    switch (op) {
      case '+': return { t: 'float', v: fa + fb };
      case '-': return { t: 'float', v: fa - fb };
      case '*': return { t: 'float', v: fa * fb };
      case '/': if (fb === 0) throw new NotConstant(); return { t: 'float', v: fa / fb };
      case '**': {
        const r = fa ** fb;
        if (Number.isNaN(r) || !Number.isFinite(r)) throw new NotConstant();
        return { t: 'float', v: r };
      }
      default: throw new NotConstant();
    }
  }
  if ((a.t === 'complex' || b.t === 'complex') && (op === '+' || op === '-')) {
    const [ar, ai] = a.t === 'complex' ? [a.re, a.im] : [asFloat(a), 0];
    const [br, bi] = b.t === 'complex' ? [b.re, b.im] : [asFloat(b), 0];
    if (ar === null || br === null) throw new NotConstant();
    return op === '+' ? { t: 'complex', re: ar + br, im: ai + bi } : { t: 'complex', re: ar - br, im: ai - bi };
  }
  if (op === '+') {
    if (a.t === 'str' && b.t === 'str') return { t: 'str', v: a.v + b.v };
    if (a.t === 'bytes' && b.t === 'bytes') return { t: 'bytes', v: [...a.v, ...b.v] };
    if ((a.t === 'list' && b.t === 'list') || (a.t === 'tuple' && b.t === 'tuple')) return { t: a.t, items: [...a.items, ...b.items] };
  }
  if (op === '*') {
    const [seq, n] = ia !== null ? [b, ia] : ib !== null ? [a, ib] : [null, null];
    if (seq && n !== null && n <= 10000n) {
      const times = Number(n < 0n ? 0n : n);
      if (seq.t === 'str') return { t: 'str', v: seq.v.repeat(times) };
      if (seq.t === 'list' || seq.t === 'tuple') return { t: seq.t, items: Array.from({ length: times }, () => seq.items).flat() };
    }
  }
  throw new NotConstant();
}

/** Recursive-descent evaluator over a token slice: literals, containers, arithmetic, and the pure
 * builtins set/frozenset/tuple/list/dict/sorted/range/float/int/abs on constant arguments. */
class Folder {
  private i = 0;
  constructor(private readonly t: Token[]) {}

  run(): PyValue {
    const v = this.tupleOrExpr();
    if (this.i !== this.t.length) throw new NotConstant();
    return v;
  }

  private peek(): Token | undefined { return this.t[this.i]; }
  private eat(text: string): boolean {
    if (this.peek()?.text === text && this.peek()?.kind !== 'string') { this.i++; return true; }
    return false;
  }
  private expect(text: string): void {
    if (!this.eat(text)) throw new NotConstant();
  }

  private tupleOrExpr(): PyValue {
    const first = this.expr();
    if (this.peek()?.text !== ',') return first;
    const items = [first];
    while (this.eat(',')) {
      if (this.i >= this.t.length || [')', ']', '}'].includes(this.peek()!.text)) break;
      items.push(this.expr());
    }
    return { t: 'tuple', items };
  }

  private expr(): PyValue {
    let v = this.term();
    for (;;) {
      const op = this.peek()?.text;
      if (op !== '+' && op !== '-') return v;
      this.i++;
      v = binary(op, v, this.term());
    }
  }

  private term(): PyValue {
    let v = this.factor();
    for (;;) {
      const op = this.peek()?.text;
      if (op !== '*' && op !== '/' && op !== '//' && op !== '%') return v;
      this.i++;
      v = binary(op, v, this.factor());
    }
  }

  private factor(): PyValue {
    const op = this.peek()?.text;
    if (op === '-' || op === '+') {
      this.i++;
      const v = this.factor();
      if (op === '+') {
        if (asFloat(v) === null && v.t !== 'complex') throw new NotConstant();
        return v.t === 'bool' ? { t: 'int', v: v.v ? 1n : 0n } : v;
      }
      if (v.t === 'int' || v.t === 'bool') return { t: 'int', v: -(asInt(v)!) };
      if (v.t === 'float') return { t: 'float', v: -v.v };
      if (v.t === 'complex') return { t: 'complex', re: -v.re, im: -v.im };
      throw new NotConstant();
    }
    return this.power();
  }

  private power(): PyValue {
    const base = this.atom();
    if (this.eat('**')) return binary('**', base, this.factor());
    return base;
  }

  private atom(): PyValue {
    const tok = this.peek();
    if (!tok) throw new NotConstant();
    this.i++;
    if (tok.kind === 'number') return numberValue(tok.text);
    if (tok.kind === 'string') {
      let v = stringTokenValue(tok.text);
      while (v && this.peek()?.kind === 'string') {
        const next = stringTokenValue(this.t[this.i++].text);
        if (!next || next.t !== v.t) throw new NotConstant();
        v = v.t === 'str' ? { t: 'str', v: v.v + (next as { v: string }).v } : { t: 'bytes', v: [...(v as { v: number[] }).v, ...(next as { v: number[] }).v] };
      }
      if (!v) throw new NotConstant();
      return v;
    }
    if (tok.kind === 'name') {
      if (tok.text === 'True' || tok.text === 'False') return { t: 'bool', v: tok.text === 'True' };
      if (tok.text === 'None') return { t: 'none' };
      if (this.peek()?.text === '(') return this.call(tok.text);
      throw new NotConstant();
    }
    if (tok.text === '(') {
      if (this.eat(')')) return { t: 'tuple', items: [] };
      const v = this.tupleOrExpr();
      this.expect(')');
      return v;
    }
    if (tok.text === '[') {
      const items: PyValue[] = [];
      while (!this.eat(']')) {
        items.push(this.expr());
        if (!this.eat(',')) { this.expect(']'); break; }
      }
      return { t: 'list', items };
    }
    if (tok.text === '{') {
      if (this.eat('}')) return { t: 'dict', entries: [] };
      const first = this.expr();
      if (this.eat(':')) {
        const entries: [PyValue, PyValue][] = [[first, this.expr()]];
        while (this.eat(',')) {
          if (this.eat('}')) return { t: 'dict', entries };
          const k = this.expr();
          this.expect(':');
          entries.push([k, this.expr()]);
        }
        this.expect('}');
        for (const [k] of entries) hashable(k);
        return { t: 'dict', entries };
      }
      const items = [first];
      while (this.eat(',')) {
        if (this.peek()?.text === '}') break;
        items.push(this.expr());
      }
      this.expect('}');
      items.forEach(hashable);
      return { t: 'set', items, frozen: false };
    }
    throw new NotConstant();
  }

  private call(name: string): PyValue {
    this.expect('(');
    const args: PyValue[] = [];
    while (!this.eat(')')) {
      if (this.peek()?.text === '*' || this.t[this.i + 1]?.text === '=') throw new NotConstant();
      args.push(this.expr());
      if (!this.eat(',')) { this.expect(')'); break; }
    }
    const one = args.length === 1 ? args[0] : undefined;
    switch (name) {
      case 'set': case 'frozenset': {
        if (args.length > 1) throw new NotConstant();
        const items = one ? iterate(one) : [];
        items.forEach(hashable);
        return { t: 'set', items, frozen: name === 'frozenset' };
      }
      case 'tuple': case 'list':
        if (args.length > 1) throw new NotConstant();
        return { t: name, items: one ? iterate(one) : [] };
      case 'dict':
        if (args.length === 0) return { t: 'dict', entries: [] };
        if (one && (one.t === 'list' || one.t === 'tuple')) {
          return {
            t: 'dict', entries: one.items.map((p) => {
              if ((p.t !== 'tuple' && p.t !== 'list') || p.items.length !== 2) throw new NotConstant();
              hashable(p.items[0]);
              return [p.items[0], p.items[1]] as [PyValue, PyValue];
            }),
          };
        }
        throw new NotConstant();
      case 'sorted': {
        if (!one) throw new NotConstant();
        return { t: 'list', items: [...iterate(one)].sort(pyCompare) };
      }
      case 'range': {
        const ints = args.map(asInt);
        if (ints.length < 1 || ints.length > 3 || ints.some((x) => x === null)) throw new NotConstant();
        const [start, stop, step] = ints.length === 1 ? [0n, ints[0]!, 1n] : [ints[0]!, ints[1]!, ints[2] ?? 1n];
        if (step === 0n) throw new NotConstant();
        const items: PyValue[] = [];
        for (let x = start; step > 0n ? x < stop : x > stop; x += step) {
          if (items.length > 10000) throw new NotConstant();
          items.push({ t: 'int', v: x });
        }
        return { t: 'range', items };
      }
      case 'float': {
        if (!one) return { t: 'float', v: 0 };
        if (one.t === 'str') {
          const s = one.v.trim().toLowerCase().replace(/_/gu, '');
          if (/^[+-]?(inf|infinity)$/u.test(s)) return { t: 'float', v: s.startsWith('-') ? -Infinity : Infinity };
          if (/^[+-]?nan$/u.test(s)) return { t: 'float', v: NaN };
          if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/u.test(s)) return { t: 'float', v: Number(s) };
          throw new NotConstant();
        }
        const f = asFloat(one);
        if (f === null) throw new NotConstant();
        return { t: 'float', v: f };
      }
      case 'int': {
        if (!one) return { t: 'int', v: 0n };
        const n = asInt(one);
        if (n !== null) return { t: 'int', v: n };
        if (one.t === 'float' && Number.isFinite(one.v)) return { t: 'int', v: BigInt(Math.trunc(one.v)) };
        if (one.t === 'str' && /^\s*[+-]?\d+\s*$/u.test(one.v)) return { t: 'int', v: BigInt(one.v.trim()) };
        throw new NotConstant();
      }
      case 'abs': {
        if (!one) throw new NotConstant();
        const n = asInt(one);
        if (n !== null) return { t: 'int', v: n < 0n ? -n : n };
        if (one.t === 'float') return { t: 'float', v: Math.abs(one.v) };
        throw new NotConstant();
      }
      default: throw new NotConstant();
    }
  }
}

function hashable(v: PyValue): void {
  if (v.t === 'list' || v.t === 'dict' || (v.t === 'set' && !v.frozen) || v.t === 'range') throw new NotConstant();
  if (v.t === 'tuple') v.items.forEach(hashable);
}

export function numberValue(text: string): PyValue {
  const clean = text.replace(/_/gu, '');
  if (/[jJ]$/u.test(clean)) return { t: 'complex', re: 0, im: Number(clean.slice(0, -1)) };
  if (/^0[xXoObB]/u.test(clean)) return { t: 'int', v: BigInt(clean.toLowerCase()) };
  if (/[.eE]/u.test(clean)) return { t: 'float', v: Number(clean) };
  return { t: 'int', v: BigInt(clean) };
}

/** The value of a constant expression given as tokens (no newline tokens), or null when it is not
 * constant (names, calls other than the pure builtins, comprehensions, f-strings …). */
export function foldConstant(tokens: Token[]): PyValue | null {
  const body = tokens.filter((t) => t.kind !== 'newline');
  if (body.length === 0) return null;
  try {
    const v = new Folder(body).run();
    return v.t === 'range' ? null : v;
  } catch (error) {
    if (error instanceof NotConstant) return null;
    throw error;
  }
}

/** The constant value of a Python expression in source form, or null. */
export function literalValue(src: string): PyValue | null {
  try {
    return foldConstant(tokenize(src));
  } catch (error) {
    if (error instanceof PythonSyntaxError) return null;
    throw error;
  }
}

export { truthy as pyTruthy };
