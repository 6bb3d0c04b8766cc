import { join } from 'node:path';
import { formatRunSummary } from '../eval/format.js';
import { defaultLabel, runEval, type BackendSpec, type EvalConfig } from '../eval/run.js';
import { oneOf, parse, positiveNumber, progressReporter, required, UsageError } from './args.js';
import { judgeOptionsFromFlags, REWARD_FLAGS, REWARD_FLAGS_HELP, rewardConfigFromFlags } from './reward-flags.js';

export const usage = `securecoderl eval --data SET|FILE (--endpoint URL --model NAME | --model DIR [--adapter DIR] | --completions FILE) [options]

Evaluates one model on a prompt set: generates (or reads) completions, scores them in the sandboxed
judge, and writes a run folder (config.json, prompts.jsonl, generations.jsonl, samples.jsonl,
summary.json). Rerunning the same command resumes an interrupted run without regenerating.

  --data SET|FILE          apps-plus | mbpp | humaneval | odex | cyberseceval | cyberseceval-eval | toy
                           (the held-out split) | cyberseceval-train, or a problem file (our JSONL,
                           or an APPS+ JSON list)
  --endpoint URL           OpenAI-compatible server (vLLM, llama.cpp, Ollama), e.g. http://127.0.0.1:8000/v1
  --model NAME             the model name the endpoint serves; without --endpoint, a local model
                           folder (config.json, model.safetensors, tokenizer.json) run by our engine
  --adapter DIR            with a local model: a PEFT LoRA adapter folder applied to it
  --api completions|chat   /v1/completions with the prompt as text (default) or /v1/chat/completions
  --api-key KEY            bearer key (default: $OPENAI_API_KEY)
  --completions FILE       read completions instead: JSONL with problem_id and completion; the j-th
                           line of a problem is its sample j (without --n: the problems in the file)
  --n N|all                prompts drawn from the set, seeded (default 100)
  --samples-per-prompt K   samples per prompt (default 1); K > 1 adds pass@k and best-of-K
  --seed S                 prompt draw, generation seeds and bootstrap (default 42)
  --out DIR                run folder (default runs/eval-<model>-<data>)
  --label NAME             the model's name in reports (default: the model or file name)
  --template T             instruction (default: the paper's) | instruction-python | chat | completion | a format string with {prompt}
  --temperature T          default 0.2
  --top-p P                default 0.95
  --max-tokens N           default 512
  --top-k K                local model: keep the K most likely tokens (default 0: off)
  --repetition-penalty P   local model: Hugging Face's repetition penalty (default 1: off)
  --batch-size N           local model: prompts decoded together (default 8)
  --threads N              local model: ONNX Runtime threads (default: all cores)
  --concurrency N          requests in flight (default 4)
  --timeout SECONDS        per request attempt (default 120)
  --retries N              retries on timeouts, connection errors, 429 and 5xx (default 4)
  --visible-tests N        tests best-of-K may look at: the first N of each problem (default 1)
  --resamples N            bootstrap resamples (default 10000)
  --pass-k K1,K2,...       pass@k for these k (default 1,5,10,100; those <= K are reported)
  --turns T                self-correction turns (default 1): turn t+1 answers turn t's program with its
                           execution feedback (the prompt train rloo uses); adds Acc@t, Δi→c, Δc→i.
                           The main figures stay turn 1's. Not with --completions
  --json                   print summary.json instead of the table
${REWARD_FLAGS_HELP}`;

export const EVAL_FLAGS = {
  data: { type: 'string' }, endpoint: { type: 'string' }, model: { type: 'string' }, api: { type: 'string' },
  'api-key': { type: 'string' }, completions: { type: 'string' }, n: { type: 'string' }, 'samples-per-prompt': { type: 'string' },
  seed: { type: 'string' }, out: { type: 'string' }, label: { type: 'string' }, template: { type: 'string' },
  temperature: { type: 'string' }, 'top-p': { type: 'string' }, 'max-tokens': { type: 'string' }, concurrency: { type: 'string' },
  timeout: { type: 'string' }, retries: { type: 'string' }, 'visible-tests': { type: 'string' }, resamples: { type: 'string' },
  'pass-k': { type: 'string' }, json: { type: 'boolean' },
  adapter: { type: 'string' }, 'top-k': { type: 'string' }, 'repetition-penalty': { type: 'string' }, 'batch-size': { type: 'string' },
  threads: { type: 'string' }, turns: { type: 'string' },
} as const;

/** Flags that only a local model (--model DIR without --endpoint) takes. */
const LOCAL_ONLY = ['adapter', 'top-k', 'repetition-penalty', 'batch-size', 'threads'] as const;

function integer(flag: string, value: string | boolean | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isInteger(n) || n < min) throw new UsageError(`--${flag}: expected an integer >= ${min}, got ${JSON.stringify(value)}`);
  return n;
}

function nonNegative(flag: string, value: string | boolean | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (typeof value !== 'string' || !Number.isFinite(n) || n < 0) throw new UsageError(`--${flag}: expected a number >= 0, got ${JSON.stringify(value)}`);
  return n;
}

const slug = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 60) || 'run';

