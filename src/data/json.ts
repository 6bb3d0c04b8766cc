import { isInteger, isSafeNumber, parse } from 'lossless-json';
import type { PlainValue } from '../judge/types.js';

/** JSON.parse that keeps integers beyond 2^53 exact (as bigint), so expected outputs with large
 * numbers compare correctly. */
export function parseJson(text: string): unknown {
  return parse(text, null, (value: string) => (isInteger(value) && !isSafeNumber(value) ? BigInt(value) : Number(value)));
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

export type { PlainValue };
