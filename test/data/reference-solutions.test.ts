import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { loadDataset, ODEX_THIRD_PARTY, type Problem } from '../../src/data/index.js';
import { Scorer, type RewardBreakdown } from '../../src/reward/scorer.js';

/** The data sets' reference solutions, fed as completions through the real Scorer and judge (the Scorer
 * builds assert-style tasks with `judgeTaskFor`). The measured rates and every failure are explained in
 * docs/data.md. */
let scorer: Scorer;
before(() => {
  // These check correctness, not speed: MBPP 123's reference takes ~2.3 s of CPU on a quiet machine and
  // more on a busy one (CPU time grows when the other hyperthread of the core is busy), so the default
  // 4 s limit made the test depend on machine load.
  scorer = new Scorer({ security: 'off' }, { limits: { cpuSeconds: 12, wallSeconds: 40 } });
});
after(() => scorer.close());

async function scoreAll(problems: Problem[], completion: (p: Problem) => string): Promise<RewardBreakdown[]> {
  return Promise.all(problems.map((p) => scorer.score(p, completion(p))));
}

const failures = (results: RewardBreakdown[]) => results.filter((r) => r.testsTotal === 0 || r.testsPassed < r.testsTotal);
const lastLine = (r: RewardBreakdown) => (r.tests.find((t) => t.verdict !== 'passed')?.stderr ?? r.syntaxError ?? '').trim().split('\n').pop() ?? '';

test('APPS (original layout): the first reference solution of each of the 5 problems passes', async () => {
  const { problems } = loadDataset('apps', { maxTests: Infinity });
  const results = await scoreAll(problems, (p) => p.canonicalSolution!);
  assert.deepEqual(failures(results).map((r) => r.problemId), []);
  assert.equal(results.reduce((n, r) => n + r.testsPassed, 0), 14);
});

test('MBPP: all 974 reference solutions pass all 2,922 asserts (task 596 and its sys.getsizeof included)', async () => {
  const { problems } = loadDataset('mbpp');
  const results = await scoreAll(problems, (p) => p.canonicalSolution!);
  assert.deepEqual(failures(results).map((r) => r.problemId), []);
  assert.equal(results.reduce((n, r) => n + r.testsPassed, 0), 2922);
});

test('MBPP sanitized: all 427 reference solutions pass', async () => {
  const { problems } = loadDataset('mbpp-sanitized');
  const results = await scoreAll(problems, (p) => p.canonicalSolution!);
  assert.deepEqual(failures(results).map((r) => r.problemId), []);
});

test('HumanEval: canonical bodies as completions pass 164/164 (prompt + body); whole programs 164/164', async () => {
  const { problems } = loadDataset('humaneval');
  const bodies = await scoreAll(problems, (p) => p.meta!.canonicalCompletion as string);
  // HumanEval/115's prompt imports inside the function before its docstring: still a stub to complete.
  assert.deepEqual(failures(bodies).map((r) => [r.problemId, r.extraction, r.syntaxOk]), []);
  assert.ok(bodies.every((r) => r.extraction === 'stub+completion'));
  const programs = await scoreAll(problems, (p) => p.canonicalSolution!);
  assert.deepEqual(failures(programs).map((r) => r.problemId), []);
});

/** ODEX reference programs that cannot pass here, and why (docs/data.md). */
const ODEX_EXPLAINED: Record<string, RegExp> = {
  // `import urllib` does not import urllib.request; the reference relies on another import having done
  // so, and downloads a URL (no network in the sandbox).
  '22676-0': /module 'urllib' has no attribute 'request'/u,
  '22676-1': /module 'urllib' has no attribute 'request'/u,
  '7243750-0': /module 'urllib' has no attribute 'request'/u,
  // resolves a host name: no network in the sandbox
  '2805231-0': /gaierror/u,
  // a global inline flag `(?i)` in the middle of a pattern: an error since Python 3.11
  '35622945-0': /global flags not at the start/u,
  // the reference's body is indented with spaces under a tab-indented prompt (IndentationError); it
  // also needs pandas
  '13740672-0': /IndentationError: unindent does not match/u,
  // Where python3-requests is installed (python3-torch depends on it): downloads need a CA bundle and a
  // network, and the sandbox has neither (/etc is not mounted).
  '22676-2': /TLS CA certificate bundle/u,
  '22676-3': /TLS CA certificate bundle/u,
};

test('ODEX: 357/439 reference programs pass (359 with python3-requests); each failure is a missing third-party library or explained', async () => {
  const { problems } = loadDataset('odex');
  const results = await scoreAll(problems, (p) => p.canonicalSolution!);
  const failed = failures(results);
  const libs = new Map<string, number>();
  for (const r of failed) {
    const missing = /ModuleNotFoundError: No module named '([\w.]+)'/u.exec(lastLine(r));
    if (missing) {
      // (8315209-0 lists only `socket`, but its test imports the third-party `mock` package)
      assert.ok(ODEX_THIRD_PARTY.has(missing[1]), `${r.problemId}: ${missing[1]} is not a third-party library`);
      libs.set(missing[1], (libs.get(missing[1]) ?? 0) + 1);
      continue;
    }
    const why = ODEX_EXPLAINED[r.problemId];
    assert.ok(why, `${r.problemId} fails without an explanation: ${lastLine(r)}`);
    assert.match(lastLine(r), why, r.problemId);
  }
  // requests' four problems fail on the import where it is not installed; where it is, the two whose
  // check test replaces `requests.post` with a Mock pass and the two that download are explained above.
  const requestsMissing = libs.has('requests');
  assert.equal(results.length - failed.length, requestsMissing ? 357 : 359);
  assert.equal([...libs.values()].reduce((a, b) => a + b, 0), requestsMissing ? 76 : 72);
  assert.deepEqual(Object.fromEntries([...libs].sort()), {
    bs4: 4, django: 3, flask: 3, matplotlib: 8, mock: 1, multidict: 1, pandas: 50, pytz: 1, regex: 1, ...(requestsMissing ? { requests: 4 } : {}),
  });
  const noLibrary = results.filter((r) => (problems.find((p) => p.id === r.problemId)!.meta!.libraries as string[]).length === 0);
  assert.equal(noLibrary.length, 209);
  assert.equal(failures(noLibrary).length, 0);
});
