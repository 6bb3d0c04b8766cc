import type { Problem } from '../data/index.js';
import type { Judge } from '../judge/judge.js';
import type { RewardConfig, Scorer } from '../reward/scorer.js';

/** Limits that keep the service answering under any load. */
export interface ServeLimits {
  /** Largest request body, in bytes (413 beyond it). */
  maxBodyBytes: number;
  /** Most samples in one request (413 beyond it). */
  maxSamplesPerRequest: number;
  /** Most samples admitted and not finished, over all requests; a request that would pass it gets 429. */
  maxPendingSamples: number;
  /** Every sample is answered within this many seconds of its request's admission; a sample not
   * scored by then is answered as timed out (reward 0). Keep it under the client's own timeout
   * (OpenRLHF: 180 s). */
  sampleDeadlineSeconds: number;
  /** Most tests in an inline problem. */
  maxTestsPerProblem: number;
}

export const DEFAULT_SERVE_LIMITS: ServeLimits = {
  maxBodyBytes: 64 << 20,
  maxSamplesPerRequest: 4096,
  maxPendingSamples: 8192,
  sampleDeadlineSeconds: 150,
  maxTestsPerProblem: 1000,
};

export type JudgeSetup = ConstructorParameters<typeof Judge>[0];

export interface RewardServerOptions {
  /** Address to bind (default 127.0.0.1, loopback only). */
  host?: string;
  /** Port (default 0: any free port; `listen()` returns the URL). */
  port?: number;
  /** Problems that requests may name by id. */
  problems?: Iterable<Problem>;
  /** The reward (default: DEFAULT_REWARD). Ignored when `scorer` is given. */
  reward?: Partial<RewardConfig>;
  /** The judge's workers and limits. Ignored when `scorer` is given. */
  judge?: JudgeSetup;
  /** Score with this Scorer instead of starting one; the server does not close it. */
  scorer?: Scorer;
  /** Samples scored at once (default: two per judge worker, as the `score` command does). */
  concurrency?: number;
  /** When set, every route but `GET /health` needs `Authorization: Bearer <token>`. */
  token?: string;
  limits?: Partial<ServeLimits>;
  /** Log each request as JSON lines on standard output (Fastify's logger). */
  log?: boolean;
}

/** The limits with defaults filled in; throws naming the bad limit. */
export function resolveLimits(given: Partial<ServeLimits> = {}): ServeLimits {
  const limits = { ...DEFAULT_SERVE_LIMITS, ...given };
  for (const key of ['maxBodyBytes', 'maxSamplesPerRequest', 'maxPendingSamples', 'maxTestsPerProblem'] as const) {
    if (!Number.isInteger(limits[key]) || limits[key] < 1) throw new Error(`limits.${key}: expected a positive integer, got ${limits[key]}`);
  }
  if (!(limits.sampleDeadlineSeconds > 0) || !Number.isFinite(limits.sampleDeadlineSeconds)) {
    throw new Error(`limits.sampleDeadlineSeconds: expected a positive number, got ${limits.sampleDeadlineSeconds}`);
  }
  if (limits.maxSamplesPerRequest > limits.maxPendingSamples) {
    throw new Error(`limits.maxSamplesPerRequest (${limits.maxSamplesPerRequest}) is larger than limits.maxPendingSamples (${limits.maxPendingSamples}): such a request could never be admitted`);
  }
  return limits;
}

/** Whether an address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
