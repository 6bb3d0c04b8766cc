// CPU and page faults per test of one fork server and its children: the judge's server against the bench's
// bare fork server (python/bare_forkserver.py) started the same way, in the same sandbox, on light tests.
// Run: npx tsc -p . && node dist/bench/judge-per-test.js [--jobs 300] [--rounds 3] [--server-dir DIR] [--json]
// (--server-dir: measure the fork server in DIR instead of this package's, e.g. an older commit's python/
// from `git archive <commit> python | tar x -C /tmp/old`)
//
// Each job is 10 tests of one trivial program: `print("ok")` on stdin, a call of `f(x) = x`, a program that
// raises. The figures come from the server's /proc/<pid>/stat: its own user+system time and minor faults
// plus those of the children it reaped (cutime, cstime, cminflt), so they need no profiler and, being CPU
// time, move less with the machine's load than rates do. The two servers run in alternating rounds.

import { readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SANDBOX, forkServerFiles, workerCommand } from '../src/judge/sandbox.js';
import { SandboxWorker, type ServerJob } from '../src/judge/worker.js';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const JOBS = opt('jobs', 300);
const ROUNDS = opt('rounds', 3);
const TESTS = 10;
const TICK = 100; // clock ticks per second (USER_HZ)

const limits: ServerJob['limits'] = {
  cpu_s: 4, wall_s: 15, memory_mb: 1024, processes: 32, file_size_mb: 16, open_files: 64, output_bytes: 1 << 20, stderr_bytes: 1 << 16,
};
const JOBS_BY_KIND: Record<string, ServerJob> = {
  stdin: { program: 'print("ok")\n', style: 'stdin', fn_name: null, inputs: Array(TESTS).fill(''), limits },
  call: { program: 'def f(x):\n    return x\n', style: 'call', fn_name: 'f', inputs: Array(TESTS).fill([1]), limits },
  crash: { program: 'raise RuntimeError("crash on purpose")\n', style: 'stdin', fn_name: null, inputs: Array(TESTS).fill(''), limits },
};

/** CPU seconds and minor faults of a process and its reaped children. */
function usage(pid: number): { cpu: number; faults: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number); // f[0] is field 3 (state)
  return { cpu: (f[11] + f[12] + f[13] + f[14]) / TICK, faults: f[7] + f[8] };
}

/** The fork server's host pid: the only child of the process the worker started. */
function serverPid(worker: SandboxWorker): number {
  const children = readFileSync(`/proc/${worker.pid}/task/${worker.pid}/children`, 'utf8').trim().split(/\s+/).map(Number);
  if (children.length !== 1) throw new Error(`judge-per-test: expected one child of ${worker.pid}, found ${children.join(' ')}`);
  return children[0];
}

const serverDir = args.includes('--server-dir') ? args[args.indexOf('--server-dir') + 1] : undefined;
const ours = serverDir === undefined ? forkServerFiles() : {
  dir: serverDir,
  modules: readdirSync(serverDir).filter((name) => name === 'forkserver.py' || /^scrl_\w+\.py$/.test(name))
    .map((name) => ({ name, text: readFileSync(join(serverDir, name)) })),
};
const packageDir = forkServerFiles().dir;
// The bare server as the sandbox's forkserver.py, with the program environment it shares with ours.
const bare = { dir: packageDir, modules: [
  { name: 'forkserver.py', text: readFileSync(join(packageDir, 'bare_forkserver.py')) },
  { name: 'scrl_program_env.py', text: readFileSync(join(packageDir, 'scrl_program_env.py')) },
] };
const servers = { ours, bare };
const rows: { kind: string; server: string; cpu_ms: number; faults: number }[] = [];
for (const [kind, job] of Object.entries(JOBS_BY_KIND)) {
  const workers = Object.entries(servers).map(([name, files], i) =>
    [name, new SandboxWorker(workerCommand({ ...DEFAULT_SANDBOX, uidBase: DEFAULT_SANDBOX.uidBase + 900 + 2 * i }, 0, files))] as const);
  const totals = new Map<string, { cpu: number; faults: number }>(workers.map(([name]) => [name, { cpu: 0, faults: 0 }]));
  for (const [, worker] of workers) for (let i = 0; i < 20; i++) await worker.run(job, 60_000);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, worker] of workers) {
      const pid = serverPid(worker);
      const before = usage(pid);
      for (let i = 0; i < JOBS; i++) await worker.run(job, 60_000);
      const after = usage(pid);
      const total = totals.get(name)!;
      total.cpu += after.cpu - before.cpu;
      total.faults += after.faults - before.faults;
    }
  }
  for (const [name, worker] of workers) {
    await worker.close();
    const total = totals.get(name)!;
    const tests = ROUNDS * JOBS * TESTS;
    rows.push({ kind, server: name, cpu_ms: (1000 * total.cpu) / tests, faults: total.faults / tests });
  }
  const [o, b] = rows.slice(-2);
  process.stderr.write(`${kind.padEnd(6)} ours ${o.cpu_ms.toFixed(3)} ms ${o.faults.toFixed(0)} faults | bare ${b.cpu_ms.toFixed(3)} ms ${b.faults.toFixed(0)} faults | bare/ours CPU ${(b.cpu_ms / o.cpu_ms).toFixed(2)}\n`);
}
const load = loadavg().map((l) => l.toFixed(2)).join(' ');
process.stderr.write(`(CPU and minor page faults per test, server + children; load average ${load})\n`);
if (args.includes('--json')) process.stdout.write(`${JSON.stringify({ load, rows })}\n`);
