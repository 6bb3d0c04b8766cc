/**
 * Assert-style tests (MBPP, HumanEval, ODEX) as judge tests that do not trust the program's process with
 * the verdict.
 *
 * Each top-level `assert` of a test block becomes one judge test, of one of two kinds.
 *
 * **Value tests.** The program is followed by a harness (see `judgeTaskFor`) whose function
 * `__scrl_observe(k)` evaluates, inside the sandbox, only the side of test k that depends on the
 * program and returns its canonical text; the judge compares that text with the expected one OUTSIDE
 * the sandbox. The expected side never enters the sandbox, so nothing the program does in its own
 * process (an `__eq__` that always says yes, `sys.exit(0)` before the tests, redefined helpers, writing
 * the result channel) can do more than choose what the observation is — the same power an honest wrong
 * program has:
 *
 *   assert X == C   (or C == X)      observe canon(X), expect canon(C), C a constant expression
 *   assert X is True/False/None      observe which of the three X is (by identity)
 *   assert f(...)   /  assert not f(...)    f a program function: observe bool(f(...))
 *   assert math.isclose(X, C, rel_tol=r, abs_tol=a)    observe X as a number, compared within
 *   assert abs(X - C) < eps                              max(r·|C|, a) or eps (see `tolerance`)
 *
 * X must be free of comparisons and boolean logic (`X` = `f(x) > 3` would let a lying `__gt__` force
 * the bit), and so must the statements replayed before it (assignments earlier in the same check).
 *
 * **Check tests.** Everything else — non-constant expected sides, loops with asserts inside, `!=`, `in`,
 * NumPy and pandas comparisons, snippets without an assert — becomes a judge *check test*
 * (`TestCase.check`): the test's statements (after the ones before it in its block), the data set's
 * setup, and `candidate` bound to the entry point. The judge runs them in a checker process that the
 * program never ran in, with the program's functions as proxies whose calls cross into the program's
 * process as values (src/judge/types.ts `CheckSpec`, README "The judge"); the checker decides the
 * verdict. So patching a module the asserts use, writing any result channel, exiting early or killing
 * processes cannot pass one, and the statements (which may hold expected values) never enter the
 * program's process. docs/data.md counts how many tests of each set are of each kind.
 */
import type { CheckSpec, PlainValue, TestCase } from '../judge/types.js';
import {
  canonical, foldConstant, pyTruthy, reindent, statements, tokenize, PythonSyntaxError,
  type PyValue, type Statement, type Token,
} from './python-syntax.js';

/** What one assert-style test checks. */
export interface AssertTest {
  /** The statements of the test as written in the data set (the assert, after what it depends on). */
  source: string;
  /** `value`: a value test; `script`: a check test (`TestCase.check`, run in the judge's checker). */
  kind: 'value' | 'script';
  /** Value tests: the Python expression observed in the sandbox. */
  observe?: string;
  /** Value tests: what the observation is compared with (canonical text, or a number for tolerance tests). */
  expected?: PlainValue;
  /** Tolerance tests: the absolute tolerance the comparison stands for. */
  tolerance?: number;
  /** Check tests: why the test could not be a value test. */
  reason?: string;
}

/** How an assert-style problem's tests are run: the harness appended to the program. */
export interface TestHarness {
  /** Python appended after the program (after a blank line) before judging: the helpers, the data
   * set's setup and one function per value test. It holds no expected value and no check test's code. */
  code: string;
  /** The harness function the judge calls (call style) with `[k]` for value test k. */
  fnName: string;
  /** What each test checks, parallel to `Problem.tests`. */
  asserts: AssertTest[];
}

export const HARNESS_FN = '__scrl_observe';

/** Python helpers at the head of every harness. `__scrl_canon` mirrors `canonical()` in
 * python-syntax.ts. */
