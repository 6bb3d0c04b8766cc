import { outputsMatch, valuesEqual } from './compare.js';
import type { CompareMode, TestCase, TestResult, TestStyle, TestVerdict } from './types.js';
import type { ServerRun } from './worker.js';

const STDERR_KEPT = 2000;

function memoryExhausted(run: ServerRun): boolean {
  if (run.memory_error) return true;
  // A MemoryError the program caught and re-raised in another shape still ends its traceback so.
  return run.exit_code !== 0 && /(^|\n)MemoryError\b[^\n]*\n?$/u.test(run.stderr);
}

/** Turns one raw run from the sandbox into a verdict against the expected output. */
export function judgeRun(run: ServerRun, test: TestCase, style: TestStyle, compare: CompareMode, acceptWrapped: boolean): TestResult {
  if (test.check) return judgeCheckRun(run);
  const returned = style === 'call' && 'return' in run;
  const exitedOk = run.exit_code === 0 && run.limit === null && (style === 'stdin' || returned);
  // Returning None is the call-style analogue of printing nothing.
  const producedOutput = style === 'call' ? returned && run.return !== null : run.stdout.trim().length > 0;
  let verdict: TestVerdict;
  if (run.limit === 'timeout') verdict = 'timeout';
  else if (run.limit === 'output_limit') verdict = 'output_limit';
  else if (memoryExhausted(run)) verdict = 'memory_limit';
  else if (run.exit_code !== 0) verdict = 'runtime_error';
  else if (style === 'call' ? !returned : !producedOutput) verdict = 'no_output';
  else if (style === 'call') {
    const tolerant = compare === 'float';
    const expected = test.output;
    const match = valuesEqual(run.return, expected, tolerant) || (acceptWrapped && valuesEqual([run.return], expected, tolerant));
    verdict = match ? 'passed' : producedOutput ? 'wrong_output' : 'no_output';
  } else {
    verdict = outputsMatch(run.stdout, String(test.output ?? ''), compare) ? 'passed' : 'wrong_output';
  }
  // An empty expected output is matched by a silent program: that is a pass, not "no output".
  if (verdict === 'no_output' && style === 'stdin' && String(test.output ?? '').trim() === '') verdict = 'passed';
  return {
    ...common(run, verdict, exitedOk, producedOutput),
    ...(returned ? { returned: run.return } : {}),
  };
}

/** A check test's verdict is the checker's; the program's process counts only for its own limits. */
function judgeCheckRun(run: ServerRun): TestResult {
  const outcome = run.check?.outcome ?? 'checker_died';
  const completed = outcome === 'passed' || outcome === 'failed';
  let verdict: TestVerdict;
  if (run.limit === 'timeout') verdict = 'timeout';
  else if (run.limit === 'output_limit' || outcome === 'output_limit') verdict = 'output_limit';
  else if (run.memory_error || (!completed && /(^|\n)MemoryError\b[^\n]*\n?$/u.test(run.stderr))) verdict = 'memory_limit';
  else if (outcome === 'passed') verdict = 'passed';
  else if (outcome === 'failed') verdict = 'wrong_output';
  else verdict = 'runtime_error';
  return common(run, verdict, completed && run.limit === null, run.check?.returned === true);
}

function common(run: ServerRun, verdict: TestVerdict, exitedOk: boolean, producedOutput: boolean): TestResult {
  return {
    verdict,
    exitedOk,
    producedOutput,
    exitCode: run.exit_code,
    signal: run.signal,
    cpuSeconds: run.cpu_s,
    wallSeconds: run.wall_s,
    stdout: run.stdout.length > STDERR_KEPT * 2 ? `${run.stdout.slice(0, STDERR_KEPT * 2)}…` : run.stdout,
    stderr: run.stderr.length > STDERR_KEPT ? `…${run.stderr.slice(-STDERR_KEPT)}` : run.stderr,
  };
}
