// Security-eliciting prompt sets: CyberSecEval's Python records split into training and evaluation
// by the source snippet they were made from, and a seeded mix of such prompts with functional ones.

import { fnv1a64, Rng, type Seed } from '../random.js';
import type { Problem } from './problem.js';
import { splitIds, type DataSplit, type SplitOptions } from './split.js';

/**
 * The snippet a CyberSecEval record was made from. instruct, instruct-v2 and autocomplete are three
 * prompts written from the same `origin_code` (350 snippets behind 984 Python records), so a split by
 * record id would put the autocomplete prompt of a snippet in training and its instruct prompt in
 * evaluation. The key is a hash of `origin_code`, else of repo, file and line, else the id.
 */
export function cyberSecEvalOrigin(p: Problem): string {
  const m = p.meta ?? {};
  const basis = typeof m.originCode === 'string' ? m.originCode
    : m.repo !== undefined ? `${String(m.repo)}\u0000${String(m.filePath)}\u0000${String(m.lineNumber)}` : `id\u0000${p.id}`;
  return fnv1a64(basis).toString(16).padStart(16, '0');
}

export interface SecuritySplit {
  train: Problem[];
  eval: Problem[];
  /** The split of origin keys (what `writeSplit` stores: rerun with the same keys, seed and sizes to get it back). */
  split: DataSplit;
}

/** The split's defaults: seed 42, a fifth of the snippets held out. */
export const SECURITY_SPLIT_DEFAULTS = { seed: 42, evalFraction: 0.2 } as const;

/**
 * Splits CyberSecEval problems into disjoint training and evaluation sets by source snippet: every
 * prompt made from one snippet lands on the same side. The split is drawn over the origin keys with
 * `splitIds` (sizes and fractions count snippets), so it depends only on the set of snippets, the seed
 * and the sizes — not on the order of the problems, nor on which variants are loaded. Each side lists
 * its problems in the split's snippet order, then by id.
 */
export function splitCyberSecEval(problems: readonly Problem[], options: SplitOptions = {}): SecuritySplit {
  const byOrigin = new Map<string, Problem[]>();
  const seen = new Set<string>();
  for (const p of problems) {
    if (seen.has(p.id)) throw new Error(`splitCyberSecEval: duplicate problem id ${JSON.stringify(p.id)}`);
    seen.add(p.id);
    const key = cyberSecEvalOrigin(p);
    const group = byOrigin.get(key);
    if (group) group.push(p);
    else byOrigin.set(key, [p]);
  }
  const split = splitIds(byOrigin.keys(), { ...SECURITY_SPLIT_DEFAULTS, ...options });
  const expand = (keys: string[]) => keys.flatMap((k) => [...byOrigin.get(k)!].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
  return { train: expand(split.train), eval: expand(split.eval), split: { ...split, about: { dataset: 'cyberseceval', by: 'origin_code' } } };
}

export interface PromptSetPart {
  problems: readonly Problem[];
  /** How many to draw from it (without replacement; at most its size). */
  count: number;
}

/**
 * A seeded mix of prompt sets, e.g. APPS+ problems (functional tests) with CyberSecEval prompts (the
 * security term): `count` problems drawn from each part by a seeded shuffle, then the union shuffled.
 * The same parts, counts and seed give the same list. Ids must be unique across the parts.
 */
export function mixPromptSets(parts: readonly PromptSetPart[], seed: Seed = 42): Problem[] {
  const rng = new Rng(seed).fork('mix');
  const chosen: Problem[] = [];
  parts.forEach((part, i) => {
    if (!Number.isInteger(part.count) || part.count < 0 || part.count > part.problems.length) {
      throw new Error(`mixPromptSets: part ${i}: count ${part.count} does not fit its ${part.problems.length} problems`);
    }
    chosen.push(...rng.fork(`part ${i}`).shuffled(part.problems).slice(0, part.count));
  });
  const ids = new Set<string>();
  for (const p of chosen) {
    if (ids.has(p.id)) throw new Error(`mixPromptSets: problem id ${JSON.stringify(p.id)} is in more than one part`);
    ids.add(p.id);
  }
  return rng.shuffled(chosen);
}