const HELPERS_PY = String.raw`
# ---- securecoderl assert harness (src/data/asserts.ts, docs/data.md): appended after the program ----
import sys as __scrl_sys, json as __scrl_json, numbers as __scrl_numbers
try:
    __scrl_sys.set_int_max_str_digits(0)
except Exception:
    pass


def __scrl_canon(v, d=0):
    if d > 100:
        raise ValueError('value nested too deeply to compare')
    if v is None:
        return None if d == 0 else 'None'      # a bare None stays None: the judge counts it as no output
    if isinstance(v, bool):
        return '1' if v else '0'
    if isinstance(v, int):
        return int.__repr__(v)
    if isinstance(v, str):
        return __scrl_json.dumps(str.__str__(v))
    if isinstance(v, (bytes, bytearray)):
        return 'b"' + bytes(v).hex() + '"'
    if type(v).__module__ == 'numpy' and getattr(v, 'shape', None) == ():
        return __scrl_canon(v.item(), d + 1)
    if isinstance(v, float) or (isinstance(v, __scrl_numbers.Real) and not isinstance(v, __scrl_numbers.Integral)):
        f = float(v)
        if f != f:
            return 'nan'
        if f in (float('inf'), float('-inf')):
            return 'inf' if f > 0 else '-inf'
        return int.__repr__(int(f)) if f.is_integer() else float.__repr__(f)
    if isinstance(v, __scrl_numbers.Integral):
        return int.__repr__(int(v))
    if isinstance(v, complex):
        c = complex(v)
        if c.imag == 0:
            return __scrl_canon(c.real, d + 1)
        return 'complex(' + __scrl_canon(c.real, d + 1) + ', ' + __scrl_canon(c.imag, d + 1) + ')'
    if isinstance(v, list):
        return '[' + ', '.join([__scrl_canon(x, d + 1) for x in v]) + ']'
    if isinstance(v, tuple):
        return '(' + ', '.join([__scrl_canon(x, d + 1) for x in v]) + ')'
    if isinstance(v, dict):
        entries = {}
        for k, x in dict.items(v):
            entries[__scrl_canon(k, d + 1)] = __scrl_canon(x, d + 1)
        return '{' + ', '.join([k + ': ' + entries[k] for k in sorted(entries)]) + '}'
    if isinstance(v, (set, frozenset)):
        return 'set{' + ', '.join(sorted(set([__scrl_canon(x, d + 1) for x in v]))) + '}'
    if isinstance(v, range):
        return 'range[' + ', '.join([__scrl_canon(x, d + 1) for x in v]) + ']'
    return '<unsupported ' + str(type(v).__module__) + '.' + str(type(v).__qualname__) + '>'


import builtins as __scrl_builtins


def __scrl_ident(v):
    if v is None:
        return None
    if v is True or v is False:
        return repr(v)
    for name in ('bool', 'int', 'float', 'complex', 'str', 'bytes', 'bytearray', 'list', 'tuple', 'dict', 'set', 'frozenset',
                 'type', 'object', 'range'):
        if v is getattr(__scrl_builtins, name):
            return 'type:' + name
    return 'other'


def __scrl_truth(v):
    return '1' if v else '0'


def __scrl_num(v):
    if isinstance(v, __scrl_numbers.Real):
        return float(v)
    raise TypeError('expected a real number, got %s' % type(v).__name__)
`;

/** What a loader hands over for one problem's assert tests. */
export interface AssertSource {
  /** Test blocks in order: each a sequence of statements (one MBPP assert, a HumanEval check body,
   * one ODEX snippet). Indentation is whatever the block uses. */
  blocks: string[];
  /** Module-level code run after the program and before the tests (imports, test_setup_code, …). */
  setup?: string;
  /** HumanEval/ODEX: the tests call the program's entry point as `candidate` (or `candidateName`). */
  entryPoint?: string;
  /** The parameter of `check` that stands for the entry point (default `candidate`). */
  candidateName?: string;
  /** Names of the program's functions the tests may call directly (MBPP). */
  programFunctions?: string[];
  maxTests?: number;
}

