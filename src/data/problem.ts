import type { CompareMode, TestCase, TestStyle } from '../judge/types.js';

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
}

/** A problem file that could not be read whole: the good records and what was wrong with the rest. */
export interface LoadReport {
  problems: Problem[];
  errors: string[];
}
