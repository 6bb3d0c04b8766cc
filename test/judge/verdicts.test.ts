import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Judge, type JudgeTask, type TestVerdict } from '../../src/judge/index.js';

let judge: Judge;
before(() => { judge = new Judge({ workers: 2, limits: { cpuSeconds: 1, wallSeconds: 3, memoryMb: 256, outputBytes: 1 << 16 } }); });
after(() => judge.close());

const add = { input: '2 3\n', output: '5\n' };

async function verdicts(task: Partial<JudgeTask> & { program: string }): Promise<TestVerdict[]> {
  const result = await judge.judge({ style: 'stdin', tests: [add], ...task });
  assert.ok(result.syntaxOk, result.syntaxError);
  return result.tests.map((t) => t.verdict);
}

test('each per-test verdict', async () => {
  const sum = 'a, b = map(int, input().split())\n';
  assert.deepEqual(await verdicts({ program: `${sum}print(a + b)\n` }), ['passed']);
  assert.deepEqual(await verdicts({ program: `${sum}print(a * b)\n` }), ['wrong_output']);
  assert.deepEqual(await verdicts({ program: `${sum}` }), ['no_output']);
  assert.deepEqual(await verdicts({ program: `${sum}print(a + b)\nraise ValueError("late")\n` }), ['runtime_error']);
  assert.deepEqual(await verdicts({ program: 'while True:\n    pass\n' }), ['timeout']);
  assert.deepEqual(await verdicts({ program: 'x = " " * (10 ** 9)\n' }), ['memory_limit']);
  assert.deepEqual(await verdicts({ program: 'print("y" * 100000)\n' }), ['output_limit']);
});

test('a syntax error is a per-program verdict from CPython\'s compile()', async () => {
  for (const program of ['def f(:\n    pass\n', 'x = (1,\n', 'print("a"\0)\n', '  indented = 1\n']) {
    const result = await judge.judge({ program, style: 'stdin', tests: [add] });
    assert.equal(result.syntaxOk, false, program);
    assert.match(result.syntaxError ?? '', /Error/);
    assert.equal(result.tests.length, 0);
  }
});

test('the APPS+ stdin convention: the entry function is called once, by us only if the program does not', async () => {
  const body = 'def solve():\n    a, b = map(int, input().split())\n    print(a + b)\n';
  assert.deepEqual(await verdicts({ program: body, fnName: 'solve' }), ['passed']);
  assert.deepEqual(await verdicts({ program: `${body}\nsolve()\n`, fnName: 'solve' }), ['passed']);
  assert.deepEqual(await verdicts({ program: `${body}\nif __name__ == "__main__":\n    solve()\n`, fnName: 'solve' }), ['passed']);
  assert.deepEqual(await verdicts({ program: body }), ['no_output'], 'without fn_name nothing calls it');
});

test('a test\'s process holds only its stdin, stdout, stderr and harness descriptors (none of the server\'s)', async () => {
  const program = 'import os\nfds = os.listdir("/proc/self/fd")\nprint(sorted(int(fd) for fd in fds)[:-1], os.readlink("/proc/self/fd/3")[:5])\n';
  const result = await judge.judge({ program, style: 'stdin', tests: [{ input: '', output: '' }, { input: '', output: '' }] });
  // The last descriptor listed is the one listdir itself opened.
  assert.deepEqual(result.tests.map((t) => t.stdout), Array(2).fill('[0, 1, 2, 3] pipe:\n'));
});

test('nothing a test writes to /tmp or /dev/shm is there for the next test of the job', async () => {
  const program = [
    'import os',
    'print(sorted(os.listdir("/tmp")), sorted(os.listdir("/dev/shm")))',
    'mode = input()',
    'if mode == "file": open("/tmp/a", "w").write("x")',
    'if mode == "tree": os.makedirs("/tmp/d/e"); open("/tmp/d/e/f", "w").write("x")',
    'if mode == "shm": open("/dev/shm/s", "w").write("x")',
    'if mode == "rename": open("/tmp/x", "w").write("x"); os.rename("/tmp/x", "/tmp/y")',
    'if mode == "link": os.symlink("/nowhere", "/tmp/l")',
    'if mode == "stopped": open("/tmp/s", "w").write("x"); print("y" * 100000)',
  ].join('\n');
  const modes = ['file', 'tree', 'shm', 'rename', 'link', 'stopped', 'none'];
  const result = await judge.judge({ program: `${program}\n`, style: 'stdin', tests: modes.map((mode) => ({ input: `${mode}\n`, output: '[] []\n' })) });
  assert.deepEqual(result.tests.map((t) => t.stdout.split('\n')[0]), modes.map(() => '[] []'));
});