export interface CompiledAsserts {
  harness: TestHarness;
  tests: TestCase[];
  /** Set when a tolerance test needs the judge's float comparison. */
  compare?: 'float';
  /** Tests left out: constant asserts such as HumanEval's `assert True` fillers. */
  constantAsserts: number;
  /** Tests beyond maxTests. */
  truncated: number;
}

const COMPARISONS = new Set(['==', '!=', '<', '>', '<=', '>=']);
const CRITERION_NAMES = new Set(['is', 'not', 'and', 'or', 'if', 'else', 'elif', 'assert', 'yield', 'return', 'await', 'global',
  'nonlocal', 'isinstance', 'issubclass', 'hasattr', 'callable', 'while']);

/** Builtin types an assert may compare a result with by identity (`assert f(x) is str`,
 * `assert type(f(x)) == list`); the harness reports which one (if any) a value is. */
const BUILTIN_TYPES = ['bool', 'int', 'float', 'complex', 'str', 'bytes', 'bytearray', 'list', 'tuple', 'dict', 'set', 'frozenset',
  'type', 'object', 'range'];

/** True when the tokens can only compute data from the program's results, not judge them: no
 * comparison, boolean logic, predicate builtin, or control flow that could hide one. */
function criterionFree(tokens: Token[]): boolean {
  const hasFor = tokens.some((t) => t.kind === 'name' && t.text === 'for');
  return tokens.every((t) => {
    if (t.kind === 'op') return !COMPARISONS.has(t.text) && t.text !== ':=';
    if (t.kind === 'name') return !CRITERION_NAMES.has(t.text) && (t.text !== 'in' || hasFor);
    return true;
  });
}

function source(block: string, tokens: Token[]): string {
  return block.slice(tokens[0].start, tokens[tokens.length - 1].end);
}

/** Splits tokens at depth `depth` on `sep`. */
function splitTop(tokens: Token[], sep: string, depth: number): Token[][] {
  const parts: Token[][] = [[]];
  for (const t of tokens) {
    if (t.depth === depth && t.kind === 'op' && t.text === sep) parts.push([]);
    else parts[parts.length - 1].push(t);
  }
  return parts;
}

/** `name(args)` spanning all the tokens: the callee tokens and the argument tokens (inside the parens). */
function asCall(tokens: Token[]): { callee: string; args: Token[] } | null {
  if (tokens.length < 3) return null;
  const base = tokens[0].depth;
  const open = tokens.findIndex((t) => t.text === '(' && t.kind === 'op' && t.depth === base);
  if (open < 1 || tokens[tokens.length - 1].text !== ')' || tokens[tokens.length - 1].depth !== base) return null;
  // the first top-level '(' must close at the very end
  for (let i = open + 1; i < tokens.length - 1; i++) if (tokens[i].depth === base) return null;
  const callee = tokens.slice(0, open);
  if (!callee.every((t) => t.kind === 'name' || (t.kind === 'op' && t.text === '.'))) return null;
  return { callee: callee.map((t) => t.text).join(''), args: tokens.slice(open + 1, -1) };
}

interface Classified {
  kind: 'value' | 'script';
  observe?: string;
  expected?: PlainValue;
  tolerance?: number;
  reason?: string;
  observedTokens?: Token[];
}

function numberOf(v: PyValue | null): number | null {
  if (!v) return null;
  if (v.t === 'int') return Number(v.v);
  if (v.t === 'float') return Number.isFinite(v.v) ? v.v : null;
  if (v.t === 'bool') return v.v ? 1 : 0;
  return null;
}

