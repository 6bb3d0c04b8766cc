// The judge without bubblewrap (isolation: false) keeps its own bookkeeping safe: it kills the
// processes a test leaves behind and nothing else on the machine, and cleans nothing outside.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Judge } from '../../src/judge/index.js';
import { commandLinesContaining } from './helpers.js';

test('unsandboxed: leftovers are killed, unrelated processes and files survive', async () => {
  // A sleep of its own length, so that another run of this test on the machine is not mistaken for ours.
  const sleep = `61.${process.pid}`;
  const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
  const dir = mkdtempSync(join(tmpdir(), 'scrl-unsandboxed-'));
  writeFileSync(join(dir, 'keep.txt'), 'keep');
  const judge = new Judge({ workers: 1, sandbox: { isolation: false }, limits: { cpuSeconds: 1, wallSeconds: 3 } });
  try {
    const program = [
      'import os, time',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      `        os.execvp("sleep", ["sleep", "${sleep}"])`,
      '    os._exit(0)',
      'print(os.getpid())',
    ].join('\n');
    const result = await judge.judge({ program, style: 'stdin', tests: [{ input: '', output: '' }] });
    assert.equal(result.tests[0].exitCode, 0);
    const honest = await judge.judge({ program: 'print(int(input()) + 1)\n', style: 'stdin', tests: [{ input: '1\n', output: '2\n' }] });
    assert.equal(honest.tests[0].verdict, 'passed');
    // a check test (checker + program's child), whose program also leaves a daemon behind
    const daemon = `import os\ndef f(x):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            os.execvp("sleep", ["sleep", "${sleep}"])\n        os._exit(0)\n    return x + 1\n`;
    const checked = await judge.judge({
      program: daemon, style: 'call', fnName: 'f',
      tests: [{ input: [], output: null, check: { body: 'assert candidate(1) == 2', bind: { candidate: 'f' } } },
        { input: [], output: null, check: { body: 'assert candidate(1) == 3', bind: { candidate: 'f' } } }],
    });
    assert.deepEqual(checked.tests.map((t) => t.verdict), ['passed', 'wrong_output']);
    // the daemonised grandchild is gone
    assert.deepEqual(commandLinesContaining(`sleep ${sleep}`), []);
    assert.equal(bystander.exitCode, null, 'a process outside the judge must survive');
    assert.ok(existsSync(join(dir, 'keep.txt')), 'files outside the judge must survive');
  } finally {
    await judge.close();
    bystander.kill();
  }
});
