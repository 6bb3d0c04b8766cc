import type { CompareMode, JudgeTask } from '../judge/types.js';
import type { Problem } from './problem.js';

/**
 * The judge task that runs `program` on `problem`'s tests — the one place that knows how a problem's
 * tests are run. For stdin and call-style problems it is the program with the problem's tests. For
 * assert-style problems (`problem.harness`) the harness is appended to the program; for a value test
 * the judge calls the harness function with the test's index and compares what it returns with the
 * expected value outside the sandbox; a check test (`test.check`) runs its statements in the judge's
 * checker process against the same program (program + harness, whose setup gives the program the
 * data set's imports). `compare` is the run's comparison mode (the problem's own wins).
 */
export function judgeTaskFor(problem: Problem, program: string, options: { compare?: CompareMode } = {}): JudgeTask {
  const compare = problem.compare ?? options.compare;
  if (problem.harness) {
    const joint = program.endsWith('\n') ? '\n' : '\n\n';
    return {
      program: `${program}${joint}${problem.harness.code}`,
      style: 'call',
      fnName: problem.harness.fnName,
      tests: problem.tests,
      ...(compare ? { compare } : {}),
    };
  }
  return {
    program,
    style: problem.style,
    fnName: problem.fnName,
    tests: problem.tests,
    ...(compare ? { compare } : {}),
    ...(problem.acceptWrappedResult ? { acceptWrappedResult: true } : {}),
  };
}