function valueTest(block: string, observed: Token[], expected: PyValue): Classified {
  const text = canonical(expected);
  if (text.includes('nan')) return { kind: 'script', reason: 'the expected value holds a NaN (never equal in Python)' };
  // A bare None is compared as null (the harness returns None for it), so the judge's "no output"
  // means the same for these tests as for call-style ones.
  return { kind: 'value', observe: `__scrl_canon((\n${source(block, observed)}\n))`, expected: expected.t === 'none' ? null : text, observedTokens: observed };
}

function toleranceTest(block: string, observed: Token[], expected: number, tolerance: number): Classified {
  // The judge compares numbers within 1e-6 (absolute or relative) in `float` mode; scaling both sides
  // by 1e-6/tolerance turns that into |x - expected| <= tolerance.
  const scale = tolerance > 0 ? 1e-6 / tolerance : 1;
  const scaled = expected * scale;
  if (!Number.isFinite(scale) || !Number.isFinite(scaled)) return { kind: 'script', reason: 'tolerance out of range' };
  return {
    kind: 'value', observe: `__scrl_num((\n${source(block, observed)}\n)) * ${scale}`, expected: scaled, tolerance, observedTokens: observed,
  };
}

/** The two operands of a top-level binary minus (the root of a +/- chain), or null. */
function splitMinus(tokens: Token[]): [Token[], Token[]] | null {
  if (tokens.length === 0) return null;
  const depth = tokens[0].depth;
  let at = -1;
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.depth !== depth || t.kind !== 'op') continue;
    const prev = tokens[i - 1];
    const binary = prev.kind !== 'op' || [')', ']', '}'].includes(prev.text);
    if ((t.text === '-' || t.text === '+') && binary) at = t.text === '-' ? i : -2;
    else if (!['*', '/', '//', '%', '**', '.', '(', ')', '[', ']', '{', '}', ',', '-', '+', '~', '@'].includes(t.text)) return null;
  }
  if (at < 0) return null;
  return [tokens.slice(0, at), tokens.slice(at + 1)];
}

function classifyTolerance(block: string, a: Token[], b: Token[], tolerance: number): Classified | null {
  const fa = numberOf(foldConstant(a));
  const fb = numberOf(foldConstant(b));
  if (fb !== null && fa === null && criterionFree(a)) return toleranceTest(block, a, fb, tolerance);
  if (fa !== null && fb === null && criterionFree(b)) return toleranceTest(block, b, fa, tolerance);
  return null;
}

function isclose(block: string, call: { callee: string; args: Token[] }): Classified | null {
  if (call.callee !== 'math.isclose' && call.callee !== 'isclose') return null;
  const depth = call.args[0]?.depth;
  if (depth === undefined) return null;
  const parts = splitTop(call.args, ',', depth).filter((p) => p.length > 0);
  const positional: Token[][] = [];
  let rel = 1e-9;
  let abs = 0;
  for (const p of parts) {
    if (p.length >= 2 && p[0].kind === 'name' && p[1].text === '=' && p[1].kind === 'op') {
      const v = numberOf(foldConstant(p.slice(2)));
      if (v === null || v < 0) return null;
      if (p[0].text === 'rel_tol') rel = v;
      else if (p[0].text === 'abs_tol') abs = v;
      else return null;
    } else positional.push(p);
  }
  if (positional.length !== 2) return null;
  const ea = numberOf(foldConstant(positional[0]));
  const eb = numberOf(foldConstant(positional[1]));
  const expected = eb ?? ea;
  if (expected === null || (ea !== null && eb !== null)) return null;
  return classifyTolerance(block, positional[0], positional[1], Math.max(rel * Math.abs(expected), abs));
}

/**
 * Classifies one assert's expression (the tokens after `assert`, before any message).
 * `programNames`: the names under which the program's functions are called.
 */
