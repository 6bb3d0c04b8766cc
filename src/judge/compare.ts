import type { CompareMode, PlainValue } from './types.js';

const FLOAT_TOLERANCE = 1e-6;

/** Lines with trailing whitespace removed and trailing blank lines dropped. */
function normalisedLines(text: string): string[] {
  const lines = text.split('\n').map((line) => line.replace(/\s+$/u, ''));
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function numbersClose(a: number, b: number): boolean {
  if (a === b) return true;
  if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
  const diff = Math.abs(a - b);
  return diff <= FLOAT_TOLERANCE || diff <= FLOAT_TOLERANCE * Math.max(Math.abs(a), Math.abs(b));
}

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function tokensMatch(actual: string, expected: string): boolean {
  if (actual === expected) return true;
  return NUMBER.test(actual) && NUMBER.test(expected) && numbersClose(Number(actual), Number(expected));
}

/**
 * Compares a program's stdout with the expected text.
 * - `default`: line by line, trailing whitespace and trailing blank lines ignored, case-sensitive.
 * - `strict`: the reference implementation's `stdout.strip() == expected.strip()`.
 * - `float`: `default`, but whitespace-separated numeric tokens match within 1e-6 (relative or absolute).
 */
export function outputsMatch(actual: string, expected: string, mode: CompareMode): boolean {
  if (mode === 'strict') return actual.trim() === expected.trim();
  const a = normalisedLines(actual);
  const e = normalisedLines(expected);
  if (a.length !== e.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i] === e[i]) continue;
    if (mode !== 'float') return false;
    const at = a[i].trim().split(/\s+/u);
    const et = e[i].trim().split(/\s+/u);
    if (at.length !== et.length || !at.every((token, j) => tokensMatch(token, et[j]))) return false;
  }
  return true;
}

type Tagged = { $int?: string; $float?: string; $dict?: [unknown, unknown][]; $set?: unknown[]; $unsupported?: string };

/** A numeric view of a value under Python's rules (bool is an int), or null if it is not a number. */
function asNumber(value: unknown): number | bigint | null {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number' || typeof value === 'bigint') return value;
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const tagged = value as Tagged;
    if (typeof tagged.$int === 'string') return BigInt(tagged.$int);
    if (typeof tagged.$float === 'string') {
      return tagged.$float === 'nan' ? NaN : tagged.$float.startsWith('-') ? -Infinity : Infinity;
    }
  }
  return null;
}

function numbersEqual(a: number | bigint, b: number | bigint, tolerant: boolean): boolean {
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b;
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const [big, other] = typeof a === 'bigint' ? [a, b as number] : [b as bigint, a as number];
    if (Number.isInteger(other)) return big === BigInt(other);
    return tolerant && numbersClose(Number(big), other);
  }
  return tolerant ? numbersClose(a, b) : a === b;
}

/** Key/value pairs of a dict, whether it came from the sandbox (`$dict`) or from a data file (object). */
function dictEntries(value: unknown): [unknown, unknown][] | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const tagged = value as Tagged;
  if (Array.isArray(tagged.$dict)) return tagged.$dict;
  if (tagged.$int !== undefined || tagged.$float !== undefined || tagged.$set !== undefined || tagged.$unsupported !== undefined) return null;
  return Object.entries(value);
}

/**
 * Python's `==` between a value returned in the sandbox (serialised from exact builtin types) and an
 * expected value from a data file. Tuples arrive as lists (the APPS convention compares them as lists);
 * sets and unsupported types never equal anything a JSON data file can hold. With `tolerant`, floats
 * match within 1e-6.
 */
export function valuesEqual(actual: unknown, expected: PlainValue | unknown, tolerant = false): boolean {
  const an = asNumber(actual);
  const en = asNumber(expected);
  if (an !== null || en !== null) return an !== null && en !== null && numbersEqual(an, en, tolerant);
  if (actual === null || typeof actual === 'string') return actual === expected;
  if (Array.isArray(actual)) {
    return Array.isArray(expected) && actual.length === expected.length
      && actual.every((item, i) => valuesEqual(item, expected[i], tolerant));
  }
  const a = dictEntries(actual);
  const e = dictEntries(expected);
  if (!a || !e || a.length !== e.length) return false;
  return a.every(([key, value]) => {
    const match = e.find(([k]) => valuesEqual(key, k));
    return match !== undefined && valuesEqual(value, match[1], tolerant);
  });
}
