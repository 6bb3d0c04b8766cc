// The reward service over loopback with the real judge: both scoring endpoints, the errors a client
// can make, health and metrics, the token.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRewardServer, type RewardServer } from '../../src/serve/index.js';
import { ADD_OK, get, post, testProblems, TWICE_EVAL } from './helpers.js';

const RECORD_KEYS = ['problem_id', 'reward', 'r_func', 'r_sec', 'r_lint', 'stage', 'syntax_ok', 'tests_passed', 'tests_total', 'verdicts', 'findings', 'program', 'extraction', 'tests', 'status'];

let server: RewardServer;
let url: string;

before(async () => {
  server = createRewardServer({
    problems: testProblems(),
    judge: { workers: 2 },
    limits: { maxBodyBytes: 64 * 1024, maxSamplesPerRequest: 8, maxPendingSamples: 16, sampleDeadlineSeconds: 30 },
  });
  url = await server.listen();
});

after(() => server.close());

test('binds to loopback by default and reports health', async () => {
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(server.exposed, false);
  const health = await get(`${url}/health`);
  assert.equal(health.status, 200);
  const body = JSON.parse(health.text);
  assert.equal(body.status, 'ok');
  assert.equal(body.problems, 3);
  assert.equal(body.workers, 2);
  assert.deepEqual(body.queue, { waiting: 0, running: 0, capacity: 16 });
});

