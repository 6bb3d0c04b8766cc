// Check tests: test code that decides the verdict runs in a checker process of its own, and the
// program's functions are proxies whose calls cross into the program's process as values. These are
// the ordinary cases (what crosses, how verdicts map); adversarial.test.ts has the attacks.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Judge, type CheckSpec, type JudgeResult, type TestCase, type TestVerdict } from '../../src/judge/index.js';

let judge: Judge;
before(() => { judge = new Judge({ workers: 2, limits: { cpuSeconds: 2, wallSeconds: 6, memoryMb: 512 } }); });
after(() => judge.close());

const check = (body: string, setup = '', bind: Record<string, string> = { candidate: 'f' }): TestCase =>
  ({ input: [], output: null, check: { body, setup, bind } satisfies CheckSpec });

async function run(program: string, tests: TestCase[]): Promise<JudgeResult> {
  const result = await judge.judge({ program, style: 'call', fnName: 'f', tests });
  assert.ok(result.syntaxOk, result.syntaxError);
  return result;
}

async function verdicts(program: string, ...bodies: string[]): Promise<TestVerdict[]> {
  return (await run(program, bodies.map((b) => check(b)))).tests.map((t) => t.verdict);
}

const why = (r: JudgeResult) => JSON.stringify(r.tests.map((t) => [t.verdict, t.stderr.slice(-400)]));

test('verdicts: completed, failed assertion, errors, limits', async () => {
  const double = 'def f(x):\n    return 2 * x\n';
  assert.deepEqual(await verdicts(double, 'assert candidate(2) == 4', 'assert candidate(2) == 5', 'assert candidate(2) == 4\nreturn\nassert False',
    'candidate(1)\nraise KeyError("in the test")', 'import nosuchmodule'), ['passed', 'wrong_output', 'passed', 'runtime_error', 'runtime_error']);
  // an assertion inside the program is the program crashing, not a failed test
  assert.deepEqual(await verdicts('def f(x):\n    assert x > 0\n    return x\n', 'assert candidate(-1) == -1'), ['runtime_error']);
  // a test may expect the program to raise; an exception it does not catch is a crash
  const raising = 'def f(x):\n    raise ValueError("bad " + str(x))\n';
  assert.deepEqual(await verdicts(raising, 'try:\n    candidate(1)\n    assert False\nexcept ValueError as e:\n    assert str(e) == "bad 1"', 'candidate(1)'),
    ['passed', 'runtime_error']);
  const crashed = await run(raising, [check('candidate(1)')]);
  assert.match(crashed.tests[0].stderr, /ValueError: bad 1\n$/u);
  assert.deepEqual(await verdicts('def f(x):\n    while True:\n        pass\n', 'candidate(1)'), ['timeout']);
  assert.deepEqual(await verdicts('def f(x):\n    return 1\n', 'while True:\n    pass'), ['timeout']);
  assert.deepEqual(await verdicts('import time\ndef f(x):\n    time.sleep(60)\n', 'candidate(1)'), ['timeout']);
  assert.deepEqual(await verdicts('def f(x):\n    return bytearray(10 ** 10)\n', 'candidate(1)'), ['memory_limit']);
  assert.deepEqual(await verdicts('def f(x):\n    print("y" * (1 << 21))\n', 'candidate(1)'), ['output_limit']);
  assert.deepEqual(await verdicts('def f(x):\n    return "y" * (20 << 20)\n', 'candidate(1)'), ['output_limit']);
  // the program failing to load fails every check test, as it fails every other test
  const broken = await run('raise RuntimeError("at import")\ndef f(x):\n    return x\n', [check('pass')]);
  assert.equal(broken.tests[0].verdict, 'runtime_error');
  assert.match(broken.tests[0].stderr, /RuntimeError: at import\n$/u);
});

test('exitedOk and producedOutput feed the reward ladder as for other tests', async () => {
  const r = await run('def f(x):\n    return None if x == 0 else x\n', [
    check('assert candidate(0) is None'), check('assert candidate(1) == 2'), check('candidate(1)\nraise ValueError()')]);
  assert.deepEqual(r.tests.map((t) => [t.verdict, t.exitedOk, t.producedOutput]), [
    ['passed', true, false], ['wrong_output', true, true], ['runtime_error', false, true]]);
});

