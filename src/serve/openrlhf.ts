import { isPlainObject } from '../data/json.js';
import type { Problem } from '../data/index.js';
import { RequestError } from './errors.js';
import { FieldErrors, idOf, inlineProblem } from './fields.js';
import { parseBody } from './json-body.js';
import { allPass, type SampleOutcome } from './records.js';
import { unknownProblem, type RequestLimits, type ScoreItem } from './score-request.js';

/**
 * OpenRLHF's remote reward protocol (`--remote_rm_url http://HOST:PORT/openrlhf`):
 * `POST {"query": [str], "prompts": [str], "labels": [str]}` → `{"rewards": [float], "scores": [float],
 * "extra_logs": {name: [float]}}`.
 *
 * - `query[i]` is the decoded prompt + response (special tokens kept); the completion is what follows
 *   `prompts[i]` in it, with leading and trailing special tokens (`<|endoftext|>`, `</s>`, …) removed.
 * - `labels[i]` (the dataset field chosen with `--label_key`) names the problem: a problem id the
 *   server preloaded, or a JSON object as a string with the tests, `{"inputs": [...], "outputs":
 *   [...], "fn_name"?: ..., "compare"?: ...}`, whose prompt (for function-stub continuation) defaults
 *   to `prompts[i]`. A label whose text starts with `{` is read as such an object.
 * - Other fields (`metas`, …) are ignored.
 */
export interface OpenRlhfItem extends ScoreItem {
  /** false when `prompts[i]` was not found in `query[i]` (the whole query was scored). */
  promptFound: boolean;
}

export interface OpenRlhfResponse {
  rewards: number[];
  scores: number[];
  extra_logs: Record<string, number[]>;
}

const SPECIAL = String.raw`(?:<\|[^<>|\s]{1,64}\|>|<｜[^<>｜]{1,64}｜>|</?s>|<pad>|<unk>|<eos>|<bos>|\[PAD\]|\[CLS\]|\[SEP\])`;
const LEADING_SPECIAL = new RegExp(String.raw`^(?:\s*${SPECIAL})+`, 'u');
const TRAILING_SPECIAL = new RegExp(String.raw`(?:${SPECIAL}\s*)+$`, 'u');

/** Tokenizer markers at the start or the end of a decoded sequence. */
export function stripSpecialTokens(text: string): string {
  return text.replace(LEADING_SPECIAL, '').replace(TRAILING_SPECIAL, '');
}

/** The response part of a decoded prompt + response. */
export function completionFromQuery(query: string, prompt: string | undefined): { completion: string; promptFound: boolean } {
  if (!prompt) return { completion: stripSpecialTokens(query), promptFound: true };
  for (const candidate of [prompt, stripSpecialTokens(prompt), prompt.trim()]) {
    if (candidate === '') continue;
    const at = query.indexOf(candidate);
    if (at >= 0) return { completion: stripSpecialTokens(query.slice(at + candidate.length)), promptFound: true };
  }
  return { completion: stripSpecialTokens(query), promptFound: false };
}

function stringList(body: Record<string, unknown>, field: string, required: boolean): string[] | undefined {
  const value = body[field];
  if (value === undefined && !required) return undefined;
  if (!Array.isArray(value)) throw new RequestError(400, field, value === undefined ? 'missing; expected a list of strings' : 'expected a list of strings');
  const bad = value.findIndex((v) => typeof v !== 'string');
  if (bad >= 0) throw new RequestError(400, `${field}[${bad}]`, 'expected a string');
  return value as string[];
}

