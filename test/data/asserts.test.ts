import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { compileAsserts, judgeTaskFor, type AssertSource, type Problem } from '../../src/data/index.js';
import { Judge } from '../../src/judge/index.js';
import type { JudgeResult } from '../../src/judge/types.js';

// Real judge, real sandbox: every cheat below runs in bubblewrap exactly as a model's program would.
let judge: Judge;
before(() => { judge = new Judge({ workers: 2 }); });
after(async () => { await judge.close(); });

function problem(source: AssertSource, id = 'p'): Problem {
  const compiled = compileAsserts(source);
  return {
    id, prompt: '', style: 'call', fnName: source.entryPoint ?? source.programFunctions?.[0], tests: compiled.tests,
    harness: compiled.harness, ...(compiled.compare ? { compare: compiled.compare } : {}),
  };
}

async function run(p: Problem, program: string): Promise<JudgeResult> {
  return judge.judge(judgeTaskFor(p, program));
}

const passed = (r: JudgeResult) => r.tests.map((t) => t.verdict === 'passed');

test('classification: value tests for comparisons with constants, scripts for the rest', () => {
  const { harness, tests, constantAsserts } = compileAsserts({
    entryPoint: 'f',
    blocks: [[
      '    assert candidate(1) == (1, 2)',
      '    assert (candidate(2) == "x"), "message"',
      '    assert candidate(3) is None',
      '    assert not candidate(4)',
      '    assert math.isclose(candidate(5), 2.5, rel_tol=0.01)',
      '    assert abs(candidate(6) - 2.0/3.0) < 1e-6',
      '    assert type(candidate(7)) == list',
      '    assert True, "filler"',
      '    assert candidate(8) != 3',
      '    assert candidate(9) > 3 == True',
      '    x = candidate(10) > 3',
      '    assert x == True',
      '    for i in range(3):',
      '        assert candidate(i) == i',
    ].join('\n')],
  });
  assert.equal(constantAsserts, 1);
  assert.deepEqual(harness.asserts.map((a) => a.kind), ['value', 'value', 'value', 'value', 'value', 'value', 'value', 'script', 'script', 'script', 'script']);
  assert.deepEqual(tests.slice(0, 4).map((t) => t.output), ['(1, 2)', '"x"', null, '0']);   // a bare None is null, as in call style
  // tolerance tests are scaled so the judge's 1e-6 float comparison means |x - expected| <= tolerance
  assert.equal(harness.asserts[4].tolerance, 0.025);
  assert.equal(tests[4].output, 2.5 * (1e-6 / 0.025));
  assert.equal(harness.asserts[6].expected, 'type:list');
  assert.match(harness.asserts[9].reason!, /statements before it hold a comparison/);
  // the expected sides never enter the sandbox: they are not in the harness
  assert.ok(!harness.code.includes('(1, 2)') && !harness.code.includes('2.5') && !harness.code.includes('"x"'));
});

test('canonical values: Python == in the sandbox agrees with the canonical text computed here', async () => {
  // Each line passes iff the TS canonical form of the literal equals the sandbox's canonical form of
  // the same literal returned by the program, i.e. iff the two sides agree.
  const literals = ['0.1', '1e-05', '123456789.123', '-0.0', '2.5e-300', '10**30', '-7', 'True', '"caf\\u00e9 \\U0001F600 \\x00"',
    "b'\\xff\\x00'", '(1, (2, [3.5]))', "{'b': 1, 2: (3,), (1, 'a'): None}", '{3, 1, 2}', 'frozenset({(1, 2)})', '1+2j', '2.5j',
    '[]', '()', '{}', 'set()', "r'\\d+'", '"\\t\\n"', '[1.0, 2]', 'float("inf")', 'None', '[None, (None,)]'];
  const q = problem({ programFunctions: ['f'], blocks: literals.map((l) => `assert f(${l}) == ${l}`) });
  assert.equal(q.tests.length, literals.length);
  const r = await run(q, 'def f(x):\n    return x\n');
  assert.deepEqual(r.tests.map((t, i) => (t.verdict === 'passed' ? 'ok' : `${literals[i]}: ${JSON.stringify(t.returned)} vs ${JSON.stringify(q.tests[i].output)}`)), literals.map(() => 'ok'));
  // and Python's equalities across types: True == 1 == 1.0, [1, 2] == [1.0, 2.0], set == frozenset; a list is not a tuple
  const eq = compileAsserts({
    programFunctions: ['f'],
    blocks: ['assert f(1) == True', 'assert f([1, 2]) == [1.0, 2.0]', 'assert f({1}) == frozenset({1})', 'assert f([1]) == (1,)', 'assert f({"a": 1}) == {"a": 1.5}'],
  });
  const r2 = await run({ ...q, tests: eq.tests, harness: eq.harness }, 'def f(x):\n    return x\n');
  assert.deepEqual(passed(r2), [true, true, true, false, false]);
});

