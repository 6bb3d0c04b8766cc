// A trained model measured on held-out problems the way its trainer samples: the run's template, one
// seeded completion per problem (the same seed per problem for every model, so two models' results pair
// up), each scored by the Scorer. Compact on purpose: `eval --model DIR --adapter DIR` is the full
// evaluation with run folders, intervals and reports.

import type { Problem } from '../data/problem.js';
import type { TemplateName } from '../data/templates.js';
import { releaseSessions } from '../engine/index.js';
import { CausalLM } from '../model/causal-lm.js';
import { loadAdapter } from '../model/peft.js';
import { Tokenizer } from '../model/tokenizer.js';
import { loadCheckpoint } from '../model/weights.js';
import { Rng } from '../random.js';
import type { RewardBreakdown, Scorer } from '../reward/scorer.js';
import { chunks } from './batch.js';
import { PromptCodec, rollout, type SamplingConfig } from './rollout.js';

export interface HeldOutResult {
  breakdowns: RewardBreakdown[];
  meanReward: number;
  syntaxRate: number;
  passAnyRate: number;
  passAllRate: number;
}

export async function evaluateHeldOut(o: { model: string; adapter?: string | null; problems: readonly Problem[]; scorer: Scorer; template: TemplateName;
  sampling: SamplingConfig; seed: number; batchSize?: number; threads?: number }): Promise<HeldOutResult> {
  const ck = loadCheckpoint(o.model);
  const tokenizer = Tokenizer.load(o.model);
  const adapter = o.adapter ? loadAdapter(o.adapter, ck.config) : undefined;
  const lm = new CausalLM(ck, { adapter, session: { threads: o.threads || undefined, spinning: false } });
  const codec = PromptCodec.forModel(tokenizer, o.template, ck.config);
  const breakdowns: RewardBreakdown[] = [];
  try {
    for (const group of chunks(o.problems, o.batchSize ?? 16)) {
      // One generator per problem, from the problem's id: results do not depend on batching or model.
      const rngs = group.map((p) => new Rng(o.seed).fork(`eval ${p.id}`));
      const r = await rollout(lm, codec, group, o.scorer, { sampling: o.sampling, rng: new Rng(o.seed), rowRngs: rngs });
      breakdowns.push(...r.samples.map((s) => s.breakdown));
    }
  } finally {
    await releaseSessions(lm.graph);
  }
  const mean = (f: (b: RewardBreakdown) => number) => breakdowns.reduce((s, b) => s + f(b), 0) / Math.max(1, breakdowns.length);
  return {
    breakdowns, meanReward: mean((b) => b.reward), syntaxRate: mean((b) => (b.syntaxOk ? 1 : 0)),
    passAnyRate: mean((b) => (b.testsPassed > 0 ? 1 : 0)), passAllRate: mean((b) => (b.testsTotal > 0 && b.testsPassed === b.testsTotal ? 1 : 0)),
  };
}
