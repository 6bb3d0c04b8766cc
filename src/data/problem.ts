import type { CompareMode, TestCase, TestStyle } from '../judge/types.js';
import type { TestHarness } from './asserts.js';

/** Facts a data set records about a problem that the judge does not need (CWE of a security
 * prompt, MBPP split, ODEX libraries, tests left out …). */
export type ProblemMeta = Record<string, string | number | boolean | null | string[]>;

/** A programming problem with its tests, in the form every loader produces. */
export interface Problem {
  id: string;
  /** The text shown to the model (for APPS+, a function stub whose docstring is the statement). */
  prompt: string;
  style: TestStyle;
  /** Call style: the function or `Solution` method to call. Stdin style: the zero-argument entry
   * function of the APPS+ convention, if the stub has one. */
  fnName?: string;
  starterCode?: string;
  tests: TestCase[];
  canonicalSolution?: string;
  /** Overrides the run's comparison mode for this problem. */
  compare?: CompareMode;
  /** Original APPS: a call-style result also passes if `[result]` equals the expected value. */
  acceptWrappedResult?: boolean;
  difficulty?: string;
  /** Where the problem came from: `file:line` or `file#index`. */
  source?: string;
  /** Assert-style sets (MBPP, HumanEval, ODEX): the harness that runs `tests` after the program.
   * Such a problem must be judged through `judgeTaskFor(problem, program)`. */
  harness?: TestHarness;
  /** Code that follows the model's completion (ODEX `suffix`): prompt + completion + suffix. */
  suffix?: string;
  /** `code` (default): the prompt is code to complete (a stub, a docstring). `text`: the prompt is
   * an instruction or a statement in prose (CyberSecEval, original APPS); templates use it as is. */
  promptKind?: 'code' | 'text';
  /** The data set's name (`mbpp`, `humaneval`, …) when a named loader produced the problem. */
  dataset?: string;
  meta?: ProblemMeta;
}

/** A problem file that could not be read whole: the good records and what was wrong with the rest. */
export interface LoadReport {
  problems: Problem[];
  errors: string[];
  /** Records left out on purpose (another language, a split not asked for), with how many. */
  notes?: string[];
}

/** Tests kept per problem by the data-set loaders unless told otherwise. */
export const DEFAULT_MAX_TESTS = 5;