const MBPP_LIKE: AssertSource = {
  programFunctions: ['add'],
  blocks: ['assert add(1, 2) == 3', 'assert add(2, 2) == 4', 'assert add(-1, 1) == 0'],
};

test('value tests: partial credit counts k of T; a correct program passes all', async () => {
  const p = problem(MBPP_LIKE);
  assert.deepEqual(passed(await run(p, 'def add(a, b):\n    return a + b\n')), [true, true, true]);
  assert.deepEqual(passed(await run(p, 'def add(a, b):\n    return 4 if a == 2 else 3\n')), [true, true, false]);
});

test('value tests: the cheats fail', async () => {
  const p = problem(MBPP_LIKE);
  const cheats: Record<string, string> = {
    'object whose __eq__ always says yes': 'class Yes:\n    def __eq__(self, other): return True\n    __hash__ = object.__hash__\ndef add(a, b):\n    return Yes()\n',
    'int subclass with a lying __eq__': 'class I(int):\n    def __eq__(self, other): return True\n    __hash__ = int.__hash__\ndef add(a, b):\n    return I(7)\n',
    'sys.exit(0) before the tests': 'import sys\ndef add(a, b):\n    return 5\nsys.exit(0)\n',
    'os._exit(0) before the tests': 'import os\ndef add(a, b):\n    return 5\nos._exit(0)\n',
    'sys.exit(0) inside the function': 'import sys\ndef add(a, b):\n    sys.exit(0)\n',
    'raising SystemExit from __del__ / atexit': 'import atexit, os\natexit.register(lambda: os._exit(0))\ndef add(a, b):\n    raise ValueError()\n',
    'redefining the harness and assert helpers first': [
      'def __scrl_canon(v, d=0): return "3"', 'def __scrl_observe(k): return "3"', '__scrl_tests = ()',
      'def check(candidate): pass', 'def add(a, b):\n    return 5',
    ].join('\n'),
    'patching builtins the harness uses': 'import builtins\nbuiltins.isinstance = lambda *a: True\nbuiltins.repr = lambda v: "3"\ndef add(a, b):\n    return 5\n',
    'printing the expected output': 'def add(a, b):\n    print(3)\n    return None\nprint("3\\n4\\n0")\n',
    'swallowing the harness in an open string': 'def add(a, b):\n    return 5\n"""\n',
    'swallowing the harness in an open bracket': 'def add(a, b):\n    return 5\nx = (\n',
    'a generic forged result on the result channel': 'import os\nos.write(3, b\'{"return": true}\\n\')\nos._exit(0)\n',
  };
  for (const [name, program] of Object.entries(cheats)) {
    const r = await run(p, program);
    assert.equal(r.passed, 0, `${name}: ${JSON.stringify(r.tests.map((t) => [t.verdict, t.returned, t.stderr.slice(-200)]))}`);
  }
});

test('truth tests: a lying __bool__ gets exactly what a constant answer gets', async () => {
  const p = problem({ programFunctions: ['even'], blocks: ['assert even(2)', 'assert not even(3)', 'assert even(4)'] });
  assert.deepEqual(passed(await run(p, 'def even(n):\n    return n % 2 == 0\n')), [true, true, true]);
  const lying = 'class B:\n    def __bool__(self): return True\ndef even(n):\n    return B()\n';
  assert.deepEqual(passed(await run(p, lying)), passed(await run(p, 'def even(n):\n    return True\n')));
  assert.deepEqual(passed(await run(p, lying)), [true, false, true]);
});

