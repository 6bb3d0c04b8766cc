import { parseJson } from '../data/json.js';
import { RequestError } from './errors.js';

/** Sixteen digits in a row: the body may hold an integer beyond 2^53. */
const LONG_DIGITS = /\d{16}/;

/**
 * Parses a request body. Plain `JSON.parse` when no integer can lose precision (fast); otherwise the
 * lossless parser the data loaders use, so expected outputs with big integers stay exact (bigint).
 */
export function parseBody(text: string): unknown {
  if (text.trim() === '') throw new RequestError(400, 'body', 'empty; expected a JSON object');
  try {
    return LONG_DIGITS.test(text) ? parseJson(text) : JSON.parse(text);
  } catch (error) {
    throw new RequestError(400, 'body', `not valid JSON (${(error as Error).message})`);
  }
}
