import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { releaseSessions } from '../../engine/index.js';
import { CausalLM } from '../../model/causal-lm.js';
import { loadConfig, parameterCount, type ModelConfig } from '../../model/config.js';
import type { LoraAdapter } from '../../model/lora.js';
import { loadAdapter } from '../../model/peft.js';
import { generate, type SampleResult } from '../../model/sampler.js';
import { Tokenizer } from '../../model/tokenizer.js';
import { checkpointFiles, loadCheckpoint } from '../../model/weights.js';
import { Rng } from '../../random.js';
import { BackendError, DEFAULT_SAMPLING, type Generation, type GenerationBackend, type GenerationRequest, type SamplingParams } from './backend.js';
import { generationEosIds, modelFingerprint } from './local-files.js';

export interface LocalBackendOptions {
  /** A Hugging Face model folder: config.json, model.safetensors (or shards + index), tokenizer.json
   * (+ tokenizer_config.json; generation_config.json is read for extra eos ids). */
  modelDir: string;
  /** A PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors), applied unmerged. */
  adapterDir?: string;
  /** temperature (0 = greedy), topP, maxTokens, extra stop strings [0.2, 0.95, 512]. */
  sampling?: Partial<SamplingParams>;
  /** Keep the k most likely tokens [0: off]. */
  topK?: number;
  /** Hugging Face's repetition penalty [1: off]. */
  repetitionPenalty?: number;
  /** The run's template name: `chat` renders the messages with the tokenizer's chat template (when it has
   * one); the instruction templates stop at their next `### Instruction:`. */
  template?: string;
  /** Rows decoded together [8]. */
  batchSize?: number;
  /** ONNX Runtime intra-op threads [all cores]. */
  threads?: number;
  /** How long `generate` waits for more requests before running a batch that is not full [30 ms]. */
  lingerMs?: number;
}

/** Stop strings of the shared text templates: a model trained on the instruction template that goes on
 * past its answer starts the next `### Instruction:` block. */
export function templateStops(template: string | undefined): string[] {
  return template === 'instruction' || template === 'instruction-python' ? ['\n### Instruction:'] : [];
}

/** A request turned into token ids, with the room its row has in the model's context. */
interface Prepared {
  request: GenerationRequest;
  ids: number[];
  maxNew: number;
}

interface Pending {
  prepared: Prepared;
  resolve: (g: Generation) => void;
  reject: (e: unknown) => void;
  onAbort?: () => void;
}

/**
 * Per-row generators for `generate`: the sampler forks one generator per row as `prompt <row>`; here row
 * i's generator comes from its request's own seed, so a sample's draws do not depend on which other
 * requests share its batch or where it sits in it.
 */
class RowGenerators extends Rng {
  constructor(private readonly seeds: readonly number[]) {
    super(0);
  }