test('/v1/score: preloaded ids, inline problems and request-level problems give the score command\'s records', async () => {
  const answer = await post(`${url}/v1/score`, {
    samples: [
      { problem_id: 'add', completion: ADD_OK },
      { problem_id: 'twice', completion: TWICE_EVAL },
      { problem: { inputs: ['hi\n'], outputs: ['hi\n'] }, completion: 'print(input())' },
      { problem_id: 'mine', completion: 'print(int(input()) * 3)' },
      { problem_id: 'add', completion: 'def broken(:\n' },
    ],
    problems: { mine: { inputs: ['2\n', '5\n'], outputs: ['6\n', '15\n'] } },
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const rows = answer.body.results;
  assert.equal(rows.length, 5);
  for (const row of rows) assert.deepEqual(Object.keys(row).filter((k) => k !== 'syntax_error'), RECORD_KEYS);
  assert.deepEqual(
    rows.map((r: Record<string, unknown>) => [r.problem_id, r.reward, r.r_func, r.r_sec, r.stage, r.tests_passed, r.tests_total, r.status]),
    [
      ['add', 1, 1, 1, 4, 2, 2, 'scored'],
      ['twice', 0.8, 1, 0.5, 4, 2, 2, 'scored'],
      ['samples[2]', 1, 1, 1, 4, 1, 1, 'scored'],
      ['mine', 1, 1, 1, 4, 2, 2, 'scored'],
      ['add', 0, 0, 0, 0, 0, 2, 'scored'],
    ],
  );
  assert.deepEqual(rows[1].findings.map((f: Record<string, unknown>) => [f.rule, f.bandit_id, f.severity, f.cwe]), [['S307', 'B307', 'MEDIUM', 78]]);
  assert.equal(rows[0].program, 'a, b = map(int, input().split())\nprint(a + b)\n');
  assert.deepEqual(rows[0].verdicts, ['passed', 'passed']);
  assert.equal(rows[4].syntax_ok, false);
  assert.deepEqual(answer.body.summary, { n: 5, scored: 5, timed_out: 0, errors: 0, mean_reward: 0.76, all_pass: 4 });

  const compact = await post(`${url}/v1/score`, { samples: [{ problem_id: 'add', completion: ADD_OK }], details: false });
  assert.equal(compact.status, 200);
  assert.equal(compact.body.results[0].reward, 1);
  assert.equal('program' in compact.body.results[0], false);
  assert.equal('tests' in compact.body.results[0], false);
});

test('/openrlhf: completion after the prompt, labels as ids or JSON tests, components in extra_logs', async () => {
  const prompt = '### Instruction:\nAdd two numbers.\n### Response:\n';
  const answer = await post(`${url}/openrlhf`, {
    query: [
      `<｜begin▁of▁sentence｜>${prompt}${ADD_OK}<|EOT|>`,
      `${prompt}a, b = map(int, input().split())\nprint(a - b)\n</s>`,
      `${prompt}print(int(input()) ** 2)<|endoftext|><|endoftext|>`,
      `${prompt}def twice(x):\n    return x + x\n`,
    ],
    prompts: [prompt, prompt, prompt, prompt],
    labels: ['add', 'add', JSON.stringify({ inputs: ['3\n', '4\n'], outputs: ['9\n', '15\n'] }), 'twice'],
    metas: [{}, {}, {}, {}],
  });
  assert.equal(answer.status, 200, JSON.stringify(answer.body));
  const { rewards, scores, extra_logs: logs } = answer.body;
  assert.deepEqual(rewards, [1, 0.76, 0.88, 1]);
  assert.deepEqual(scores, [1, 0, 0, 1]);
  assert.deepEqual(Object.keys(logs).sort(), ['r_func', 'r_sec', 'stage', 'syntax_ok', 'tests_passed_frac', 'timed_out']);
  assert.deepEqual(logs.r_func, [1, 0.6, 0.8, 1]);
  assert.deepEqual(logs.tests_passed_frac, [1, 0, 0.5, 1]);
  assert.deepEqual(logs.stage, [4, 3, 4, 4]);
  assert.deepEqual(logs.timed_out, [0, 0, 0, 0]);
});

test('bad requests get a 4xx naming the field', async () => {
  const cases: [unknown, number, string, RegExp][] = [
    ['{"samples": [', 400, 'body', /not valid JSON/],
    ['', 400, 'body', /empty/],
    [[1, 2], 400, 'body', /expected a JSON object/],
    [{ sample: [] }, 400, 'samples', /missing/],
    [{ samples: [{ problem_id: 'add', completion: 7 }] }, 400, 'samples[0].completion', /expected a string/],
    [{ samples: [{ problem_id: 'add', completion: 'x' }, { problem_id: 'nope', completion: 'x' }] }, 400, 'samples[1].problem_id', /unknown problem "nope"/],
    [{ samples: [{ completion: 'x' }] }, 400, 'samples[0]', /missing "problem_id" or "problem"/],
    [{ samples: [{ problem: { prompt: 'p', inputs: 'x', outputs: [] }, completion: 'x' }] }, 400, 'samples[0].problem', /field "inputs": expected a list/],
    [{ samples: [], details: 'yes' }, 400, 'details', /true or false/],
    [{ samples: Array.from({ length: 9 }, () => ({ problem_id: 'add', completion: 'x' })) }, 413, 'samples', /9 samples, more than this server's limit of 8/],
  ];
  for (const [body, status, field, message] of cases) {
    const answer = await post(`${url}/v1/score`, body, { raw: typeof body === 'string' });
    assert.equal(answer.status, status, `${JSON.stringify(body)} -> ${JSON.stringify(answer.body)}`);
    assert.equal(answer.body.field, field);
    assert.match(answer.body.error, message);
    assert.ok(answer.body.error.startsWith(`${field}: `), answer.body.error);
  }
  const several = await post(`${url}/v1/score`, { samples: [{ problem_id: 'x', completion: 'a' }, { problem_id: 'y' }] });
  assert.equal(several.status, 400);
  assert.match(several.body.error, /^samples\[0\]\.problem_id: unknown problem "x"/);
  assert.equal(several.body.more.length, 2);
  assert.equal(several.body.more[0], 'samples[1].completion: missing (a string)');
  assert.match(several.body.more[1], /^samples\[1\]\.problem_id: unknown problem "y"/);

  const oversize = await post(`${url}/v1/score`, { samples: [{ problem_id: 'add', completion: 'x'.repeat(70 * 1024) }] });
  assert.equal(oversize.status, 413);
  assert.equal(oversize.body.field, 'body');
  assert.match(oversize.body.error, /larger than this server's limit of 65536 bytes/);

  const rl = [
    [{ query: ['a'], labels: ['add', 'add'] }, 'labels', /2 entries but "query" has 1/],
    [{ query: ['a'], prompts: ['p'] }, 'labels', /missing/],
    [{ query: ['a'], labels: ['zzz'] }, 'labels[0]', /unknown problem "zzz"/],
    [{ query: ['a'], labels: ['{"inputs": ['] }, 'labels[0]', /not valid JSON/],
    [{ query: [1], labels: ['add'] }, 'query[0]', /expected a string/],
  ] as const;
  for (const [body, field, message] of rl) {
    const answer = await post(`${url}/openrlhf`, body);
    assert.equal(answer.status, 400, JSON.stringify(answer.body));
    assert.equal(answer.body.field, field);
    assert.match(answer.body.error, message);
  }

  const text = await fetch(`${url}/v1/score`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hello' });
  assert.equal(text.status, 415);
  assert.equal((await text.json()).field, 'content-type');
  const missing = await get(`${url}/v2/score`);
  assert.equal(missing.status, 404);
  assert.match(JSON.parse(missing.text).error, /^route: no GET \/v2\/score; this server answers POST \/v1\/score/);
});

test('/metrics: Prometheus text with requests, samples, executions, latency, restarts, queue', async () => {
  const metrics = await get(`${url}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = metrics.text;
  for (const name of [
    'securecoderl_http_requests_total', 'securecoderl_http_request_duration_seconds', 'securecoderl_samples_total',
    'securecoderl_sample_latency_seconds', 'securecoderl_test_executions_total', 'securecoderl_sandbox_restarts_total',
    'securecoderl_queue_depth', 'securecoderl_queue_running', 'securecoderl_queue_capacity', 'securecoderl_samples_rejected_total',
  ]) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
  assert.match(text, /^securecoderl_http_requests_total\{route="\/v1\/score",status="200"\} [1-9]/m);
  assert.match(text, /^securecoderl_http_requests_total\{route="\/v1\/score",status="400"\} [1-9]/m);
  assert.match(text, /^securecoderl_samples_total\{status="scored"\} (\d+)$/m);
  assert.match(text, /^securecoderl_sample_latency_seconds_bucket\{le="\+Inf"\} \d+$/m);
  assert.match(text, /^securecoderl_queue_capacity 16$/m);
  const executions = Number(/^securecoderl_test_executions_total (\d+)$/m.exec(text)?.[1]);
  assert.ok(executions >= 10, `executions ${executions}`);
  // every sample line is `name{labels} value` or `name value`
  for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) assert.match(line, /^[a-z_]+(\{[^}]*\})? [-+0-9.eInfNa]+$/, line);
});

test('bearer token: required on every route but /health, compared exactly', async () => {
  const guarded = createRewardServer({ problems: testProblems(), judge: { workers: 1 }, token: 'secret-token-1' });
  const base = await guarded.listen();
  try {
    const body = { samples: [{ problem_id: 'one', completion: 'print(1)' }] };
    const none = await post(`${base}/v1/score`, body);
    assert.equal(none.status, 401);
    assert.equal(none.body.field, 'authorization');
    assert.equal(none.headers.get('www-authenticate'), 'Bearer');
    assert.equal((await post(`${base}/v1/score`, body, { headers: { authorization: 'Bearer secret-token-2' } })).status, 401);
    assert.equal((await get(`${base}/metrics`)).status, 401);
    assert.equal((await get(`${base}/health`)).status, 200);
    const ok = await post(`${base}/v1/score`, body, { headers: { authorization: 'Bearer secret-token-1' } });
    assert.equal(ok.status, 200);
    assert.equal(ok.body.results[0].reward, 1);
  } finally {
    await guarded.close();
  }
  assert.throws(() => createRewardServer({ token: 'short' }), /token: expected at least 8 characters/);
  assert.throws(() => createRewardServer({ limits: { maxSamplesPerRequest: 10, maxPendingSamples: 5 } }), /maxSamplesPerRequest/);
});
