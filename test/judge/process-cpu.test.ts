// The CPU figures `bench judge` reports per light test come from /proc/<pid>/stat of the fork servers:
// the server must be the process found, and a pass whose server went away must not be summed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Judge, DEFAULT_SANDBOX } from '../../src/judge/index.js';
import { CpuTally, forkServerPid, processCpu } from '../../src/judge/process-cpu.js';

/** The pid a process has in each PID namespace it is in, outermost first (NSpid in /proc/<pid>/status). */
function nsPids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('NSpid:'))!;
  return line.split(/\s+/).slice(1).filter(Boolean).map(Number);
}

test('forkServerPid finds the sandboxed fork server: PID 1 of its own namespace, running python', async () => {
  const judge = new Judge({ workers: 1, sandbox: { uidBase: DEFAULT_SANDBOX.uidBase + 700 + (process.pid % 100) } });
  try {
    await judge.warmUp();
    const [workerPid] = judge.workerPids;
    assert.ok(workerPid !== undefined);
    const server = forkServerPid(workerPid, true);
    assert.ok(server !== null);
    assert.deepEqual(nsPids(server).slice(-1), [1]);
    assert.match(readFileSync(`/proc/${server}/comm`, 'utf8'), /^python/);
    const result = await judge.judge({ program: 'print("ok")\n', style: 'stdin', tests: [{ input: '', output: 'ok' }] });
    assert.equal(result.tests[0].verdict, 'passed');
    const cpu = processCpu(server)!;
    assert.ok(cpu.own >= 0 && cpu.children >= 0);
    // The server has run, and forked and reaped the test's child: page faults are counted for both.
    assert.ok(cpu.ownFaults > 0 && cpu.childrenFaults > 0, JSON.stringify(cpu));
    // Unsandboxed, the worker's process is the server.
    assert.equal(forkServerPid(workerPid, false), workerPid);
  } finally {
    await judge.close();
  }
});

test('CpuTally sums only passes whose processes lived through them', () => {
  const tally = new CpuTally();
  assert.equal(tally.perTest(), null);
  tally.begin([process.pid])(10);
  const figures = tally.perTest()!;
  for (const value of Object.values(figures)) assert.ok(Number.isInteger(value) && value >= 0);
  // A pid that does not exist (beyond pid_max) makes the pass count for nothing.
  const empty = new CpuTally();
  empty.begin([process.pid, 1 << 30])(10);
  assert.equal(empty.perTest(), null);
  assert.equal(processCpu(1 << 30), null);
});
