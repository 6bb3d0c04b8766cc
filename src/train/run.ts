// A training run's folder: the resolved config, metrics.jsonl (one line per completed step, written after
// that step's checkpoint), samples.jsonl, checkpoints/step-N/ and final/. Checkpoints are written into a
// temporary folder and renamed, so a folder named step-N is always complete; resuming cuts the logs back
// to the checkpoint's step, so a run killed at any moment continues as if it had never stopped.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { appendRecord, readAppendLog, writeAtomic } from '../eval/jsonl-cache.js';

export type TrainerKind = 'pretrain' | 'sft' | 'ppo' | 'grpo' | 'rloo';

/** What every run's config.json holds besides its trainer's own fields. */
export interface RunMeta {
  trainer: TrainerKind;
  run_name: string;
}

export const CONFIG_FILE = 'config.json';
export const METRICS_FILE = 'metrics.jsonl';
export const SAMPLES_FILE = 'samples.jsonl';

export class RunFolder {
  private constructor(readonly dir: string) {}

  /** Starts a run in DIR (created); refuses a folder that already holds one. */
  static create(dir: string, config: RunMeta & Record<string, unknown>): RunFolder {
    const f = new RunFolder(resolve(dir));
    if (existsSync(f.path(CONFIG_FILE))) {
      throw new Error(`${f.path(CONFIG_FILE)}: the folder already holds a run (continue it with --resume ${dir}, or choose another --out)`);
    }
    mkdirSync(f.dir, { recursive: true });
    writeAtomic(f.path(CONFIG_FILE), `${JSON.stringify(config, null, 2)}\n`);
    return f;
  }

  /** Opens an existing run folder for resuming; returns its config. */
  static open(dir: string): { folder: RunFolder; config: RunMeta & Record<string, unknown> } {
    const f = new RunFolder(resolve(dir));
    const path = f.path(CONFIG_FILE);
    if (!existsSync(path)) throw new Error(`${path}: no such file (--resume expects a run folder written by 'train')`);
    let config: unknown;
    try { config = JSON.parse(readFileSync(path, 'utf8')); } catch (e) { throw new Error(`${path}: not valid JSON (${(e as Error).message})`); }
    if (!config || typeof config !== 'object' || typeof (config as RunMeta).trainer !== 'string') throw new Error(`${path}: field 'trainer' is missing`);
    return { folder: f, config: config as RunMeta & Record<string, unknown> };
  }

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  appendMetrics(record: { step: number } & Record<string, unknown>): void {
    appendRecord(this.path(METRICS_FILE), record);
  }

  appendSamples(records: readonly ({ step: number } & Record<string, unknown>)[]): void {
    for (const r of records) appendRecord(this.path(SAMPLES_FILE), r);
  }

  /** The metrics lines written so far (a line cut short by a crash is dropped). */
  metrics(): ({ step: number } & Record<string, unknown>)[] {
    return readAppendLog(this.path(METRICS_FILE), (r) => (r && typeof (r as { step?: unknown }).step === 'number' ? null : "field 'step' is missing"));
  }

  /** Cuts metrics.jsonl and samples.jsonl back to the records of steps ≤ step (resuming from step). */
  truncateTo(step: number): void {
    for (const file of [METRICS_FILE, SAMPLES_FILE]) {
      const path = this.path(file);
      if (!existsSync(path)) continue;
      const keep = readAppendLog<{ step: number }>(path, () => null).filter((r) => r.step <= step);
      writeAtomic(path, keep.map((r) => `${JSON.stringify(r)}\n`).join(''));
    }
  }

  checkpointDir(step: number): string {
    return this.path('checkpoints', `step-${step}`);
  }

  /** Writes checkpoints/step-N through a temporary folder and a rename; keeps the newest `keep`. */
  writeCheckpoint(step: number, write: (dir: string) => void, keep = Infinity): string {
    const final = this.checkpointDir(step);
    const tmp = this.path('checkpoints', `.step-${step}.tmp`);
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    write(tmp);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    const steps = this.checkpointSteps();
    for (const s of steps.slice(0, Math.max(0, steps.length - keep))) rmSync(this.checkpointDir(s), { recursive: true, force: true });
    return final;
  }

