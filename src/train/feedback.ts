// The self-correction prompt (COCOS): turn t+1's problem is the original one with its previous program and
// that program's execution feedback — the tests' verdicts, the first failing test's input, expected and
// actual output, and the error's last lines — each part cut to a bounded size, so a prompt's length has a
// bound whatever the program printed. The trainer (`train rloo`) and `eval --turns` build it the same way.

import type { Problem } from '../data/problem.js';
import type { TestCase, TestResult, TestVerdict } from '../judge/types.js';

/** What the feedback needs of a scored program (a RewardBreakdown has all of it). */
export interface ProgramOutcome {
  program: string;
  syntaxOk: boolean;
  syntaxError?: string;
  testsPassed: number;
  testsTotal: number;
  verdicts: readonly TestVerdict[];
  tests: readonly TestResult[];
}

export interface FeedbackLimits {
  /** The previous program's characters (its head is kept). */
  programChars: number;
  /** A test's input, expected and actual output (each). */
  fieldChars: number;
  /** The error's last lines, and at most this many characters of them (the tail is kept). */
  errorLines: number;
  errorChars: number;
}

export const DEFAULT_FEEDBACK_LIMITS: FeedbackLimits = { programChars: 1500, fieldChars: 200, errorLines: 4, errorChars: 400 };

const MARK = '…[truncated]';

/** `s` cut to `n` characters (the head kept, a mark appended) when longer. */
export function clipHead(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n)}${MARK}`;
}

/** The last `lines` non-empty lines of `s`, then at most its last `chars` characters (a mark prepended). */
export function clipTail(s: string, lines: number, chars: number): string {
  const kept = s.split('\n').map((l) => l.trimEnd()).filter((l) => l !== '').slice(-lines).join('\n');
  return kept.length <= chars ? kept : `${MARK}${kept.slice(kept.length - chars)}`;
}

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v) ?? String(v));

/** The feedback on one scored program, as text (no trailing newline). */
export function feedbackText(problem: Problem, o: ProgramOutcome, limits: FeedbackLimits = DEFAULT_FEEDBACK_LIMITS): string {
  const lines: string[] = [];
  if (o.program.trim() === '') return 'Your previous answer contained no program.';
  lines.push('Your previous program:', '```python', clipHead(o.program.replace(/\s+$/u, ''), limits.programChars), '```');
  if (!o.syntaxOk) {
    lines.push('Execution feedback: the program does not compile.');
    if (o.syntaxError) lines.push('Error:', clipTail(o.syntaxError, limits.errorLines, limits.errorChars));
    return lines.join('\n');
  }
  lines.push(`Execution feedback: ${o.testsPassed} of ${o.testsTotal} tests passed.`);
  if (o.verdicts.length) lines.push(`Verdicts: ${o.verdicts.join(', ')}`);
  const i = o.verdicts.findIndex((v) => v !== 'passed');
  if (i >= 0) {
    const t: TestCase | undefined = problem.tests[i];
    const r: TestResult | undefined = o.tests[i];
    lines.push(`First failing test (test ${i + 1}, ${o.verdicts[i]}):`);
    if (t?.check) lines.push(`Test code: ${clipHead(t.check.body.trim(), limits.fieldChars)}`);
    else if (t) {
      lines.push(`Input: ${clipHead(show(t.input), limits.fieldChars)}`, `Expected output: ${clipHead(show(t.output), limits.fieldChars)}`);
      if (r) lines.push(`Actual output: ${clipHead(r.returned !== undefined ? show(r.returned) : r.stdout, limits.fieldChars)}`);
    }
    const err = r ? clipTail(r.stderr, limits.errorLines, limits.errorChars) : '';
    if (err) lines.push('Error (last lines):', err);
  }
  return lines.join('\n');
}

/**
 * The problem for the next turn: the original task, the previous program with its feedback, and the request
 * for a corrected program. Its prompt is prose (`promptKind: 'text'`), so the answer is scored as a whole
 * program; the tests and everything else are the original problem's.
 */
export function feedbackProblem(problem: Problem, previous: ProgramOutcome, limits: FeedbackLimits = DEFAULT_FEEDBACK_LIMITS): Problem {
  const task = problem.promptKind === 'text' ? problem.prompt : `Complete the following Python code:\n\n${problem.prompt}`;
  const prompt = `${task.replace(/\s+$/u, '')}\n\n${feedbackText(problem, previous, limits)}\n\n`
    + 'Fix the program so that it passes all tests. Answer with the complete corrected program.';
  return { ...problem, prompt, promptKind: 'text' };
}

/** What the self-correction figures need of one turn's scored program. */
export interface TurnOutcome { testsPassed: number; testsTotal: number; verdicts: readonly TestVerdict[] }

/** Every test passed (and there are tests). */
export const solved = (b: Pick<TurnOutcome, 'testsPassed' | 'testsTotal'>) => b.testsTotal > 0 && b.testsPassed === b.testsTotal;

/**
 * Self-correction figures over trajectories (`turns[t][i]`: turn t's outcome of trajectory i), first turn
 * against the last: Acc@t per turn, Δi→c (wrong, then solved), Δc→i (solved, then wrong), and the share of
 * the tests passing at turn 1 that still pass at the last turn (null when none passed).
 */
export function correctionMetrics(turns: readonly (readonly TurnOutcome[])[]): Record<string, number | null> {
  const first = turns[0], last = turns[turns.length - 1], n = first.length;
  const out: Record<string, number | null> = {};
  turns.forEach((t, i) => { out[`acc_t${i + 1}`] = t.filter(solved).length / n; });
  out.delta_i_to_c = first.filter((b, i) => !solved(b) && solved(last[i])).length / n;
  out.delta_c_to_i = first.filter((b, i) => solved(b) && !solved(last[i])).length / n;
  let before = 0, kept = 0;
  first.forEach((b, i) => b.verdicts.forEach((v, j) => { if (v === 'passed') { before++; if (last[i].verdicts[j] === 'passed') kept++; } }));
  out.kept_pass_share = before > 0 ? kept / before : null;
  return out;
}
