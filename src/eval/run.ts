import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseCwe } from '../analyze/cwe-match.js';
import type { Problem } from '../data/problem.js';
import type { JudgeResult } from '../judge/types.js';
import { mapOrdered } from '../reward/batch.js';
import { ADDITIVE_MIN_PROGRAM_CHARS, functionalReward } from '../reward/ladder.js';
import { breakdownRecord, Scorer, type RewardBreakdown, type RewardConfig } from '../reward/scorer.js';
import { BackendError, type GenerationBackend, type GenerationRequest, type SamplingParams } from './backends/backend.js';
import { CompletionsFileBackend } from './backends/completions-file.js';
import { createLocalBackend } from './backends/local.js';
import { OpenAIBackend } from './backends/openai.js';
import { loadEvalDataset, selectPrompts, type LoadedDataset } from './dataset.js';
import { appendRecord, readAppendLog, writeAtomic } from './jsonl-cache.js';
import { computeSummary, type EvalSummary } from './metrics.js';
import { promptTemplate, type EvalTemplate } from './prompt.js';
import type { GenerationRecord, SampleRecord, TurnRecord, VisibleScore } from './record.js';
import { hash32 } from '../random.js';
import { correctionMetrics, feedbackProblem } from '../train/feedback.js';
import type { ScoreFilesOptions } from './score-files.js';

/** Where completions come from (the API key is never part of it: pass it in EvalRunOptions). */
export type BackendSpec =
  | {
      kind: 'openai';
      endpoint: string;
      model: string;
      api?: 'completions' | 'chat';
      sampling?: Partial<SamplingParams>;
      concurrency?: number;
      timeoutMs?: number;
      retries?: number;
      extraBody?: Record<string, unknown>;
    }
  | { kind: 'completions-file'; path: string }
  | {
      kind: 'local';
      /** A Hugging Face model folder (config.json, safetensors, tokenizer.json). */
      dir: string;
      /** A PEFT LoRA adapter folder applied to it. */
      adapter?: string;
      sampling?: Partial<SamplingParams>;
      topK?: number;
      repetitionPenalty?: number;
      /** Rows decoded together [8]. */
      batchSize?: number;
      /** ONNX Runtime threads [all cores]. */
      threads?: number;
    };

/** Everything that defines an evaluation. Defaults in brackets. */
export interface EvalConfig {
  /** A data set name (apps-plus, mbpp, humaneval, odex, cyberseceval) or a problem file. */
  data: string;
  backend: BackendSpec;
  /** Name of the model in reports [the model name, or the completions file's or model folder's name]. */
  label?: string;
  /** Prompts drawn (seeded) from the data set [100; null = all; for a completions file without n:
   * the problems the file has completions for]. */
  n?: number | null;
  /** Samples per prompt [1]. */
  samplesPerPrompt?: number;
  /** Seeds the prompt draw, the per-sample generation seeds and the bootstrap [42]. */
  seed?: number;
  /** A shared template name (`instruction`, `instruction-python`, `chat`, `completion`; `paper` and
   * `plain` are aliases) or a format string with {prompt} ['instruction']. */
  template?: string;
  reward?: Partial<RewardConfig>;
  judge?: ScoreFilesOptions['judge'];
  /** Tests per problem that best-of-k may look at: the first `visibleTests` [1]. */
  visibleTests?: number;
  /** Bootstrap resamples [10,000]. */
  resamples?: number;
  /** pass@k for these k [1, 5, 10, 100], those ≤ samples per prompt. */
  passK?: number[];
  /** Self-correction turns [1]: turn t+1 answers turn t's program with its execution feedback (the prompt
   * `train rloo` uses); the summary adds Acc@t, Δi→c, Δc→i. Not for a completions file. */
  turns?: number;
}

export interface EvalRunOptions {
  /** The run folder; an existing run there with the same config is resumed. */
  outDir: string;
  apiKey?: string;
  /** Share one scorer (and its sandbox pool) across runs; otherwise one is started and closed. */
  scorer?: Scorer;
  /** Use this backend instead of building one from `config.backend`. */
  backend?: GenerationBackend;
  /** An already loaded data set for `config.data`. */
  dataset?: LoadedDataset;
  /** Use this template object instead of `config.template`. */
  template?: EvalTemplate;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  log?: (line: string) => void;
}

