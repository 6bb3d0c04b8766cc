import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BUNDLED_DATA_DIR, detectFormat, detectStyle, loadApps, loadCyberSecEval, loadDataset, loadHumanEval, loadMbpp, loadOdex,
  problemFromAppsPlus, type Problem,
} from '../../src/data/index.js';

// Record counts as /work/shared/data/README.md states them, on the bundled copies in data/.

const count = <T>(items: T[], key: (x: T) => string) => items.reduce<Record<string, number>>((c, x) => ({ ...c, [key(x)]: (c[key(x)] ?? 0) + 1 }), {});

test('apps-plus: 500 (318 stdin, 182 call) and 16 training problems, at most 5 tests each', () => {
  const { problems, errors } = loadDataset('apps-plus');
  assert.deepEqual(errors, []);
  assert.equal(problems.length, 500);
  assert.deepEqual(count(problems, (p) => p.style), { stdin: 318, call: 182 });
  assert.ok(problems.every((p) => p.tests.length >= 1 && p.tests.length <= 3 && p.dataset === 'apps-plus'));
  const train = loadDataset('apps-plus-train');
  assert.equal(train.problems.length, 16);
  assert.ok(train.problems.every((p) => p.style === 'stdin'));
});

test('apps (original layout): 5 problems, 3 stdin and 2 call style, wrapped results accepted', () => {
  const { problems, errors } = loadDataset('apps', { maxTests: Infinity });
  assert.deepEqual(errors, []);
  assert.deepEqual(problems.map((p) => [p.id, p.style]), [['0001', 'stdin'], ['0111', 'stdin'], ['2287', 'stdin'], ['2404', 'call'], ['4184', 'call']]);
  const prime = problems.find((p) => p.id === '4184')!;
  assert.equal(prime.fnName, 'is_prime');
  assert.equal(prime.tests.length, 8);
  assert.deepEqual(prime.tests[0], { input: [1], output: [false] });
  assert.equal(prime.acceptWrappedResult, true);
  assert.match(prime.prompt, /def is_prime\(n\):\n\nUse Call-Based format\n$/u);
  assert.equal(problems.find((p) => p.id === '2404')!.tests[0].output, 9);
  assert.equal(problems[0].difficulty, 'interview');
  assert.equal(problems[0].meta!.solutions, 24);
  assert.equal(loadDataset('apps').problems.find((p) => p.id === '4184')!.tests.length, 5);   // the default cap
});

test('mbpp: 974 problems split 10/500/90/374 by task id; 2922 asserts, all but 3 judged by value', () => {
  const { problems, errors } = loadDataset('mbpp');
  assert.deepEqual(errors, []);
  assert.equal(problems.length, 974);
  assert.deepEqual(count(problems, (p) => String(p.meta!.split)), { prompt: 10, test: 500, validation: 90, train: 374 });
  assert.equal(loadDataset('mbpp', { split: 'test' }).problems.length, 500);
  const asserts = problems.flatMap((p) => p.harness!.asserts);
  assert.equal(asserts.length, 2922);
  const scripts = asserts.filter((a) => a.kind === 'script');
  assert.equal(scripts.length, 3);
  assert.ok(scripts.every((a) => a.source.startsWith('assert tuple_size(') && a.source.includes('sys.getsizeof')));
  const first = problems[0];
  assert.equal(first.id, '1');
  assert.equal(first.fnName, 'min_cost');
  assert.equal(first.prompt, '"""\nWrite a function to find the minimum cost path to reach (m, n) from (0, 0) for the given cost matrix cost[][] and a position (m, n) in cost[][].\nassert min_cost([[1, 2, 3], [4, 8, 2], [1, 5, 3]], 2, 2) == 8\n"""\n');
  assert.deepEqual(first.tests.map((t) => t.output), ['8', '12', '16']);
  // test_setup_code runs before the asserts
  assert.match(problems.find((p) => p.id === '367')!.harness!.code, /root = Node\(1\)/u);
});

test('mbpp-sanitized: 427 problems; math.isclose asserts become tolerance tests', () => {
  const { problems, errors } = loadDataset('mbpp-sanitized', { maxTests: Infinity });
  assert.deepEqual(errors, []);
  assert.equal(problems.length, 427);
  const asserts = problems.flatMap((p) => p.harness!.asserts);
  assert.equal(asserts.length, 1324);
  assert.equal(asserts.filter((a) => a.kind === 'value').length, 1321);
  const sphere = problems.find((p) => p.fnName === 'volume_sphere')!;
  assert.equal(sphere.compare, 'float');
  assert.equal(sphere.harness!.asserts[0].tolerance, 0.001 * 4188.790204786391);
});

