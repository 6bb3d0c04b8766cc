import { Rng } from '../../random.js';
import { BackendError, DEFAULT_SAMPLING, type Generation, type GenerationBackend, type GenerationRequest, type SamplingParams } from './backend.js';

export interface OpenAIBackendOptions {
  /** Base URL of the server, with or without `/v1` (`http://127.0.0.1:8000` and `.../v1` both work). */
  endpoint: string;
  model: string;
  /** `/v1/completions` (the prompt as text) or `/v1/chat/completions` (the prompt as messages). */
  api?: 'completions' | 'chat';
  /** Sent as `Authorization: Bearer KEY`. */
  apiKey?: string;
  sampling?: Partial<SamplingParams>;
  /** Requests in flight at once (default 4). */
  concurrency?: number;
  /** Per attempt (default 120 s). */
  timeoutMs?: number;
  /** Retries after the first attempt for timeouts, connection errors, 408/409/425/429 and 5xx (default 4). */
  retries?: number;
  /** First backoff; doubles each retry, with jitter, capped at `maxBackoffMs` (defaults 500 ms, 20 s). A
   * Retry-After header, when sent, is honoured up to the cap. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** Extra fields merged into every request body (e.g. `{ "repetition_penalty": 1.1 }` for vLLM). */
  extraBody?: Record<string, unknown>;
  /** Send the per-sample seed (default true; vLLM, llama.cpp and OpenAI accept `seed`). */
  sendSeed?: boolean;
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429, 500, 502, 503, 504]);