export function evalConfigFromFlags(values: Record<string, string | boolean | undefined>): EvalConfig {
  const data = required('data', values.data);
  const endpoint = values.endpoint as string | undefined;
  const completions = values.completions as string | undefined;
  const model = values.model as string | undefined;
  if (endpoint && completions) throw new UsageError('give either --endpoint (with --model) or --completions, not both');
  const local = !endpoint && !completions && model !== undefined;
  const misplaced = LOCAL_ONLY.filter((flag) => values[flag] !== undefined);
  if (!local && misplaced.length > 0) throw new UsageError(`--${misplaced[0]} goes with a local model (--model DIR without --endpoint)`);
  const sampling = {
    ...(values.temperature !== undefined ? { temperature: nonNegative('temperature', values.temperature)! } : {}),
    ...(values['top-p'] !== undefined ? { topP: positiveNumber('top-p', values['top-p'])! } : {}),
    ...(values['max-tokens'] !== undefined ? { maxTokens: integer('max-tokens', values['max-tokens'], 1)! } : {}),
  };
  let backend: BackendSpec;
  if (completions) {
    if (model) throw new UsageError('--model goes with --endpoint (or names a local model folder); --completions needs neither');
    backend = { kind: 'completions-file', path: completions };
  } else if (endpoint) {
    if (!model) throw new UsageError('--endpoint needs --model NAME (the model name the server serves)');
    backend = {
      kind: 'openai', endpoint, model,
      api: oneOf('api', values.api, ['completions', 'chat'] as const, 'completions'),
      sampling,
      concurrency: integer('concurrency', values.concurrency, 1),
      timeoutMs: values.timeout === undefined ? undefined : positiveNumber('timeout', values.timeout)! * 1000,
      retries: integer('retries', values.retries, 0),
    };
  } else if (model) {
    if (values['top-p'] !== undefined && Number(values['top-p']) > 1) throw new UsageError(`--top-p: expected a number in (0, 1], got ${JSON.stringify(values['top-p'])}`);
    const penalty = positiveNumber('repetition-penalty', values['repetition-penalty']);
    backend = {
      kind: 'local', dir: model,
      ...(values.adapter !== undefined ? { adapter: required('adapter', values.adapter) } : {}),
      sampling,
      ...(values['top-k'] !== undefined ? { topK: integer('top-k', values['top-k'], 0)! } : {}),
      ...(penalty !== undefined ? { repetitionPenalty: penalty } : {}),
      ...(values['batch-size'] !== undefined ? { batchSize: integer('batch-size', values['batch-size'], 1)! } : {}),
      ...(values.threads !== undefined ? { threads: integer('threads', values.threads, 1)! } : {}),
    };
  } else {
    throw new UsageError('say where completions come from: --endpoint URL --model NAME, or --completions FILE, or --model DIR (a local model folder)');
  }
  const n = values.n === undefined ? undefined : values.n === 'all' ? null : integer('n', values.n, 1);
  const turns = integer('turns', values.turns, 1);
  if (turns !== undefined && turns > 1 && backend.kind === 'completions-file') throw new UsageError('--turns: a completions file has no answers to the feedback prompts; give --endpoint or a local --model');
  const passK = values['pass-k'] === undefined ? undefined : String(values['pass-k']).split(',').map((k) => integer('pass-k', k.trim(), 1)!);
  return {
    data,
    backend,
    ...(values.label ? { label: String(values.label) } : {}),
    ...(n !== undefined ? { n } : backend.kind === 'completions-file' ? {} : { n: 100 }),
    samplesPerPrompt: integer('samples-per-prompt', values['samples-per-prompt'], 1) ?? 1,
    seed: integer('seed', values.seed, 0) ?? 42,
    template: (values.template as string | undefined) ?? 'instruction',
    reward: rewardConfigFromFlags(values),
    judge: judgeOptionsFromFlags(values),
    visibleTests: integer('visible-tests', values['visible-tests'], 1) ?? 1,
    resamples: integer('resamples', values.resamples, 100) ?? 10_000,
    ...(passK ? { passK } : {}),
    ...(turns !== undefined && turns > 1 ? { turns } : {}),
  };
}

export function defaultOutDir(config: EvalConfig): string {
  const model = config.label ?? (config.backend.kind === 'openai' ? config.backend.model : config.backend.kind === 'completions-file' ? config.backend.path.replace(/\.jsonl?$/, '').split('/').pop()! : defaultLabel(config.backend));
  const data = config.data.replace(/\.(jsonl?|json)$/, '').split('/').pop()!;
  return join('runs', `eval-${slug(model)}-${slug(data)}`);
}

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, { ...EVAL_FLAGS, ...REWARD_FLAGS });
  const config = evalConfigFromFlags(values);
  const outDir = (values.out as string | undefined) ?? defaultOutDir(config);
  const controller = new AbortController();
  let interrupts = 0;
  const onSigint = () => {
    if (++interrupts > 1) process.exit(130);
    process.stderr.write('\ninterrupted: finishing the samples in flight and writing partial results (Ctrl-C again to quit at once)\n');
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    const result = await runEval(config, {
      outDir,
      apiKey: (values['api-key'] as string | undefined) ?? process.env.OPENAI_API_KEY,
      signal: controller.signal,
      onProgress: progressReporter('evaluating'),
      log: (line) => process.stderr.write(`${line}\n`),
    });
    if (values.json) process.stdout.write(`${JSON.stringify(result.summary)}\n`);
    else process.stdout.write(`${formatRunSummary(result.summary)}\n\nrun folder: ${outDir} (securecoderl report ${outDir})\n`);
    return 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
