// `toy`: one-line Python function tasks generated from templates with a fixed seed (add a constant, the sum of
// a list, a string reversed, …), in MBPP's shape (a sentence, a reference solution, three asserts). A model of a
// million parameters trained for a minute solves some of them, so a trainer's effect on correctness (pass
// rates, self-correction's Acc@t2 over Acc@t1) can be measured here, where MBPP and APPS+ stay out of reach.
// Generated, not downloaded: the same seed gives the same problems on every machine.
//
// The prompt is the sentence alone by default (no assert shown): the function's name — one of two or three
// synonyms per template — is then known only from the tests, so a first answer often calls the function
// something else, and the execution feedback (the failing assert names it) is what a second turn can use.
// That is the most common way MBPP-style answers fail in practice, made learnable at this scale.

import { Rng } from '../random.js';
import { problemFromMbpp } from './mbpp.js';
import type { LoadReport } from './problem.js';

/** One template: a task sentence, the solution's body (an expression of its one parameter), and a test's
 * argument and expected value (as values; the asserts write them as Python literals). */
interface Template {
  names: string[];
  text: (a: number) => string;
  params: string;
  body: (a: number) => string;
  /** The constant `a` (unused by some templates). */
  constant: (rng: Rng) => number;
  /** A test's argument, drawn with `a` known. */
  arg: (rng: Rng, a: number) => number | string | number[];
  /** What the reference returns for it (`never`: each template takes its own argument type). */
  expect: (arg: never, a: number) => unknown;
}

const int = (rng: Rng, lo: number, hi: number) => rng.intBetween(lo, hi);
const ints = (rng: Rng, n: number) => Array.from({ length: n }, () => int(rng, -9, 30));
const WORDS = ['apple', 'tree', 'python', 'code', 'river', 'stone', 'light', 'bird', 'cloud', 'green', 'seven', 'table'];
const word = (rng: Rng) => rng.choice(WORDS);
const py = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : typeof v === 'boolean' ? (v ? 'True' : 'False') : Array.isArray(v) ? `[${v.map(py).join(', ')}]` : String(v));
const mod = (x: number, m: number) => ((x % m) + m) % m;

