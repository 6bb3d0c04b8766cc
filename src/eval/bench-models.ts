import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RewardConfig } from '../reward/scorer.js';
import { Scorer } from '../reward/scorer.js';
import { loadEvalDataset } from './dataset.js';
import { runEval, type BackendSpec, type EvalConfig, type EvalResult } from './run.js';

/** One model of a benchmark: an endpoint, a local model folder (`model` without `endpoint`), or a
 * completions file. */
export interface BenchModel {
  /** Unique; names its run folder and its row. */
  name: string;
  endpoint?: string;
  /** The name the endpoint serves; without `endpoint`, a local model folder. */
  model?: string;
  /** With a local model: a PEFT LoRA adapter folder. */
  adapter?: string;
  /** Local model: top-k, repetition penalty, rows per batch, ONNX Runtime threads. */
  top_k?: number;
  repetition_penalty?: number;
  batch_size?: number;
  threads?: number;
  api?: 'completions' | 'chat';
  /** Environment variable holding the API key (the key itself never goes in the file). */
  api_key_env?: string;
  completions?: string;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  concurrency?: number;
  template?: string;
}

/** `bench models --config FILE`: JSON with these fields. */
export interface BenchModelsConfig {
  data: string;
  /** Prompts drawn (seeded) from the data set; null = all (default 100). */
  n?: number | null;
  seed?: number;
  samples_per_prompt?: number;
  template?: string;
  /** Folder for the runs (one sub-folder per model) and the report. */
  out: string;
  temperature?: number;
  top_p?: number;
  max_tokens?: number;
  visible_tests?: number;
  resamples?: number;
  reward?: Partial<RewardConfig>;
  models: BenchModel[];
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Reads and checks a benchmark config; errors name the file and the field. */
export function readBenchConfig(path: string): BenchModelsConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new Error(`${path}: ${(error as NodeJS.ErrnoException).code ?? `not valid JSON (${(error as Error).message})`}`);
  }
  const fail = (field: string, what: string): never => { throw new Error(`${path}: field "${field}": ${what}`); };
  const c = raw as Record<string, unknown>;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) fail('(top level)', 'expected a JSON object');
  if (typeof c.data !== 'string' || !c.data) fail('data', 'expected a data set name or a problem file');
  if (typeof c.out !== 'string' || !c.out) fail('out', 'expected the output folder');
  const int = (field: string, v: unknown, min: number) => { if (v !== undefined && (!Number.isInteger(v) || (v as number) < min)) fail(field, `expected an integer >= ${min}`); };
  const num = (field: string, v: unknown) => { if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) fail(field, 'expected a number >= 0'); };
  if (c.n !== null) int('n', c.n, 1);
  int('seed', c.seed, 0); int('samples_per_prompt', c.samples_per_prompt, 1); int('visible_tests', c.visible_tests, 1); int('resamples', c.resamples, 100);
  num('temperature', c.temperature); num('top_p', c.top_p); int('max_tokens', c.max_tokens, 1);
  if (!Array.isArray(c.models) || c.models.length === 0) fail('models', 'expected a non-empty list of models');
  const names = new Set<string>();
  (c.models as unknown[]).forEach((m, i) => {
    const f = `models[${i}]`;
    const model = m as Record<string, unknown>;
    if (typeof model !== 'object' || model === null) fail(f, 'expected an object');
    if (typeof model.name !== 'string' || !NAME.test(model.name)) fail(`${f}.name`, 'expected a name of letters, digits, ".", "_" or "-"');
    if (names.has(model.name as string)) fail(`${f}.name`, `duplicate name ${JSON.stringify(model.name)}`);
    names.add(model.name as string);
    const hasEndpoint = typeof model.endpoint === 'string';
    const hasFile = typeof model.completions === 'string';
    const isLocal = !hasEndpoint && !hasFile && typeof model.model === 'string';
    if (hasEndpoint === hasFile && !isLocal) fail(f, 'expected either "endpoint" (with "model"), "model" alone (a local model folder) or "completions"');
    if (hasEndpoint && typeof model.model !== 'string') fail(`${f}.model`, 'expected the model name the endpoint serves');
    if (isLocal && !model.model) fail(`${f}.model`, 'expected a local model folder');
    for (const k of ['adapter', 'top_k', 'repetition_penalty', 'batch_size', 'threads']) {
      if (model[k] !== undefined && !isLocal) fail(`${f}.${k}`, 'goes with a local model ("model" without "endpoint")');
    }
    if (model.adapter !== undefined && (typeof model.adapter !== 'string' || !model.adapter)) fail(`${f}.adapter`, 'expected a PEFT adapter folder');
    int(`${f}.top_k`, model.top_k, 0); int(`${f}.batch_size`, model.batch_size, 1); int(`${f}.threads`, model.threads, 1);
    if (model.repetition_penalty !== undefined && !(typeof model.repetition_penalty === 'number' && model.repetition_penalty > 0)) fail(`${f}.repetition_penalty`, 'expected a number > 0');
    if (model.api !== undefined && model.api !== 'completions' && model.api !== 'chat') fail(`${f}.api`, 'expected "completions" or "chat"');
    num(`${f}.temperature`, model.temperature); num(`${f}.top_p`, model.top_p); int(`${f}.max_tokens`, model.max_tokens, 1); int(`${f}.concurrency`, model.concurrency, 1);
  });
  return c as unknown as BenchModelsConfig;
}

