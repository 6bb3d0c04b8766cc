// Reads a training run folder as the report draws it: config.json (with a `trainer` field) and
// metrics.jsonl (one JSON object per completed step). Read-only: a run still being written is read as
// it stands, its last line possibly cut short.

import { existsSync, readFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parse as parseLosslessJson } from 'lossless-json';

/** The trainers that write run folders (src/train/). */
export const TRAINER_KINDS = ['pretrain', 'sft', 'ppo', 'grpo', 'rloo'] as const;
export type TrainerKind = (typeof TRAINER_KINDS)[number];

export const TRAINING_CONFIG_FILE = 'config.json';
export const TRAINING_METRICS_FILE = 'metrics.jsonl';

/** One metrics.jsonl line: the step and whatever the trainer logged at it. */
export type TrainingStep = { step: number } & Record<string, unknown>;

/** A training run folder as the report reads it. */
export interface LoadedTrainingRun {
  kind: 'training';
  dir: string;
  /** `run_name` from config.json (the report makes labels unique). */
  label: string;
  /** The trainer named in config.json (any string; the known ones are TRAINER_KINDS). */
  trainer: string;
  config: Record<string, unknown>;
  /** In step order; a step logged twice keeps its later line. */
  steps: TrainingStep[];
  /** True when the last line was not valid JSON (a run killed mid-write, or still writing): ignored. */
  cutLastLine: boolean;
  /** Steps whose earlier line a later one replaced. */
  replacedSteps: number;
  /** `path:line: ...` for each bad line before the last, and other things the reader should know. */
  warnings: string[];
}

/** A JSON parse error as `path:line:column: not valid JSON (...)`, the position found by lossless-json. */
export function jsonErrorMessage(path: string, text: string, error: Error): string {
  let where = '';
  try {
    parseLosslessJson(text);
  } catch (located) {
    const position = /position (\d+)/.exec((located as Error).message);
    if (position) {
      const before = text.slice(0, Number(position[1]));
      const line = before.split('\n').length;
      where = `:${line}:${before.length - before.lastIndexOf('\n')}`;
    }
  }
  return `${path}${where}: not valid JSON (${error.message})`;
}

/** config.json parsed, or an error naming the file (with line and column for bad JSON). */
export function readTrainingConfig(dir: string): Record<string, unknown> {
  const path = join(dir, TRAINING_CONFIG_FILE);
  if (!existsSync(path)) throw new Error(`${path}: no such file (a training run folder holds config.json and metrics.jsonl)`);
  const text = readFileSync(path, 'utf8');
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new Error(jsonErrorMessage(path, text, error as Error));
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new Error(`${path}: expected a JSON object, found ${Array.isArray(config) ? 'an array' : String(config)}`);
  return config as Record<string, unknown>;
}

/**
 * True when DIR holds a training run: config.json is an object with a `trainer` field, or config.json
 * is missing or not valid JSON while metrics.jsonl exists (so that `loadTrainingRun` names the problem).
 */
export function isTrainingRun(dir: string): boolean {
  const configPath = join(dir, TRAINING_CONFIG_FILE);
  const hasMetrics = existsSync(join(dir, TRAINING_METRICS_FILE));
  if (!existsSync(configPath)) return hasMetrics;
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch {
    return hasMetrics;
  }
  return config !== null && typeof config === 'object' && 'trainer' in config;
}

/** What `readMetricsLog` found. */
export interface MetricsLog {
  steps: TrainingStep[];
  cutLastLine: boolean;
  replacedSteps: number;
  warnings: string[];
}

/**
 * Reads metrics.jsonl: a last line that is not valid JSON is ignored (`cutLastLine`); any other bad
 * line, or a line without a numeric `step`, is skipped with a `path:line: ...` warning. Steps come back
 * in step order, a step logged twice keeping its later line.
 */
export function readMetricsLog(path: string): MetricsLog {
  const lines = readFileSync(path, 'utf8').split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === '') last--;
  const byStep = new Map<number, TrainingStep>();
  const warnings: string[] = [];
  let cutLastLine = false;
  let replacedSteps = 0;
  for (let i = 0; i <= last; i++) {
    const line = lines[i];
    if (line.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (error) {
      if (i === last) cutLastLine = true;
      else warnings.push(`${path}:${i + 1}: not valid JSON (${(error as Error).message}); line skipped`);
      continue;
    }
    const step = (record as { step?: unknown } | null)?.step;
    if (record === null || typeof record !== 'object' || Array.isArray(record) || typeof step !== 'number' || !Number.isFinite(step)) {
      warnings.push(`${path}:${i + 1}: expected an object with a numeric "step"; line skipped`);
      continue;
    }
    if (byStep.has(step)) replacedSteps++;
    byStep.set(step, record as TrainingStep);
  }
  const steps = [...byStep.values()].sort((a, b) => a.step - b.step);
  return { steps, cutLastLine, replacedSteps, warnings };
}

/**
 * Reads a training run folder. Errors (naming the file, and the line for bad JSON): no or bad
 * config.json, a `trainer` that is not a string, no metrics.jsonl. Warnings: bad metrics lines, an
 * unknown trainer, a missing run_name (the folder's name is used), no completed steps yet.
 */
export function loadTrainingRun(dir: string): LoadedTrainingRun {
  const config = readTrainingConfig(dir);
  const configPath = join(dir, TRAINING_CONFIG_FILE);
  const warnings: string[] = [];
  if (typeof config.trainer !== 'string') throw new Error(`${configPath}: field "trainer" ${config.trainer === undefined ? 'is missing' : 'is not a string'} (expected one of ${TRAINER_KINDS.join(', ')})`);
  if (!(TRAINER_KINDS as readonly string[]).includes(config.trainer)) warnings.push(`${configPath}: unknown trainer "${config.trainer}" (known: ${TRAINER_KINDS.join(', ')}); its fields are drawn where they have known names`);
  let label = config.run_name;
  if (typeof label !== 'string' || label === '') {
    label = basename(resolve(dir));
    warnings.push(`${configPath}: no "run_name"; labelled by the folder name "${label}"`);
  }
  const metricsPath = join(dir, TRAINING_METRICS_FILE);
  if (!existsSync(metricsPath)) throw new Error(`${metricsPath}: no such file (the ${config.trainer} run has logged no steps, or this is not a training run folder)`);
  const log = readMetricsLog(metricsPath);
  warnings.push(...log.warnings);
  if (log.steps.length === 0) warnings.push(`${metricsPath}: no completed steps yet; the run is listed but not drawn`);
  return { kind: 'training', dir, label: label as string, trainer: config.trainer, config, steps: log.steps, cutLastLine: log.cutLastLine, replacedSteps: log.replacedSteps, warnings };
}

/** The value of a numeric field at a step, or null when absent, null or not a finite number. */
export function numericField(step: TrainingStep, field: string): number | null {
  const v = step[field];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