const one = (rng: Rng) => int(rng, -9, 30);
const TEMPLATES: Template[] = [
  { names: ['add_num', 'add_value', 'increase'], text: (a) => `add ${a} to a number`, params: 'x', body: (a) => `x + ${a}`, constant: (r) => int(r, 2, 19), arg: (r) => one(r), expect: (x: number, a) => x + a },
  { names: ['sub_num', 'subtract', 'decrease'], text: (a) => `subtract ${a} from a number`, params: 'x', body: (a) => `x - ${a}`, constant: (r) => int(r, 2, 19), arg: (r) => one(r), expect: (x: number, a) => x - a },
  { names: ['mul_num', 'multiply', 'scale'], text: (a) => `multiply a number by ${a}`, params: 'x', body: (a) => `x * ${a}`, constant: (r) => int(r, 2, 9), arg: (r) => one(r), expect: (x: number, a) => x * a },
  { names: ['remainder', 'mod_num'], text: (a) => `find the remainder of a number divided by ${a}`, params: 'x', body: (a) => `x % ${a}`, constant: (r) => int(r, 2, 9), arg: (r) => int(r, 0, 60), expect: (x: number, a) => mod(x, a) },
  { names: ['square', 'square_num'], text: () => 'find the square of a number', params: 'x', body: () => 'x * x', constant: () => 0, arg: (r) => one(r), expect: (x: number) => x ** 2 },
  { names: ['is_divisible', 'divisible_by'], text: (a) => `check whether a number is divisible by ${a}`, params: 'x', body: (a) => `x % ${a} == 0`, constant: (r) => int(r, 2, 7), arg: (r, a) => int(r, 0, 12) * (r.float() < 0.5 ? a : 1), expect: (x: number, a) => mod(x, a) === 0 },
  { names: ['list_sum', 'sum_list', 'total'], text: () => 'find the sum of a list of numbers', params: 'xs', body: () => 'sum(xs)', constant: () => 0, arg: (r) => ints(r, int(r, 2, 5)), expect: (xs: number[]) => xs.reduce((s, v) => s + v, 0) },
  { names: ['list_max', 'largest', 'max_of_list'], text: () => 'find the largest number in a list', params: 'xs', body: () => 'max(xs)', constant: () => 0, arg: (r) => ints(r, int(r, 2, 5)), expect: (xs: number[]) => Math.max(...xs) },
  { names: ['list_min', 'smallest', 'min_of_list'], text: () => 'find the smallest number in a list', params: 'xs', body: () => 'min(xs)', constant: () => 0, arg: (r) => ints(r, int(r, 2, 5)), expect: (xs: number[]) => Math.min(...xs) },
  { names: ['count_value', 'count_of'], text: (a) => `count how many times ${a} occurs in a list`, params: 'xs', body: (a) => `xs.count(${a})`, constant: (r) => int(r, 1, 5), arg: (r, a) => Array.from({ length: int(r, 2, 6) }, () => (r.float() < 0.4 ? a : int(r, 0, 6))), expect: (xs: number[], a) => xs.filter((v) => v === a).length },
  { names: ['scale_list', 'multiply_all'], text: (a) => `multiply every number in a list by ${a}`, params: 'xs', body: (a) => `[v * ${a} for v in xs]`, constant: (r) => int(r, 2, 9), arg: (r) => ints(r, int(r, 1, 4)), expect: (xs: number[], a) => xs.map((v) => v * a) },
  { names: ['to_upper', 'upper_case', 'shout'], text: () => 'convert a string to upper case', params: 's', body: () => 's.upper()', constant: () => 0, arg: (r) => word(r), expect: (s: string) => s.toUpperCase() },
  { names: ['reverse_string', 'reverse', 'backwards'], text: () => 'reverse a string', params: 's', body: () => 's[::-1]', constant: () => 0, arg: (r) => word(r), expect: (s: string) => [...s].reverse().join('') },
  { names: ['repeat_string', 'repeat'], text: (a) => `repeat a string ${a} times`, params: 's', body: (a) => `s * ${a}`, constant: (r) => int(r, 2, 4), arg: (r) => word(r), expect: (s: string, a) => s.repeat(a) },
  { names: ['first_chars', 'prefix', 'head'], text: (a) => `return the first ${a} characters of a string`, params: 's', body: (a) => `s[:${a}]`, constant: (r) => int(r, 1, 4), arg: (r) => word(r), expect: (s: string, a) => s.slice(0, a) },
  { names: ['string_length', 'length'], text: () => 'find the length of a string', params: 's', body: () => 'len(s)', constant: () => 0, arg: (r) => word(r), expect: (s: string) => s.length },
];

export interface ToyOptions {
  /** Problems generated [1200]. */
  count?: number;
  /** The generator's seed [0]: the data set is the same for the same seed. */
  seed?: number;
  /** Tests kept per problem (of 3). */
  maxTests?: number;
  /** Asserts shown in the prompt under the task's text [0: the sentence alone]. */
  promptTests?: number;
}

/** The toy problems' MBPP-shaped records (task_id from 1). */
export function toyRecords(o: { count?: number; seed?: number } = {}): { task_id: number; text: string; code: string; test_list: string[] }[] {
  const rng = new Rng(o.seed ?? 0);
  return Array.from({ length: o.count ?? 1200 }, (_, i) => {
    const t = rng.choice(TEMPLATES);
    const a = t.constant(rng);
    const name = rng.choice(t.names);
    const tests: string[] = [];
    for (let tries = 0; tests.length < 3 && tries < 20; tries++) {
      const arg = t.arg(rng, a);
      const test = `assert ${name}(${py(arg)}) == ${py(t.expect(arg as never, a))}`;
      if (!tests.includes(test)) tests.push(test);
    }
    return { task_id: i + 1, text: `Write a function to ${t.text(a)}.`, code: `def ${name}(${t.params}):\n    return ${t.body(a)}\n`, test_list: tests };
  });
}

/** The toy data set as problems (function-call tests through MBPP's assert harness). */
export function loadToy(o: ToyOptions = {}): LoadReport {
  const report: LoadReport = { problems: [], errors: [] };
  for (const record of toyRecords(o)) {
    const p = problemFromMbpp(record, `toy#${record.task_id}`, { maxTests: o.maxTests, promptTests: o.promptTests ?? 0 }, 'toy');
    report.problems.push({ ...p, meta: { text: record.text, testsAvailable: record.test_list.length } });
  }
  return report;
}