export function parseOpenRlhfRequest(body: unknown, preloaded: ReadonlyMap<string, Problem>, limits: RequestLimits): OpenRlhfItem[] {
  if (!isPlainObject(body)) throw new RequestError(400, 'body', 'expected a JSON object with "query", "prompts" and "labels"');
  const queries = stringList(body, 'query', true)!;
  if (queries.length > limits.maxSamplesPerRequest) {
    throw new RequestError(413, 'query', `${queries.length} samples, more than this server's limit of ${limits.maxSamplesPerRequest} per request; run more servers (--remote_rm_url takes a comma-separated list) or raise --max-samples`);
  }
  const prompts = stringList(body, 'prompts', false);
  if (prompts && prompts.length !== queries.length) throw new RequestError(400, 'prompts', `${prompts.length} entries but "query" has ${queries.length}`);
  const labels = body.labels;
  if (!Array.isArray(labels)) throw new RequestError(400, 'labels', `${labels === undefined ? 'missing' : 'expected a list'}: each label is a problem id or a JSON object with "inputs" and "outputs" (set OpenRLHF's --label_key)`);
  if (labels.length !== queries.length) throw new RequestError(400, 'labels', `${labels.length} entries but "query" has ${queries.length}`);
  const errors = new FieldErrors();
  const items: OpenRlhfItem[] = [];
  queries.forEach((query, i) => {
    const field = `labels[${i}]`;
    const prompt = prompts?.[i];
    const problem = problemOfLabel(labels[i], prompt, field, preloaded, limits, errors);
    if (problem) items.push({ problem, ...completionFromQuery(query, prompt) });
  });
  errors.throwIfAny();
  return items;
}

function problemOfLabel(label: unknown, prompt: string | undefined, field: string, preloaded: ReadonlyMap<string, Problem>, limits: RequestLimits, errors: FieldErrors): Problem | undefined {
  let record: unknown = label;
  if (typeof label === 'string' && label.trimStart().startsWith('{')) {
    try {
      record = parseBody(label);
    } catch (error) {
      errors.add(field, `starts with "{" but is not valid JSON (${(error as RequestError).detail ?? (error as Error).message})`);
      return undefined;
    }
  }
  if (isPlainObject(record)) {
    const made = inlineProblem(record, idOf(record.id) ?? field, field, limits.maxTestsPerProblem, prompt ?? '');
    if (typeof made === 'string') errors.add(field, made);
    return typeof made === 'string' ? undefined : made;
  }
  const id = idOf(record);
  if (id === undefined) {
    errors.add(field, 'expected a problem id or a JSON object with "inputs" and "outputs"');
    return undefined;
  }
  const problem = preloaded.get(id);
  if (!problem) errors.add(field, unknownProblem(id, preloaded.size));
  return problem;
}

/**
 * The answer (numbers rounded to six decimals, as in the records): `rewards` = the joint reward R (0 for a sample not scored in time), `scores` = all tests
 * passed (0/1), and in `extra_logs` each component: `r_func`, `r_sec` (when the security term is on),
 * `r_lint` (when its weight is not 0), `stage`, `tests_passed_frac`, `syntax_ok`, `timed_out`.
 */
export function openRlhfResponse(outcomes: readonly SampleOutcome[]): OpenRlhfResponse {
  const logs: Record<string, number[]> = { r_func: [], r_sec: [], r_lint: [], stage: [], tests_passed_frac: [], syntax_ok: [], timed_out: [] };
  const rewards: number[] = [];
  const scores: number[] = [];
  let anySec = false, anyLint = false;
  for (const outcome of outcomes) {
    if (outcome.status === 'done') {
      const b = outcome.value;
      rewards.push(round(b.reward));
      scores.push(allPass(b));
      logs.r_func.push(round(b.rFunc));
      logs.r_sec.push(round(b.rSec ?? 0));
      logs.r_lint.push(round(b.rLint ?? 0));
      anySec ||= b.rSec !== null;
      anyLint ||= b.rLint !== null;
      logs.stage.push(b.stage);
      logs.tests_passed_frac.push(b.testsTotal > 0 ? round(b.testsPassed / b.testsTotal) : 0);
      logs.syntax_ok.push(b.syntaxOk ? 1 : 0);
      logs.timed_out.push(0);
    } else {
      rewards.push(0);
      scores.push(0);
      for (const key of ['r_func', 'r_sec', 'r_lint', 'stage', 'tests_passed_frac', 'syntax_ok']) logs[key].push(0);
      logs.timed_out.push(outcome.status === 'failed' ? 0 : 1);
    }
  }
  if (!anySec) delete logs.r_sec;
  if (!anyLint) delete logs.r_lint;
  return { rewards, scores, extra_logs: logs };
}

/** Six decimals, as the `score` command's records. */
function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
