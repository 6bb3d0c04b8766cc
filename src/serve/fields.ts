import { isPlainObject } from '../data/json.js';
import { problemFromAppsPlus, type Problem } from '../data/index.js';
import type { CompareMode } from '../judge/types.js';
import { RequestError } from './errors.js';

/** The most problems one error answer lists. */
const MAX_LISTED = 10;

/** Collects the problems found in one request body, so one answer can name several fields. */
export class FieldErrors {
  private readonly found: { field: string; detail: string }[] = [];

  add(field: string, detail: string): void {
    this.found.push({ field, detail });
  }

  get count(): number {
    return this.found.length;
  }

  /** Throws a 400 naming the first field (and a few more) if anything was found. */
  throwIfAny(): void {
    if (this.found.length === 0) return;
    const [first, ...rest] = this.found;
    const listed = rest.slice(0, MAX_LISTED - 1).map((e) => `${e.field}: ${e.detail}`);
    if (rest.length > listed.length) listed.push(`… and ${rest.length - listed.length} more`);
    throw new RequestError(400, first.field, first.detail, { more: listed });
  }
}

const COMPARE_MODES: readonly string[] = ['default', 'strict', 'float'];

/**
 * A problem sent inline: an APPS+-style record (`prompt`, `inputs`, `outputs`, optional `fn_name`,
 * `starter_code`, `compare`). `prompt` may be left out when `defaultPrompt` is given.
 */
export function inlineProblem(record: unknown, id: string, field: string, maxTests: number, defaultPrompt?: string): Problem | string {
  if (!isPlainObject(record)) return 'expected a JSON object with inputs and outputs';
  const withPrompt = record.prompt === undefined && defaultPrompt !== undefined ? { ...record, prompt: defaultPrompt } : record;
  let problem: Problem;
  try {
    problem = problemFromAppsPlus(withPrompt, id, `request ${field}`);
  } catch (error) {
    return (error as Error).message;
  }
  if (record.compare !== undefined) {
    if (typeof record.compare !== 'string' || !COMPARE_MODES.includes(record.compare)) return 'field "compare": expected default, strict or float';
    problem.compare = record.compare as CompareMode;
  }
  if (problem.tests.length > maxTests) return `field "inputs": ${problem.tests.length} tests, more than this server's limit of ${maxTests}`;
  return problem;
}

/** A problem id as sent: a string, or a number (APPS+ problems are named by their index). */
export function idOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