  /** Steps that have a complete checkpoint, ascending. */
  checkpointSteps(): number[] {
    const dir = this.path('checkpoints');
    if (!existsSync(dir)) return [];
    return readdirSync(dir).map((n) => /^step-(\d+)$/.exec(n)).filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1])).sort((a, b) => a - b);
  }

  latestCheckpoint(): { step: number; dir: string } | null {
    const steps = this.checkpointSteps();
    if (steps.length === 0) return null;
    const step = steps[steps.length - 1];
    return { step, dir: this.checkpointDir(step) };
  }

  /** Writes final/ through a temporary folder and a rename. */
  writeFinal(write: (dir: string) => void): string {
    const final = this.path('final');
    const tmp = this.path('.final.tmp');
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    write(tmp);
    rmSync(final, { recursive: true, force: true });
    renameSync(tmp, final);
    return final;
  }
}

/**
 * A trainer's run: a new folder for `{ config, outDir }`, or the existing one for `{ resume }` with its
 * config.json parsed again by the trainer's own parser (so a hand-edited file is validated too).
 */
export function startOrResume<C extends object>(input: { config: C; outDir: string } | { resume: string }, trainer: TrainerKind,
  parse: (json: unknown, where: string) => C): { cfg: C; folder: RunFolder } {
  if (!('resume' in input)) return { cfg: input.config, folder: RunFolder.create(input.outDir, { trainer, ...input.config } as RunMeta & Record<string, unknown>) };
  const { folder, config } = RunFolder.open(input.resume);
  if (config.trainer !== trainer) throw new Error(`${folder.path(CONFIG_FILE)}: trainer is '${config.trainer}', not ${trainer}`);
  const { trainer: _trainer, ...rest } = config;
  return { cfg: parse(rest, folder.path(CONFIG_FILE)), folder };
}

/** Throws unless DIR/file exists: a missing model or adapter is an error, never a fallback to the base model. */
export function requireFile(dir: string, what: string, file: string): void {
  if (!existsSync(join(dir, file))) throw new Error(`${what}: ${dir}: no ${file} (a missing ${what} is an error, never a fallback to the base model)`);
}

/** Writes JSON (2-space indent, newline) atomically. */
export function writeJson(path: string, value: unknown): void {
  writeAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function readJson<T>(path: string): T {
  if (!existsSync(path)) throw new Error(`${path}: no such file`);
  try { return JSON.parse(readFileSync(path, 'utf8')) as T; } catch (e) { throw new Error(`${path}: not valid JSON (${(e as Error).message})`); }
}

/**
 * Progress of a run: on a terminal one line redrawn in place (a bar, step, rate, ETA and the latest
 * figures); elsewhere one plain line per `every` steps (and the last), so CI logs stay short.
 */
export class Progress {
  private readonly started = Date.now();
  private readonly tty: boolean;

  constructor(readonly label: string, readonly total: number, readonly o: { every?: number; stream?: NodeJS.WriteStream; quiet?: boolean; startAt?: number } = {}) {
    this.tty = !!(o.stream ?? process.stderr).isTTY;
  }

  update(step: number, figures: Record<string, number | null | undefined> = {}): void {
    if (this.o.quiet) return;
    const stream = this.o.stream ?? process.stderr;
    const done = step - (this.o.startAt ?? 0);
    const secs = (Date.now() - this.started) / 1000;
    const eta = done > 0 ? (secs / done) * (this.total - step) : NaN;
    const shown = Object.entries(figures).filter(([, v]) => typeof v === 'number' && Number.isFinite(v))
      .map(([k, v]) => `${k} ${(v as number).toFixed(Math.abs(v as number) >= 100 ? 0 : 3)}`).join('  ');
    const time = `${secs.toFixed(0)} s${Number.isFinite(eta) ? `, ETA ${eta.toFixed(0)} s` : ''}`;
    if (this.tty) {
      const width = 20, filled = Math.round((width * step) / Math.max(1, this.total));
      stream.write(`\r${this.label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${step}/${this.total}  ${time}  ${shown}   ${step >= this.total ? '\n' : ''}`);
    } else if (step % (this.o.every ?? 1) === 0 || step >= this.total) {
      stream.write(`${this.label} step ${step}/${this.total}  ${time}  ${shown}\n`);
    }
  }
}

/**
 * Ctrl-C (SIGINT) and SIGTERM while a run is going: the first asks the trainer to stop after the step
 * in progress (it then saves a checkpoint and exits); a second one exits at once.
 */
export class StopRequest {
  requested = false;
  private readonly handler = (signal: NodeJS.Signals) => {
    if (this.requested) process.exit(130);
    this.requested = true;
    process.stderr.write(`\n${signal}: stopping after this step and saving a checkpoint (again to quit at once)\n`);
  };

  listen(): this {
    process.on('SIGINT', this.handler);
    process.on('SIGTERM', this.handler);
    return this;
  }

  dispose(): void {
    process.off('SIGINT', this.handler);
    process.off('SIGTERM', this.handler);
  }
}