test('values cross into fresh objects of the same exact types, and back', async () => {
  const literals = [
    '(1, (2, [3.5]))', "{'b': 1, 2: (3,), (1, 'a'): None}", '{3, 1, 2}', 'frozenset({(1, 2)})', "b'\\xff\\x00'", "bytearray(b'ab')",
    'float("nan")', 'float("inf")', '-0.0', '10 ** 400', '-(2 ** 70)', '1 + 2j', 'range(1, 10, 3)', 'slice(1, None, 2)', '...',
    '"caf\\u00e9 \\U0001F600 \\ud800"', 'True', 'None', '[]', '()', 'set()',
    'decimal.Decimal("1.10")', 'fractions.Fraction(3, 4)',
    'collections.OrderedDict([(2, "b"), (1, "a")])', 'collections.Counter("hello")', 'collections.defaultdict(list, {1: [2]})',
    'collections.deque([1, 2], maxlen=5)',
    'datetime.date(2013, 5, 7)', 'datetime.datetime(2022, 10, 22, 11, 59, 59, 200000)',
    'datetime.datetime(2022, 1, 1, 1, tzinfo=datetime.timezone(datetime.timedelta(hours=2), "X"))', 'datetime.time(7, 6, 0, 250)',
    'datetime.timedelta(days=7, seconds=1)', 'time.strptime("30/03/09 16:31:32", "%d/%m/%y %H:%M:%S")', 'pathlib.PurePosixPath("/a/b")',
    'int', 'math.sqrt', 'collections', 'ValueError',
  ];
  // (the program wraps its argument in a list: returning the argument itself would hand back the checker's own object)
  const setup = 'import collections, datetime, decimal, fractions, math, pathlib, time';
  const body = literals.map((l) => [
    `v = ${l}`,
    'r = candidate(v)[0]',
    `assert type(r) is type(v), (${JSON.stringify(l)}, type(r))`,
    `assert r == v or (r != r and v != v), (${JSON.stringify(l)}, r)`,
    'assert r is not v or v in ((),) or type(v) in (bool, type(None), type(Ellipsis), type, type(math.sqrt), type(collections))',
  ].join('\n')).join('\n');
  const r = await run('def f(x):\n    return [x]\n', [check(body, setup)]);
  assert.equal(r.tests[0].verdict, 'passed', why(r));
  // a tuple is not a list, a namedtuple keeps its fields, a Counter its semantics
  assert.deepEqual(await verdicts('import collections\ndef f(x):\n    P = collections.namedtuple("P", "x y")\n    return [(1, 2), P(3, 4), collections.Counter("aab")]\n',
    'a, p, c = candidate(0)\nassert a == (1, 2) and a != [1, 2]\nassert p.y == 4 and p == (3, 4)\nassert c["a"] == 2 and c["z"] == 0'), ['passed']);
  // subclasses of builtins arrive as the builtin
  assert.deepEqual(await verdicts('class S(str):\n    pass\nclass I(int):\n    pass\ndef f(x):\n    return [S("a"), I(3)]\n',
    'assert [type(v) for v in candidate(0)] == [str, int]'), ['passed']);
});

test('NumPy arrays and scalars cross with their dtype and shape', async () => {
  const setup = 'import numpy as np';
  const body = [
    'for v in (np.arange(6).reshape(2, 3), np.array([1.5, np.nan]), np.array(["ab", "c"]), np.zeros((0, 2)), np.array(3.5),',
    '          np.array([(9, 7), (8, 1)], dtype=[("f0", "<i4"), ("f1", "<i4")]), np.array([1, "a", None], dtype=object),',
    '          np.float32(2.5), np.int64(-3), np.bool_(True)):',
    '    r = candidate(v)[0]',
    '    assert type(r) is type(v) and r.dtype == v.dtype and r.shape == v.shape, (v, r)',
    '    assert np.array_equal(r, v, equal_nan=v.dtype.kind == "f"), (v, r)',
  ].join('\n');
  const r = await run('def f(x):\n    return [x]\n', [check(body, setup)]);
  assert.equal(r.tests[0].verdict, 'passed', why(r));
});

test('arguments the program changes in place are changed back; identity survives a round trip', async () => {
  const r = await run('def f(a, b=None):\n    a.append(3)\n    if b is not None:\n        b[0, 0] = 9\n    return a\n', [
    check('x = [1]\ny = candidate(x)\nassert x == [1, 3] and y is x'),
    check('import numpy as np\nm = np.zeros((2, 2))\ncandidate([], m)\nassert m[0, 0] == 9'),
  ]);
  assert.deepEqual(r.tests.map((t) => t.verdict), ['passed', 'passed'], why(r));
});

