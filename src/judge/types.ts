/** How a problem's tests feed the program: text on stdin, or arguments of a function call. */
export type TestStyle = 'stdin' | 'call';

/** How stdout is compared with the expected text (call-style return values are compared as values). */
export type CompareMode = 'default' | 'strict' | 'float';

/** A JSON value as our loaders parse it: integers beyond 2^53 stay exact as bigint. */
export type PlainValue = null | boolean | number | bigint | string | PlainValue[] | { [key: string]: PlainValue };

/** One test. For stdin style `input` and `output` are text; for call style `input` is the argument
 * list and `output` the expected return value — or, with `check`, the test is a check test. */
export interface TestCase {
  input: string | PlainValue[];
  output: PlainValue;
  /** Call style only: a check test. Instead of calling `fnName` with `input` and comparing the result
   * with `output` (both unused, by convention `[]` and `null`), the judge runs the program and this
   * test code in two processes: the test code in a checker process that the program never ran in,
   * with the program's functions bound to proxies whose calls cross into the program's process as
   * values. The checker decides the verdict. */
  check?: CheckSpec;
}

/**
 * Test code that decides a check test's verdict (assert-style tests that are not a comparison with a
 * constant: loops, `!=`, computed expected values, NumPy checks…). It runs in the checker process, never
 * in the program's, so nothing the program does — writing to any descriptor, patching modules or
 * builtins, exiting, killing processes — can make it pass; and it never enters the program's process.
 *
 * - passes when `body` completes (a `return` ends it early);
 * - `wrong_output` when an assertion fails in the test code;
 * - `runtime_error` on any other exception, when the program raises out of a call (the test code may
 *   catch it, as a `try`/`except` around a call expects), or when the program's process ends or breaks
 *   the protocol during a call; `timeout` / `memory_limit` / `output_limit` for either process's limits.
 *
 * What crosses: results are rebuilt in the checker from exact types (builtins; `collections`, `datetime`,
 * `decimal`, `fractions`, `time.struct_time`, `pathlib` and NumPy types); anything else (a function, a
 * generator, an object of the program's classes) arrives as a reference that can be called, iterated,
 * indexed, measured, asked for public attributes, its text or its truth — all answered by the program's
 * process — and compares by identity only. Arguments cross the same way; arguments the program changed
 * in place are changed back in the checker; a file, a Mock or an object of a class the test defines is
 * lent to the program by reference (public attributes only). Module attributes the test replaces
 * (`subprocess.call = Mock()`) are replaced in the program's process too, and the test reads
 * `sys.path`, `sys.argv`, `os.environ` and `warnings.filters` from the program's process.
 */
export interface CheckSpec {
  /** Module-level Python run first in the checker: the data set's imports and helpers. (It does not run
   * in the program's process unless the task's program includes it.) */
  setup?: string;
  /** The test: Python statements, dedented, run as the body of a function after `setup`. */
  body: string;
  /** Names under which the test calls the program's functions: `{ candidate: 'entry_point' }`. Any other
   * name the test reads that neither `setup`, the test itself nor the builtins define is looked up in
   * the program (an MBPP test calling the function by its own name; a module the program imported). */
  bind?: Record<string, string>;
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
  /** The program exited with status 0 (for call style: the call returned; for a check test: the test
   * code completed, passing or failing an assertion, without the program failing). */
  exitedOk: boolean;
  /** Non-empty stdout, or (call style) a returned value other than None, or (check test) some call of the
   * program returned a value other than None. */
  producedOutput: boolean;
  exitCode: number | null;
  signal: number | null;
  cpuSeconds: number;
  wallSeconds: number;
  /** stdout (up to the capture cap) and the tail of stderr, for logs and debugging. For a check test,
   * stderr ends with the checker's report (the failed assertion's traceback, the program's exception)
   * followed by the program's own stderr. */
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
