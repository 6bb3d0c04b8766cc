// Backpressure and deadlines with the real judge: a full queue answers 429 with Retry-After, a sample
// that does not finish in time is answered as timed out without holding the request, and the server
// is healthy and scores correctly afterwards.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRewardServer, type RewardServer } from '../../src/serve/index.js';
import { get, post, testProblems, waitFor } from './helpers.js';

const SLEEP = (seconds: number) => `import time\ntime.sleep(${seconds})\nprint(1)\n`;

let server: RewardServer;
let url: string;

before(async () => {
  server = createRewardServer({
    problems: testProblems(),
    // a sleeping test is stopped by the wall backstop (5 s), after the 3 s deadline
    judge: { workers: 2, limits: { cpuSeconds: 1, wallSeconds: 5 } },
    limits: { maxSamplesPerRequest: 4, maxPendingSamples: 4, sampleDeadlineSeconds: 3 },
  });
  url = await server.listen();
});

after(() => server.close());

test('a full queue answers 429 with Retry-After, and admits again once it drains', async () => {
  const busy = post(`${url}/v1/score`, { samples: Array.from({ length: 4 }, () => ({ problem_id: 'one', completion: SLEEP(0.6) })) });
  await waitFor('the first batch to be admitted', () => server.queue.pending === 4);
  const refused = await post(`${url}/v1/score`, { samples: [{ problem_id: 'one', completion: 'print(1)' }] });
  assert.equal(refused.status, 429);
  assert.equal(refused.body.field, 'samples');
  assert.match(refused.body.error, /server at capacity: 4 samples pending of 4/);
  const retryAfter = Number(refused.headers.get('retry-after'));
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
  assert.equal(refused.body.retry_after_s, retryAfter);
  const refusedRl = await post(`${url}/openrlhf`, { query: ['print(1)'], labels: ['one'] });
  assert.equal(refusedRl.status, 429);
  assert.equal(refusedRl.body.field, 'query');

  const first = await busy;
  assert.equal(first.status, 200);
  assert.deepEqual(first.body.results.map((r: Record<string, unknown>) => [r.status, r.reward]), Array(4).fill(['scored', 1]));
  await waitFor('the queue to drain', () => server.queue.pending === 0);
  const again = await post(`${url}/v1/score`, { samples: [{ problem_id: 'one', completion: 'print(1)' }] });
  assert.equal(again.status, 200);
  assert.equal(again.body.results[0].reward, 1);
  // a batch that fits only partly is refused whole
  const partly = post(`${url}/v1/score`, { samples: Array.from({ length: 3 }, () => ({ problem_id: 'one', completion: SLEEP(1) })) });
  await waitFor('three samples to be admitted', () => server.queue.pending === 3);
  const two = await post(`${url}/v1/score`, { samples: [{ problem_id: 'one', completion: 'print(1)' }, { problem_id: 'one', completion: 'print(1)' }] });
  assert.equal(two.status, 429);
  assert.equal((await partly).status, 200);
  const metrics = (await get(`${url}/metrics`)).text;
  assert.match(metrics, /^securecoderl_http_requests_total\{route="\/v1\/score",status="429"\} 2$/m);
  // refused before the body was read: counted as requests only; refused after: their samples too
  assert.match(metrics, /^securecoderl_samples_rejected_total 2$/m);
});

test('a sample that does not finish is answered as timed out at the deadline; the server stays healthy', async () => {
  await waitFor('an idle queue', () => server.queue.pending === 0);
  const answer = await post(`${url}/v1/score`, {
    // in this order each worker gets one job (a job pipelined behind the sleeper on the same worker
    // would wait for it)
    samples: [
      { problem_id: 'one', completion: 'print(1)' },
      { problem_id: 'one', completion: SLEEP(60) },
    ],
  });
  assert.equal(answer.status, 200);
  assert.ok(answer.ms < 3000 + 1500, `answered after ${answer.ms.toFixed(0)} ms`);
  const [quick, sleeper] = answer.body.results;
  assert.equal(sleeper.status, 'timed_out');
  assert.equal(sleeper.reward, 0);
  assert.deepEqual(sleeper.verdicts, ['timeout']);
  assert.equal(sleeper.syntax_ok, null);
  assert.match(sleeper.error, /not finished within the deadline of 3 s/);
  assert.equal(sleeper.program, SLEEP(60));
  assert.equal(quick.status, 'scored');
  assert.equal(quick.reward, 1);
  assert.deepEqual(answer.body.summary, { n: 2, scored: 1, timed_out: 1, errors: 0, mean_reward: 0.5, all_pass: 1 });

  // the sleeper still holds its slot until the judge stops it, and the count says so
  assert.equal(server.queue.running, 1);
  const health = await get(`${url}/health`);
  assert.equal(health.status, 200);
  assert.equal(JSON.parse(health.text).queue.running, 1);
  // other work goes on meanwhile
  const meanwhile = await post(`${url}/openrlhf`, { query: ['P\nprint(1)\n'], prompts: ['P\n'], labels: ['one'] });
  assert.equal(meanwhile.status, 200);
  assert.deepEqual(meanwhile.body.rewards, [1]);
  await waitFor('the judge to stop the sleeper', () => server.queue.running === 0, 15_000);
  const metrics = (await get(`${url}/metrics`)).text;
  assert.match(metrics, /^securecoderl_samples_total\{status="timed_out"\} 1$/m);
  assert.match(metrics, /^securecoderl_sandbox_restarts_total 0$/m);
  const after = await post(`${url}/v1/score`, { samples: [{ problem_id: 'one', completion: 'print(1)' }] });
  assert.equal(after.body.results[0].reward, 1);
});

test('a client that goes away has its samples that have not started dropped', async () => {
  const small = createRewardServer({ problems: testProblems(), judge: { workers: 1 }, concurrency: 1 });
  const base = await small.listen();
  try {
    const controller = new AbortController();
    const request = fetch(`${base}/v1/score`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: controller.signal,
      body: JSON.stringify({ samples: Array.from({ length: 5 }, () => ({ problem_id: 'one', completion: SLEEP(0.5) })) }),
    }).then(() => 'answered', (error: Error) => error.name);
    await waitFor('one running and four waiting', () => small.queue.running === 1 && small.queue.waiting === 4);
    controller.abort();
    assert.equal(await request, 'AbortError');
    await waitFor('the waiting samples to be dropped', () => small.queue.waiting === 0);
    await waitFor('the running one to finish', () => small.queue.running === 0);
    const metrics = (await get(`${base}/metrics`)).text;
    assert.match(metrics, /^securecoderl_http_requests_total\{route="\/v1\/score",status="499"\} 1$/m);
    assert.match(metrics, /^securecoderl_test_executions_total 1$/m);
  } finally {
    await small.close();
  }
});