/** `summary.json`: the metrics plus how the run ended. */
export interface RunSummary extends EvalSummary {
  status: 'complete' | 'partial';
  /** Why a partial run stopped. */
  error?: string;
  label: string;
  data: string;
  /** Prompts planned and samples planned (a partial run has fewer in `n` / `samples`). */
  planned_prompts: number;
  planned_samples: number;
  seconds: number;
  /** `--turns T ≥ 2`: acc_t1..acc_tT, delta_i_to_c, delta_c_to_i (first turn against the last) and
   * kept_pass_share (of the tests passing at turn 1, the share still passing at turn T), over samples. */
  self_correction?: Record<string, number | null>;
}

export interface EvalResult {
  outDir: string;
  summary: RunSummary;
  promptIds: string[];
  records: SampleRecord[];
  /** Generations asked of the backend in this call, and those reused from the run folder. */
  generated: number;
  reusedGenerations: number;
  reusedScores: number;
}

/** The files of a run folder. */
export const RUN_FILES = {
  config: 'config.json',
  prompts: 'prompts.jsonl',
  generations: 'generations.jsonl',
  samples: 'samples.jsonl',
  summary: 'summary.json',
} as const;

export function defaultLabel(spec: BackendSpec): string {
  if (spec.kind === 'openai') return spec.model;
  if (spec.kind === 'completions-file') return basename(spec.path, extname(spec.path));
  return spec.adapter ? `${basename(spec.dir)}+${basename(spec.adapter)}` : basename(spec.dir);
}

/** Builds the backend a spec names. `template` (the run's template name) tells the local model
 * whether to apply its chat template and which stop strings the template has. */
export function createBackend(spec: BackendSpec, apiKey?: string, knownIds?: ReadonlySet<string>, template?: string): GenerationBackend {
  switch (spec.kind) {
    case 'openai':
      return new OpenAIBackend({ endpoint: spec.endpoint, model: spec.model, api: spec.api, apiKey, sampling: spec.sampling, concurrency: spec.concurrency, timeoutMs: spec.timeoutMs, retries: spec.retries, extraBody: spec.extraBody });
    case 'completions-file':
      return new CompletionsFileBackend(spec.path, knownIds);
    case 'local':
      return createLocalBackend({
        modelDir: spec.dir, adapterDir: spec.adapter, sampling: spec.sampling, topK: spec.topK,
        repetitionPenalty: spec.repetitionPenalty, batchSize: spec.batchSize, threads: spec.threads, template,
      });
  }
}

const key = (problemId: string, sample: number, turn = 1) => `${problemId}\u0000${sample}${turn > 1 ? `\u0000${turn}` : ''}`;

/**
 * Evaluates one model: draws the prompt set, generates (or reuses cached) completions, scores them
 * in the sandbox, writes every sample as it is scored, and writes `summary.json`. Rerunning with the
 * same `outDir` and config resumes: cached generations are not asked again and scored samples are
 * not scored again. On failure or abort the partial summary is written and the error rethrown.
 */