export interface BenchModelsResult {
  runs: { name: string; dir: string; result?: EvalResult; error?: string }[];
}

/** The eval config of one model of a benchmark. */
export function benchModelConfig(config: BenchModelsConfig, m: BenchModel): EvalConfig {
  const sampling = {
    ...(m.temperature ?? config.temperature) !== undefined ? { temperature: (m.temperature ?? config.temperature)! } : {},
    ...(m.top_p ?? config.top_p) !== undefined ? { topP: (m.top_p ?? config.top_p)! } : {},
    ...(m.max_tokens ?? config.max_tokens) !== undefined ? { maxTokens: (m.max_tokens ?? config.max_tokens)! } : {},
  };
  const backend: BackendSpec = m.completions
    ? { kind: 'completions-file', path: m.completions }
    : m.endpoint === undefined
      ? {
          kind: 'local', dir: m.model!, sampling,
          ...(m.adapter !== undefined ? { adapter: m.adapter } : {}),
          ...(m.top_k !== undefined ? { topK: m.top_k } : {}),
          ...(m.repetition_penalty !== undefined ? { repetitionPenalty: m.repetition_penalty } : {}),
          ...(m.batch_size !== undefined ? { batchSize: m.batch_size } : {}),
          ...(m.threads !== undefined ? { threads: m.threads } : {}),
        }
      : { kind: 'openai', endpoint: m.endpoint, model: m.model!, api: m.api ?? 'completions', concurrency: m.concurrency, sampling };
  return {
    data: config.data,
    backend,
    label: m.name,
    n: config.n === undefined ? 100 : config.n,
    samplesPerPrompt: config.samples_per_prompt ?? 1,
    seed: config.seed ?? 42,
    template: m.template ?? config.template ?? 'instruction',
    reward: config.reward,
    visibleTests: config.visible_tests,
    resamples: config.resamples,
  };
}

/**
 * Several models on one prompt set: every model gets the same prompts (same data, n and seed), one
 * sandbox pool scores them all, and each writes its own run folder under `out/` (resumable). A model
 * that fails is reported and the others still run.
 */
export async function benchModels(config: BenchModelsConfig, options: { signal?: AbortSignal; log?: (line: string) => void; onProgress?: (label: string) => (done: number, total: number) => void } = {}): Promise<BenchModelsResult> {
  const dataset = await loadEvalDataset(config.data);
  const scorer = new Scorer(config.reward);
  const runs: BenchModelsResult['runs'] = [];
  try {
    for (const m of config.models) {
      const dir = join(config.out, m.name);
      if (options.signal?.aborted) {
        runs.push({ name: m.name, dir, error: 'not run: interrupted' });
        continue;
      }
      options.log?.(`${m.name}: evaluating into ${dir}`);
      try {
        const apiKey = m.api_key_env ? process.env[m.api_key_env] : process.env.OPENAI_API_KEY;
        if (m.api_key_env && apiKey === undefined) throw new Error(`environment variable ${m.api_key_env} (models[].api_key_env) is not set`);
        const result = await runEval(benchModelConfig(config, m), { outDir: dir, scorer, dataset, apiKey, signal: options.signal, log: options.log, onProgress: options.onProgress?.(m.name) });
        runs.push({ name: m.name, dir, result });
      } catch (error) {
        runs.push({ name: m.name, dir, error: (error as Error).message });
        options.log?.(`${m.name}: FAILED: ${(error as Error).message}`);
      }
    }
  } finally {
    await scorer.close();
  }
  return { runs };
}