function classify(block: string, whole: Token[], programNames: Set<string>): Classified {
  let expr = whole;
  // `assert (x == y), "message"`: look inside parentheses that wrap the whole expression.
  while (expr.length > 2 && expr[0].text === '(' && expr[0].kind === 'op' && expr[expr.length - 1].text === ')'
    && expr.slice(1, -1).every((t) => t.depth > expr[0].depth) && !expr.some((t) => t.depth === expr[0].depth + 1 && t.text === ',' && t.kind === 'op')) {
    expr = expr.slice(1, -1);
  }
  const depth = expr[0].depth;
  const top = expr.filter((t) => t.depth === depth);
  const topNames = top.filter((t) => t.kind === 'name').map((t) => t.text);
  if (['and', 'or', 'lambda', 'if'].some((k) => topNames.includes(k))) return { kind: 'script', reason: 'boolean logic or a conditional at the top of the assert' };
  const compIdx = expr.map((t, i) => ({ t, i })).filter(({ t }) => t.depth === depth
    && ((t.kind === 'op' && COMPARISONS.has(t.text)) || (t.kind === 'name' && (t.text === 'is' || (t.text === 'in' && !topNames.includes('for'))))));
  const directCall = (tokens: Token[]) => {
    const call = asCall(tokens);
    return call !== null && programNames.has(call.callee) && criterionFree(call.args);
  };
  if (compIdx.length === 0) {
    let negated = false;
    let rest = expr;
    if (rest[0].kind === 'name' && rest[0].text === 'not') {
      negated = true;
      rest = rest.slice(1);
      if (rest.length === 0 || (rest[0].kind === 'name' && rest[0].text === 'not')) return { kind: 'script', reason: 'double negation' };
    }
    const call = asCall(rest);
    if (call && !negated) {
      const t = isclose(block, call);
      if (t) return t;
    }
    if (directCall(rest)) {
      return { kind: 'value', observe: `__scrl_truth((\n${source(block, rest)}\n))`, expected: negated ? '0' : '1', observedTokens: rest };
    }
    const constant = foldConstant(rest);
    if (constant) return { kind: 'script', reason: `constant assert (${pyTruthy(constant) !== negated ? 'always passes' : 'never passes'})` };
    return { kind: 'script', reason: 'a truth test of something other than a direct call of the program' };
  }
  if (compIdx.length > 1) return { kind: 'script', reason: 'chained comparison' };
  const { t: op, i } = compIdx[0];
  const left = expr.slice(0, i);
  const right = expr.slice(i + 1);
  const identity = (tokens: Token[]): string | null => {
    if (tokens.length !== 1 || tokens[0].kind !== 'name') return null;
    if (['True', 'False', 'None'].includes(tokens[0].text)) return tokens[0].text;
    return BUILTIN_TYPES.includes(tokens[0].text) ? `type:${tokens[0].text}` : null;
  };
  if (op.text === 'is') {
    if (right[0]?.kind === 'name' && right[0].text === 'not') return { kind: 'script', reason: '`is not`' };
    const expected = identity(right);
    if (expected && criterionFree(left) && left.length > 0) {
      return { kind: 'value', observe: `__scrl_ident((\n${source(block, left)}\n))`, expected: expected === 'None' ? null : expected, observedTokens: left };
    }
    return { kind: 'script', reason: '`is` against something other than True/False/None or a builtin type' };
  }
  if (op.text === '==' && left.length > 0 && right.length > 0) {
    // `type(x) == list`: equality of type objects is identity for the builtin types.
    const expected = identity(right);
    if (expected?.startsWith('type:') && left[0].text === 'type' && criterionFree(left)) {
      return { kind: 'value', observe: `__scrl_ident((\n${source(block, left)}\n))`, expected, observedTokens: left };
    }
  }
  if (left.length > 0 && left[left.length - 1].kind === 'name' && left[left.length - 1].text === 'not' && op.text === 'in') {
    return { kind: 'script', reason: '`not in`' };
  }
  if (left.length === 0 || right.length === 0) return { kind: 'script', reason: 'incomplete comparison' };
  if (left[0].kind === 'name' && left[0].text === 'not') return { kind: 'script', reason: '`not` before a comparison' };
  if (op.text === '==') {
    const r = foldConstant(right);
    if (r && criterionFree(left)) return valueTest(block, left, r);
    const l = foldConstant(left);
    if (l && criterionFree(right)) return valueTest(block, right, l);
    return { kind: 'script', reason: r || l ? 'the observed side holds a comparison or logic' : 'neither side is a constant' };
  }
  if (op.text === '<' || op.text === '<=') {
    const eps = numberOf(foldConstant(right));
    const call = asCall(left);
    if (eps !== null && eps > 0 && call && (call.callee === 'abs' || call.callee === 'math.fabs')) {
      const parts = splitMinus(call.args);
      if (parts) {
        const t = classifyTolerance(block, parts[0], parts[1], eps);
        if (t) return t;
      }
    }
  }
  return { kind: 'script', reason: `\`${op.text}\` comparison` };
}

