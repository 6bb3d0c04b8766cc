import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BareForkServers } from '../../src/bench/bare-limit.js';
import { forkServerFiles } from '../../src/judge/sandbox.js';

// The bench's limit must run a program as the judge does (scrl_program_env), or it measures other work.
test('the bench\'s bare fork server runs programs as the judge does: APPS+ entry call, call prelude, fixed random state', async () => {
  const started = Date.now() - 1000;
  const bare = new BareForkServers('/usr/bin/python3', 1);
  await bare.start();
  try {
    const entry = 'def solve():\n    a, b = map(int, input().split())\n    print(a + b)\n';
    assert.deepEqual(await bare.outputs({ program: entry, style: 'stdin', fnName: 'solve', tests: [{ input: '2 3\n', output: '5\n' }] }), ['5\n']);
    assert.deepEqual(await bare.outputs({ program: `${entry}solve()\n`, style: 'stdin', fnName: 'solve', tests: [{ input: '1 1\n', output: '2\n' }] }), ['2\n'],
      'called once: the program calls it itself');
    const call = 'class Solution:\n    def f(self, s: str) -> List[str]:\n        return sorted(Counter(s))\n';
    assert.deepEqual(await bare.outputs({ program: call, style: 'call', fnName: 'f', tests: [{ input: ['aba'], output: ['a', 'b'] }] }), ['["a", "b"]\n']);
    const draws = await bare.outputs({ program: 'import random\nprint(random.random())\n', style: 'stdin', tests: [{ input: '', output: '' }, { input: '', output: '' }] });
    assert.equal(draws[0], draws[1]);
  } finally {
    await bare.close();
  }
  // It imports from the package's python/ folder and writes nothing there (no bytecode cache).
  const cache = join(forkServerFiles().dir, '__pycache__');
  const written = (() => { try { return readdirSync(cache).filter((f) => statSync(join(cache, f)).mtimeMs >= started); } catch { return []; } })();
  assert.deepEqual(written, []);
});
