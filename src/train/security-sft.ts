// SFT on the mix: APPS+ training problems with their solutions, and CyberSecEval training prompts answered
// with the code they were written from (the parseable window around the flagged line of `origin_code`,
// with the imports it uses: the repair tasks' `insecureCode`, which the analyzer sees something in). A
// model trained only on APPS+ writes stdin programs whatever it is asked, so on CyberSecEval prompts the
// security term never sees a finding and has nothing to move; this stage gives the model the insecure
// habits real code has, as pretraining on public code gives a real checkpoint.

import type { Problem } from '../data/problem.js';
import { cyberSecEvalOrigin } from '../data/security-prompts.js';
import { Rng } from '../random.js';
import { repairTasks } from '../reward/repair.js';

export interface SecuritySftSet {
  problems: Problem[];
  /** CyberSecEval prompts kept (their snippet makes a window the analyzer sees something in), and left out. */
  cyberseceval: number;
  skipped: number;
  apps: number;
}

/**
 * `cse` prompts (one side of `splitCyberSecEval` only) with `canonicalSolution` = their snippet's window,
 * `cseCount` of those drawn by seed, mixed with `appsCount` APPS+ training problems that have a solution.
 */
export function securitySftProblems(apps: readonly Problem[], cse: readonly Problem[], o: { appsCount: number; cseCount: number; seed: number }): SecuritySftSet {
  const code = new Map(repairTasks(cse).tasks.map((t) => [t.origin, t.insecureCode]));
  const answered = cse.flatMap((p) => {
    const c = code.get(cyberSecEvalOrigin(p));
    return c === undefined ? [] : [{ ...p, canonicalSolution: c }];
  });
  const solved = apps.filter((p) => p.canonicalSolution);
  const rng = new Rng(o.seed).fork('security sft');
  const take = (ps: readonly Problem[], n: number, what: string) => {
    if (n > ps.length) throw new Error(`security SFT: ${n} ${what} asked for, ${ps.length} available`);
    return rng.fork(what).shuffled(ps).slice(0, n);
  };
  const chosenCse = take(answered, o.cseCount, 'CyberSecEval prompts with a window'), chosenApps = take(solved, o.appsCount, 'APPS+ problems with a solution');
  return { problems: rng.shuffled([...chosenApps, ...chosenCse]), cyberseceval: chosenCse.length, skipped: cse.length - answered.length, apps: chosenApps.length };
}
