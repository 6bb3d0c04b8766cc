import { createHash, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { fastify, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Problem } from '../data/index.js';
import { Scorer } from '../reward/scorer.js';
import { RequestError, type ErrorBody } from './errors.js';
import { parseBody } from './json-body.js';
import { openRlhfResponse, parseOpenRlhfRequest, type OpenRlhfResponse } from './openrlhf.js';
import { isLoopback, resolveLimits, type RewardServerOptions, type ServeLimits } from './options.js';
import { problemIndex } from './problems.js';
import { ScoringQueue } from './queue.js';
import { batchSummary, sampleRecord, statusOf, type BatchSummary, type SampleOutcome } from './records.js';
import { parseScoreRequest, type ScoreItem } from './score-request.js';
import { ServeMetrics } from './service-metrics.js';
import { PROMETHEUS_CONTENT_TYPE } from './metrics.js';

/** The answer of `POST /v1/score`. */
export interface ScoreResponse {
  results: Record<string, unknown>[];
  summary: BatchSummary;
}

/** The answer of `GET /health`. */
export interface HealthResponse {
  status: 'ok';
  problems: number;
  workers: number;
  queue: { waiting: number; running: number; capacity: number };
  test_executions: number;
  sandbox_restarts: number;
  uptime_s: number;
}

export const ROUTES = ['POST /v1/score', 'POST /openrlhf', 'GET /health', 'GET /metrics'] as const;

/**
 * The HTTP reward service: Fastify routes over one Scorer (so over one pool of sandboxed judge
 * workers), behind a bounded queue. Build it with `createRewardServer`, then `listen()`; `close()`
 * stops accepting, lets admitted requests finish (each within its deadline) and stops the judge.
 * The service itself executes nothing: every program runs in the judge's sandbox.
 */
export class RewardServer {
  readonly app: FastifyInstance;
  readonly scorer: Scorer;
  readonly queue: ScoringQueue;
  readonly metrics: ServeMetrics;
  readonly limits: ServeLimits;
  readonly problems: ReadonlyMap<string, Problem>;
  readonly host: string;
  private readonly port: number;
  private readonly ownsScorer: boolean;
  private readonly tokenDigest: Buffer | undefined;
  private readonly started = Date.now();
  private closing: Promise<void> | undefined;
  private boundUrl: string | undefined;

  constructor(options: RewardServerOptions = {}) {
    this.limits = resolveLimits(options.limits);
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? 0;
    if (!Number.isInteger(this.port) || this.port < 0 || this.port > 65535) throw new Error(`port: expected an integer from 0 to 65535, got ${options.port}`);
    if (options.token !== undefined && options.token.length < 8) throw new Error('token: expected at least 8 characters');
    this.tokenDigest = options.token === undefined ? undefined : digest(options.token);
    this.problems = problemIndex(options.problems ?? []);
    this.ownsScorer = options.scorer === undefined;
    this.scorer = options.scorer ?? new Scorer(options.reward, options.judge);
    const concurrency = options.concurrency ?? this.scorer.judge.options.workers * 2;
    this.queue = new ScoringQueue({ capacity: this.limits.maxPendingSamples, concurrency });
    this.metrics = new ServeMetrics(this.queue, this.scorer.judge);
    this.app = fastify({ bodyLimit: this.limits.maxBodyBytes, logger: options.log === true });
    this.routes();
  }

  /** The base URL once listening (`http://127.0.0.1:PORT`). */
  get url(): string | undefined {
    return this.boundUrl;
  }

  /** Starts the judge's workers, then listens; resolves with the base URL. */
  async listen(): Promise<string> {
    await this.scorer.judge.warmUp();
    await this.app.listen({ host: this.host, port: this.port });
    const address = this.app.server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.boundUrl = `http://${host}:${address.port}`;
    return this.boundUrl;
  }

  /** Whether the bound address accepts connections from other machines. */
  get exposed(): boolean {
    return !isLoopback(this.host);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.app.close();
      if (this.ownsScorer) await this.scorer.close();
    })();
    return this.closing;
  }

  /** Scores a batch through the queue; throws a 429 RequestError when it does not fit. */
  async scoreBatch(items: readonly ScoreItem[], field: string, signal?: AbortSignal): Promise<SampleOutcome[]> {
    const admitted = performance.now();
    const works = items.map((item) => () => this.scorer.score(item.problem, item.completion));
    const promises = this.queue.submit(works, { deadlineMs: this.limits.sampleDeadlineSeconds * 1000, signal });
    if (!promises) {
      this.metrics.rejected.inc({}, items.length);
      throw this.overloaded(field, items.length);
    }
    return Promise.all(promises.map((promise) => promise.then((outcome) => {
      if (outcome.status !== 'cancelled') {
        this.metrics.samples.inc({ status: statusOf(outcome) });
        this.metrics.sampleSeconds.observe((performance.now() - admitted) / 1000);
        if (outcome.status === 'done') this.metrics.rewards.observe(outcome.value.reward);
      }
      return outcome;
    })));
  }

  private overloaded(field: string, count: number): RequestError {
    const seconds = this.queue.retryAfterSeconds(count);
    return new RequestError(429, field, `server at capacity: ${this.queue.pending} samples pending of ${this.queue.capacity}, this request has ${count}; retry after ${seconds} s`,
      { headers: { 'retry-after': String(seconds) } });
  }

  private routes(): void {
    const { app } = this;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, parseBody(body as string));
      } catch (error) {
        done(error as Error, undefined);
      }
    });
    app.addHook('onRequest', async (request, reply) => {
      if (this.tokenDigest && request.routeOptions.url !== '/health') this.authorize(request, reply);
    });
    app.addHook('onResponse', async (request, reply) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.metrics.requests.inc({ route, status: String(reply.statusCode) });
      this.metrics.requestSeconds.observe(reply.elapsedTime / 1000, { route });
    });
    app.setErrorHandler((error, request, reply) => this.sendError(error as FastifyError | RequestError, request, reply));
    app.setNotFoundHandler((request, reply) => {
      reply.code(404).send({ error: `route: no ${request.method} ${request.url.split('?')[0]}; this server answers ${ROUTES.join(', ')}`, field: 'route' } satisfies ErrorBody);
    });
    // Refuse before reading a body when nothing more fits.
    const guard = async (request: FastifyRequest) => {
      if (this.queue.pending >= this.queue.capacity) throw this.overloaded(request.routeOptions.url === '/openrlhf' ? 'query' : 'samples', 1);
    };

    app.post('/v1/score', { onRequest: guard }, async (request, reply): Promise<ScoreResponse> => {
      const parsed = parseScoreRequest(request.body, this.problems, this.limits);
      const outcomes = await this.scoreBatch(parsed.items, 'samples', this.abortOnDisconnect(request, reply));
      const deadline = this.limits.sampleDeadlineSeconds;
      return {
        results: parsed.items.map((item, i) => sampleRecord(item.problem, item.completion, outcomes[i], deadline, parsed.details)),
        summary: batchSummary(outcomes),
      };
    });

    app.post('/openrlhf', { onRequest: guard }, async (request, reply): Promise<OpenRlhfResponse> => {
      const items = parseOpenRlhfRequest(request.body, this.problems, this.limits);
      const missed = items.filter((item) => !item.promptFound).length;
      if (missed > 0) this.metrics.promptNotFound.inc({}, missed);
      return openRlhfResponse(await this.scoreBatch(items, 'query', this.abortOnDisconnect(request, reply)));
    });

    app.get('/health', async (): Promise<HealthResponse> => ({
      status: 'ok',
      problems: this.problems.size,
      workers: this.scorer.judge.options.workers,
      queue: { waiting: this.queue.waiting, running: this.queue.running, capacity: this.queue.capacity },
      test_executions: this.scorer.judge.executions,
      sandbox_restarts: this.scorer.judge.restarts,
      uptime_s: Math.round((Date.now() - this.started) / 1000),
    }));

    app.get('/metrics', async (_request, reply) => {
      reply.type(PROMETHEUS_CONTENT_TYPE);
      return this.metrics.registry.render();
    });
  }

  /** A signal that aborts if the client goes away before its answer is sent (counted as status 499,
   * nginx's "client closed request"). */
  private abortOnDisconnect(request: FastifyRequest, reply: FastifyReply): AbortSignal {
    const controller = new AbortController();
    reply.raw.once('close', () => {
      if (reply.raw.writableFinished) return;
      controller.abort();
      this.metrics.requests.inc({ route: request.routeOptions.url ?? 'unmatched', status: '499' });
    });
    return controller.signal;
  }

  private authorize(request: FastifyRequest, reply: FastifyReply): void {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!match) {
      reply.header('www-authenticate', 'Bearer');
      throw new RequestError(401, 'authorization', 'missing; send the header "Authorization: Bearer <token>"');
    }
    if (!timingSafeEqual(digest(match[1]), this.tokenDigest!)) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new RequestError(401, 'authorization', 'wrong bearer token');
    }
  }

  private sendError(error: FastifyError | RequestError, request: FastifyRequest, reply: FastifyReply): void {
    let answer: RequestError;
    if (error instanceof RequestError) answer = error;
    else if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') answer = new RequestError(413, 'body', `larger than this server's limit of ${this.limits.maxBodyBytes} bytes`);
    else if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') answer = new RequestError(415, 'content-type', `expected application/json, got ${JSON.stringify(request.headers['content-type'] ?? '')}`);
    else if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) answer = new RequestError(error.statusCode, 'request', error.message);
    else {
      request.log.error(error);
      answer = new RequestError(500, 'server', error.message);
    }
    const body: ErrorBody = { error: answer.message, field: answer.field };
    if (answer.more.length > 0) body.more = answer.more;
    if (answer.headers['retry-after']) body.retry_after_s = Number(answer.headers['retry-after']);
    reply.code(answer.status).headers(answer.headers).send(body);
  }
}

/** Builds the reward service (not yet listening). */
export function createRewardServer(options: RewardServerOptions = {}): RewardServer {
  return new RewardServer(options);
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

