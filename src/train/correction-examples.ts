// Self-correction examples for SFT: a model trained from scratch has never read execution feedback, so before
// RLOO can reward corrections it must know what a second-turn prompt asks. For each training problem with a
// reference solution, a small mutation of that solution (a constant moved, an operator or a built-in swapped)
// is run through the real judge; when it fails a test, the second-turn prompt built from its feedback (the
// same `feedbackProblem` the trainer and `eval --turns` use) gets the reference as its target. The reference
// itself, with its all-passed feedback, also gets itself as the target: a correct program is kept.

import type { Problem } from '../data/problem.js';
import type { Rng } from '../random.js';
import type { Scorer } from '../reward/scorer.js';
import { DEFAULT_FEEDBACK_LIMITS, feedbackProblem, type FeedbackLimits } from './feedback.js';

/** Swaps that keep a program compiling and usually change what it returns. */
const SWAPS: [RegExp, string][] = [
  [/ \+ /u, ' - '], [/ - /u, ' + '], [/ \* /u, ' + '], [/ % /u, ' // '], [/ == /u, ' != '],
  [/\bmax\(/u, 'min('], [/\bmin\(/u, 'max('], [/\bsum\(/u, 'len('], [/\.upper\(\)/u, '.lower()'], [/\[::-1\]/u, '[1:]'],
];

/** The kinds of mistake a mutation makes: a wrong value (still compiles), a syntax error, a wrong name. */
export type MutationKind = 'value' | 'syntax' | 'name';

/**
 * A mutation of `program` of the given kind, or null when none applies: `value` moves a constant by 1–3 or
 * makes one swap (it still compiles); `syntax` drops one bracket, colon or comma; `name` renames the first
 * function it defines (the tests then cannot find it).
 */
export function mutateProgram(program: string, rng: Rng, kind: MutationKind = 'value'): string | null {
  if (kind === 'syntax') {
    const at = [...program.matchAll(/[()[\]:,]/gu)].map((m) => m.index!);
    if (!at.length) return null;
    const i = rng.choice(at);
    return program.slice(0, i) + program.slice(i + 1);
  }
  if (kind === 'name') {
    const def = /\bdef (\w+)\(/u.exec(program);
    return def ? program.replace(def[0], `def ${def[1]}_${rng.choice(['fn', 'value', 'result', 'v2'])}(`) : null;
  }
  const options: (() => string)[] = [];
  const ints = [...program.matchAll(/(?<![\w.])\d+(?![\w.])/gu)];
  for (const m of ints) {
    options.push(() => {
      const n = Number(m[0]);
      let v = n + rng.intBetween(1, 3) * (rng.float() < 0.5 ? -1 : 1);
      if (v < 0) v = n + rng.intBetween(1, 3);
      return program.slice(0, m.index) + String(v) + program.slice(m.index! + m[0].length);
    });
  }
  for (const [pattern, by] of SWAPS) if (pattern.test(program)) options.push(() => program.replace(pattern, by));
  return options.length ? rng.choice(options)() : null;
}

export interface CorrectionExample {
  problem: Problem;
  response: string;
}

/**
 * Second-turn examples for `problems`: a failing mutation's feedback → the reference (the mutation's kind
 * drawn per problem: value, syntax or name), and the reference's own feedback → the reference. Problems
 * without a reference, or whose mutation passes every test, give only the second kind (or nothing).
 */
export async function correctionExamples(problems: readonly Problem[], scorer: Scorer, rng: Rng, limits: FeedbackLimits = DEFAULT_FEEDBACK_LIMITS): Promise<CorrectionExample[]> {
  const out = await Promise.all(problems.filter((p) => p.canonicalSolution).map(async (p) => {
    const reference = p.canonicalSolution!.replace(/\r\n?/gu, '\n');
    const mutant = mutateProgram(reference, rng, rng.choice(['value', 'value', 'syntax', 'name'] as const));
    const [kept, wrong] = await Promise.all([scorer.score(p, reference), mutant ? scorer.score(p, mutant) : null]);
    const examples: CorrectionExample[] = [];
    if (kept.testsTotal > 0 && kept.testsPassed === kept.testsTotal) examples.push({ problem: feedbackProblem(p, kept, limits), response: reference });
    if (wrong && wrong.testsPassed < wrong.testsTotal) examples.push({ problem: feedbackProblem(p, wrong, limits), response: reference });
    return examples;
  }));
  return out.flat();
}
