// Rollout: prompts rendered with the run's template (the module eval uses), sampled as one batch by the
// policy, and each row handed to the Scorer the moment it finishes — the judge works in its own processes
// while the rest of the batch is still being sampled. Every component of each sample's reward is kept.

import type { Problem } from '../data/problem.js';
import { promptText, renderPrompt, resolveTemplate, type PromptTemplate, type TemplateName } from '../data/templates.js';
import type { ModelConfig } from '../model/config.js';
import { templateStops } from '../eval/backends/local.js';
import type { CausalLM } from '../model/causal-lm.js';
import { generate, type FinishReason } from '../model/sampler.js';
import type { Tokenizer } from '../model/tokenizer.js';
import type { Rng } from '../random.js';
import type { RewardBreakdown, Scorer } from '../reward/scorer.js';

/** Sampling settings (the paper's: temperature 0.7, top-p 0.95, top-k 50, repetition penalty 1.1). */
export interface SamplingConfig {
  temperature: number;
  topP: number;
  topK: number;
  repetitionPenalty: number;
  maxNewTokens: number;
}

export const PAPER_SAMPLING: SamplingConfig = { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 512 };

export interface RolloutSample {
  problem: Problem;
  promptIds: number[];
  /** The sampled ids (an ending eos or stop-completing token included): what training scores. */
  responseIds: number[];
  /** The decoded completion (without eos, cut before a stop string): what the Scorer saw. */
  completion: string;
  finishReason: FinishReason;
  breakdown: RewardBreakdown;
}

export interface RolloutResult {
  samples: RolloutSample[];
  /** Wall seconds of sampling, and of waiting for scores after the last row finished. */
  timeSampleS: number;
  timeScoreS: number;
}

/** How a trainer turns problems into prompt ids and completions back into text. */
export class PromptCodec {
  readonly stops: string[];
  readonly eos: Set<number>;

  constructor(readonly tokenizer: Tokenizer, readonly template: PromptTemplate, eosTokenIds: readonly number[]) {
    this.stops = templateStops(template.name);
    this.eos = new Set(eosTokenIds);
  }

  /** A codec whose rows end at the model config's eos ids and the tokenizer's eos token. */
  static forModel(tokenizer: Tokenizer, template: TemplateName | PromptTemplate, config: ModelConfig): PromptCodec {
    return new PromptCodec(tokenizer, resolveTemplate(template), [...config.eosTokenIds, ...(tokenizer.eosId !== null ? [tokenizer.eosId] : [])]);
  }

  /** The id fed for padding: the tokenizer's pad token, else an eos id, else 0. */
  get padId(): number {
    return this.tokenizer.padId ?? this.eos.values().next().value ?? 0;
  }

  /** The prompt's text under the template (the tokenizer's chat template for `chat`). */
  text(problem: Problem): string {
    const r = renderPrompt(problem, this.template);
    return r.template === 'chat' ? this.tokenizer.applyChatTemplate(r.messages, { addGenerationPrompt: true }) : promptText(r);
  }

  encode(problem: Problem): number[] {
    return this.tokenizer.encode(this.text(problem), { addSpecialTokens: this.template.name !== 'chat' });
  }

  /** The completion a Scorer sees: ids without an ending eos, decoded, cut before the first stop string. */
  completion(ids: readonly number[]): string {
    const content = ids.length > 0 && this.eos.has(ids[ids.length - 1]) ? ids.slice(0, -1) : ids;
    let text = this.tokenizer.decode(content, { skipSpecialTokens: true });
    for (const s of this.stops) { const at = text.indexOf(s); if (at >= 0) text = text.slice(0, at); }
    return text;
  }
}

/** Samples one completion per problem with `lm` and scores each as soon as its row finishes. */
export async function rollout(lm: CausalLM, codec: PromptCodec, problems: readonly Problem[], scorer: Scorer,
  o: { sampling: SamplingConfig; rng: Rng; padTokenId?: number; rowRngs?: readonly Rng[] }): Promise<RolloutResult> {
  const prompts = problems.map((p) => codec.encode(p));
  const scores: Promise<RewardBreakdown>[] = new Array(problems.length);
  const completions: string[] = new Array(problems.length);
  const t0 = performance.now();
  const decode = (ids: number[]) => codec.tokenizer.decode(ids, { skipSpecialTokens: true });
  const result = await generate(lm, prompts, {
    maxNewTokens: o.sampling.maxNewTokens, temperature: o.sampling.temperature, topP: o.sampling.topP, topK: o.sampling.topK,
    repetitionPenalty: o.sampling.repetitionPenalty, eosTokenIds: [...codec.eos], padTokenId: o.padTokenId,
    ...(codec.stops.length ? { stop: codec.stops, decode } : {}),
    rowRngs: o.rowRngs ?? problems.map((_, i) => o.rng.fork(`row ${i}`)),
    onRowDone: (row, tokens) => {
      completions[row] = codec.completion(tokens);
      scores[row] = scorer.score(problems[row], completions[row]);
    },
  });
  const t1 = performance.now();
  const breakdowns = await Promise.all(scores);
  const t2 = performance.now();
  return {
    samples: problems.map((problem, i) => ({
      problem, promptIds: prompts[i], responseIds: result.tokens[i], completion: completions[i],
      finishReason: result.finishReason[i], breakdown: breakdowns[i],
    })),
    timeSampleS: (t1 - t0) / 1000,
    timeScoreS: (t2 - t1) / 1000,
  };
}