test('random: every test starts from the same generator state, in every worker; random.seed() still reseeds', async () => {
  const stdouts = (program: string) => judge.judge({ program, style: 'stdin', tests: Array(4).fill({ input: '', output: '' }) })
    .then((r) => r.tests.map((t) => t.stdout));
  const draws = await stdouts('import random\nprint(random.random(), random.randint(0, 10 ** 9))\n');
  assert.equal(new Set(draws).size, 1, `the same draws in every test (two workers): ${draws.join(' | ')}`);
  assert.match(draws[0], /^0\.\d+ \d+\n$/);
  assert.deepEqual(await stdouts('from random import random\nprint(random())\n'), Array(4).fill(`${draws[0].split(' ')[0]}\n`));
  assert.equal(new Set(await stdouts('import random\nrandom.seed()\nprint(random.random())\n')).size, 4, 'random.seed() draws a seed from the system');
});

test('call style: function, Solution method, exceptions, None, wrapped results', async () => {
  const call = (program: string, tests: JudgeTask['tests'], extra: Partial<JudgeTask> = {}) =>
    judge.judge({ program, style: 'call', fnName: 'f', tests, ...extra }).then((r) => r.tests.map((t) => t.verdict));
  assert.deepEqual(await call('def f(xs, k):\n    return sorted(xs)[:k]\n', [{ input: [[3, 1, 2], 2], output: [1, 2] }, { input: [[5], 1], output: [4] }]), ['passed', 'wrong_output']);
  assert.deepEqual(await call('class Solution:\n    def f(self, s: str) -> List[str]:\n        return list(Counter(s))\n', [{ input: ['aab'], output: ['a', 'b'] }]), ['passed']);
  assert.deepEqual(await call('def f(x):\n    return (x, x)\n', [{ input: [1], output: [1, 1] }]), ['passed'], 'a tuple compares as a list');
  assert.deepEqual(await call('def f(x):\n    return 1 / x\n', [{ input: [0], output: 0 }]), ['runtime_error']);
  assert.deepEqual(await call('def f(x):\n    pass\n', [{ input: [1], output: 1 }, { input: [1], output: null }]), ['no_output', 'passed']);
  assert.deepEqual(await call('def g(x):\n    return x\n', [{ input: [1], output: 1 }]), ['runtime_error'], 'a missing function is an error');
  assert.deepEqual(await call('def f(x):\n    return x\n', [{ input: [7], output: [7] }]), ['wrong_output']);
  assert.deepEqual(await call('def f(x):\n    return x\n', [{ input: [7], output: [7] }], { acceptWrappedResult: true }), ['passed'], 'original APPS accepts [result]');
  assert.deepEqual(await call('def f(n):\n    return 3 ** n\n', [{ input: [100], output: 515377520732011331036461129765621272702107522001n }]), ['passed'], 'big integers stay exact');
  assert.deepEqual(await call('def f():\n    return 0.1 + 0.2\n', [{ input: [], output: 0.3 }], { compare: 'float' }), ['passed']);
});

test('stdout and stderr are captured; CPU time is reported', async () => {
  const result = await judge.judge({ program: 'import sys\nprint("out")\nprint("err", file=sys.stderr)\nsum(range(10**6))\n', style: 'stdin', tests: [{ input: '', output: 'out' }] });
  const [t] = result.tests;
  assert.equal(t.stdout, 'out\n');
  assert.equal(t.stderr, 'err\n');
  assert.ok(t.cpuSeconds > 0 && t.cpuSeconds < 1);
  // An uncaught exception's traceback as `python program.py` prints it, after what the program wrote.
  const crash = await judge.judge({ program: 'import sys\nprint("before", file=sys.stderr)\ndef f():\n    raise ValueError("late")\nf()\n', style: 'stdin', tests: [{ input: '', output: '' }] });
  assert.equal(crash.tests[0].stderr, 'before\nTraceback (most recent call last):\n  File "<program>", line 5, in <module>\n'
    + '  File "<program>", line 4, in f\nValueError: late\n');
  const replaced = await judge.judge({ program: 'import io, sys\nsys.stderr = io.StringIO()\nraise ValueError("kept")\n', style: 'stdin', tests: [{ input: '', output: '' }] });
  assert.equal(replaced.tests[0].stderr, '', 'a program\'s own sys.stderr gets its traceback');
});

test('the comparison mode is chosen per run and per problem', async () => {
  const program = 'print(" 0.3333333 ")\n';
  const tests = [{ input: '', output: '0.333333333' }];
  assert.deepEqual(await verdicts({ program, tests }), ['wrong_output']);
  assert.deepEqual(await verdicts({ program, tests, compare: 'strict' }), ['wrong_output']);
  assert.deepEqual(await verdicts({ program, tests, compare: 'float' }), ['passed']);
  assert.deepEqual(await verdicts({ program: 'print(" 0.333333333 ")\n', tests, compare: 'strict' }), ['passed']);
});

test('verdicts do not depend on machine load: limits are CPU time', async () => {
  // Two CPU-bound programs of ~0.3 s each, run 6 at once on the 2 workers: none times out.
  const program = 'x = 0\nfor i in range(3 * 10**6):\n    x += i\nprint("ok")\n';
  const results = await Promise.all(Array.from({ length: 6 }, () => verdicts({ program, tests: [{ input: '', output: 'ok' }] })));
  assert.deepEqual(results.flat(), Array(6).fill('passed'));
});
