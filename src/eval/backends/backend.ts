import type { ChatMessage } from '../../data/templates.js';

/** One generation asked of a backend: the i-th sample for one prompt. */
export interface GenerationRequest {
  problemId: string;
  /** 0-based index among this prompt's samples. */
  sample: number;
  /** The prompt as plain text (completion APIs, the local model). */
  prompt: string;
  /** The same prompt as chat messages (chat APIs). */
  messages: ChatMessage[];
  /** A per-sample seed derived from the run's seed, passed to backends that accept one. */
  seed: number;
  signal?: AbortSignal;
}

/** What a backend answered. */
export interface Generation {
  completion: string;
  finishReason: string | null;
  completionTokens: number | null;
  latencyMs: number;
  /** HTTP attempts it took (1 without retries; 0 for a file). */
  attempts: number;
}

/** Sampling settings every generating backend takes. */
export interface SamplingParams {
  temperature: number;
  topP: number;
  maxTokens: number;
  stop?: string[];
}

export const DEFAULT_SAMPLING: SamplingParams = { temperature: 0.2, topP: 0.95, maxTokens: 512 };

/** A prompt and how many samples a run wants for it (what `check` may verify up front). */
export interface PlannedPrompt {
  problemId: string;
  samples: number;
}

/**
 * Where completions come from. Implemented by the OpenAI-compatible HTTP backend, the completions
 * file, and (when the engine's model and sampler exist) the local model, which will also implement
 * `generateBatch` to fill its batches.
 */
export interface GenerationBackend {
  readonly kind: 'openai' | 'completions-file' | 'local';
  /** How many `generate` calls are worth having in flight. */
  readonly concurrency: number;
  /** What identifies the model and its settings in the run config (never a secret). */
  describe(): Record<string, unknown>;
  /** Fails early and clearly (unreachable endpoint, rejected key, missing completions). */
  check?(plan: readonly PlannedPrompt[]): Promise<void>;
  generate(request: GenerationRequest): Promise<Generation>;
  /** Batched generation, for backends that gain from it. */
  generateBatch?(requests: readonly GenerationRequest[]): Promise<Generation[]>;
  close?(): Promise<void>;
}

export type BackendErrorKind = 'unreachable' | 'auth' | 'http' | 'timeout' | 'bad_response' | 'missing' | 'not_available' | 'aborted';

/** A backend failure with a message meant for the user. */
export class BackendError extends Error {
  constructor(readonly kind: BackendErrorKind, message: string, readonly status?: number) {
    super(message);
    this.name = 'BackendError';
  }
}
