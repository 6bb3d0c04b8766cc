// An RL trainer's checkpoint (PPO, GRPO, RLOO): the policy's PEFT adapter, the value head when there is
// one, the AdamW state, and state.json — the step, what the trainer needs to continue (KL controller,
// data position, …) and that step's log lines, so a kill between the checkpoint and the log append loses
// nothing. Everything random derives from (seed, step), so these are all a resume needs.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AdamW } from '../engine/index.js';
import type { ModelConfig } from '../model/config.js';
import type { LoraAdapter } from '../model/lora.js';
import { loadAdapter, saveAdapter } from '../model/peft.js';
import { ValueHead } from '../model/value-head.js';
import { readJson, writeJson, type RunFolder } from './run.js';

/** A step's lines of metrics.jsonl and samples.jsonl. */
export interface LogLines {
  metrics: { step: number } & Record<string, unknown>;
  samples: ({ step: number } & Record<string, unknown>)[];
}

/** What a checkpoint saves and restores in place (the arrays the graphs are fed). */
export interface PolicyState {
  adapter: LoraAdapter;
  adam: AdamW;
  valueHead?: ValueHead;
  /** Written into adapter_config.json as base_model_name_or_path. */
  baseModel: string;
}

/** Writes checkpoints/step-N (keeping the newest `keep`). */
export function saveCheckpoint(folder: RunFolder, step: number, parts: PolicyState, state: Record<string, unknown>, log: LogLines, keep: number): void {
  folder.writeCheckpoint(step, (dir) => {
    saveAdapter(dir, parts.adapter, { baseModelNameOrPath: parts.baseModel });
    parts.valueHead?.save(dir);
    writeFileSync(join(dir, 'optimizer.safetensors'), parts.adam.saveState());
    writeJson(join(dir, 'state.json'), { step, ...state, log });
  }, keep);
}

/**
 * For a resumed run: restores the newest checkpoint into `parts` and returns its state.json (null when
 * there is none: the run starts over), and cuts metrics.jsonl and samples.jsonl back to its step, that
 * step's lines written from the checkpoint.
 */
export function restoreCheckpoint<S extends object>(folder: RunFolder, parts: PolicyState, model: ModelConfig): ({ step: number; log: LogLines } & S) | null {
  const ckpt = folder.latestCheckpoint();
  if (!ckpt) { folder.truncateTo(0); return null; }
  const saved = loadAdapter(ckpt.dir, model);
  for (const p of parts.adapter.pairs.values()) { const s = saved.pairs.get(p.path)!; p.A.set(s.A); p.B.set(s.B); }
  if (parts.valueHead) {
    const vh = ValueHead.load(ckpt.dir, model);
    parts.valueHead.weight.set(vh.weight); parts.valueHead.bias.set(vh.bias);
  }
  parts.adam.loadState(new Uint8Array(readFileSync(join(ckpt.dir, 'optimizer.safetensors'))));
  const state = readJson<{ step: number; log: LogLines } & S>(join(ckpt.dir, 'state.json'));
  // The checkpoint's own step's lines come from the checkpoint: a kill after it may have left none of
  // them, or only some (the metrics line, then part of the samples, are appended one record at a time).
  folder.truncateTo(state.step - 1);
  folder.appendMetrics(state.log.metrics);
  folder.appendSamples(state.log.samples);
  return state;
}