/** Normalises a base URL to end in `/v1` unless it already names a versioned path. */
export function apiBase(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new BackendError('unreachable', `--endpoint: not a URL: ${JSON.stringify(endpoint)} (expected e.g. http://127.0.0.1:8000/v1)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new BackendError('unreachable', `--endpoint: expected an http:// or https:// URL, got ${JSON.stringify(endpoint)}`);
  const path = url.pathname.replace(/\/+$/, '');
  url.pathname = path === '' ? '/v1' : path;
  return url.toString().replace(/\/+$/, '');
}

/**
 * An OpenAI-compatible endpoint (vLLM, llama.cpp's server, Ollama, OpenAI): one request per sample,
 * at most `concurrency` in flight, each attempt under a timeout, retried with exponential backoff
 * on transient failures. A rejected key (401/403) and other client errors fail at once.
 */
export class OpenAIBackend implements GenerationBackend {
  readonly kind = 'openai' as const;
  readonly concurrency: number;
  readonly base: string;
  private readonly options: Required<Omit<OpenAIBackendOptions, 'apiKey' | 'extraBody' | 'sampling'>> & { apiKey?: string; extraBody: Record<string, unknown>; sampling: SamplingParams };
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(options: OpenAIBackendOptions) {
    if (!options.model) throw new BackendError('http', '--model: the model name the endpoint serves is required (e.g. --model deepseek-coder-1.3b-instruct)');
    this.base = apiBase(options.endpoint);
    this.options = {
      endpoint: options.endpoint,
      model: options.model,
      api: options.api ?? 'completions',
      apiKey: options.apiKey,
      sampling: { ...DEFAULT_SAMPLING, ...options.sampling },
      concurrency: Math.max(1, Math.floor(options.concurrency ?? 4)),
      timeoutMs: options.timeoutMs ?? 120_000,
      retries: Math.max(0, Math.floor(options.retries ?? 4)),
      backoffMs: options.backoffMs ?? 500,
      maxBackoffMs: options.maxBackoffMs ?? 20_000,
      extraBody: options.extraBody ?? {},
      sendSeed: options.sendSeed ?? true,
    };
    this.concurrency = this.options.concurrency;
  }

  describe(): Record<string, unknown> {
    const o = this.options;
    return {
      kind: this.kind, endpoint: this.base, model: o.model, api: o.api,
      temperature: o.sampling.temperature, top_p: o.sampling.topP, max_tokens: o.sampling.maxTokens,
      ...(o.sampling.stop ? { stop: o.sampling.stop } : {}),
      ...(Object.keys(o.extraBody).length ? { extra_body: o.extraBody } : {}),
    };
  }

  /** `GET /v1/models`, once, without retries: an unreachable server or a rejected key fails here,
   * before any generation. A server that does not implement the route (404/405) passes. */
  async check(): Promise<void> {
    const url = `${this.base}/models`;
    const timeoutMs = Math.min(this.options.timeoutMs, 30_000);
    let response: Response;
    try {
      response = await fetch(url, { headers: this.headers(), signal: AbortSignal.timeout(timeoutMs) });
    } catch (error) {
      throw this.networkError(url, error, timeoutMs);
    }
    if (response.status === 401 || response.status === 403) throw await this.httpError(url, response);
    await response.body?.cancel();
  }

  async generate(request: GenerationRequest): Promise<Generation> {
    await this.acquire();
    try {
      return await this.generateWithRetries(request);
    } finally {
      this.release();
    }
  }

  private async generateWithRetries(request: GenerationRequest): Promise<Generation> {
    const { api, retries } = this.options;
    const url = `${this.base}/${api === 'chat' ? 'chat/completions' : 'completions'}`;
    const body = JSON.stringify(this.body(request));
    const jitter = new Rng(request.seed).fork('backoff');
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (request.signal?.aborted) throw new BackendError('aborted', 'generation aborted');
      let failure: BackendError;
      let retryAfterMs: number | null = null;
      try {
        const signals = [AbortSignal.timeout(this.options.timeoutMs), ...(request.signal ? [request.signal] : [])];
        const response = await fetch(url, { method: 'POST', headers: { ...this.headers(), 'content-type': 'application/json' }, body, signal: AbortSignal.any(signals) });
        if (response.ok) {
          const parsed = await this.parse(url, response);
          return { ...parsed, latencyMs: Date.now() - started, attempts: attempt };
        }
        failure = await this.httpError(url, response);
        if (!RETRYABLE_STATUS.has(response.status)) throw failure;
        retryAfterMs = retryAfter(response.headers.get('retry-after'));
      } catch (error) {
        if (error instanceof BackendError && (error.kind === 'auth' || error.kind === 'bad_response' || (error.kind === 'http' && !RETRYABLE_STATUS.has(error.status ?? 0)))) throw error;
        if (request.signal?.aborted) throw new BackendError('aborted', 'generation aborted');
        failure = error instanceof BackendError ? error : this.networkError(url, error);
      }
      if (attempt > retries) {
        failure.message = `${failure.message} (gave up after ${attempt} attempt${attempt === 1 ? '' : 's'})`;
        throw failure;
      }
      const backoff = Math.min(this.options.maxBackoffMs, this.options.backoffMs * 2 ** (attempt - 1)) * (0.5 + 0.5 * jitter.float());
      await sleep(retryAfterMs === null ? backoff : Math.min(this.options.maxBackoffMs, Math.max(retryAfterMs, backoff)), request.signal);
    }
  }

  private body(request: GenerationRequest): Record<string, unknown> {
    const { model, api, sampling, extraBody, sendSeed } = this.options;
    return {
      model,
      ...(api === 'chat' ? { messages: request.messages } : { prompt: request.prompt }),
      temperature: sampling.temperature,
      top_p: sampling.topP,
      max_tokens: sampling.maxTokens,
      ...(sampling.stop ? { stop: sampling.stop } : {}),
      ...(sendSeed ? { seed: request.seed } : {}),
      n: 1,
      stream: false,
      ...extraBody,
    };
  }

  private headers(): Record<string, string> {
    return { accept: 'application/json', ...(this.options.apiKey ? { authorization: `Bearer ${this.options.apiKey}` } : {}) };
  }

  private async parse(url: string, response: Response): Promise<Omit<Generation, 'latencyMs' | 'attempts'>> {
    const text = await response.text();
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new BackendError('bad_response', `${url} answered HTTP ${response.status} with something that is not JSON: ${JSON.stringify(text.slice(0, 200))}`);
    }
    const choice = (data as { choices?: unknown[] })?.choices?.[0] as Record<string, unknown> | undefined;
    const content = this.options.api === 'chat' ? (choice?.message as { content?: unknown } | undefined)?.content : choice?.text;
    if (!choice || (content !== null && content !== undefined && typeof content !== 'string') || (this.options.api === 'completions' && typeof content !== 'string')) {
      const where = this.options.api === 'chat' ? 'choices[0].message.content' : 'choices[0].text';
      throw new BackendError('bad_response', `${url} answered without ${where} (is this an OpenAI-compatible ${this.options.api} endpoint?): ${JSON.stringify(text.slice(0, 200))}`);
    }
    const usage = (data as { usage?: { completion_tokens?: unknown } }).usage;
    return {
      completion: typeof content === 'string' ? content : '',
      finishReason: typeof choice.finish_reason === 'string' ? choice.finish_reason : null,
      completionTokens: typeof usage?.completion_tokens === 'number' ? usage.completion_tokens : null,
    };
  }

  private async httpError(url: string, response: Response): Promise<BackendError> {
    const text = await response.text().catch(() => '');
    let detail = text.slice(0, 300);
    try {
      const parsed = JSON.parse(text) as { error?: { message?: string } | string; message?: string; detail?: string };
      detail = (typeof parsed.error === 'string' ? parsed.error : parsed.error?.message) ?? parsed.message ?? parsed.detail ?? detail;
    } catch { /* not JSON */ }
    if (response.status === 401 || response.status === 403) {
      return new BackendError('auth', `${url} rejected the API key (HTTP ${response.status}: ${detail || response.statusText}); ${this.options.apiKey ? 'check' : 'pass'} --api-key or set OPENAI_API_KEY`, response.status);
    }
    if (response.status === 404 && /model/i.test(detail)) {
      return new BackendError('http', `${url}: HTTP 404: ${detail} (is --model ${JSON.stringify(this.options.model)} the name the server serves?)`, 404);
    }
    return new BackendError('http', `${url}: HTTP ${response.status} ${response.statusText}${detail ? `: ${detail}` : ''}`, response.status);
  }

  private networkError(url: string, error: unknown, timeoutMs = this.options.timeoutMs): BackendError {
    const e = error as Error & { cause?: { code?: string; message?: string } };
    if (e?.name === 'TimeoutError') return new BackendError('timeout', `${url}: no answer within ${+(timeoutMs / 1000).toFixed(1)} s (raise --timeout if the model is slow)`);
    const code = e?.cause?.code ?? (e as { code?: string }).code;
    const why = code === 'ECONNREFUSED' ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'host not found'
      : code === 'ECONNRESET' || code === 'UND_ERR_SOCKET' ? 'connection reset'
      : e?.cause?.message ?? e?.message ?? String(error);
    return new BackendError('unreachable', `cannot reach ${url}: ${why} (is the server running, and is --endpoint right?)`);
  }

  private acquire(): Promise<void> {
    if (this.active < this.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(() => { this.active++; resolve(); }));
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }
}

function retryAfter(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new BackendError('aborted', 'generation aborted'));
    const timer = setTimeout(() => { signal?.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(timer); reject(new BackendError('aborted', 'generation aborted')); };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
