import { availableParallelism } from 'node:os';
import { checkSandboxAvailable, DEFAULT_SANDBOX, forkServerFiles, workerCommand, type SandboxOptions } from './sandbox.js';
import { DEFAULT_LIMITS, type CompareMode, type JudgeResult, type JudgeTask, type Limits, type TestResult } from './types.js';
import { judgeRun } from './verdict.js';
import { SandboxWorker, WorkerDiedError, type ServerJob, type ServerReply, type ServerRun } from './worker.js';

export interface JudgeOptions {
  /** Warm sandboxed workers, two per core by default: each test's life is a chain of wake-ups
   * (fork, output, exit, reap), and with one worker per core a third of the CPU sat idle between them
   * (measured on the light APPS+ workload: 2 workers 785 tests/s, 4 workers 977/s, on 2 cores). */
  workers: number;
  limits: Limits;
  compare: CompareMode;
  sandbox: SandboxOptions;
}

/** A worker, the jobs handed to it and not yet finished, and whether it was sent check tests (its server
 * then holds the check-test machinery; the judge restarts a dead worker's server, which starts lean, but
 * keeps the mark: a hint, not a fact). */
type Slot = { worker: SandboxWorker; claimed: number; checks: boolean };

/** Jobs queued on one worker at a time: the second hides the round trip between two jobs. */
const PIPELINE_DEPTH = 2;

/** Largest program accepted; anything longer is judged a syntax error without entering the sandbox. */
const MAX_PROGRAM_BYTES = 1 << 20;

/**
 * The judge: a pool of warm fork servers in bubblewrap sandboxes. `judge()` may be called
 * concurrently; jobs queue until a worker is free. Call `close()` when done.
 */
export class Judge {
  readonly options: JudgeOptions;
  private readonly workers: SandboxWorker[];
  /** Jobs handed to each worker and not yet finished (sent, or about to be). */
  private readonly slots: Slot[];
  private readonly waiting: { resolve: (worker: SandboxWorker) => void; checks: boolean }[] = [];
  private closed = false;
  /** Test executions so far, for throughput figures. */
  executions = 0;

  constructor(options: Partial<Omit<JudgeOptions, 'limits' | 'sandbox'>> & { limits?: Partial<Limits>; sandbox?: Partial<SandboxOptions> } = {}) {
    const sandbox = { ...DEFAULT_SANDBOX, ...options.sandbox };
    this.options = {
      workers: options.workers ?? 2 * availableParallelism(),
      limits: { ...DEFAULT_LIMITS, ...options.limits },
      compare: options.compare ?? 'default',
      sandbox,
    };
    checkSandboxAvailable(sandbox);
    const server = forkServerFiles();
    this.workers = Array.from({ length: this.options.workers }, (_, i) => new SandboxWorker(workerCommand(sandbox, i, server)));
    this.slots = this.workers.map((worker) => ({ worker, claimed: 0, checks: false }));
  }

  /** The processes the workers started (undefined for one not running), for measurements: see
   * forkServerPid for the fork server's own process. */
  get workerPids(): (number | undefined)[] {
    return this.workers.map((worker) => worker.pid);
  }

  /** Times a worker was restarted after dying or overrunning its backstop. */
  get restarts(): number {
    return this.workers.reduce((sum, worker) => sum + worker.restarts, 0);
  }

  /** Starts every worker now (otherwise each starts on first use). */
  async warmUp(): Promise<void> {
    await Promise.all(this.workers.map((worker) => worker.start()));
  }

