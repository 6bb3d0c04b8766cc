// Programs that try to break out, cheat or take the judge down. Each must get the right verdict, leave
// no process behind, change nothing outside the sandbox, and leave the judge scoring correctly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Judge, DEFAULT_SANDBOX, type JudgeTask, type TestVerdict } from '../../src/judge/index.js';
import { processesOf } from './helpers.js';

const WORKERS = 2;
const uids = Array.from({ length: WORKERS }, (_, i) => DEFAULT_SANDBOX.uidBase + i);
const runningAsRoot = process.getuid?.() === 0;

let judge: Judge;
let hostDir: string;
let server: Server;
let connections = 0;
let port = 0;

before(async () => {
  judge = new Judge({ workers: WORKERS, limits: { cpuSeconds: 1, wallSeconds: 3, memoryMb: 256 } });
  await judge.warmUp();
  hostDir = mkdtempSync(join(tmpdir(), 'scrl-adv-'));
  writeFileSync(join(hostDir, 'secret.txt'), 'expected output\n');
  server = createServer((socket) => { connections++; socket.end('hello'); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as { port: number }).port;
});

after(async () => {
  await judge.close();
  server.close();
  rmSync(hostDir, { recursive: true, force: true });
  await new Promise((resolve) => setTimeout(resolve, 200));
  if (runningAsRoot) assert.deepEqual(processesOf(uids), [], 'processes left after the judge closed');
});

async function expectVerdict(program: string, verdict: TestVerdict, output = 'ok', style: JudgeTask['style'] = 'stdin'): Promise<string> {
  const result = await judge.judge({ program, style, tests: [{ input: '', output }] });
  assert.equal(result.syntaxOk, true, result.syntaxError);
  assert.equal(result.tests[0].verdict, verdict, `stdout: ${result.tests[0].stdout.slice(0, 300)}\nstderr: ${result.tests[0].stderr.slice(-600)}`);
  return result.tests[0].stdout;
}

/** After each attack: only the fork servers (and their bwrap parents) run under the workers' uids,
 * the host directory is untouched, and an honest program is still judged right. */
async function assertJudgeHealthy(): Promise<void> {
  if (runningAsRoot) {
    const left = processesOf(uids).filter((p) => p.name !== 'bwrap');
    assert.ok(left.length <= WORKERS, `unexpected processes: ${JSON.stringify(left)}`);
    assert.ok(left.every((p) => p.name.startsWith('python')), `unexpected processes: ${JSON.stringify(left)}`);
  }
  assert.equal(readFileSync(join(hostDir, 'secret.txt'), 'utf8'), 'expected output\n');
  const honest = await judge.judge({
    program: 'n = int(input())\nprint(n * 2)\n', style: 'stdin',
    tests: [{ input: '21\n', output: '42\n' }, { input: '5\n', output: '10\n' }],
  });
  assert.deepEqual(honest.tests.map((t) => t.verdict), ['passed', 'passed']);
}

describe('adversarial programs', () => {
  test('fork bomb hits the process limit and then the CPU limit', async () => {
    await expectVerdict('import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n', 'timeout');
    await assertJudgeHealthy();
  });

  test('memory bomb gets memory_limit', async () => {
    await expectVerdict('x = bytearray(10 ** 10)\nprint("ok")\n', 'memory_limit');
    await expectVerdict('chunks = []\nwhile True:\n    chunks.append(bytearray(10 ** 7))\n', 'memory_limit');
    await assertJudgeHealthy();
  });

  test('endless loop gets timeout on CPU time', async () => {
    await expectVerdict('while True:\n    pass\n', 'timeout');
    await assertJudgeHealthy();
  });

  test('sleeping forever is stopped by the wall-time backstop', async () => {
    await expectVerdict('import time\ntime.sleep(3600)\n', 'timeout');
    await assertJudgeHealthy();
  });

  test('endless output gets output_limit', async () => {
    await expectVerdict('while True:\n    print("x" * 1000)\n', 'output_limit');
    await expectVerdict('import sys\nwhile True:\n    sys.stderr.write("e" * 1000)\n', 'timeout');
    await assertJudgeHealthy();
  });

  test('a background process that outlives the program is killed', async () => {
    const program = [
      'import os, time',
      'if os.fork() == 0:',
      '    os.setsid()',
      '    if os.fork() == 0:',
      '        time.sleep(60)',
      '    os._exit(0)',
      'print("ok")',
    ].join('\n');
    await expectVerdict(program, 'passed');
    await assertJudgeHealthy();
  });

  test('writes outside the sandbox fail and the host is unchanged', async () => {
    const targets = [join(hostDir, 'pwned'), '/usr/pwned', '/etc/pwned', '/pwned', join(process.cwd(), 'pwned')];
    const program = [
      'import os',
      `for path in ${JSON.stringify(targets)}:`,
      '    try:',
      '        with open(path, "w") as f:',
      '            f.write("x")',
      '        print("wrote", path)',
      '    except OSError:',
      '        pass',
      'open("/tmp/inside", "w").write("fine")',
      'print("ok")',
    ].join('\n');
    await expectVerdict(program, 'passed');
    for (const target of targets) assert.equal(existsSync(target), false, target);
    assert.equal(existsSync('/tmp/inside'), false);
    // Nor does anything carry over from one run to the next inside the sandbox.
    await expectVerdict('import os\nprint("ok" if not os.listdir("/tmp") and not os.listdir("/dev/shm") else os.listdir("/tmp"))\n', 'passed');
    await assertJudgeHealthy();
  });

  test('no network: a loopback server on the host is unreachable', async () => {
    const program = [
      'import socket',
      'try:',
      `    socket.create_connection(("127.0.0.1", ${port}), timeout=1)`,
      '    print("connected")',
      'except OSError:',
      '    print("ok")',
    ].join('\n');
    await expectVerdict(program, 'passed');
    assert.equal(connections, 0);
    await assertJudgeHealthy();
  });

  test('the tests and the data files are not visible inside the sandbox', async () => {
    const paths = [hostDir, join(hostDir, 'secret.txt'), process.cwd(), '/work', '/root', '/home'];
    const program = [
      'import os',
      `print(sum(os.path.exists(p) for p in ${JSON.stringify(paths)}))`,
    ].join('\n');
    assert.equal(await expectVerdict(program, 'wrong_output', 'never printed'), '0\n');
    await assertJudgeHealthy();
  });

  test('killing the worker is impossible: SIGKILL to PID 1, the parent and everyone', async () => {
    await expectVerdict('import os, signal\nos.kill(1, signal.SIGKILL)\nos.kill(os.getppid(), signal.SIGKILL)\nprint("ok")\n', 'passed');
    await expectVerdict('import os, signal\nos.kill(-1, signal.SIGKILL)\n', 'runtime_error');
    await expectVerdict('import os, signal\nfor s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):\n    os.kill(1, s)\nprint("ok")\n', 'passed');
    assert.equal(judge.restarts, 0);
    await assertJudgeHealthy();
  });

  test('the server\'s memory and descriptors cannot be reached through /proc', async () => {
    const program = [
      'count = 0',
      'for path in ("/proc/1/mem", "/proc/1/environ", "/proc/1/fd/100"):',
      '    try:',
      '        open(path, "rb").read(1)',
      '        count += 1',
      '    except OSError:',
      '        pass',
      'print(count)',
    ].join('\n');
    await expectVerdict(program, 'passed', '0');
    await assertJudgeHealthy();
  });

  test('os._exit and sys.exit before any output do not pass', async () => {
    await expectVerdict('import os\nos._exit(0)\n', 'no_output');
    await expectVerdict('import sys\nsys.exit(0)\n', 'no_output');
    await expectVerdict('print("ok")\nimport sys\nsys.exit(3)\n', 'runtime_error');
    const call = await judge.judge({
      program: 'import sys\ndef f(x):\n    sys.exit(0)\n', style: 'call', fnName: 'f', tests: [{ input: [1], output: 1 }],
    });
    assert.equal(call.tests[0].verdict, 'no_output');
    const swallowed = await judge.judge({
      program: 'import os\ndef f(x):\n    try:\n        raise SystemExit(0)\n    finally:\n        os._exit(0)\n', style: 'call', fnName: 'f',
      tests: [{ input: [1], output: 1 }],
    });
    assert.equal(swallowed.tests[0].verdict, 'no_output');
    await assertJudgeHealthy();
  });

  test('ignoring SIGTERM and SIGXCPU does not escape the CPU limit', async () => {
    await expectVerdict('import signal\nfor s in (signal.SIGTERM, signal.SIGXCPU, signal.SIGINT):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    pass\n', 'timeout');
    await assertJudgeHealthy();
  });

  test('raising its own rlimits is refused', async () => {
    const program = [
      'import resource',
      'refused = 0',
      'for limit in (resource.RLIMIT_CPU, resource.RLIMIT_AS, resource.RLIMIT_NPROC):',
      '    try:',
      '        resource.setrlimit(limit, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))',
      '    except (ValueError, OSError):',
      '        refused += 1',
      'print("ok" if refused == 3 else "raised")',
      'while True:',
      '    pass',
    ].join('\n');
    await expectVerdict(program, 'timeout');
    await assertJudgeHealthy();
  });

  test('the equality hack does not pass a call-style test', async () => {
    const programs = [
      'class Anything:\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Anything()\n',
      'class Sneaky(int):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Sneaky(7)\n',
      'class Sneaky(list):\n    def __eq__(self, other):\n        return True\ndef f(x):\n    return Sneaky()\n',
    ];
    for (const program of programs) {
      const result = await judge.judge({ program, style: 'call', fnName: 'f', tests: [{ input: [1], output: [1, 2, 3] }] });
      assert.equal(result.tests[0].verdict, 'wrong_output', program);
    }
    await assertJudgeHealthy();
  });

  test('creating a user namespace to regain capabilities is refused', async () => {
    const program = [
      'import ctypes',
      'CLONE_NEWUSER = 0x10000000',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'print("ok" if libc.unshare(CLONE_NEWUSER) != 0 else "unshared")',
    ].join('\n');
    await expectVerdict(program, 'passed');
    await assertJudgeHealthy();
  });

  test('a worker killed from outside is restarted and the job retried', { skip: !runningAsRoot && 'needs root to see the workers by uid' }, async () => {
    const pending = judge.judge({ program: 'import time\ntime.sleep(1)\nprint("ok")\n', style: 'stdin', tests: [{ input: '', output: 'ok' }] });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const before = judge.restarts;
    for (const p of processesOf(uids).filter((p) => p.name.startsWith('python'))) process.kill(p.pid, 'SIGKILL');
    const result = await pending;
    assert.equal(result.tests[0].verdict, 'passed');
    assert.ok(judge.restarts > before);
    await assertJudgeHealthy();
  });
});