export async function runEval(config: EvalConfig, options: EvalRunOptions): Promise<EvalResult> {
  const started = Date.now();
  const log = options.log ?? (() => {});
  const seed = config.seed ?? 42;
  const perPrompt = config.samplesPerPrompt ?? 1;
  if (!Number.isInteger(perPrompt) || perPrompt < 1) throw new Error(`--samples-per-prompt: expected a positive integer, got ${perPrompt}`);
  const visibleTests = config.visibleTests ?? 1;
  const turns = config.turns ?? 1;
  if (!Number.isInteger(turns) || turns < 1) throw new Error(`--turns: expected a positive integer, got ${turns}`);
  if (turns > 1 && config.backend.kind === 'completions-file') throw new Error('--turns: a completions file has no answers to the feedback prompts; give an endpoint or a local model');
  const template = options.template ?? promptTemplate(config.template ?? 'instruction');
  const dataset = options.dataset ?? (await loadEvalDataset(config.data));
  const knownIds = new Set(dataset.problems.map((p) => p.id));
  const backend = options.backend ?? createBackend(config.backend, options.apiKey, knownIds, template.name);
  const label = config.label ?? defaultLabel(config.backend);

  let chosen: Problem[];
  if (config.n === undefined && backend instanceof CompletionsFileBackend) {
    const inFile = new Set(backend.problemIds());
    chosen = dataset.problems.filter((p) => inFile.has(p.id));
  } else {
    chosen = selectPrompts(dataset.problems, config.n === undefined ? 100 : config.n, seed);
  }
  const promptIds = chosen.map((p) => p.id);

  const ownsScorer = !options.scorer;
  const scorer = options.scorer ?? new Scorer(config.reward, config.judge);
  const dir = options.outDir;
  const path = (name: keyof typeof RUN_FILES) => join(dir, RUN_FILES[name]);
  const resolved = {
    version: 1,
    label,
    data: { spec: config.data, path: dataset.path ?? null, problems: dataset.problems.length },
    n: promptIds.length,
    samples_per_prompt: perPrompt,
    seed,
    template: template.name,
    backend: backend.describe(),
    reward: scorer.config,
    judge: { limits: config.judge?.limits ?? null },
    visible_tests: visibleTests,
    prompts_sha: hash32(promptIds.join('\n')).toString(16),
    resamples: config.resamples ?? 10_000,
    pass_k: config.passK ?? [1, 5, 10, 100],
    ...(turns > 1 ? { turns } : {}),
  };
  try {
    mkdirSync(dir, { recursive: true });
    checkResumable(path('config'), resolved);
    writeAtomic(path('config'), `${JSON.stringify(resolved, null, 2)}\n`);
    writeAtomic(path('prompts'), chosen.map((p) => JSON.stringify({ problem_id: p.id, ...template.render(p) })).join('\n') + '\n');
  } catch (error) {
    if (ownsScorer) await scorer.close();
    throw error;
  }

  const generations = new Map<string, GenerationRecord>();
  for (const g of readAppendLog<GenerationRecord>(path('generations'), checkGeneration)) generations.set(key(g.problem_id, g.sample, g.turn), g);
  const scored = new Map<string, SampleRecord>();
  for (const r of readAppendLog<SampleRecord>(path('samples'), checkSample)) scored.set(key(r.problem_id, r.sample), r);
  const reusedGenerations = generations.size;
  const reusedScores = scored.size;

  const byId = new Map(chosen.map((p) => [p.id, p]));
  const plan = chosen.flatMap((problem) => Array.from({ length: perPrompt }, (_, sample) => ({ problem, sample })));
  const todo = plan.filter((item) => !scored.has(key(item.problem.id, item.sample)));
  const needGeneration = todo.filter((item) => !generations.has(key(item.problem.id, item.sample)));
  if (reusedScores > 0 || reusedGenerations > 0) log(`resuming ${dir}: ${reusedScores} samples scored, ${reusedGenerations} generations cached, ${todo.length} of ${plan.length} to do`);

  const controller = new AbortController();
  const onAbort = () => controller.abort();
  options.signal?.addEventListener('abort', onAbort, { once: true });
  const inflight = new Set<Promise<unknown>>();
  let generated = 0;
  let done = plan.length - todo.length;
  let failure: Error | undefined;

  /** Turn `turn`'s generation of a sample (cached), asking the backend for `asked`'s prompt when not cached. */
  const generation = async (asked: Problem, sample: number, turn: number): Promise<GenerationRecord> => {
    let gen = generations.get(key(asked.id, sample, turn));
    if (!gen) {
      const rendered = template.render(asked);
      const request: GenerationRequest = { problemId: asked.id, sample, ...rendered, seed: hash32(turn > 1 ? `${asked.id}#${sample}#t${turn}` : `${asked.id}#${sample}`, seed), signal: controller.signal };
      const answer = await backend.generate(request);
      gen = { problem_id: asked.id, sample, completion: answer.completion, finish_reason: answer.finishReason, completion_tokens: answer.completionTokens, latency_ms: answer.latencyMs, attempts: answer.attempts, ...(turn > 1 ? { turn } : {}) };
      if (controller.signal.aborted) throw new BackendError('aborted', 'evaluation aborted');
      generations.set(key(asked.id, sample, turn), gen);
      appendRecord(path('generations'), gen);
      generated++;
    }
    if (controller.signal.aborted) throw new BackendError('aborted', 'evaluation aborted');
    return gen;
  };
  const one = async (item: { problem: Problem; sample: number }): Promise<SampleRecord> => {
    const { problem, sample } = item;
    const gen = await generation(problem, sample, 1);
    const breakdown = await scorer.score(problem, gen.completion);
    const record = sampleRecord(gen, breakdown, scorer.config, visibleTests);
    if (turns === 1) return record;
    // Later turns: the previous program with its feedback (as `train rloo` asks), scored as a whole program.
    const later: TurnRecord[] = [];
    let previous = breakdown;
    for (let turn = 2; turn <= turns; turn++) {
      const asked = feedbackProblem(problem, previous);
      const g = await generation(asked, sample, turn);
      previous = await scorer.score(asked, g.completion);
      later.push({ turn, completion: g.completion, completion_tokens: g.completion_tokens, finish_reason: g.finish_reason, reward: round(previous.reward), r_func: round(previous.rFunc),
        stage: previous.stage, syntax_ok: previous.syntaxOk, tests_passed: previous.testsPassed, tests_total: previous.testsTotal, verdicts: previous.verdicts, program: previous.program });
    }
    return { ...record, turns: later };
  };
  const tracked = (item: { problem: Problem; sample: number }) => {
    const p = one(item);
    inflight.add(p);
    p.then(() => inflight.delete(p), () => inflight.delete(p));
    return p;
  };

  try {
    if (needGeneration.length > 0 && backend.check) {
      const counts = new Map<string, number>();
      for (const item of needGeneration) counts.set(item.problem.id, Math.max(counts.get(item.problem.id) ?? 0, item.sample + 1));
      await backend.check([...counts].map(([problemId, samples]) => ({ problemId, samples })));
    }
    options.onProgress?.(done, plan.length);
    const window = Math.max(backend.concurrency, scorer.judge.options.workers * 2);
    for await (const record of mapOrdered(todo, window, tracked)) {
      scored.set(key(record.problem_id, record.sample), record);
      appendRecord(path('samples'), record);
      options.onProgress?.(++done, plan.length);
      if (controller.signal.aborted) throw new BackendError('aborted', 'evaluation aborted');
    }
  } catch (error) {
    failure = options.signal?.aborted ? new BackendError('aborted', 'evaluation interrupted') : (error as Error);
    controller.abort();
    await Promise.allSettled([...inflight]);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await (backend as GenerationBackend).close?.();
    if (ownsScorer) await scorer.close();
  }

  const records = plan.map((item) => scored.get(key(item.problem.id, item.sample))).filter((r): r is SampleRecord => r !== undefined);
  if (!failure) writeAtomic(path('samples'), records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : ''));
  const promptCwes = Object.fromEntries(chosen.map((p) => [p.id, parseCwe(p.meta?.cwe)]));
  const metrics = computeSummary(promptIds, records, { passK: resolved.pass_k, resamples: resolved.resamples, seed, promptCwes });
  const summary: RunSummary = {
    status: failure ? 'partial' : 'complete',
    ...(failure ? { error: failure.message } : {}),
    label,
    data: config.data,
    planned_prompts: promptIds.length,
    planned_samples: plan.length,
    seconds: Math.round((Date.now() - started) / 100) / 10,
    ...metrics,
    ...(turns > 1 ? { self_correction: selfCorrection(records, turns) } : {}),
  };
  writeAtomic(path('summary'), `${JSON.stringify(summary, null, 2)}\n`);
  if (failure) {
    const partial = new Error(`${failure.message}\n${records.length} of ${plan.length} samples are scored in ${dir} (summary.json marked partial); rerun the same command to resume`);
    (partial as Error & { cause?: unknown }).cause = failure;
    (partial as Error & { result?: unknown }).result = { outDir: dir, summary, promptIds, records, generated, reusedGenerations, reusedScores };
    throw partial;
  }
  return { outDir: dir, summary, promptIds, records, generated, reusedGenerations, reusedScores };
}

