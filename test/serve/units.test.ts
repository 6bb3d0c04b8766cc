// Parts of the service that need no judge: the queue's admission, order and deadlines, OpenRLHF
// query splitting, the Prometheus text, option checks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { completionFromQuery, Counter, Histogram, Registry, resolveLimits, ScoringQueue, stripSpecialTokens } from '../../src/serve/index.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

test('queue: admits whole batches up to capacity, runs FIFO at the concurrency, answers in order', async () => {
  const queue = new ScoringQueue({ capacity: 5, concurrency: 2 });
  const started: number[] = [];
  let live = 0, peak = 0;
  const work = (i: number) => async () => {
    started.push(i);
    peak = Math.max(peak, ++live);
    await sleep(5);
    live--;
    return i * 10;
  };
  const a = queue.submit([0, 1, 2].map(work), { deadlineMs: 5000 })!;
  assert.equal(queue.pending, 3);
  assert.equal(queue.submit([3, 4, 5].map(work), { deadlineMs: 5000 }), undefined, 'would exceed capacity');
  const b = queue.submit([3, 4].map(work), { deadlineMs: 5000 })!;
  assert.equal(queue.pending, 5);
  const outcomes = await Promise.all([...a, ...b]);
  assert.deepEqual(outcomes, [0, 10, 20, 30, 40].map((value) => ({ status: 'done', value })));
  assert.deepEqual(started, [0, 1, 2, 3, 4]);
  assert.equal(peak, 2);
  assert.equal(queue.pending, 0);
  assert.ok(queue.retryAfterSeconds(10) >= 1);
});

test('queue: the deadline answers waiting and running samples; running ones keep their slot until done', async () => {
  const queue = new ScoringQueue({ capacity: 10, concurrency: 1 });
  let release!: () => void;
  const slow = () => new Promise<string>((resolve) => { release = () => resolve('late'); });
  const fast = async () => 'quick';
  const [first, second] = queue.submit([slow, fast], { deadlineMs: 30 })!;
  assert.deepEqual(await first, { status: 'timed_out', started: true });
  assert.deepEqual(await second, { status: 'timed_out', started: false });
  assert.equal(queue.waiting, 0);
  assert.equal(queue.running, 1, 'the running sample still counts');
  const [next] = queue.submit([fast], { deadlineMs: 5000 })!;
  release();
  assert.deepEqual(await next, { status: 'done', value: 'quick' });
  await sleep(1);
  assert.equal(queue.pending, 0);
});

test('queue: failures are outcomes; an aborted batch drops what has not started', async () => {
  const queue = new ScoringQueue({ capacity: 10, concurrency: 1 });
  const controller = new AbortController();
  let ran = 0;
  const [failed, waiting] = queue.submit([async () => { throw new Error('boom'); }, async () => { ran++; }], { deadlineMs: 5000, signal: controller.signal })!;
  controller.abort();
  const f = await failed;
  assert.equal(f.status, 'failed');
  assert.equal(f.status === 'failed' && f.error.message, 'boom');
  assert.deepEqual(await waiting, { status: 'cancelled' });
  await sleep(5);
  assert.equal(ran, 0);
  assert.equal(queue.pending, 0);
});

test('OpenRLHF queries: the response after the prompt, special tokens removed', () => {
  assert.equal(stripSpecialTokens('<|im_start|>x = 1<|im_end|>\n<|endoftext|>'), 'x = 1');
  assert.equal(stripSpecialTokens('<｜begin▁of▁sentence｜>code<｜end▁of▁sentence｜>'), 'code');
  assert.equal(stripSpecialTokens('print("<|x|>") </s><pad><pad>'), 'print("<|x|>") ');
  assert.deepEqual(completionFromQuery('<s> Q: add\nA: print(1)</s>', 'Q: add\nA:'), { completion: ' print(1)', promptFound: true });
  assert.deepEqual(completionFromQuery('<|begin_of_text|>Q\nprint(2)<|eot_id|>', '<|begin_of_text|>Q\n'), { completion: 'print(2)', promptFound: true });
  assert.deepEqual(completionFromQuery('Q2\nprint(3)', '  Q2\n'), { completion: '\nprint(3)', promptFound: true });
  assert.deepEqual(completionFromQuery('other text', 'Q'), { completion: 'other text', promptFound: false });
  assert.deepEqual(completionFromQuery('print(4)<|endoftext|>', undefined), { completion: 'print(4)', promptFound: true });
});

test('Prometheus text: counters with labels, cumulative histogram buckets, escaped label values', () => {
  const registry = new Registry();
  const c = registry.add(new Counter('x_total', 'Things.'));
  c.inc({ route: '/a"b\\' });
  c.inc({ route: '/a"b\\' }, 2);
  const h = registry.add(new Histogram('y_seconds', 'Times.', [0.1, 1]));
  for (const v of [0.05, 0.5, 5]) h.observe(v);
  assert.equal(registry.render(), [
    '# HELP x_total Things.', '# TYPE x_total counter', 'x_total{route="/a\\"b\\\\"} 3',
    '# HELP y_seconds Times.', '# TYPE y_seconds histogram',
    'y_seconds_bucket{le="0.1"} 1', 'y_seconds_bucket{le="1"} 2', 'y_seconds_bucket{le="+Inf"} 3', 'y_seconds_sum 5.55', 'y_seconds_count 3', '',
  ].join('\n'));
  assert.throws(() => registry.add(new Counter('x_total', 'again')), /registered twice/);
});

test('limits are checked and named', () => {
  assert.equal(resolveLimits().sampleDeadlineSeconds, 150);
  assert.throws(() => resolveLimits({ maxPendingSamples: 0 }), /limits\.maxPendingSamples: expected a positive integer/);
  assert.throws(() => resolveLimits({ sampleDeadlineSeconds: -1 }), /limits\.sampleDeadlineSeconds/);
});