test('functions, generators and the program\'s objects arrive as references', async () => {
  const program = [
    'class Tag:',
    '    def __init__(self, n):',
    '        self.name = n',
    '    def upper(self):',
    '        return self.name.upper()',
    'def f(kind):',
    '    if kind == "gen":',
    '        return (i * i for i in range(4))',
    '    if kind == "fn":',
    '        return lambda y: y + 1',
    '    return [Tag("a"), Tag("b")]',
  ].join('\n');
  assert.deepEqual(await verdicts(program,
    'assert list(candidate("gen")) == [0, 1, 4, 9]',
    'assert candidate("fn")(1) == 2',
    'tags = candidate("objects")\nassert [t.name for t in tags] == ["a", "b"] and tags[1].upper() == "B" and len(tags) == 2',
    // passing the program's own object back to it works; comparing it does not
    'g = candidate("fn")\nassert candidate("fn") is not g\nassert g is g',
    'assert candidate("objects")[0] == 1',
  ), ['passed', 'passed', 'passed', 'passed', 'runtime_error']);
});

test('test objects lent to the program: files, Mocks, instances of the test\'s classes', async () => {
  const setup = 'from unittest.mock import Mock\nfrom queue import PriorityQueue\nclass Tag:\n    def __init__(self, name, count):\n        self.name = name\n        self.count = count';
  const program = [
    'def f(kind, x):',
    '    if kind == "file":',
    '        return [line.rstrip("\\n") for line in x]',
    '    if kind == "write":',
    '        x.write("hello")',
    '        return None',
    '    if kind == "mock":',
    '        return x.storlines("STOR a", 3)',
    '    if kind == "sort":',
    '        x.sort(key=lambda t: t.count, reverse=True)',
    '        return x',
    '    if kind == "queue":',
    '        for n in [1, 3, 2]:',
    '            x.put((-n, n))',
    '        return x',
    '    if kind == "attr":',
    '        return getattr(x, "count")',
  ].join('\n');
  const r = await run(program, [
    check('open("a.txt", "w").write("1\\n2\\n")\nwith open("a.txt") as fh:\n    assert candidate("file", fh) == ["1", "2"]', setup),
    check('fh = open("b.txt", "w")\ncandidate("write", fh)\nfh.close()\nassert open("b.txt").read() == "hello"', setup),
    check('m = Mock()\nm.storlines.return_value = 7\nassert candidate("mock", m) == 7\nm.storlines.assert_called_once_with("STOR a", 3)', setup),
    check('tags = [Tag("red", 1), Tag("blue", 22)]\nres = candidate("sort", tags)\nassert res[0] is tags[0] and res[0].name == "blue"', setup),
    check('q = PriorityQueue()\nq = candidate("queue", q)\nassert [q.get()[1] for _ in range(3)] == [3, 2, 1]', setup),
    check('assert candidate("attr", Tag("x", 5)) == 5', setup),
  ]);
  assert.deepEqual(r.tests.map((t) => t.verdict), ['passed', 'passed', 'passed', 'passed', 'passed', 'passed'], why(r));
});

test('module attributes the test replaces are replaced for the program; process state is read from it', async () => {
  const setup = 'import subprocess, sys, os, warnings\nfrom unittest.mock import Mock';
  const r = await run('import subprocess, sys, os, warnings\ndef f(kind):\n    if kind == "ps":\n        return subprocess.check_output("echo real", shell=True)\n'
    + '    sys.path.append("/path/to/whatever")\n    os.environ["SCRL"] = "1"\n    warnings.simplefilter("always")\n', [
    check('subprocess.check_output = Mock(return_value=b"out")\nassert candidate("ps") == b"out"', setup),
    check('candidate("state")\nassert "/path/to/whatever" in sys.path and os.environ["SCRL"] == "1"\nassert any(wf[0] == "always" for wf in warnings.filters)', setup),
    // the checker's own modules are not the program's: without the patch the real command runs
    check('assert candidate("ps") != b"out"', setup),
  ]);
  assert.deepEqual(r.tests.map((t) => t.verdict), ['passed', 'passed', 'passed'], why(r));
});

test('names: the bound entry point, other program functions by name, modules the program imported', async () => {
  const program = 'import numpy as np\nimport statistics\nimport cmath as math\nfrom math import sqrt\nfrom os import getcwd\n'
    + 'def helper(x):\n    return x + 1\ndef f(x):\n    return helper(x) * 2\n';
  const r = await run(program, [
    check('assert candidate(1) == 4 and helper(1) == 2'),
    // `np`, `statistics` and `sqrt` come from the program's imports; the checker imports the same itself
    check('assert np.array_equal(np.array([candidate(0)]), np.array([2])) and statistics.mean([1, 3]) == 2 and sqrt(4) == 2'),
    // a missing entry point is a crash of the test, not a failure
    check('candidate(1)', '', { candidate: 'nope' }),
    // a module under another module's name is not bound
    check('math.sqrt(4)'),
    // a function of a module that does more than compute (files, processes, memory) stays a reference:
    // calling it runs it in the program's process, not in the checker
    check('assert getcwd() == "/tmp" and repr(getcwd).startswith("<object #")'),
  ]);
  assert.deepEqual(r.tests.map((t) => t.verdict), ['passed', 'passed', 'runtime_error', 'runtime_error', 'passed'], why(r));
  assert.match(r.tests[2].stderr, /the program defines no 'nope'/u);
  assert.match(r.tests[3].stderr, /NameError: name 'math' is not defined/u);
});