  async judge(task: JudgeTask): Promise<JudgeResult> {
    if (this.closed) throw new Error('Judge.judge: the judge is closed');
    if (Buffer.byteLength(task.program, 'utf8') > MAX_PROGRAM_BYTES) {
      return { syntaxOk: false, syntaxError: `program longer than ${MAX_PROGRAM_BYTES} bytes`, tests: [], passed: 0, total: task.tests.length };
    }
    const checks = task.tests.flatMap((test, i) => (test.check ? [i] : []));
    if (checks.length > 0 && task.style !== 'call') throw new Error('Judge.judge: check tests need a call-style task');
    const checkFrames = checks.map((i) => {
      const { setup, body, bind } = task.tests[i].check!;
      if (typeof body !== 'string') throw new Error(`Judge.judge: test ${i}: a check test needs its body`);
      return JSON.stringify({ setup: setup ?? '', body, bind: bind ?? {} });
    });
    const limits = { ...this.options.limits, ...task.limits };
    const job: ServerJob = {
      program: task.program,
      style: task.style,
      fn_name: task.fnName ?? null,
      inputs: task.tests.map((test) => (test.check ? null : test.input)),
      ...(checks.length > 0 ? { checks } : {}),
      limits: {
        cpu_s: limits.cpuSeconds, wall_s: limits.wallSeconds, memory_mb: limits.memoryMb, processes: limits.processes,
        file_size_mb: limits.fileSizeMb, open_files: limits.openFiles, output_bytes: limits.outputBytes, stderr_bytes: limits.stderrBytes,
      },
    };
    const backstopMs = (task.tests.length + 1) * (limits.wallSeconds + 2) * 1000;
    const reply = await this.runOnWorker(job, backstopMs, checkFrames);
    const compare = task.compare ?? this.options.compare;
    if (reply.compile_error) return { syntaxOk: false, syntaxError: reply.compile_error, tests: [], passed: 0, total: task.tests.length };
    const tests: TestResult[] = (reply.results ?? []).map((run, i) =>
      judgeRun(run, task.tests[i], task.style, compare, task.acceptWrappedResult ?? false));
    this.executions += tests.length;
    return { syntaxOk: true, tests, passed: tests.filter((t) => t.verdict === 'passed').length, total: task.tests.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.workers.map((worker) => worker.close()));
  }

  /** Runs a job on a free worker. A worker that dies is restarted and the job retried once; if it
   * dies again, the job's tests are reported as runtime errors naming the cause. */
  private async runOnWorker(job: ServerJob, backstopMs: number, checkFrames: string[]): Promise<ServerReply> {
    for (let attempt = 0; ; attempt++) {
      const worker = await this.acquire(checkFrames.length > 0);
      try {
        const reply = await worker.run(job, backstopMs, checkFrames);
        if (reply.error) throw new Error(`judge: the fork server failed on a job: ${reply.error}`);
        return reply;
      } catch (error) {
        if (!(error instanceof WorkerDiedError) || attempt >= 1) {
          if (!(error instanceof WorkerDiedError)) throw error;
          return { compile_error: null, results: job.inputs.map(() => diedRun(error.message)) };
        }
      } finally {
        this.release(worker);
      }
    }
  }

  /** The least busy worker with room in its pipeline; waits when every worker is full. `checks`: the
   * job has check tests. */
  private acquire(checks: boolean): Promise<SandboxWorker> {
    const worker = this.leastBusy(checks);
    if (worker) {
      worker.claimed++;
      worker.checks ||= checks;
      return Promise.resolve(worker.worker);
    }
    return new Promise((resolve) => this.waiting.push({ resolve, checks }));
  }

  private release(worker: SandboxWorker): void {
    const slot = this.slots.find((s) => s.worker === worker)!;
    slot.claimed--;
    const next = this.waiting.shift();
    if (next) {
      slot.claimed++;
      slot.checks ||= next.checks;
      next.resolve(worker);
    }
  }

  /** Among the least busy, a worker whose server already loaded the check-test machinery for a job with
   * check tests, and one that did not for a job without: a server loads it on its first check test
   * and every later test there forks a bigger process, so plain jobs favour the lean servers. */
  private leastBusy(checks: boolean): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.slots) {
      if (slot.claimed >= PIPELINE_DEPTH) continue;
      if (!best || slot.claimed < best.claimed || (slot.claimed === best.claimed && slot.checks === checks && best.checks !== checks)) best = slot;
    }
    return best;
  }
}

function diedRun(message: string): ServerRun {
  return { exit_code: null, signal: null, stdout: '', stderr: message, cpu_s: 0, wall_s: 0, max_rss_kb: 0, limit: null };
}
