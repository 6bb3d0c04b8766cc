import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset } from '../../src/data/index.js';
import { toyRecords } from '../../src/data/toy.js';
import { Scorer } from '../../src/reward/scorer.js';

let scorer: Scorer;
before(() => { scorer = new Scorer({ security: 'off' }); });
after(() => scorer.close());

test('toy: 1,200 problems, the same for the same seed, another set for another seed', () => {
  const { problems, errors } = loadDataset('toy');
  assert.deepEqual(errors, []);
  assert.equal(problems.length, 1200);
  assert.equal(new Set(problems.map((p) => p.id)).size, 1200);
  assert.deepEqual(toyRecords({ seed: 0, count: 50 }), toyRecords({ seed: 0, count: 50 }));
  assert.notDeepEqual(toyRecords({ seed: 1, count: 50 }), toyRecords({ seed: 0, count: 50 }));
  const p = problems[0];
  assert.equal(p.dataset, 'toy');
  assert.equal(p.style, 'call');
  // The sentence alone: the function's name is only in the tests.
  assert.match(p.prompt, /^"""\nWrite a function to [^\n]+\.\n"""\n$/u);
  assert.match(loadDataset('toy', { promptTests: 1 }).problems[0].prompt, /^"""\nWrite a function to .+\nassert \w+\(.+\) == .+\n"""\n$/u);
  // Three distinct asserts each.
  assert.ok(toyRecords().every((r) => r.test_list.length === 3 && new Set(r.test_list).size === 3));
});

test('toy: every reference solution passes its three tests in the real judge; a wrong constant fails some', async () => {
  const { problems } = loadDataset('toy');
  const results = await Promise.all(problems.map((p) => scorer.score(p, p.canonicalSolution!)));
  assert.deepEqual(results.filter((r) => r.testsTotal !== 3 || r.testsPassed !== 3).map((r) => r.problemId), []);
  const add = problems.find((p) => /^def \w+\(x\):\n    return x \+ \d+\n$/u.test(p.canonicalSolution!))!;
  const wrong = await scorer.score(add, add.canonicalSolution!.replace(/\+ (\d+)/u, (_, a: string) => `+ ${Number(a) + 1}`));
  assert.equal(wrong.testsPassed, 0);
  assert.equal(wrong.testsTotal, 3);
});