test('value and check tests mix in one task; the check code never enters the program\'s process', async () => {
  const program = [
    'import ctypes, gc, sys',
    'def f(x):',
    '    ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)      # dumpable again, so /proc/self/mem opens',
    '    needle = b"zq-marker"',
    '    found = False',
    '    for o in gc.get_objects():',
    '        i = o.find("zq-marker") if isinstance(o, str) else -1',
    '        if i >= 0 and o[i + 9:i + 14] == "-4711":',
    '            found = True',
    '    with open("/proc/self/maps") as maps:',
    '        regions = [line.split() for line in maps]',
    '    with open("/proc/self/mem", "rb", 0) as mem:',
    '        for r in regions:',
    '            if not r[1].startswith("r") or (len(r) > 5 and r[5] in ("[vvar]", "[vsyscall]")):',
    '                continue',
    '            lo, hi = (int(v, 16) for v in r[0].split("-"))',
    '            try:',
    '                mem.seek(lo)',
    '                data = mem.read(hi - lo)',
    '            except (OSError, OverflowError, ValueError):',
    '                continue',
    '            i = data.find(needle)',
    '            while i >= 0:',
    '                if data[i + 9:i + 14] == b"-4711":',
    '                    found = True',
    '                i = data.find(needle, i + 1)',
    '    return "found" if found else x',
  ].join('\n');
  const r = await judge.judge({
    program, style: 'call', fnName: 'f',
    tests: [{ input: [3], output: 3 }, check('assert candidate(5) == 5, "zq-marker-4711"'), { input: [4], output: 4 }],
  });
  assert.deepEqual(r.tests.map((t) => t.verdict), ['passed', 'passed', 'passed'], why(r));
  // the control: a job's call arguments do enter the program's process, and the scan finds them
  const control = await judge.judge({ program, style: 'call', fnName: 'f', tests: [{ input: ['zq-marker-4711'], output: 'found' }] });
  assert.equal(control.tests[0].verdict, 'passed', why(control));
});

test('programs run as a module named other than __main__ in call style and check tests; stdin keeps __main__', async () => {
  const program = 'def f(x):\n    return x + 1\nif __name__ == "__main__":\n    n = int(input())\n    print(f(n))\n';
  const call = await judge.judge({ program, style: 'call', fnName: 'f', tests: [{ input: [1], output: 2 }] });
  assert.equal(call.tests[0].verdict, 'passed', why(call));
  assert.equal((await run(program, [check('assert candidate(1) == 2')])).tests[0].verdict, 'passed');
  const stdin = await judge.judge({ program, style: 'stdin', tests: [{ input: '1\n', output: '2\n' }] });
  assert.equal(stdin.tests[0].verdict, 'passed');
  const name = await judge.judge({ program: 'def f():\n    return __name__\n', style: 'call', fnName: 'f', tests: [{ input: [], output: '__program__' }] });
  assert.equal(name.tests[0].verdict, 'passed');
});

test('a check test needs a call-style task', async () => {
  await assert.rejects(judge.judge({ program: 'pass\n', style: 'stdin', tests: [check('pass')] }), /call-style/u);
});

test('the check-test machinery is loaded only by servers that get check tests, and plain jobs favour the others', async () => {
  const own = new Judge({ workers: 2, sandbox: { uidBase: 61700 + (process.pid % 100) * 2 } });
  try {
    // A plain program sees the server's modules: a fork server holds what its children inherit.
    const loaded = async (): Promise<string> => (await own.judge({
      program: 'import sys\nprint("scrl_checktest" in sys.modules, "scrl_codec" in sys.modules)\n', style: 'stdin', tests: [{ input: '', output: '' }],
    })).tests[0].stdout;
    assert.equal(await loaded(), 'False False\n');
    const checked = await own.judge({ program: 'import sys\ndef f(x):\n    return "scrl_checktest" in sys.modules\n', style: 'call', fnName: 'f',
      tests: [check('assert candidate(1) is True')] });
    assert.equal(checked.tests[0].verdict, 'passed', why(checked));
    // one job at a time: every worker is as busy as the other, and plain jobs go to the lean one
    for (let i = 0; i < 4; i++) assert.equal(await loaded(), 'False False\n');
  } finally {
    await own.close();
  }
});
