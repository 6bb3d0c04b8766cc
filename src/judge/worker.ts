import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { stringify } from 'lossless-json';
import type { PlainValue, TestStyle } from './types.js';

/** A job as the fork server takes it (snake_case: it crosses into Python). */
export interface ServerJob {
  program: string;
  style: TestStyle;
  fn_name: string | null;
  inputs: (string | PlainValue[])[];
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
}

export interface ServerReply {
  compile_error?: string | null;
  results?: ServerRun[];
  error?: string;
}

export class WorkerDiedError extends Error {}

/** The direct children of a process, from /proc (empty when it has none or is gone). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

type Pending = { resolve: (reply: ServerReply) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };

/** One warm fork server in its sandbox, running one job at a time over length-prefixed JSON frames. */
export class SandboxWorker {
  private child: ChildProcessByStdio<Writable, Readable, Readable> | null = null;
  private buffered: Buffer = Buffer.alloc(0);
  private pending: Pending | null = null;
  private ready: Promise<void> | null = null;
  private stderrTail = '';
  private nextId = 1;
  restarts = 0;

  constructor(private readonly argv: string[]) {}

  get busy(): boolean {
    return this.pending !== null;
  }

  /** Starts the process if it is not running; resolves when the server says it is ready. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    this.ready = new Promise<void>((resolve, reject) => {
      const child = spawn(this.argv[0], this.argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
      this.child = child;
      this.buffered = Buffer.alloc(0);
      let started = false;
      this.pending = {
        resolve: () => { started = true; resolve(); },
        reject,
        timer: setTimeout(() => this.fail(new WorkerDiedError('sandbox worker did not start within 30 s')), 30_000),
      };
      // Events from a process we already replaced are ignored.
      const current = () => this.child === child;
      child.stdout.on('data', (chunk: Buffer) => { if (current()) this.onData(chunk); });
      child.stderr.on('data', (chunk: Buffer) => { this.stderrTail = (this.stderrTail + chunk.toString()).slice(-2000); });
      child.stdin.on('error', () => { /* reported through 'exit' */ });
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

  /** Runs one job; `backstopMs` bounds the whole job, after which the worker is killed and restarted. */
  async run(job: ServerJob, backstopMs: number): Promise<ServerReply> {
    await this.start();
    if (this.pending) throw new Error('SandboxWorker.run: worker is busy');
    const id = this.nextId++;
    const body = Buffer.from(stringify({ ...job, id }) ?? '', 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length);
    return new Promise<ServerReply>((resolve, reject) => {
      this.pending = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.fail(new WorkerDiedError(`sandbox worker exceeded the job backstop of ${backstopMs} ms`));
        }, backstopMs),
      };
      this.child!.stdin.write(Buffer.concat([head, body]));
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
    child.stdin.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  private onData(chunk: Buffer): void {
    this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
    while (this.buffered.length >= 4) {
      const length = this.buffered.readUInt32BE(0);
      if (this.buffered.length < 4 + length) return;
      const frame = JSON.parse(this.buffered.subarray(4, 4 + length).toString('utf8')) as ServerReply;
      this.buffered = this.buffered.subarray(4 + length);
      const pending = this.pending;
      this.pending = null;
      if (pending) {
        clearTimeout(pending.timer);
        pending.resolve(frame);
      }
    }
  }

  private fail(error: Error): void {
    const pending = this.pending;
    this.pending = null;
    if (this.child) {
      this.restarts++;
      this.kill();
    }
    if (pending) {
      clearTimeout(pending.timer);
      pending.reject(error);
    }
  }
}
