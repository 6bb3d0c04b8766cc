// Programs that try to break out, cheat or take the judge down. Each must get the right verdict, leave
// no process behind, change nothing outside the sandbox, and leave the judge scoring correctly.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Judge, DEFAULT_SANDBOX, type JudgeResult, type JudgeTask, type TestCase, type TestVerdict } from '../../src/judge/index.js';
import { processesOf } from './helpers.js';

const WORKERS = 2;
// Worker uids of this test process's own, apart from the default range other judges on the machine use.
const UID_BASE = DEFAULT_SANDBOX.uidBase + 200 + (process.pid % 200) * WORKERS;
const uids = Array.from({ length: WORKERS }, (_, i) => UID_BASE + i);
const runningAsRoot = process.getuid?.() === 0;

let judge: Judge;
let hostDir: string;
let server: Server;
let connections = 0;
let port = 0;

before(async () => {
  judge = new Judge({ workers: WORKERS, sandbox: { uidBase: UID_BASE }, limits: { cpuSeconds: 1, wallSeconds: 3, memoryMb: 256 } });
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
  if (runningAsRoot) assert.deepEqual(processesOf(uids, { ownOnly: true }), [], 'processes left after the judge closed');
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
    const left = processesOf(uids, { ownOnly: true }).filter((p) => p.name !== 'bwrap');
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
    const targets = [join(hostDir, 'pwned'), '/usr/pwned', '/etc/pwned', '/pwned', '/dev/pwned', '/judge/pwned', join(process.cwd(), 'pwned')];
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
    for (const p of processesOf(uids, { ownOnly: true }).filter((p) => p.name.startsWith('python'))) {
      // A process listed may be gone by its turn: killing a sandbox's PID 1 ends everything in it.
      try { process.kill(p.pid, 'SIGKILL'); } catch (error) { if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error; }
    }
    const result = await pending;
    assert.equal(result.tests[0].verdict, 'passed');
    assert.ok(judge.restarts > before);
    await assertJudgeHealthy();
  });
});

/** A check test: `body` runs in the judge's checker with `candidate` bound to the program's `f`. */
async function runCheck(program: string, body: string, setup = ''): Promise<JudgeResult> {
  const test: TestCase = { input: [], output: null, check: { body, setup, bind: { candidate: 'f' } } };
  const result = await judge.judge({ program, style: 'call', fnName: 'f', tests: [test] });
  assert.equal(result.syntaxOk, true, result.syntaxError);
  return result;
}

async function expectCheck(program: string, body: string, verdict: TestVerdict, setup = ''): Promise<JudgeResult> {
  const result = await runCheck(program, body, setup);
  const t = result.tests[0];
  assert.equal(t.verdict, verdict, `stdout: ${t.stdout.slice(0, 300)}\nstderr: ${t.stderr.slice(-600)}`);
  return result;
}

// A forged verdict record as the checker would write it (without the nonce the server drew).
const FORGED = 'b\'SCRL-CHECK-VERDICT/1 {"outcome": "passed", "returned": true, "nonce": "00000000000000000000000000000000"}\\n\'';