const isDefinition = (s: Statement) => s.tokens[0].kind === 'name' && ['def', 'class', 'async', '@'].includes(s.tokens[0].text)
  || (s.tokens[0].kind === 'op' && s.tokens[0].text === '@');

/** Statements replayed before a value test may set up data, and may define helpers (whose bodies
 * may compare things) as long as the observed expression does not call those helpers itself. */
function contextAllowsValue(context: Statement[], observed: Token[]): boolean {
  const defined = new Set(context.filter(isDefinition).map((s) => s.tokens.find((t, i) => i > 0 && t.kind === 'name' && t.text !== 'def')?.text));
  const callsHelper = observed.some((t, i) => t.kind === 'name' && defined.has(t.text) && observed[i + 1]?.text === '(' && observed[i - 1]?.text !== '.');
  return !callsHelper && context.every((c) => isDefinition(c) || criterionFree(c.tokens));
}

function isAssert(s: Statement): boolean {
  return s.tokens[0].kind === 'name' && s.tokens[0].text === 'assert' && !s.tokens.some((t) => t.depth === 0 && t.text === ';' && t.kind === 'op');
}

function containsAssert(s: Statement): boolean {
  return s.tokens.some((t) => t.kind === 'name' && t.text === 'assert');
}

interface PlannedTest {
  context: Statement[];
  statement: Statement;
  block: string;
  classified: Classified;
}

const INDENT = '    ';

/** Compiles a problem's assert blocks into judge tests and the harness that runs them. Throws
 * PythonSyntaxError (with the block number) when a block cannot be tokenized. */
