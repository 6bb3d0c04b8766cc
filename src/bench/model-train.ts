// The model module's own training step, timed as `bench engine` reports it: the trainers' PolicyGraph
// (appendDecoder with the policy's heads) and its `sftStep`, then gradient clipping and AdamW as the SFT
// trainer runs them — full fine-tuning (every weight a graph input) or a LoRA adapter over frozen weights.

import { performance } from 'node:perf_hooks';
import { AdamW, clipGradNorm, releaseSessions, type SessionOptions } from '../engine/index.js';
import { LoraAdapter, type LoraConfig } from '../model/lora.js';
import type { Checkpoint } from '../model/weights.js';
import { Rng } from '../random.js';
import { tokenBatch, type TokenBatch } from '../train/batch.js';
import { PolicyGraph, type Params } from '../train/policy.js';

export interface ModelStepTiming {
  /** sftStep + clipping + AdamW. */
  totalMs: number;
  /** Clipping + AdamW in JS. */
  optimizerMs: number;
  loss: number;
}

/**
 * One step of `batch` rows of `seq` next-token predictions (every target counted). `modelFlops` counts
 * 6 × params × tokens for full fine-tuning; for LoRA (4 × base params + 6 × adapter params) × tokens:
 * frozen weights need the forward and the activations' gradient but no weight gradient (a full step's
 * third matmul), so 6 × all would overstate the work by half.
 */
export class ModelTrainBench {
  private constructor(
    readonly policy: PolicyGraph,
    readonly tokens: number,
    readonly modelFlops: number,
    /** Trainable parameters (every weight, or the adapter's A/B). */
    readonly trainableParams: number,
    private readonly batch: TokenBatch,
    private readonly params: Params,
    /** Trainable input names in AdamW's order. */
    private readonly names: string[],
    private readonly adam: AdamW,
  ) {}

  static create(ck: Checkpoint, o: { batch: number; seq: number; lora?: Partial<LoraConfig>; session?: SessionOptions; seed?: number }): ModelTrainBench {
    const rng = new Rng(o.seed ?? 1);
    const V = ck.config.vocabSize;
    const batch = tokenBatch(Array.from({ length: o.batch }, () => ({ tokens: Array.from({ length: o.seq + 1 }, () => rng.int(V)), lossStart: 1 })));
    const adapter = o.lora ? LoraAdapter.init(ck.config, o.lora, 2) : null;
    const policy = new PolicyGraph(ck, { lora: adapter?.config, session: o.session });
    // Full fine-tuning updates the weights in place: train copies, so the checkpoint stays as given.
    const list = adapter ? adapter.parameters() : policy.trainable.map((name) => ({ name, data: ck.weights.get(name)!.data.slice() }));
    const params: Params = Object.fromEntries(list.map((p) => [p.name, p.data]));
    const trainable = list.reduce((s, p) => s + p.data.length, 0);
    let base = 0;
    for (const w of ck.weights.values()) base += w.data.length;
    const tokens = o.batch * o.seq;
    const flops = adapter ? (4 * base + 6 * trainable) * tokens : 6 * base * tokens;
    return new ModelTrainBench(policy, tokens, flops, trainable, batch, params, list.map((p) => p.name), new AdamW(list, { lr: 1e-4 }));
  }

  async step(): Promise<ModelStepTiming> {
    const t0 = performance.now();
    const r = await this.policy.sftStep([this.batch], this.params);
    const t1 = performance.now();
    const grads = this.names.map((n) => r.grads.get(n)!);
    clipGradNorm(grads, 1);
    this.adam.update(grads);
    const t2 = performance.now();
    return { totalMs: t2 - t0, optimizerMs: t2 - t1, loss: r.stats.loss };
  }

  async release(): Promise<void> { await releaseSessions(this.policy.graph); }
}
