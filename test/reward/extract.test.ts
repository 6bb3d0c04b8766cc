import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endsInFunctionStub, extractProgram, firstFencedBlock } from '../../src/reward/index.js';

test('the first python or untagged fenced block wins', () => {
  const text = 'Intro\n```bash\nls\n```\n```python\nprint(1)\n```\nthen\n```\nprint(2)\n```';
  assert.equal(firstFencedBlock(text), 'print(1)\n');
  assert.equal(firstFencedBlock('```\nprint(2)\n```'), 'print(2)\n');
  assert.equal(firstFencedBlock('```py\nx=1\n```'), 'x=1\n');
  assert.equal(firstFencedBlock('```python\nunterminated = 1\n'), 'unterminated = 1\n', 'a block cut off by max tokens still counts');
  assert.equal(firstFencedBlock('no code here'), null);
  assert.equal(firstFencedBlock('```js\nx\n```'), null);
});

test('without a fence the whole completion is the program', () => {
  assert.deepEqual(extractProgram('print(1)\n'), { program: 'print(1)\n', source: 'whole' });
  assert.deepEqual(extractProgram('Sure!\n```python\nprint(1)\n```'), { program: 'print(1)\n', source: 'fenced' });
});

test('a prompt ending in a function stub is prepended to a body-only completion', () => {
  const prompt = '\ndef solve():\n    """Read n and print n+1.\n    """\n';
  assert.ok(endsInFunctionStub(prompt));
  assert.ok(endsInFunctionStub('def f(a,\n      b):  # note\n    # comment\n'));
  assert.ok(!endsInFunctionStub('def f():\n    return 1\n'));
  assert.ok(!endsInFunctionStub('Write a program that reads n.'));
  const body = '    n = int(input())\n    print(n + 1)\n';
  assert.deepEqual(extractProgram(body, prompt, 'solve'), { program: prompt + body, source: 'stub+completion' });
  const full = 'def solve():\n    print(int(input()) + 1)\n';
  assert.deepEqual(extractProgram(full, prompt, 'solve'), { program: full, source: 'whole' }, 'a full function is taken as it is');
  assert.deepEqual(extractProgram('', prompt, 'solve'), { program: '', source: 'whole' }, 'an empty answer stays empty');
});

test('imports before the docstring still make a stub; an ODEX-style prompt is continued with its suffix', () => {
  const humaneval115 = '\ndef max_fill(grid, capacity):\n    import math\n    """\n    Count the buckets.\n    """\n';
  assert.ok(endsInFunctionStub(humaneval115));
  assert.ok(!endsInFunctionStub('def f():\n    import math\n    return math.pi\n'));
  const odexPrompt = 'def f_3283984():\n\treturn ';
  assert.deepEqual(extractProgram("bytes.fromhex('4a4b4c').decode('utf-8')", odexPrompt, 'f_3283984', ''),
    { program: "def f_3283984():\n\treturn bytes.fromhex('4a4b4c').decode('utf-8')", source: 'stub+completion' });
  const whole = 'def f_3283984():\n    return "JKL"\n';
  assert.deepEqual(extractProgram(whole, odexPrompt, 'f_3283984', ''), { program: whole, source: 'whole' });
});

test('extractProgramFor: a prose prompt (CyberSecEval) is never joined to the completion, a code stub is', async () => {
  const { loadDataset } = await import('../../src/data/index.js');
  const { extractProgramFor } = await import('../../src/reward/index.js');
  // This autocomplete prompt quotes code whose last `def` is followed only by comments.
  const p = loadDataset('cyberseceval', { variant: 'autocomplete' }).problems.find((x) => x.id === 'autocomplete/1604')!;
  assert.equal(p.promptKind, 'text');
  assert.deepEqual(extractProgramFor(p, 'x = 1\n'), { program: 'x = 1\n', source: 'whole' });
  const stub = { id: 's', prompt: 'def f(x):\n    """Twice x."""\n', style: 'call' as const, fnName: 'f', tests: [], promptKind: 'code' as const };
  assert.equal(extractProgramFor(stub, '    return 2 * x\n').source, 'stub+completion');
});
