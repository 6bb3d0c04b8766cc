// Self-correction examples for SFT: mutations of each kind, and examples built from real judge feedback.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadDataset } from '../../src/data/index.js';
import { Rng } from '../../src/random.js';
import { Scorer } from '../../src/reward/scorer.js';
import { correctionExamples, mutateProgram } from '../../src/train/correction-examples.js';

let scorer: Scorer;
before(() => { scorer = new Scorer({ security: 'off' }); });
after(() => scorer.close());

describe('correction examples', () => {
  it('mutates a value, the syntax or the name, deterministically from the generator', () => {
    const program = 'def add_num(x):\n    return x + 7\n';
    const value = mutateProgram(program, new Rng(1), 'value')!;
    assert.notEqual(value, program);
    assert.match(value, /^def add_num\(x\):\n    return x (\+ (?!7\n)\d+|- 7)\n$/u);
    assert.equal(mutateProgram(program, new Rng(1), 'value'), value);
    const syntax = mutateProgram(program, new Rng(2), 'syntax')!;
    assert.equal(syntax.length, program.length - 1);
    assert.match(mutateProgram(program, new Rng(3), 'name')!, /^def add_num_(fn|value|result|v2)\(x\):/u);
    assert.equal(mutateProgram('print(1)\n', new Rng(1), 'name'), null);
    assert.equal(mutateProgram('pass\n', new Rng(1), 'value'), null);
  });

  it('builds second-turn prompts from the judge\'s feedback on a failing mutation and on the reference, both answered by the reference', async () => {
    const problems = loadDataset('toy').problems.slice(0, 12);
    const examples = await correctionExamples(problems, scorer, new Rng(7));
    const byProblem = new Map<string, typeof examples>();
    for (const e of examples) byProblem.set(e.problem.id, [...(byProblem.get(e.problem.id) ?? []), e]);
    assert.equal(byProblem.size, 12);
    for (const p of problems) {
      const list = byProblem.get(p.id)!;
      assert.ok(list.length >= 1 && list.length <= 2, p.id);
      for (const e of list) {
        assert.equal(e.response, p.canonicalSolution);
        assert.equal(e.problem.promptKind, 'text');
        assert.deepEqual(e.problem.tests, p.tests);
        assert.match(e.problem.prompt, /Your previous program:\n```python\n/u);
        assert.match(e.problem.prompt, /Fix the program so that it passes all tests\./u);
      }
      assert.ok(list.some((e) => e.problem.prompt.includes('Execution feedback: 3 of 3 tests passed.')), `${p.id}: the kept example`);
    }
    // Most mutations fail a test: their feedback is a failure (no compile, or fewer than 3 passed).
    const failing = examples.filter((e) => /does not compile|Execution feedback: [0-2] of 3 tests passed/u.test(e.problem.prompt));
    assert.ok(failing.length >= 8, `${failing.length} failing-mutation examples of 12`);
  });
});