export function compileAsserts(input: AssertSource): CompiledAsserts {
  const programNames = new Set<string>(input.programFunctions ?? []);
  const candidate = input.candidateName ?? 'candidate';
  if (!/^[A-Za-z_]\w*$/u.test(candidate)) throw new Error(`not a parameter name: ${candidate}`);
  if (input.entryPoint) {
    programNames.add(candidate);
    programNames.add(input.entryPoint);
  }
  const planned: PlannedTest[] = [];
  let constantAsserts = 0;
  input.blocks.forEach((raw, b) => {
    const block = raw.replace(/\r\n?/gu, '\n');
    let stmts: Statement[];
    try {
      stmts = statements(block, tokenize(block));
    } catch (error) {
      if (error instanceof PythonSyntaxError) throw new PythonSyntaxError(`test block ${b}: ${error.message}`);
      throw error;
    }
    const context: Statement[] = [];
    let tests = 0;
    for (const s of stmts) {
      if (isAssert(s)) {
        const body = s.tokens.slice(1);
        const expr = splitTop(body, ',', 0)[0];
        if (expr.length === 0) continue;
        const classified = classify(block, expr, programNames);
        if (classified.reason?.startsWith('constant assert (always passes)')) {
          constantAsserts++;
          continue;
        }
        if (classified.kind === 'value' && !contextAllowsValue(context, classified.observedTokens!)) {
          planned.push({ context: [...context], statement: s, block, classified: { kind: 'script', reason: 'the statements before it hold a comparison or logic' } });
        } else {
          planned.push({ context: [...context], statement: s, block, classified });
        }
        tests++;
      } else if (containsAssert(s)) {
        planned.push({ context: [...context], statement: s, block, classified: { kind: 'script', reason: 'asserts inside a compound statement' } });
        tests++;
      } else {
        context.push(s);
      }
    }
    if (tests === 0 && context.length > 0) {
      // A block without asserts passes when it runs without an exception (ODEX does this).
      const last = context.pop()!;
      planned.push({ context: [...context], statement: last, block, classified: { kind: 'script', reason: 'no assert: passes when the statements run without an exception' } });
    }
  });
  const maxTests = input.maxTests ?? Infinity;
  const kept = planned.slice(0, maxTests);
  const usesCandidate = input.entryPoint !== undefined;
  const param = usesCandidate ? candidate : '';
  const parts: string[] = [HELPERS_PY];
  const setup = (input.setup ?? '').replace(/\r\n?/gu, '\n').trim();
  // The setup runs after the program in its process too (value tests use its imports, and ODEX programs
  // rely on the imports of `test_start`, as in ODEX's own harness).
  if (setup !== '') parts.push(`# ---- test setup from the data set ----\n${setup}\n`);
  const asserts: AssertTest[] = [];
  const tests: TestCase[] = [];
  let float = false;
  kept.forEach((p, k) => {
    const stmtSource = [...p.context, p.statement].map((s) => s.text).join('\n');
    const body = [...p.context.map((s) => reindent(s.text, INDENT))];
    if (p.classified.kind === 'value') {
      body.push(`${INDENT}return ${p.classified.observe}`);
      parts.push(`def __scrl_t${k}(${param}):\n${body.join('\n')}\n`);
      asserts.push({ source: stmtSource, kind: 'value', observe: p.classified.observe, expected: p.classified.expected, ...(p.classified.tolerance !== undefined ? { tolerance: p.classified.tolerance } : {}) });
      tests.push({ input: [k], output: p.classified.expected! });
      if (p.classified.tolerance !== undefined) float = true;
    } else {
      // A check test: its statements run in the judge's checker process, never in the program's. The
      // harness keeps an entry for it only so that test indexes line up.
      parts.push(`def __scrl_t${k}(${param}):\n${INDENT}raise RuntimeError('test ${k} is a check test: the judge runs it in its checker')\n`);
      const check: CheckSpec = {
        ...(setup !== '' ? { setup } : {}),
        body: [...p.context, p.statement].map((s) => reindent(s.text, '')).join('\n'),
        ...(usesCandidate ? { bind: { [candidate]: input.entryPoint! } } : {}),
      };
      asserts.push({ source: stmtSource, kind: 'script', reason: p.classified.reason });
      tests.push({ input: [], output: null, check });
    }
  });
  parts.push([
    `__scrl_tests = (${kept.map((_, k) => `__scrl_t${k}`).join(', ')}${kept.length === 1 ? ',' : ''})`,
    '',
    '',
    `def ${HARNESS_FN}(k):`,
    `    return __scrl_tests[k](${usesCandidate ? input.entryPoint : ''})`,
    '',
  ].join('\n'));
  return {
    harness: { code: parts.join('\n\n'), fnName: HARNESS_FN, asserts },
    tests,
    ...(float ? { compare: 'float' as const } : {}),
    constantAsserts,
    truncated: planned.length - kept.length,
  };
}

/** Top-level `def` names (and classes, if asked) of a program, in order. */
export function definedNames(program: string, classes = false): string[] {
  const re = classes ? /^(?:async[ \t]+)?(?:def|class)[ \t]+([A-Za-z_]\w*)/gmu : /^(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)/gmu;
  return [...new Set([...program.replace(/\r\n?/gu, '\n').matchAll(re)].map((m) => m[1]))];
}