  override fork(label: string): Rng {
    const m = /^prompt (\d+)$/.exec(label);
    const row = m ? Number(m[1]) : -1;
    if (row < 0 || row >= this.seeds.length) {
      throw new Error(`local backend: the sampler asked for the generator ${JSON.stringify(label)}, expected "prompt <row>" with row < ${this.seeds.length} (src/model/sampler.ts changed how it forks per-row generators)`);
    }
    return new Rng(this.seeds[row]).fork('local sampling');
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The local model backend (`eval --model DIR [--adapter DIR]`): a Llama-family checkpoint run by the
 * project's own engine (model/'s `CausalLM` and batched, KV-cached `generate`).
 *
 * - The folder, its config, its tokenizer and the adapter are checked when the backend is made (file and
 *   field in every error); the weights are loaded by `check()` (which `runEval` calls only when something
 *   is left to generate) or by the first generation.
 * - `generate` queues requests and runs them `batchSize` at a time (a batch that is not full runs after
 *   `lingerMs` without a new request); `generateBatch` runs a list directly. Either way each row samples
 *   from a generator seeded by its request's `seed` alone, so a rerun gives the same completions.
 * - Prompt text: the tokenizer's chat template over the request's messages (with the generation prompt)
 *   when the template is `chat` and the tokenizer has one, else the request's prompt text, encoded with
 *   the tokenizer's own special tokens (e.g. BOS).
 * - A row ends at an eos id (config.json's, generation_config.json's and the tokenizer's eos token), at a
 *   stop string (the template's and `sampling.stop`), or after `maxTokens`. The completion is the decoded
 *   tokens without the ending eos and special tokens, cut before the first stop string.
 */
export class LocalBackend implements GenerationBackend {
  readonly kind = 'local' as const;
  readonly concurrency: number;
  readonly modelDir: string;
  readonly adapterDir: string | null;
  readonly config: ModelConfig;
  readonly tokenizer: Tokenizer;
  readonly adapter: LoraAdapter | undefined;
  readonly sampling: SamplingParams;
  readonly topK: number;
  readonly repetitionPenalty: number;
  readonly batchSize: number;
  /** Whether prompts go through the tokenizer's chat template. */
  readonly chat: boolean;
  readonly stop: string[];
  readonly eosTokenIds: number[];
  private readonly threads: number | undefined;
  private readonly lingerMs: number;
  private readonly fingerprint: string;
  private lm: CausalLM | null = null;
  private readonly queue: Pending[] = [];
  private running = false;
  private closed = false;
  private timer: NodeJS.Timeout | null = null;
  /** Rows generated and tokens generated by this backend, and the seconds its batches took. */
  readonly stats = { batches: 0, rows: 0, tokens: 0, seconds: 0 };

  constructor(options: LocalBackendOptions) {
    const dir = options.modelDir;
    const fail = (message: string): never => { throw new BackendError('missing', message); };
    if (!dir) fail('--model: a local model folder is required');
    if (!existsSync(dir)) fail(`--model ${dir}: no such folder (a local model folder with config.json, model.safetensors and tokenizer.json; for a model an OpenAI-compatible server serves, also give --endpoint URL)`);
    if (!statSync(dir).isDirectory()) fail(`--model ${dir}: not a folder (expected a Hugging Face model folder with config.json, model.safetensors and tokenizer.json)`);
    this.modelDir = dir;
    const wrap = <T>(what: string, f: () => T): T => {
      try { return f(); } catch (error) { return fail(`${what}: ${(error as Error).message}`); }
    };
    this.config = wrap(`--model ${dir}`, () => loadConfig(dir));
    // The weight files and their tensor names (headers only: the data is read when the model loads).
    wrap(`--model ${dir}`, () => checkpointFiles(dir));
    if (!existsSync(resolve(dir, 'tokenizer.json'))) fail(`--model ${dir}: no tokenizer.json (the local backend needs the model's Hugging Face tokenizer in the model folder: tokenizer.json, and tokenizer_config.json for special tokens and the chat template)`);
    this.tokenizer = wrap(`--model ${dir}`, () => Tokenizer.load(dir));
    if (this.tokenizer.vocabSize > this.config.vocabSize) {
      fail(`--model ${dir}: tokenizer.json has ${this.tokenizer.vocabSize} ids but config.json's field 'vocab_size' is ${this.config.vocabSize} (the tokenizer does not belong to this model)`);
    }
    this.adapterDir = options.adapterDir ?? null;
    if (options.adapterDir !== undefined) {
      const a = options.adapterDir;
      if (!existsSync(a) || !statSync(a).isDirectory()) fail(`--adapter ${a}: no such folder (expected a PEFT LoRA folder with adapter_config.json and adapter_model.safetensors)`);
      this.adapter = wrap(`--adapter ${a} does not match the model in ${dir}`, () => loadAdapter(a, this.config));
    }

    const sampling = { ...DEFAULT_SAMPLING, ...options.sampling };
    if (!(sampling.temperature >= 0)) fail(`--temperature: expected a number >= 0, got ${sampling.temperature}`);
    if (!(sampling.topP > 0 && sampling.topP <= 1)) fail(`--top-p: expected a number in (0, 1], got ${sampling.topP}`);
    if (!Number.isInteger(sampling.maxTokens) || sampling.maxTokens < 1) fail(`--max-tokens: expected a positive integer, got ${sampling.maxTokens}`);
    this.sampling = sampling;
    this.topK = options.topK ?? 0;
    if (!Number.isInteger(this.topK) || this.topK < 0) fail(`--top-k: expected an integer >= 0, got ${this.topK}`);
    this.repetitionPenalty = options.repetitionPenalty ?? 1;
    if (!(this.repetitionPenalty > 0)) fail(`--repetition-penalty: expected a number > 0, got ${this.repetitionPenalty}`);
    this.batchSize = options.batchSize ?? 8;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) fail(`--batch-size: expected a positive integer, got ${this.batchSize}`);
    this.threads = options.threads;
    this.lingerMs = options.lingerMs ?? 30;
    // Two batches in flight from runEval: one generating, the next one queued behind it.
    this.concurrency = 2 * this.batchSize;

    this.chat = options.template === 'chat' && this.tokenizer.chatTemplate !== null;
    this.stop = [...new Set([...templateStops(options.template), ...(sampling.stop ?? [])])].filter((s) => s.length > 0);
    const eos = new Set([...this.config.eosTokenIds, ...wrap(`--model ${dir}`, () => generationEosIds(dir))]);
    if (this.tokenizer.eosId !== null) eos.add(this.tokenizer.eosId);
    this.eosTokenIds = [...eos].filter((id) => id < this.config.vocabSize).sort((a, b) => a - b);
    this.fingerprint = modelFingerprint(dir, this.adapterDir ?? undefined);
  }

  describe(): Record<string, unknown> {
    const a = this.adapter?.config;
    return {
      kind: this.kind,
      model_dir: resolve(this.modelDir),
      model_type: this.config.modelType,
      parameters: parameterCount(this.config),
      adapter_dir: this.adapterDir === null ? null : resolve(this.adapterDir),
      ...(a ? { adapter: { r: a.r, lora_alpha: a.alpha, target_modules: a.targetModules, ...(a.layers ? { layers: a.layers } : {}) } } : {}),
      fingerprint: this.fingerprint,
      prompt_format: this.chat ? 'chat_template' : 'text',
      temperature: this.sampling.temperature,
      top_p: this.sampling.topP,
      top_k: this.topK,
      repetition_penalty: this.repetitionPenalty,
      max_tokens: this.sampling.maxTokens,
      stop: this.stop,
      eos_token_ids: this.eosTokenIds,
    };
  }

  /** Loads the weights (and compiles nothing yet): a broken checkpoint fails here, before any work. */
  async check(): Promise<void> {
    this.model();
  }

  private model(): CausalLM {
    if (this.closed) throw new BackendError('aborted', 'the local backend is closed');
    if (!this.lm) {
      let ck;
      try {
        ck = loadCheckpoint(this.modelDir);
      } catch (error) {
        throw new BackendError('missing', `--model ${this.modelDir}: ${(error as Error).message}`);
      }
      this.lm = new CausalLM(ck, { adapter: this.adapter, session: { ...(this.threads ? { threads: this.threads } : {}), spinning: false } });
    }
    return this.lm;
  }

  /** The text the model is given for a request (the chat template applied, or the prompt text). */
  promptText(request: GenerationRequest): string {
    return this.chat ? this.tokenizer.applyChatTemplate(request.messages, { addGenerationPrompt: true }) : request.prompt;
  }

  /** Encodes a request and works out how many tokens its row may generate within the context. */
  prepare(request: GenerationRequest): Prepared {
    const text = this.promptText(request);
    // Text prompts get the tokenizer's own special tokens (BOS where it adds one); a rendered chat
    // template already holds them.
    let ids = this.tokenizer.encode(text, { addSpecialTokens: !this.chat });
    if (ids.length === 0) {
      const start = this.tokenizer.bosId ?? this.config.bosTokenId ?? this.tokenizer.eosId;
      if (start === null) throw new BackendError('bad_response', `${request.problemId}: the prompt is empty and the tokenizer has no BOS or EOS token to start from`);
      ids = [start];
    }
    const context = this.config.maxPositionEmbeddings;
    const room = context - ids.length;
    if (room < 1) {
      throw new BackendError('bad_response', `${request.problemId}: the prompt is ${plural(ids.length, 'token')}, which leaves no room in the model's context of ${context} (config.json's field 'max_position_embeddings')`);
    }
    return { request, ids, maxNew: Math.min(this.sampling.maxTokens, room) };
  }

  async generate(request: GenerationRequest): Promise<Generation> {
    if (request.signal?.aborted) throw new BackendError('aborted', 'generation aborted');
    const prepared = this.prepare(request);
    return new Promise<Generation>((resolveGen, reject) => {
      const pending: Pending = { prepared, resolve: resolveGen, reject };
      if (request.signal) {
        pending.onAbort = () => {
          const i = this.queue.indexOf(pending);
          if (i >= 0) {
            this.queue.splice(i, 1);
            reject(new BackendError('aborted', 'generation aborted'));
          }
        };
        request.signal.addEventListener('abort', pending.onAbort, { once: true });
      }
      this.queue.push(pending);
      this.schedule();
    });
  }

  async generateBatch(requests: readonly GenerationRequest[]): Promise<Generation[]> {
    return this.run(requests.map((r) => this.prepare(r)));
  }

  /** Runs a full batch at once; a partial one after `lingerMs` without a new request. */
  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    if (this.queue.length >= this.batchSize) {
      void this.flush();
      return;
    }
    this.timer = setTimeout(() => { this.timer = null; void this.flush(); }, this.lingerMs);
  }

  /**
   * The next batch from the queue. The queued requests with the head's room, ordered by prompt length,
   * are cut into runs of `batchSize`; the run holding the oldest request goes (so the caller's ordered
   * window keeps moving, and rows of similar length share a batch: less left padding in the prefill).
   * Which rows share a batch does not change what a row samples (its own seed).
   */
  private take(): Pending[] {
    const head = this.queue[0];
    const same = this.queue.map((p, i) => ({ p, i })).filter(({ p }) => p.prepared.maxNew === head.prepared.maxNew)
      .sort((a, b) => a.p.prepared.ids.length - b.p.prepared.ids.length || a.i - b.i);
    const at = same.findIndex(({ i }) => i === 0);
    const start = Math.floor(at / this.batchSize) * this.batchSize;
    const chosen = new Set(same.slice(start, start + this.batchSize).map(({ i }) => i));
    const taken = this.queue.filter((_, i) => chosen.has(i));
    const rest = this.queue.filter((_, i) => !chosen.has(i));
    this.queue.length = 0;
    this.queue.push(...rest);
    return taken;
  }

  private async flush(): Promise<void> {
    if (this.running || this.queue.length === 0) return;
    this.running = true;
    const taken = this.take();
    for (const p of taken) if (p.onAbort) p.prepared.request.signal?.removeEventListener('abort', p.onAbort);
    try {
      const out = await this.run(taken.map((p) => p.prepared));
      taken.forEach((p, i) => p.resolve(out[i]));
    } catch (error) {
      for (const p of taken) p.reject(error);
    } finally {
      this.running = false;
      this.schedule();
    }
  }

  /**
   * Generates for prepared requests: rows with the same room are grouped, ordered by prompt length (less
   * padding) and run `batchSize` at a time. Results come back in the requests' order.
   */
  private async run(items: readonly Prepared[]): Promise<Generation[]> {
    if (items.length === 0) return [];
    const lm = this.model();
    const out = new Array<Generation>(items.length);
    const order = items.map((_, i) => i).sort((a, b) => items[b].maxNew - items[a].maxNew || items[a].ids.length - items[b].ids.length || a - b);
    const chunks: number[][] = [];
    for (const i of order) {
      const last = chunks.at(-1);
      if (last && last.length < this.batchSize && items[last[0]].maxNew === items[i].maxNew) last.push(i);
      else chunks.push([i]);
    }
    const decode = (ids: number[]) => this.tokenizer.decode(ids, { skipSpecialTokens: true });
    const eos = new Set(this.eosTokenIds);
    for (const chunk of chunks) {
      const started = Date.now();
      let result: SampleResult;
      try {
        result = await generate(lm, chunk.map((i) => items[i].ids), {
          maxNewTokens: items[chunk[0]].maxNew,
          temperature: this.sampling.temperature,
          topP: this.sampling.topP,
          topK: this.topK,
          repetitionPenalty: this.repetitionPenalty,
          eosTokenIds: this.eosTokenIds,
          padTokenId: this.tokenizer.padId ?? this.eosTokenIds[0] ?? 0,
          ...(this.stop.length ? { stop: this.stop, decode } : {}),
          rng: new RowGenerators(chunk.map((i) => items[i].request.seed)),
        });
      } catch (error) {
        if (error instanceof BackendError) throw error;
        throw new BackendError('bad_response', `local model ${this.modelDir}: generation failed: ${(error as Error).message}`);
      }
      const ms = Date.now() - started;
      this.stats.batches++;
      this.stats.seconds += ms / 1000;
      chunk.forEach((i, row) => {
        const tokens = result.tokens[row];
        const reason = result.finishReason[row];
        const content = reason === 'eos' && tokens.length > 0 && eos.has(tokens[tokens.length - 1]) ? tokens.slice(0, -1) : tokens;
        let text = decode(content);
        for (const s of this.stop) { const at = text.indexOf(s); if (at >= 0) text = text.slice(0, at); }
        this.stats.rows++;
        this.stats.tokens += tokens.length;
        out[i] = { completion: text, finishReason: reason === 'length' ? 'length' : 'stop', completionTokens: tokens.length, latencyMs: ms, attempts: 1 };
      });
    }
    return out;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) { clearTimeout(this.timer); this.timer = null; }
    for (const p of this.queue.splice(0)) p.reject(new BackendError('aborted', 'the local backend was closed'));
    const lm = this.lm;
    this.lm = null;
    if (lm) await releaseSessions(lm.graph);
  }
}

/**
 * The local model backend for `eval --model DIR [--adapter DIR]` (a folder name alone is accepted as
 * `{ modelDir }`). Throws a `BackendError` naming the file and field when the folder, its config, its
 * tokenizer or the adapter is missing or does not fit.
 */
export function createLocalBackend(options: LocalBackendOptions | string): LocalBackend {
  return new LocalBackend(typeof options === 'string' ? { modelDir: options } : options);
}