/** The self-correction figures of `--turns` records (samples with tests only; null figures without any). */
export function selfCorrection(records: readonly SampleRecord[], turns: number): Record<string, number | null> {
  const withTests = records.filter((r) => r.tests_total > 0 && (r.turns?.length ?? 0) === turns - 1);
  if (withTests.length === 0) return { ...Object.fromEntries(Array.from({ length: turns }, (_, t) => [`acc_t${t + 1}`, null])), delta_i_to_c: null, delta_c_to_i: null, kept_pass_share: null };
  const outcome = (r: { tests_passed: number; tests_total: number; verdicts: SampleRecord['verdicts'] }) => ({ testsPassed: r.tests_passed, testsTotal: r.tests_total, verdicts: r.verdicts });
  return correctionMetrics([withTests.map(outcome), ...Array.from({ length: turns - 1 }, (_, t) => withTests.map((r) => outcome(r.turns![t])))]);
}

/** Refuses to mix runs: an existing config.json in the folder must match on everything that changes results. */
function checkResumable(path: string, resolved: Record<string, unknown>): void {
  if (!existsSync(path)) return;
  let previous: Record<string, unknown>;
  try {
    previous = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: not valid JSON (${(error as Error).message}); remove the run folder or choose another --out`);
  }
  // The endpoint's address may change between attempts (a restarted server); the model name may not.
  const identity = (config: Record<string, unknown>, field: string) => {
    const value = config[field];
    if (field !== 'backend' || typeof value !== 'object' || value === null) return JSON.stringify(value);
    const { endpoint: _endpoint, ...rest } = value as Record<string, unknown>;
    return JSON.stringify(rest);
  };
  for (const field of ['data', 'n', 'samples_per_prompt', 'seed', 'template', 'backend', 'reward', 'judge', 'visible_tests', 'prompts_sha', 'turns']) {
    const a = identity(previous, field);
    const b = identity(resolved, field);
    if (a !== b) throw new Error(`${path}: the run folder holds a run with a different ${field} (${a} there, ${b} now); choose another --out or remove the folder`);
  }
}

function checkGeneration(r: unknown): string | null {
  const g = r as GenerationRecord;
  return typeof g?.problem_id === 'string' && Number.isInteger(g.sample) && typeof g.completion === 'string' ? null : 'expected a generation record (problem_id, sample, completion)';
}

function checkSample(r: unknown): string | null {
  const s = r as SampleRecord;
  return typeof s?.problem_id === 'string' && Number.isInteger(s.sample) && typeof s.reward === 'number' && Array.isArray(s.verdicts) && s.visible
    ? null
    : 'expected a sample record (problem_id, sample, reward, verdicts, visible)';
}

/** The reward recomputed on the first `visibleTests` tests only, combined as the scorer combines it. */
export function visibleScore(b: RewardBreakdown, config: RewardConfig, visibleTests: number): VisibleScore {
  if (b.testsTotal === 0) return { tests: 0, passed: 0, r_func: b.rFunc, reward: b.reward };
  const v = Math.min(visibleTests, b.testsTotal);
  const tests = b.syntaxOk ? b.tests.slice(0, v) : [];
  const passed = tests.filter((t) => t.verdict === 'passed').length;
  const judged: JudgeResult = { syntaxOk: b.syntaxOk, tests, passed, total: v };
  const rFunc = functionalReward(judged, config.mode);
  const { func, sec, lint } = config.weights;
  let reward = b.rSec === null ? (func * rFunc + lint * (b.rLint ?? 0)) / (func + lint || 1) : func * rFunc + sec * b.rSec + lint * (b.rLint ?? 0);
  if (config.mode === 'additive' && b.program.trim().length < ADDITIVE_MIN_PROGRAM_CHARS) reward = 0;
  return { tests: v, passed, r_func: round(rFunc), reward: round(reward) };
}

function sampleRecord(gen: GenerationRecord, b: RewardBreakdown, config: RewardConfig, visibleTests: number): SampleRecord {
  const { problem_id: _drop, ...rest } = breakdownRecord(b);
  return {
    problem_id: gen.problem_id,
    sample: gen.sample,
    completion: gen.completion,
    completion_chars: gen.completion.length,
    completion_tokens: gen.completion_tokens,
    finish_reason: gen.finish_reason,
    ...(rest as Omit<SampleRecord, 'problem_id' | 'sample' | 'completion' | 'completion_chars' | 'completion_tokens' | 'finish_reason' | 'visible'>),
    visible: visibleScore(b, config, visibleTests),
  };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}
