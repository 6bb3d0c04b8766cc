// TEST STAND-IN, not a model: a small HTTP server on loopback that speaks the OpenAI protocol
// (GET /v1/models, POST /v1/completions, POST /v1/chat/completions) the way vLLM, llama.cpp's
// server and Ollama do, and replays fixed completions chosen by the test. It exists because the
// real thing is a remote model server we do not run in tests (DESIGN.md: stand-ins only for that).
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInRequest {
  path: string;
  body: Record<string, unknown>;
  authorization: string | undefined;
}

export interface StandInOptions {
  /** Required bearer key; requests without it get 401 like OpenAI's. */
  apiKey?: string;
  /** Models served (default ['stand-in']); another name gets 404 "model does not exist". */
  models?: string[];
  /** The completion text for one request (the test decides, e.g. by prompt and seed). */
  reply: (body: Record<string, unknown>, requestNumber: number) => string;
  /** Answer with this status instead, for the request numbers (1-based, generation requests only) listed. */
  fail?: (requestNumber: number) => { status: number; retryAfter?: string } | null;
  /** Hold these generation requests this many ms before answering (0: answer at once). */
  delayMs?: (requestNumber: number) => number;
}

export interface StandIn {
  url: string;
  requests: StandInRequest[];
  /** Generation requests received (completions + chat). */
  generations(): number;
  close(): Promise<void>;
}

export async function startStandIn(options: StandInOptions): Promise<StandIn> {
  const requests: StandInRequest[] = [];
  let generationCount = 0;
  const models = options.models ?? ['stand-in'];
  const sockets = new Set<import('node:net').Socket>();
  const server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: Record<string, unknown> = {};
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return send(res, 400, { error: { message: 'invalid JSON body', type: 'invalid_request_error' } });
    }
    const path = (req.url ?? '').split('?')[0];
    requests.push({ path, body, authorization: req.headers.authorization });
    if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return send(res, 401, { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } });
    }
    if (req.method === 'GET' && path === '/v1/models') {
      return send(res, 200, { object: 'list', data: models.map((id) => ({ id, object: 'model', owned_by: 'stand-in' })) });
    }
    const chat = path === '/v1/chat/completions';
    if (req.method !== 'POST' || (!chat && path !== '/v1/completions')) return send(res, 404, { error: { message: `no route ${req.method} ${path}` } });
    const number = ++generationCount;
    const delay = options.delayMs?.(number) ?? 0;
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    if (res.destroyed) return;
    const failure = options.fail?.(number);
    if (failure) {
      if (failure.retryAfter) res.setHeader('retry-after', failure.retryAfter);
      return send(res, failure.status, { error: { message: `stand-in failure ${failure.status}`, type: 'server_error' } });
    }
    if (!models.includes(String(body.model))) return send(res, 404, { error: { message: `The model \`${String(body.model)}\` does not exist.`, type: 'invalid_request_error', code: 'model_not_found' } });
    const text = options.reply(body, number);
    const usage = { prompt_tokens: 10, completion_tokens: text.split(/\s+/).filter(Boolean).length, total_tokens: 0 };
    if (chat) {
      return send(res, 200, { id: `chatcmpl-${number}`, object: 'chat.completion', created: 0, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }], usage });
    }
    return send(res, 200, { id: `cmpl-${number}`, object: 'text_completion', created: 0, model: body.model, choices: [{ index: 0, text, finish_reason: 'stop', logprobs: null }], usage });
  });
  server.on('connection', (socket) => { sockets.add(socket); socket.on('close', () => sockets.delete(socket)); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    generations: () => generationCount,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

/** A loopback port with nothing listening on it (for "unreachable endpoint" tests). */
export async function closedPort(): Promise<number> {
  const { createServer: createTcpServer } = await import('node:net');
  const server = createTcpServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
