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
import { feedbackProblem, type FeedbackLimits } from './feedback.js';
import { PromptCodec, rollout, type SamplingConfig } from './rollout.js';

export interface HeldOutResult {
  breakdowns: RewardBreakdown[];
  meanReward: number;
  syntaxRate: number;
  passAnyRate: number;
  passAllRate: number;
}

export interface HeldOutOptions {
  model: string;
  adapter?: string | null;
  problems: readonly Problem[];
  scorer: Scorer;
  template: TemplateName;
  sampling: SamplingConfig;
  seed: number;
  batchSize?: number;
  threads?: number;
}

/**
 * Each problem answered `turns` times, turn t+1 seeing turn t's program with its execution feedback (as
 * `train rloo` and `eval --turns` ask); `out[t][i]` is turn t+1's breakdown for problem i. One generator per
 * problem and turn, from the problem's id: results do not depend on batching or on the model.
 */
export async function sampleTurns(o: HeldOutOptions & { turns: number; feedback?: FeedbackLimits }): Promise<RewardBreakdown[][]> {
  const ck = loadCheckpoint(o.model);
  const tokenizer = Tokenizer.load(o.model);
  const adapter = o.adapter ? loadAdapter(o.adapter, ck.config) : undefined;
  const lm = new CausalLM(ck, { adapter, session: { threads: o.threads || undefined, spinning: false } });
  const codec = PromptCodec.forModel(tokenizer, o.template, ck.config);
  const out: RewardBreakdown[][] = [];
  try {
    let asked: readonly Problem[] = o.problems;
    for (let t = 1; t <= o.turns; t++) {
      const turn: RewardBreakdown[] = [];
      for (const group of chunks(asked, o.batchSize ?? 16)) {
        const rngs = group.map((p) => new Rng(o.seed).fork(t === 1 ? `eval ${p.id}` : `eval ${p.id} turn ${t}`));
        const r = await rollout(lm, codec, group, o.scorer, { sampling: o.sampling, rng: new Rng(o.seed), rowRngs: rngs });
        turn.push(...r.samples.map((s) => s.breakdown));
      }
      out.push(turn);
      asked = turn.map((b, i) => feedbackProblem(o.problems[i], b, o.feedback));
    }
  } finally {
    await releaseSessions(lm.graph);
  }
  return out;
}

export async function evaluateHeldOut(o: HeldOutOptions): Promise<HeldOutResult> {
  const [breakdowns] = await sampleTurns({ ...o, turns: 1 });
  const mean = (f: (b: RewardBreakdown) => number) => breakdowns.reduce((s, b) => s + f(b), 0) / Math.max(1, breakdowns.length);
  return {
    breakdowns, meanReward: mean((b) => b.reward), syntaxRate: mean((b) => (b.syntaxOk ? 1 : 0)),
    passAnyRate: mean((b) => (b.testsPassed > 0 ? 1 : 0)), passAllRate: mean((b) => (b.testsTotal > 0 && b.testsPassed === b.testsTotal ? 1 : 0)),
  };
}
