import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mapOrdered } from '../../src/reward/index.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('mapOrdered: results in input order, at most `concurrency` in flight, a slow item does not stall the rest', async () => {
  let running = 0;
  let peak = 0;
  const startedAt: number[] = [];
  const t0 = Date.now();
  const out: number[] = [];
  const items = Array.from({ length: 12 }, (_, i) => i);
  for await (const r of mapOrdered(items, 3, async (i) => {
    startedAt[i] = Date.now() - t0;
    running++;
    peak = Math.max(peak, running);
    await sleep(i === 0 ? 300 : 20);
    running--;
    return i * 10;
  })) out.push(r);
  assert.deepEqual(out, items.map((i) => i * 10));
  assert.equal(peak, 3);
  // Items 1..11 ran beside the slow item 0 instead of waiting for it (the buffer allows 12 ahead).
  assert.ok(startedAt[11] < 250, `item 11 started at ${startedAt[11]} ms`);
});

test('mapOrdered: memory stays bounded behind a slow head (at most 4 x concurrency started ahead)', async () => {
  let maxStarted = 0;
  const gen = mapOrdered(Array.from({ length: 100 }, (_, i) => i), 2, async (i) => {
    maxStarted = Math.max(maxStarted, i);
    await sleep(i === 0 ? 200 : 1);
    return i;
  });
  const first = await gen.next();
  assert.equal(first.value, 0);
  assert.ok(maxStarted <= 8, `started up to item ${maxStarted} while item 0 ran`);
  let count = 1;
  for await (const _ of gen) count++;
  assert.equal(count, 100);
});

test('mapOrdered: an error surfaces at its turn', async () => {
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const r of mapOrdered([1, 2, 3], 2, async (i) => { if (i === 2) throw new Error('boom'); return i; })) seen.push(r);
  }, /boom/);
  assert.deepEqual(seen, [1]);
});
