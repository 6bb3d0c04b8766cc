import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BackendError, type GenerationRequest } from '../../src/eval/backends/backend.js';
import { apiBase, OpenAIBackend } from '../../src/eval/backends/openai.js';
import { closedPort, startStandIn } from './openai-stand-in.js';

const request = (over: Partial<GenerationRequest> = {}): GenerationRequest => ({
  problemId: 'p', sample: 0, prompt: '### Instruction:\nsay hi\n\n### Response:\n', messages: [{ role: 'user', content: 'say hi' }], seed: 123, ...over,
});

test('completions and chat: the request carries model, prompt or messages, sampling and seed; the answer is parsed', async () => {
  const server = await startStandIn({ reply: (body) => (body.messages ? 'chat answer' : 'text answer') });
  try {
    const completions = new OpenAIBackend({ endpoint: server.url, model: 'stand-in', sampling: { temperature: 0.7, topP: 0.9, maxTokens: 64 } });
    const a = await completions.generate(request());
    assert.deepEqual([a.completion, a.finishReason, a.completionTokens, a.attempts], ['text answer', 'stop', 2, 1]);
    const chat = new OpenAIBackend({ endpoint: server.url.replace(/\/v1$/, ''), model: 'stand-in', api: 'chat' });
    const b = await chat.generate(request());
    assert.equal(b.completion, 'chat answer');
    const [first, second] = server.requests;
    assert.equal(first.path, '/v1/completions');
    assert.deepEqual(
      { model: first.body.model, prompt: first.body.prompt, temperature: first.body.temperature, top_p: first.body.top_p, max_tokens: first.body.max_tokens, seed: first.body.seed },
      { model: 'stand-in', prompt: request().prompt, temperature: 0.7, top_p: 0.9, max_tokens: 64, seed: 123 },
    );
    assert.equal(second.path, '/v1/chat/completions');
    assert.deepEqual(second.body.messages, [{ role: 'user', content: 'say hi' }]);
    assert.equal(apiBase('http://h:1/'), 'http://h:1/v1');
    assert.equal(apiBase('http://h:1/v1/'), 'http://h:1/v1');
    assert.equal(apiBase('http://h:1/api/v2'), 'http://h:1/api/v2');
  } finally {
    await server.close();
  }
});

test('retries: 500 and 429 (Retry-After) are retried with backoff, then succeed; a timeout is retried', async () => {
  const server = await startStandIn({
    reply: () => 'ok',
    fail: (n) => (n === 1 ? { status: 500 } : n === 2 ? { status: 429, retryAfter: '0' } : null),
  });
  try {
    const backend = new OpenAIBackend({ endpoint: server.url, model: 'stand-in', backoffMs: 20, retries: 3 });
    const g = await backend.generate(request());
    assert.equal(g.completion, 'ok');
    assert.equal(g.attempts, 3);
    assert.equal(server.generations(), 3);
  } finally {
    await server.close();
  }
  const slow = await startStandIn({ reply: () => 'late but fine', delayMs: (n) => (n === 1 ? 1500 : 0) });
  try {
    const backend = new OpenAIBackend({ endpoint: slow.url, model: 'stand-in', timeoutMs: 300, backoffMs: 10, retries: 2 });
    const g = await backend.generate(request());
    assert.deepEqual([g.completion, g.attempts], ['late but fine', 2]);
    await slow.close();
    const hanging = await startStandIn({ reply: () => 'x', delayMs: () => 1000 });
    const stuck = new OpenAIBackend({ endpoint: hanging.url, model: 'stand-in', timeoutMs: 150, backoffMs: 10, retries: 1 });
    await assert.rejects(stuck.generate(request()), (e: BackendError) => e.kind === 'timeout' && /no answer within .*raise --timeout/.test(e.message) && /gave up after 2 attempts/.test(e.message));
    await hanging.close();
  } finally {
    await slow.close().catch(() => {});
  }
});

test('a rejected API key fails at once with a clear message; a wrong model name says so', async () => {
  const server = await startStandIn({ apiKey: 'sk-right', reply: () => 'ok' });
  try {
    const bad = new OpenAIBackend({ endpoint: server.url, model: 'stand-in', apiKey: 'sk-wrong', retries: 4, backoffMs: 10 });
    await assert.rejects(bad.check(), (e: BackendError) => e.kind === 'auth' && /rejected the API key \(HTTP 401: Incorrect API key provided\)/.test(e.message) && /--api-key or set OPENAI_API_KEY/.test(e.message));
    const before = server.requests.length;
    await assert.rejects(bad.generate(request()), (e: BackendError) => e.kind === 'auth');
    assert.equal(server.requests.length, before + 1, 'no retry after 401');
    const none = new OpenAIBackend({ endpoint: server.url, model: 'stand-in' });
    await assert.rejects(none.check(), /pass --api-key/);
    const good = new OpenAIBackend({ endpoint: server.url, model: 'stand-in', apiKey: 'sk-right' });
    await good.check();
    assert.equal((await good.generate(request())).completion, 'ok');
    assert.equal(server.requests.at(-1)!.authorization, 'Bearer sk-right');
    const wrongModel = new OpenAIBackend({ endpoint: server.url, model: 'no-such-model', apiKey: 'sk-right', retries: 3 });
    await assert.rejects(wrongModel.generate(request()), /HTTP 404: The model `no-such-model` does not exist\. \(is --model "no-such-model" the name the server serves\?\)/);
  } finally {
    await server.close();
  }
});

test('an unreachable endpoint fails with "cannot reach ... connection refused" after its retries', async () => {
  const port = await closedPort();
  const backend = new OpenAIBackend({ endpoint: `http://127.0.0.1:${port}/v1`, model: 'm', retries: 2, backoffMs: 10 });
  await assert.rejects(backend.check(), (e: BackendError) => e.kind === 'unreachable' && new RegExp(`cannot reach http://127.0.0.1:${port}/v1/models: connection refused`).test(e.message));
  await assert.rejects(backend.generate(request()), (e: BackendError) => e.kind === 'unreachable' && /connection refused .*gave up after 3 attempts/.test(e.message));
  assert.throws(() => new OpenAIBackend({ endpoint: 'not a url', model: 'm' }), /--endpoint: not a URL/);
});

test('concurrency: at most N requests in flight', async () => {
  let inFlight = 0;
  let peak = 0;
  const server = await startStandIn({
    reply: () => 'ok',
    delayMs: () => { inFlight++; peak = Math.max(peak, inFlight); setTimeout(() => inFlight--, 60); return 60; },
  });
  try {
    const backend = new OpenAIBackend({ endpoint: server.url, model: 'stand-in', concurrency: 3 });
    await Promise.all(Array.from({ length: 10 }, (_, i) => backend.generate(request({ sample: i, seed: i }))));
    assert.equal(server.generations(), 10);
    assert.ok(peak <= 3, `peak ${peak}`);
    assert.ok(peak >= 2, `peak ${peak}`);
  } finally {
    await server.close();
  }
});
