// The part of a benchmark PPO episode after sampling that `bench train --large` and `bench quantize
// --episode` share: PPO items from the policy's and the reference's log-probs (a random sequence reward,
// the KL penalty per token, GAE, whitened advantages), then the PPO epochs through the trainer's own
// PolicyGraph step, gradient clipping and AdamW. The first epoch's ratio must be exactly 1.

import { AdamW, clipGradNorm } from '../engine/index.js';
import type { LoraAdapter } from '../model/lora.js';
import type { ValueHead } from '../model/value-head.js';
import type { Rng } from '../random.js';
import { gae, ppoTokenRewards, whiten } from '../train/advantages.js';
import { countedValues, type TokenBatch } from '../train/batch.js';
import type { ForwardResult, PolicyGraph, PpoItem } from '../train/policy.js';

export function episodeItems(seqs: readonly { tokens: number[]; lossStart: number }[], tb: TokenBatch, cur: ForwardResult, ref: ForwardResult, rng: Rng): PpoItem[] {
  const items: PpoItem[] = seqs.map((q, b) => {
    const old = countedValues(tb, cur.logprobs, b), values = countedValues(tb, cur.values!, b);
    const { rewards } = ppoTokenRewards(rng.float(), old, countedValues(tb, ref.logprobs, b), 0.1, 'k1');
    const a = gae(rewards, values, 1, 0.95);
    return { ...q, oldLogprobs: old, advantages: a.advantages, oldValues: values, returns: a.returns };
  });
  const whitened = whiten(items.map((it) => it.advantages));
  items.forEach((it, b) => { it.advantages = whitened[b]; });
  return items;
}

export async function episodeUpdates(graph: PolicyGraph, items: readonly PpoItem[], adapter: LoraAdapter, head: ValueHead, epochs: number, padTo: number, what: string): Promise<void> {
  const params = { ...adapter.feeds(), ...head.feeds() };
  const paramList = [...adapter.parameters(), ...head.parameters()];
  const adam = new AdamW(paramList, { lr: 1e-6 });
  for (let e = 0; e < epochs; e++) {
    const r = await graph.ppoStep(items, params, { microBatch: 1, padTo });
    if (e === 0 && r.stats.ratio_mean !== 1) throw new Error(`${what}: the first PPO ratio is ${r.stats.ratio_mean}, not 1`);
    const grads = paramList.map((p) => r.grads.get(p.name)!);
    clipGradNorm(grads, 0.5);
    adam.update(grads);
  }
}