test('tolerance tests follow rel_tol / abs bounds', async () => {
  const p = problem({ programFunctions: ['area'], blocks: ['assert math.isclose(area(10), 314.15, rel_tol=0.001)', 'assert abs(area(1) - 3.1415) < 1e-6'], setup: 'import math' });
  assert.equal(p.compare, 'float');
  assert.deepEqual(passed(await run(p, 'import math\ndef area(r):\n    return math.pi * r * r\n')), [true, false]);   // 0.0029% off: inside rel_tol, outside 1e-6
  assert.deepEqual(passed(await run(p, 'def area(r):\n    return 3.1415 * r * r\n')), [true, true]);
  assert.deepEqual(passed(await run(p, 'def area(r):\n    return 3.2 * r * r\n')), [false, false]);
  assert.deepEqual(passed(await run(p, 'def area(r):\n    return "314.15"\n')), [false, false]);        // a string is not a number
});

test('script tests are judge check tests: run in a checker process; lying objects and early exits fail', async () => {
  const p = problem({
    programFunctions: ['size'],
    setup: 'import sys',
    blocks: ['assert size((1, 2)) == sys.getsizeof((1, 2))', 'assert size(()) != -1'],
  });
  assert.deepEqual(p.harness!.asserts.map((a) => a.kind), ['script', 'script']);
  assert.deepEqual(p.tests.map((t) => t.check?.body), ['assert size((1, 2)) == sys.getsizeof((1, 2))', 'assert size(()) != -1']);
  assert.ok(p.tests.every((t) => t.check?.setup === 'import sys' && t.check.bind === undefined));
  // the statements (and what they compare with) are not in the code that runs in the program's process
  assert.ok(!p.harness!.code.includes('getsizeof') && !p.harness!.code.includes('-1'));
  assert.deepEqual(passed(await run(p, 'import sys\ndef size(t):\n    return sys.getsizeof(t)\n')), [true, true]);
  const wrong = await run(p, 'def size(t):\n    return 0\n');
  assert.deepEqual(passed(wrong), [false, true]);
  // a failed assert of the test is a wrong answer (as for value tests); one inside the program is a crash
  assert.equal(wrong.tests[0].verdict, 'wrong_output');
  assert.equal((await run(p, 'def size(t):\n    assert t, "no empty tuples"\n    return 0\n')).tests[1].verdict, 'runtime_error');
  const cheats = [
    // the checker does not compare objects the program made: neither == nor != answers
    'class Yes:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return True\ndef size(t):\n    return Yes()\n',
    'class I(int):\n    def __eq__(self, o): return True\n    def __ne__(self, o): return True\n    __hash__ = int.__hash__\ndef size(t):\n    return I(-1)\n',
    'import sys\ndef size(t):\n    sys.exit(0)\n',
    'import os\ndef size(t):\n    os._exit(0)\n',
    'def __scrl_guard(f): return f\ndef __scrl_exact(v, d=0): return v\nclass Yes:\n    def __eq__(self, o): return True\n    def __ne__(self, o): return True\ndef size(t):\n    return Yes()\n',
  ];
  for (const program of cheats) assert.equal((await run(p, program)).passed, 0, program);
  // HumanEval/ODEX style: `candidate` is bound to the entry point
  const q = problem({ entryPoint: 'g', blocks: ['    for i in range(3):\n        assert candidate(i) == i * i'] });
  assert.deepEqual(q.tests[0].check, { body: 'for i in range(3):\n    assert candidate(i) == i * i', bind: { candidate: 'g' } });
  assert.deepEqual(passed(await run(q, 'def g(x):\n    return x * x\n')), [true]);
  assert.deepEqual(passed(await run(q, 'class Yes:\n    def __eq__(self, o): return True\ndef g(x):\n    return Yes()\n')), [false]);
});