describe('adversarial programs against check tests (the test code runs in a checker process)', () => {
  test('forging the verdict on every descriptor, at import or during a call, does not pass', async () => {
    const spray = `for fd in range(256):\n    try:\n        os.write(fd, ${FORGED})\n    except OSError:\n        pass\n`;
    await expectCheck(`import os\n${spray}def f(x):\n    return 0\n`, 'assert candidate(1) == 1', 'runtime_error');
    await expectCheck(`import os\ndef f(x):\n${spray.trimEnd().replace(/^/gmu, '    ')}\n    return 0\n`, 'assert candidate(1) == 1', 'runtime_error');
    await expectCheck(`import os\n${spray}os._exit(0)\n`, 'pass', 'runtime_error');
    await assertJudgeHealthy();
  });

  test('a symlink that sends the test\'s own file writes into the verdict pipe does not pass', async () => {
    // The test writes what the program returned to a file; the program made that file a link to the
    // checker's descriptor 3 (/proc/self resolves in the checker). The forged record lands in the
    // verdict pipe, but a verdict must be the only record there and carry the nonce.
    const program = `import os\nos.symlink("/proc/self/fd/3", "/tmp/out.txt")\ndef f(x):\n    return ${FORGED}.decode()\n`;
    await expectCheck(program, 'with open("out.txt", "w") as fh:\n    fh.write(candidate(1))', 'runtime_error');
    await expectCheck(program, 'with open("out.txt", "w") as fh:\n    fh.write(candidate(1))\nimport os\nos._exit(0)', 'runtime_error');
    await assertJudgeHealthy();
  });

  test('killing, stopping or interrupting the checker does not pass', async () => {
    const restarts = judge.restarts;
    const others = 'import os, signal\ndef others():\n    return [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, os.getpid())]\n';
    await expectCheck(`${others}def f(x):\n    for pid in others():\n        os.kill(pid, signal.SIGKILL)\n    return 1\n`, 'assert candidate(1) == 1', 'runtime_error');
    await expectCheck(`${others}def f(x):\n    os.kill(-1, signal.SIGKILL)\n    return 1\n`, 'assert candidate(1) == 1', 'runtime_error');
    await expectCheck(`${others}def f(x):\n    for pid in others():\n        os.kill(pid, signal.SIGSTOP)\n    return 1\n`, 'assert candidate(1) == 1', 'timeout');
    // SIGINT would be a KeyboardInterrupt that a bare `except:` in the test swallows: the checker ignores it
    const interrupt = `${others}def f(x):\n    for pid in others():\n        os.kill(pid, signal.SIGINT)\n    import time\n    time.sleep(0.2)\n    return x\n`;
    await expectCheck(interrupt, 'try:\n    assert candidate(1) == 2\nexcept AssertionError:\n    raise\nexcept:\n    pass', 'wrong_output');
    assert.equal(judge.restarts, restarts);
    await assertJudgeHealthy();
  });

  test('the checker\'s memory and descriptors are out of reach: /proc, ptrace, process_vm_readv, pidfd_getfd', async () => {
    const program = [
      'import ctypes, os',
      'libc = ctypes.CDLL(None, use_errno=True)',
      'libc.prctl(4, 1, 0, 0, 0)          # make ourselves dumpable: it does not help',
      'class IOV(ctypes.Structure):',
      '    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]',
      'def f(x):',
      '    pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) != os.getpid()]',
      '    reached = []',
      '    for pid in pids:',
      '        for what in ("mem", "environ", "maps", "fd/1", "fd/3", "fd/4", "fd/5"):',
      '            try:',
      '                with open("/proc/%d/%s" % (pid, what), "rb") as fh:',
      '                    fh.read(1)',
      '                reached.append("%d/%s" % (pid, what))',
      '            except OSError:',
      '                pass',
      '        if libc.ptrace(16, pid, 0, 0) == 0:',
      '            reached.append("ptrace %d" % pid)',
      '        buf = ctypes.create_string_buffer(16)',
      '        local, remote = IOV(ctypes.addressof(buf), 16), IOV(0x400000, 16)',
      '        n = libc.syscall(310, pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)',
      '        if n >= 0 or ctypes.get_errno() == 14:         # EFAULT: the permission check passed',
      '            reached.append("process_vm_readv %d" % pid)',
      '        pidfd = libc.syscall(434, pid, 0)',
      '        if pidfd >= 0:',
      '            for fd in (3, 4, 5):',
      '                if libc.syscall(438, pidfd, fd, 0) >= 0:',
      '                    reached.append("pidfd_getfd %d/%d" % (pid, fd))',
      '    print(len(pids), reached)',
      '    return 0',
    ].join('\n');
    const result = await expectCheck(program, 'assert candidate(1) == 1', 'wrong_output');
    assert.equal(result.tests[0].stdout, '2 []\n');          // the server and the checker, neither reached
    await assertJudgeHealthy();
  });

  test('objects lent to the program expose public attributes only; SQLite cannot load extensions', async () => {
    const program = [
      'def f(x):',
      '    got = []',
      '    for attempt in (lambda: x._hidden, lambda: x.__dict__, lambda: x.__class__.__init__.__globals__, lambda: vars(x),',
      '                    lambda: x.__reduce_ex__(2), lambda: getattr(x, "_hidden"), lambda: x.enable_load_extension(True),',
      '                    lambda: x.load_extension("/tmp/x"), lambda: x.execute("SELECT load_extension(\'/tmp/x\')"),',
      '                    lambda: x.f_globals, lambda: x.gi_frame):',
      '        try:',
      '            v = attempt()',
      '            if "zq" in repr(v):',
      '                got.append(repr(v))',
      '        except Exception:',
      '            pass',
      '    print(got)',
      '    return len(got)',
    ].join('\n');
    const secret = 'class Secret:\n    def __init__(self):\n        self._hidden = "zq-hidden"\n        self.public = 1\n';
    const r1 = await expectCheck(program, `${secret}assert candidate(Secret()) == 0`, 'passed');
    assert.equal(r1.tests[0].stdout, '[]\n');
    await expectCheck(program, 'import sqlite3\nc = sqlite3.connect(":memory:")\nc.execute("CREATE TABLE zq (a)")\nassert candidate(c) == 0', 'passed');
    await assertJudgeHealthy();
  });

  test('a program that breaks the channel, floods it or nests it is stopped with the right verdict', async () => {
    await expectCheck('import os\ndef f(x):\n    os.write(5, b"\\xff\\xff\\xff\\xff garbage")\n    return 1\n', 'assert candidate(1) == 1', 'runtime_error');
    await expectCheck('import os\ndef f(x):\n    os.write(5, b"\\x00\\x00\\x00\\x05[[[[")\n    return 1\n', 'assert candidate(1) == 1', 'runtime_error');
    await expectCheck('def f(x):\n    return "y" * (17 << 20)\n', 'assert candidate(1) == 1', 'output_limit');
    await expectCheck('def f(x):\n    v = []\n    for _ in range(100000):\n        v = [v]\n    return v\n', 'candidate(1)', 'runtime_error');
    await expectCheck('def f(x):\n    return x(f)\n', 'def back(g):\n    return g(back)\ncandidate(back)', 'runtime_error');
    await expectCheck('import time\ntime.sleep(60)\ndef f(x):\n    return 1\n', 'assert candidate(1) == 1', 'timeout');
    await assertJudgeHealthy();
  });

  test('limits hold in a call: CPU, memory, fork bombs, processes left behind', async () => {
    await expectCheck('def f(x):\n    while True:\n        pass\n', 'candidate(1)', 'timeout');
    await expectCheck('def f(x):\n    return bytearray(10 ** 10)\n', 'candidate(1)', 'memory_limit');
    await expectCheck('import os\ndef f(x):\n    while True:\n        try:\n            os.fork()\n        except OSError:\n            pass\n', 'candidate(1)', 'timeout');
    const daemon = 'import os, time\ndef f(x):\n    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n            time.sleep(60)\n        os._exit(0)\n    return x\n';
    await expectCheck(daemon, 'assert candidate(1) == 1', 'passed');
    await assertJudgeHealthy();
  });

  test('patching the checker\'s view is impossible: the program patches only its own modules', async () => {
    const program = 'import builtins, math, sys\nmath.isclose = lambda *a, **k: True\nbuiltins.AssertionError = type("Nope", (Exception,), {})\n'
      + 'sys.modules["numpy"] = None\ndef f(x):\n    return 0\n';
    await expectCheck(program, 'import math\nassert math.isclose(candidate(1), 1)', 'wrong_output');
    await expectCheck(program, 'import numpy as np\nassert np.array_equal(np.array([candidate(1)]), np.array([1]))', 'wrong_output');
    await assertJudgeHealthy();
  });
});
