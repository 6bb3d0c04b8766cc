import { join } from 'node:path';
import { stringify } from 'lossless-json';
import { DEFAULT_SANDBOX, forkServerFiles } from '../judge/sandbox.js';
import type { JudgeTask } from '../judge/types.js';
import { SandboxWorker } from '../judge/worker.js';

/**
 * The limit `bench judge` measures the judge against: `python/bare_forkserver.py`, a fork server with
 * none of the judge's safety or verdict work (fork per test, exec of the compiled program, read its
 * stdout, wait; no sandbox, no rlimits, no clean-up, no comparison), as many processes as the judge
 * has workers, fed the same tasks with the same framing and the same two jobs in flight per process.
 * Programs run as in the judge (the same warm modules, namespaces and APPS+ entry call:
 * `python/scrl_program_env.py`), so both run the same code; `outputs` lets the bench check that.
 * It runs programs unsandboxed: only for the bench's bundled reference programs.
 */
export class BareForkServers {
  private readonly servers: SandboxWorker[];
  private next = 0;

  /** `-B`: the server imports its program environment from the package's python/ folder, and writes nothing there. */
  constructor(python: string, processes: number) {
    const script = join(forkServerFiles().dir, 'bare_forkserver.py');
    this.servers = Array.from({ length: processes }, () =>
      new SandboxWorker([python, '-I', '-S', '-B', script, ...DEFAULT_SANDBOX.importPaths]));
  }

  /** The servers' processes (each runs the bare server itself, unsandboxed), for measurements. */
  get pids(): (number | undefined)[] {
    return this.servers.map((server) => server.pid);
  }

  async start(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.start()));
  }

  /** Runs every test of a task on the server with the fewest jobs in flight; returns the number of
   * executions. */
  async run(task: JudgeTask): Promise<number> {
    return (await this.outputs(task)).length;
  }

  /** Runs every test of a task; returns each test's stdout (call style: the JSON of the return value). */
  async outputs(task: JudgeTask): Promise<string[]> {
    const server = this.servers.reduce((best, s) => (s.inFlight < best.inFlight ? s : best), this.servers[this.next++ % this.servers.length]);
    const job = { program: task.program, style: task.style, fn_name: task.fnName ?? null, inputs: task.tests.map((t) => t.input) };
    const reply = await server.request([stringify(job) ?? ''], 60_000) as { outputs?: unknown[] };
    if (!Array.isArray(reply.outputs)) throw new Error(`bench judge: the bare fork server answered ${JSON.stringify(reply).slice(0, 200)}`);
    return reply.outputs.map(String);
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((server) => server.close()));
  }
}
