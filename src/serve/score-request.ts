import { isPlainObject } from '../data/json.js';
import type { Problem } from '../data/index.js';
import { RequestError } from './errors.js';
import { FieldErrors, idOf, inlineProblem } from './fields.js';

/** One completion to score against one problem. */
export interface ScoreItem {
  problem: Problem;
  completion: string;
}

/** A parsed `POST /v1/score` body. */
export interface ScoreRequest {
  items: ScoreItem[];
  /** false: leave `program` and per-test `tests` out of the records (smaller answers). */
  details: boolean;
}

export interface RequestLimits {
  maxSamplesPerRequest: number;
  maxTestsPerProblem: number;
}

/**
 * Reads a `POST /v1/score` body:
 *
 * ```json
 * { "samples": [ {"problem_id": "17", "completion": "..."},
 *                {"problem": {"prompt": "...", "inputs": ["1 2\n"], "outputs": ["3\n"]}, "completion": "..."} ],
 *   "problems": { "mine": {"inputs": [...], "outputs": [...]} },      (optional, shared by samples)
 *   "details": true }                                                 (optional)
 * ```
 *
 * A sample names a problem by `problem_id` (the request's own `problems` first, then the server's
 * preloaded ones) or carries it inline as `problem`. Every mistake is reported with its field.
 */
export function parseScoreRequest(body: unknown, preloaded: ReadonlyMap<string, Problem>, limits: RequestLimits): ScoreRequest {
  if (!isPlainObject(body)) throw new RequestError(400, 'body', 'expected a JSON object with a "samples" list');
  const { samples } = body;
  if (!Array.isArray(samples)) throw new RequestError(400, 'samples', 'missing; expected a list of {problem_id or problem, completion}');
  if (samples.length > limits.maxSamplesPerRequest) {
    throw new RequestError(413, 'samples', `${samples.length} samples, more than this server's limit of ${limits.maxSamplesPerRequest} per request; split the batch`);
  }
  let details = true;
  if (body.details !== undefined) {
    if (typeof body.details !== 'boolean') throw new RequestError(400, 'details', 'expected true or false');
    details = body.details;
  }
  const errors = new FieldErrors();
  const shared = requestProblems(body.problems, limits, errors);
  const items: ScoreItem[] = [];
  samples.forEach((sample, i) => {
    const field = `samples[${i}]`;
    if (!isPlainObject(sample)) {
      errors.add(field, 'expected an object with problem_id or problem, and completion');
      return;
    }
    if (typeof sample.completion !== 'string') errors.add(`${field}.completion`, sample.completion === undefined ? 'missing (a string)' : 'expected a string');
    let problem: Problem | undefined;
    if (sample.problem !== undefined && sample.problem_id !== undefined) {
      errors.add(field, 'has both "problem" and "problem_id"; send one');
    } else if (sample.problem !== undefined) {
      const rec = sample.problem;
      const id = (isPlainObject(rec) ? idOf(rec.id) : undefined) ?? field;
      const made = inlineProblem(rec, id, `${field}.problem`, limits.maxTestsPerProblem, '');
      if (typeof made === 'string') errors.add(`${field}.problem`, made);
      else problem = made;
    } else if (sample.problem_id !== undefined) {
      const id = idOf(sample.problem_id);
      if (id === undefined) errors.add(`${field}.problem_id`, 'expected a string or a number');
      else {
        problem = shared.get(id) ?? preloaded.get(id);
        if (!problem) errors.add(`${field}.problem_id`, unknownProblem(id, preloaded.size));
      }
    } else {
      errors.add(field, 'missing "problem_id" or "problem"');
    }
    if (problem && typeof sample.completion === 'string') items.push({ problem, completion: sample.completion });
  });
  errors.throwIfAny();
  return { items, details };
}

export function unknownProblem(id: string, known: number): string {
  return known === 0
    ? `unknown problem ${JSON.stringify(id)}: this server preloads no problems (start it with --problems FILE, or send the problem inline)`
    : `unknown problem ${JSON.stringify(id)} (not among the ${known} problems this server preloads, nor in the request's "problems")`;
}

/** The request's own `problems` object: id → APPS+-style record, shared by its samples. */
function requestProblems(value: unknown, limits: RequestLimits, errors: FieldErrors): Map<string, Problem> {
  const byId = new Map<string, Problem>();
  if (value === undefined) return byId;
  if (!isPlainObject(value)) {
    errors.add('problems', 'expected an object mapping ids to problems ({"id": {"inputs": [...], "outputs": [...]}})');
    return byId;
  }
  const entries = Object.entries(value);
  if (entries.length > limits.maxSamplesPerRequest) {
    throw new RequestError(413, 'problems', `${entries.length} problems, more than this server's limit of ${limits.maxSamplesPerRequest} per request`);
  }
  for (const [id, record] of entries) {
    const field = `problems[${JSON.stringify(id)}]`;
    const made = inlineProblem(record, id, field, limits.maxTestsPerProblem, '');
    if (typeof made === 'string') errors.add(field, made);
    else byId.set(id, made);
  }
  return byId;
}