test('humaneval: 164 problems from the gzipped file; check() split into one test per assert', () => {
  const { problems, errors } = loadHumanEval(join(BUNDLED_DATA_DIR, 'humaneval/HumanEval.jsonl.gz'), { maxTests: Infinity });
  assert.deepEqual(errors, []);
  assert.equal(problems.length, 164);
  const asserts = problems.flatMap((p) => p.harness!.asserts);
  assert.equal(asserts.length, 1133);
  assert.equal(asserts.filter((a) => a.kind === 'script').length, 9);
  const p0 = problems[0];
  assert.equal(p0.id, 'HumanEval/0');
  assert.equal(p0.fnName, 'has_close_elements');
  assert.equal(p0.tests.length, 7);
  assert.equal(p0.canonicalSolution, p0.prompt + (p0.meta!.canonicalCompletion as string));
  // fillers such as `assert True, "This prints if this assert fails"` are not tests
  assert.ok(problems.some((p) => (p.meta!.constantAssertsDropped as number) > 0));
  const capped = loadDataset('humaneval');
  assert.ok(capped.problems.every((p) => p.tests.length <= 5));
  assert.equal(capped.problems.reduce((n, p) => n + p.tests.length, 0), 744);
});

test('odex: 439 problems (209 with no library), ids numbered where task ids repeat, intent as docstring', () => {
  const { problems, errors } = loadOdex(join(BUNDLED_DATA_DIR, 'odex/en_test.jsonl'));
  assert.deepEqual(errors, []);
  assert.equal(problems.length, 439);
  assert.equal(new Set(problems.map((p) => p.id)).size, 439);
  assert.equal(problems.filter((p) => (p.meta!.libraries as string[]).length === 0).length, 209);
  assert.equal(loadDataset('odex', { libraries: 'none' }).problems.length, 209);
  const p = problems[0];
  assert.equal(p.id, '3283984-0');
  assert.equal(p.prompt, 'def f_3283984():\n\t"""decode a hex string \'4a4b4c\' to UTF-8.\n\t"""\n\treturn ');
  assert.equal(p.canonicalSolution, `${p.prompt}bytes.fromhex('4a4b4c').decode('utf-8')`);
  assert.deepEqual(p.tests, [{ input: [0], output: '"JKL"' }]);
  const withSuffix = problems.find((x) => x.suffix)!;
  assert.ok(withSuffix.canonicalSolution!.endsWith(withSuffix.suffix!));
  // one record names the check parameter `callerFunction`
  assert.ok(problems.some((x) => /callerFunction = __scrl_guard\(callerFunction\)|def __scrl_t0\(callerFunction\)/u.test(x.harness!.code)));
});

test('cyberseceval: 351 instruct, 282 instruct-v2, 351 autocomplete prompts without tests', () => {
  for (const [variant, n] of [['instruct', 351], ['instruct-v2', 282], ['autocomplete', 351]] as const) {
    const { problems, errors } = loadDataset('cyberseceval', { variant });
    assert.deepEqual(errors, []);
    assert.equal(problems.length, n, variant);
    assert.ok(problems.every((p) => p.tests.length === 0 && p.promptKind === 'text' && p.id.startsWith(`${variant}/`)));
  }
  const all = loadDataset('cyberseceval', { variant: 'all' });
  assert.equal(all.problems.length, 984);
  const p = all.problems.find((x) => x.id === 'instruct/1565')!;
  assert.equal(p.meta!.cwe, 'CWE-338');
  assert.match(p.prompt, /^Write a Python function that generates a set of candidates/u);
  assert.equal(loadCyberSecEval(join(BUNDLED_DATA_DIR, 'cyberseceval')).problems.length, 984);
});

test('style detection: call-style problems stored as text are not counted as stdin', () => {
  // The reference preparation stringified inputs: a stub with parameters that never reads stdin is call style.
  const stringified = problemFromAppsPlus({
    prompt: '\ndef add(a, b):\n    """Add two numbers."""\n', inputs: ['[1, 2]', "[3, 'x']"], outputs: [[3], ['3x']], canonical_solution: 'def add(a, b): ...',
  }, 's', 'mem');
  assert.equal(stringified.style, 'call');
  assert.deepEqual(stringified.tests, [{ input: [1, 2], output: 3 }, { input: [3, 'x'], output: '3x' }]);
  // a stub with parameters whose program reads stdin stays stdin (APPS+ record 484 is one)
  const reads = detectStyle({ inputs: ['2'], stub: "def print_formatted(number):\n    pass\nif __name__ == '__main__':\n    n = int(input())\n" });
  assert.equal(reads.style, 'stdin');
  assert.equal(detectStyle({ inputs: ['3\n'], stub: '\ndef FsxrN():\n' }).style, 'stdin');
  assert.equal(detectStyle({ inputs: [[1]] }).style, 'call');
  assert.equal(detectStyle({ inputs: [], stub: 'class Solution:\n    def f(self, x):\n' }).style, 'call');
  assert.throws(() => detectStyle({ inputs: ['1', [1]] }), /field "inputs": 1 strings and 1 argument lists mixed/);
  assert.throws(() => detectStyle({ inputs: ['not a list'], stub: 'class Solution:\n    def f(self, x):\n' }), /LeetCode-style stub but the inputs are not argument lists/);
  const bundled = loadDataset('apps-plus').problems.find((p) => p.id === '484')!;
  assert.equal(bundled.style, 'stdin');
});

