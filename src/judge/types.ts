/** How a problem's tests feed the program: text on stdin, or arguments of a function call. */
export type TestStyle = 'stdin' | 'call';

/** How stdout is compared with the expected text (call-style return values are compared as values). */
export type CompareMode = 'default' | 'strict' | 'float';

/** A JSON value as our loaders parse it: integers beyond 2^53 stay exact as bigint. */
export type PlainValue = null | boolean | number | bigint | string | PlainValue[] | { [key: string]: PlainValue };

/** One test. For stdin style `input` and `output` are text; for call style `input` is the argument
 * list and `output` the expected return value. */
export interface TestCase {
  input: string | PlainValue[];
  output: PlainValue;
}

/** What the judge needs to run a program: the tests' inputs go into the sandbox, outputs never do. */
export interface JudgeTask {
  program: string;
  style: TestStyle;
  /** Call style: the function (or `Solution` method) to call. Stdin style: an optional zero-argument
   * entry function that the harness calls after the program is defined, if the program itself never
   * calls it (APPS+ convention). */
  fnName?: string;
  tests: TestCase[];
  compare?: CompareMode;
  /** Original APPS convention: a call-style result also passes if `[result]` equals the expected value. */
  acceptWrappedResult?: boolean;
  limits?: Partial<Limits>;
}

/** Resource limits for one test run. CPU time is the real limit; wall time is only a backstop. */
export interface Limits {
  cpuSeconds: number;
  wallSeconds: number;
  memoryMb: number;
  processes: number;
  fileSizeMb: number;
  openFiles: number;
  /** Bytes of stdout (or serialised return value) kept before the run is stopped as `output_limit`. */
  outputBytes: number;
  /** Bytes of stderr kept (the rest is dropped, the run goes on). */
  stderrBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  cpuSeconds: 4,
  // Only a backstop for programs that sleep or block: with two workers per core a CPU-bound test
  // may get half a core, so it must sit well above twice the CPU limit.
  wallSeconds: 15,
  memoryMb: 1024,
  processes: 32,
  fileSizeMb: 16,
  openFiles: 64,
  outputBytes: 1 << 20,
  stderrBytes: 1 << 16,
};

export type TestVerdict =
  | 'passed'
  | 'wrong_output'
  | 'no_output'
  | 'runtime_error'
  | 'timeout'
  | 'memory_limit'
  | 'output_limit';

/** What happened on one test, as judged outside the sandbox. */
export interface TestResult {
  verdict: TestVerdict;
  /** The program exited with status 0 (for call style: the call returned). */
  exitedOk: boolean;
  /** Non-empty stdout, or (call style) a returned value. */
  producedOutput: boolean;
  exitCode: number | null;
  signal: number | null;
  cpuSeconds: number;
  wallSeconds: number;
  /** stdout (up to the capture cap) and the tail of stderr, for logs and debugging. */
  stdout: string;
  stderr: string;
  /** Call style: the returned value as serialised in the sandbox. */
  returned?: unknown;
}

/** The judge's answer for one program. `syntaxError` is set when CPython's compile() rejected it,
 * and then no test ran. */
export interface JudgeResult {
  syntaxOk: boolean;
  syntaxError?: string;
  tests: TestResult[];
  passed: number;
  total: number;
}
