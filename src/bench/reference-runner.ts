import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'lossless-json';
import type { JudgeTask } from '../judge/types.js';

/**
 * The baseline the judge benchmark compares against: what the reference implementation does — write the
 * program to a file and start one `python file` per test with the input on stdin and a wall-clock
 * timeout, no sandbox, no limits. Call-style tests get a few lines that call the function and print
 * the JSON of its result, so both sides do the same work.
 */
export class ReferenceRunner {
  private readonly dir = mkdtempSync(join(tmpdir(), 'scrl-baseline-'));
  private counter = 0;

  constructor(private readonly python: string, private readonly timeoutSeconds: number) {}

  /** Runs every test of a task, `parallel` processes at a time, with the task's CPU limit (if it has
   * one) as the wall-clock timeout; returns the number of executions. */
  async run(task: JudgeTask, parallel: number): Promise<number> {
    const file = join(this.dir, `p${this.counter++}.py`);
    writeFileSync(file, withHarness(task));
    const inputs = task.tests.map((t) => (task.style === 'call' ? stringify(t.input) ?? '[]' : String(t.input)));
    const timeout = task.limits?.cpuSeconds ?? this.timeoutSeconds;
    let next = 0;
    const lane = async () => {
      while (next < inputs.length) await this.once(file, inputs[next++], timeout);
    };
    await Promise.all(Array.from({ length: Math.min(parallel, inputs.length) }, lane));
    return inputs.length;
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private once(file: string, input: string, timeoutSeconds: number): Promise<void> {
    return new Promise((resolve) => {
      const child = spawn(this.python, [file], { stdio: ['pipe', 'pipe', 'pipe'] });
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutSeconds * 1000);
      child.stdout.on('data', () => {});
      child.stderr.on('data', () => {});
      child.stdin.on('error', () => {});
      child.stdin.end(input);
      child.on('close', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

function withHarness(task: JudgeTask): string {
  const fn = task.fnName;
  if (task.style === 'call') {
    return `${task.program}\n\nimport json as _json, sys as _sys\n_target = ${fn} if '${fn}' in globals() else getattr(Solution(), '${fn}')\nprint(_json.dumps(_target(*_json.loads(_sys.stdin.read()))))\n`;
  }
  if (fn && !new RegExp(`^\\s*${fn}\\(\\)`, 'm').test(task.program)) return `${task.program}\n\n${fn}()\n`;
  return task.program;
}