test('bad records are reported with file, line or record, and field; the rest load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-datasets-'));
  const mbpp = join(dir, 'mbpp.jsonl');
  writeFileSync(mbpp, [
    JSON.stringify({ task_id: 1, text: 't', code: 'def f(x):\n    return x', test_list: ['assert f(1) == 1'], test_setup_code: '' }),
    JSON.stringify({ task_id: 2, text: 't', code: 'def f(x):\n    return x' }),
    '{oops',
    JSON.stringify({ task_id: 3, text: 't', code: 'x = 1', test_list: ['assert x == 1'] }),
    JSON.stringify({ task_id: 4, text: 't', code: 'def f(x):\n    return x', test_list: ["assert f('open) == 1"] }),
  ].join('\n'));
  const r = loadMbpp(mbpp);
  assert.deepEqual(r.problems.map((p: Problem) => p.id), ['1']);
  assert.equal(r.errors.length, 4);
  assert.equal(r.errors[0], `${mbpp}:2: field "test_list": expected a list of strings`);
  assert.match(r.errors[1], /mbpp\.jsonl:3: not valid JSON \(/u);
  assert.equal(r.errors[2], `${mbpp}:4: field "code": expected a reference solution that defines a function`);
  assert.equal(r.errors[3], `${mbpp}:5: field "test_list": test block 0: unterminated string starting on line 1`);

  const he = join(dir, 'he.jsonl');
  writeFileSync(he, [
    JSON.stringify({ task_id: 'T/0', prompt: 'def f(x):\n', entry_point: 'f', canonical_solution: '    return x\n', test: 'def check(candidate):\n    assert candidate(1) == 1\n' }),
    JSON.stringify({ task_id: 'T/1', prompt: 'def f(x):\n', entry_point: 'f', test: 'def verify(c):\n    assert c(1) == 1\n' }),
    JSON.stringify({ task_id: 'T/0', prompt: 'def f(x):\n', entry_point: 'f', test: 'def check(candidate):\n    assert candidate(1) == 1\n' }),
  ].join('\n'));
  const h = loadHumanEval(he);
  assert.equal(h.problems.length, 1);
  assert.match(h.errors[0], /he\.jsonl:2: field "test": expected one "def check\(candidate\):", found 0/u);
  assert.match(h.errors[1], /he\.jsonl:3: field "task_id": duplicate id "T\/0"/u);

  const odex = join(dir, 'odex.jsonl');
  writeFileSync(odex, JSON.stringify({ task_id: 1, prompt: 'def f_1():\n\treturn ', test_start: 'import os\n', test: ['\n    assert candidate() == 1\n'], entry_point: 'f_1' }));
  assert.match(loadOdex(odex).errors[0], /odex\.jsonl:1: field "test_start": expected setup code ending in "def check\(candidate\):"/u);

  const cse = join(dir, 'instruct.python.json');
  writeFileSync(cse, JSON.stringify([{ prompt_id: 1, language: 'python', test_case_prompt: 'Write code.' }, { prompt_id: 2, language: 'python' }, { prompt_id: 3, language: 'c', test_case_prompt: 'x' }]));
  const c = loadCyberSecEval(cse);
  assert.deepEqual(c.problems.map((p) => p.id), ['instruct/1']);
  assert.match(c.errors[0], /instruct\.python\.json: record 1: field "test_case_prompt": expected a non-empty string/u);
  assert.match(c.notes![0], /1 records in languages other than python left out/u);

  const apps = join(dir, 'apps');
  mkdirSync(join(apps, '0001'), { recursive: true });
  mkdirSync(join(apps, '0002'), { recursive: true });
  writeFileSync(join(apps, '0001', 'question.txt'), 'Print 1.');
  writeFileSync(join(apps, '0001', 'input_output.json'), JSON.stringify({ inputs: [''], outputs: ['1\n'] }));
  writeFileSync(join(apps, '0002', 'question.txt'), 'No tests.');
  const a = loadApps(apps);
  assert.deepEqual(a.problems.map((p) => p.id), ['0001']);
  assert.match(a.errors[0], /0002: input_output\.json: missing/u);

  assert.equal(detectFormat(mbpp), 'mbpp');
  assert.equal(detectFormat(he), 'humaneval');
  assert.equal(detectFormat(odex), 'odex');
  assert.equal(detectFormat(cse), 'cyberseceval');
  assert.equal(detectFormat(apps), 'apps');
  assert.equal(detectFormat(join(BUNDLED_DATA_DIR, 'humaneval/HumanEval.jsonl.gz')), 'humaneval');
  assert.equal(detectFormat(join(BUNDLED_DATA_DIR, 'apps_plus/valid_500.json')), 'apps-plus');
  assert.equal(loadDataset(he).problems.length, 1);
  const unknown = join(dir, 'x.jsonl');
  writeFileSync(unknown, '{"a": 1}\n');
  assert.throws(() => loadDataset(unknown), /x\.jsonl: unknown record format \(first record has fields a\)/u);
  assert.throws(() => loadDataset(join(dir, 'missing.json')), /cannot read data file .*missing\.json: ENOENT/u);
});
