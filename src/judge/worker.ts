import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { stringify } from 'lossless-json';
import type { WorkerLaunch } from './sandbox.js';
import type { PlainValue, TestStyle } from './types.js';

/** A job as the fork server takes it (snake_case: it crosses into Python). */
export interface ServerJob {
  program: string;
  style: TestStyle;
  fn_name: string | null;
  /** One entry per test; `null` for a check test. */
  inputs: (string | PlainValue[] | null)[];
  /** Indexes of the check tests. The code of each (a `CheckSpec` as JSON) is not part of this frame: it
   * follows the job as a frame of its own, in order, and the server reads it only when its test starts,
   * into memory it wipes before the program's process is forked. */
  checks?: number[];
  limits: {
    cpu_s: number; wall_s: number; memory_mb: number; processes: number; file_size_mb: number;
    open_files: number; output_bytes: number; stderr_bytes: number;
  };
}

/** One test as the fork server reports it. */
export interface ServerRun {
  exit_code: number | null;
  signal: number | null;
  stdout: string;
  stderr: string;
  cpu_s: number;
  wall_s: number;
  max_rss_kb: number;
  limit: 'timeout' | 'output_limit' | null;
  memory_error?: boolean;
  return?: unknown;
  /** What the test's process wrote on its harness channel, one JSON object a line (`{"return": …}`,
   * `{"memory_error": true}`); the server passes it on unparsed and `run` reads it into `return` and
   * `memory_error`. */
  harness?: string;
  /** Check tests: the checker's verdict. `outcome`: `passed`, `failed` (an assertion of the test),
   * `error` (another exception in the test code), `program_error` (the program raised out of a call),
   * `program_gone` (its process ended or broke the protocol), `output_limit` (an answer over the
   * limit), `checker_died` (no valid verdict). `returned`: a call returned something other than None. */
  check?: { outcome: string; returned: boolean };
}

export interface ServerReply {
  compile_error?: string | null;
  results?: ServerRun[];
  error?: string;
}

export class WorkerDiedError extends Error {}

/** Reads a run's harness lines into `return` (the first one) and `memory_error`; a line that is not a
 * JSON object is skipped (the program shares the channel's descriptor, so it is no proof of anything:
 * verdicts never rest on it alone). */
function readHarness(run: ServerRun): void {
  for (const line of (run.harness ?? '').split('\n')) {
    if (line === '') continue;      // (the last line's end; a throwing JSON.parse costs microseconds)
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      continue;
    }
    if (message === null || typeof message !== 'object' || Array.isArray(message)) continue;
    if ('return' in message && !('return' in run)) run.return = (message as { return: unknown }).return;
    if ((message as { memory_error?: unknown }).memory_error) run.memory_error = true;
  }
  delete run.harness;
}

/** The direct children of a process, from /proc (empty when it has none or is gone). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

type Pending = {
  resolve: (reply: ServerReply) => void;
  reject: (error: Error) => void;
  backstopMs: number;
  describe: string;
  timer?: NodeJS.Timeout;
};

/**
 * One warm fork server in its sandbox, running jobs in order over length-prefixed JSON frames. Jobs
 * may be queued while one runs (the server reads the next frame when it is done), which hides the
 * round trip to Node; each job's backstop starts when it reaches the head of the queue.
 */
export class SandboxWorker {
  private child: ChildProcess | null = null;
  private readonly launch: WorkerLaunch;
  private buffered: Buffer = Buffer.alloc(0);
  private readonly queue: Pending[] = [];
  private ready: Promise<void> | null = null;
  private stderrTail = '';
  private nextId = 1;
  restarts = 0;

  /** `launch`: the command (an argv, or an argv and data for descriptors 3, 4, …). */
  constructor(launch: WorkerLaunch | string[]) {
    this.launch = Array.isArray(launch) ? { argv: launch, fdData: [] } : launch;
  }

  /** The process started (bubblewrap or setpriv in the sandbox; the fork server is its child), if running. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Jobs sent and not yet answered. */
  get inFlight(): number {
    return this.queue.length;
  }