test('script tests: the cheats that passed an in-process check fail in the checker', async () => {
  // Each of these passed (or could pass) when a script test ran in the program's process. Now the
  // test code runs in a checker process that the program never ran in: the program holds neither the
  // checker's memory nor the verdict pipe, and can only answer calls. Real sandbox, real checker.
  const p = problem({
    programFunctions: ['size'],
    setup: 'import sys, math',
    blocks: ['assert size((1, 2)) == sys.getsizeof((1, 2))', 'assert math.isclose(size(()), sys.getsizeof(()))'],
  });
  assert.deepEqual(p.harness!.asserts.map((a) => a.kind), ['script', 'script']);
  const verdictLine = 'b\'SCRL-CHECK-VERDICT/1 {"outcome": "passed", "returned": true, "nonce": "00"}\\n\'';
  const cheats: Record<string, string> = {
    'patching the module the assert uses': 'import sys\nsys.getsizeof = lambda t: 7\ndef size(t):\n    return 7\n',
    'patching builtins and math': 'import builtins, math\nbuiltins.len = lambda v: 7\nmath.isclose = lambda *a, **k: True\nbuiltins.isinstance = lambda *a: True\ndef size(t):\n    return 7\n',
    'the old forged token on the result channel': 'import os\nos.write(3, b\'{"return": "script-passed"}\\n\')\nos._exit(0)\n',
    'a forged verdict on every descriptor': `import os\ndef size(t):\n    for fd in range(64):\n        try:\n            os.write(fd, ${verdictLine})\n        except OSError:\n            pass\n    return 7\n`,
    'a forged verdict at import, then exit': `import os\nfor fd in range(64):\n    try:\n        os.write(fd, ${verdictLine})\n    except OSError:\n        pass\nos._exit(0)\n`,
    'sys.exit(0) during a call': 'import sys\ndef size(t):\n    sys.exit(0)\n',
    'os._exit(0) during a call': 'import os\ndef size(t):\n    os._exit(0)\n',
    'an object whose __eq__ always says yes': 'class Yes:\n    def __eq__(self, o): return True\n    __hash__ = object.__hash__\ndef size(t):\n    return Yes()\n',
    'killing every other process (the checker among them)': [
      'import os, signal',
      'def size(t):',
      '    for pid in [int(p) for p in os.listdir("/proc") if p.isdigit()]:',
      '        if pid not in (1, os.getpid()):',
      '            try:',
      '                os.kill(pid, signal.SIGKILL)',
      '            except OSError:',
      '                pass',
      '    return 56',
    ].join('\n'),
    'kill(-1)': 'import os, signal\ndef size(t):\n    os.kill(-1, signal.SIGKILL)\n    return 56\n',
  };
  for (const [name, program] of Object.entries(cheats)) {
    const r = await run(p, program);
    assert.equal(r.passed, 0, `${name}: ${JSON.stringify(r.tests.map((t) => [t.verdict, t.stderr.slice(-200)]))}`);
  }
  // Reading the checker's memory, descriptors or environment through /proc, even after making itself
  // dumpable again: every other process of the sandbox is non-dumpable, so nothing opens.
  const snoop = [
    'import ctypes, os',
    'ctypes.CDLL(None).prctl(4, 1, 0, 0, 0)',
    'def size(t):',
    '    opened = []',
    '    for pid in [p for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]:',
    '        for what in ("mem", "environ", "maps", "fd/0", "fd/3", "fd/4", "fd/5"):',
    '            try:',
    '                with open("/proc/%s/%s" % (pid, what), "rb") as f:',
    '                    f.read(1)',
    '                opened.append(what)',
    '            except OSError:',
    '                pass',
    '    print("others:", len([p for p in os.listdir("/proc") if p.isdigit()]) - 1, "opened:", opened)',
    '    return 56 if opened else 0',
  ].join('\n');
  const r = await run(p, snoop);
  assert.equal(r.passed, 0);
  // (the server and the checker are there to be snooped on)
  assert.deepEqual(r.tests.map((t) => t.stdout), ['others: 2 opened: []\n', 'others: 2 opened: []\n']);
});
