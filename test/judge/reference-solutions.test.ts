// Every bundled APPS+ reference solution passes its own tests (needs python3-numpy and python3-scipy
// from Debian for the three solutions that import them; .ci/run installs both).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadAppsPlus } from '../../src/data/index.js';
import { BUNDLED_DATA } from '../../src/eval/demo.js';
import { Judge } from '../../src/judge/index.js';

test('APPS+ valid_500: all reference solutions pass their tests', { timeout: 240_000 }, async () => {
  const { problems } = loadAppsPlus(join(BUNDLED_DATA, 'apps_plus/valid_500.json'));
  const judge = new Judge();
  try {
    const results = await Promise.all(problems.map((p) =>
      judge.judge({ program: p.canonicalSolution!, style: p.style, fnName: p.fnName, tests: p.tests })));
    const failures = results
      .map((r, i) => ({ id: problems[i].id, verdicts: r.tests.map((t) => t.verdict), error: r.syntaxError ?? r.tests.find((t) => t.verdict !== 'passed')?.stderr.slice(-300) }))
      .filter((_, i) => results[i].passed !== results[i].total || !results[i].syntaxOk);
    console.log(`APPS+ reference solutions passing all tests: ${problems.length - failures.length}/${problems.length}`);
    assert.deepEqual(failures, []);
  } finally {
    await judge.close();
  }
});