  /** Starts the process if it is not running; resolves when the server says it is ready. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      const { argv, fdData } = this.launch;
      const child = spawn(argv[0], argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe', ...fdData.map(() => 'pipe' as const)] });
      this.child = child;
      fdData.forEach((data, i) => {
        const stream = child.stdio[3 + i] as Writable;
        stream.on('error', () => { /* the process is gone: reported through 'exit' */ });
        stream.end(data);
      });
      this.buffered = Buffer.alloc(0);
      let started = false;
      this.enqueue({ resolve: () => { started = true; resolve(); }, reject, backstopMs: 30_000, describe: 'start within 30 s' });
      // Events from a process we already replaced are ignored.
      const current = () => this.child === child;
      child.stdout!.on('data', (chunk: Buffer) => { if (current()) this.onData(chunk); });
      child.stderr!.on('data', (chunk: Buffer) => { this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000); });
      child.stdin!.on('error', () => { /* reported through 'exit' */ });
      child.on('error', (error) => {
        if (current()) this.fail(new WorkerDiedError(`sandbox worker failed to start: ${error.message}`));
      });
      child.on('exit', (code, signal) => {
        if (!current()) return;
        const why = started ? 'sandbox worker died' : 'sandbox worker could not start';
        this.fail(new WorkerDiedError(`${why} (exit ${code ?? signal})${this.stderrTail ? `: ${this.stderrTail.trim()}` : ''}`));
      });
    });
    return this.ready;
  }

  /** Runs one job; `backstopMs` bounds it once it starts, after which the worker is killed and
   * restarted and every job queued on it fails with WorkerDiedError. `checkFrames`: the code of the
   * job's check tests, one frame each, sent right after the job. */
  async run(job: ServerJob, backstopMs: number, checkFrames: string[] = []): Promise<ServerReply> {
    const reply = await this.request([stringify({ ...job, id: this.nextId++ }) ?? '', ...checkFrames], backstopMs) as ServerReply;
    for (const run of reply.results ?? []) {
      if (run.harness !== undefined) readHarness(run);
    }
    return reply;
  }

  /** Sends frames (JSON texts) and resolves with the server's next reply frame, parsed, under the same
   * backstop as run(): for any server that speaks this framing (the bench's bare fork server). */
  async request(frames: string[], backstopMs: number): Promise<unknown> {
    await this.start();
    const data = Buffer.concat(frames.flatMap((text) => {
      const body = Buffer.from(text, 'utf8');
      const head = Buffer.alloc(4);
      head.writeUInt32BE(body.length);
      return [head, body];
    }));
    return new Promise<ServerReply>((resolve, reject) => {
      this.enqueue({ resolve, reject, backstopMs, describe: `finish a job within its backstop of ${backstopMs} ms` });
      this.child!.stdin!.write(data);
    });
  }

  /** Kills the process; the next run() starts a fresh one. The fork server (bwrap's child) is
   * killed first so that bwrap reaps it and exits by itself: killing bwrap first would leave the
   * server a zombie of whatever reaps orphans on the host. */
  kill(): void {
    const child = this.child;
    this.child = null;
    this.ready = null;
    if (!child || child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    for (const pid of childPids(child.pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch { /* already gone */ }
    }
    setTimeout(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); }, 1000).unref();
  }

  /** Asks the server to exit (end of input) and waits for it, killing it after `graceMs`. */
  async close(graceMs = 2000): Promise<void> {
    const child = this.child;
    this.child = null;
    this.ready = null;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.stdin!.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private enqueue(entry: Pending): void {
    this.queue.push(entry);
    if (this.queue.length === 1) this.armHead();
  }

  private armHead(): void {
    const head = this.queue[0];
    if (head && !head.timer) {
      head.timer = setTimeout(() => this.fail(new WorkerDiedError(`sandbox worker did not ${head.describe}`)), head.backstopMs);
    }
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (this.buffered.length < 4 + length) return;
      const frame = JSON.parse(this.buffered.subarray(4, 4 + length).toString('utf8')) as ServerReply;
      this.buffered = this.buffered.subarray(4 + length);
      const done = this.queue.shift();
      if (done) {
        clearTimeout(done.timer);
        this.armHead();
        done.resolve(frame);
      }
    }
  }

  private fail(error: Error): void {
    const failed = this.queue.splice(0);
    if (this.child) {
      this.restarts++;
      this.kill();
    }
    for (const entry of failed) {
      clearTimeout(entry.timer);
      entry.reject(error);
    }
  }
}
