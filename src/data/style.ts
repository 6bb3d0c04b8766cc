import type { PlainValue, TestStyle } from '../judge/types.js';
import { literalValue, type PyValue } from './python-syntax.js';

/**
 * Stdin vs function-call style, decided from all the evidence a record carries rather than from the
 * type of its inputs alone. The reference data preparation stringified every input, which counted
 * ~2,634 function-call problems of APPS+ as stdin problems (7,408 "stdin" instead of 4,779); here a
 * problem is call style when it names its function (`fn_name`), when its inputs are argument lists,
 * or when its stub is a function with parameters (or a LeetCode `class Solution`) that never reads
 * stdin — and then inputs stored as text are decoded back into argument lists.
 */
export interface StyleEvidence {
  /** An explicit function name (`fn_name` of APPS / our JSONL). */
  fnName?: string;
  inputs: unknown[];
  /** The stub the model sees, or the starter code. */
  stub?: string;
  /** A reference solution, if any (only used to see whether it reads stdin). */
  solution?: string;
}

export interface StyleDecision {
  style: TestStyle;
  /** Why, in a few words (for reports and docs). */
  reason: string;
  /** Call style whose inputs were stored as text: the decoded argument lists. */
  decodedInputs?: PlainValue[][];
}

const READS_STDIN = /\binput\s*\(|\bsys\.stdin\b|__name__\s*==\s*['"]__main__['"]|\bopen\s*\(\s*0\b/u;

/** The last function defined in a stub, with whether it takes parameters other than self. */
function lastDef(stub: string): { name: string; hasParams: boolean } | undefined {
  const defs = [...stub.matchAll(/^[ \t]*(?:async[ \t]+)?def[ \t]+([A-Za-z_]\w*)[ \t]*\(([^)]*)\)/gmu)];
  const last = defs[defs.length - 1];
  if (!last) return undefined;
  const params = last[2].split(',').map((p) => p.trim()).filter((p) => p !== '' && p !== 'self');
  return { name: last[1], hasParams: params.length > 0 };
}

/** A Python/JSON value as the judge's PlainValue; null when it has no such form (sets, non-string keys). */
export function pyToPlain(v: PyValue): PlainValue | undefined {
  switch (v.t) {
    case 'none': return null;
    case 'bool': return v.v;
    case 'int': return v.v >= BigInt(Number.MIN_SAFE_INTEGER) && v.v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v.v) : v.v;
    case 'float': return Number.isFinite(v.v) ? v.v : undefined;
    case 'str': return v.v;
    case 'list': case 'tuple': {
      const items = v.items.map(pyToPlain);
      return items.some((x) => x === undefined) ? undefined : (items as PlainValue[]);
    }
    case 'dict': {
      const out: { [key: string]: PlainValue } = {};
      for (const [k, x] of v.entries) {
        const value = pyToPlain(x);
        if (k.t !== 'str' || value === undefined) return undefined;
        out[k.v] = value;
      }
      return out;
    }
    default: return undefined;
  }
}

/** An input stored as text that should be an argument list: JSON or a Python literal list/tuple. */
export function decodeArgumentList(text: string): PlainValue[] | undefined {
  const trimmed = text.trim();
  try {
    const parsed: unknown = JSON.parse(trimmed);
    if (Array.isArray(parsed)) return parsed as PlainValue[];
  } catch { /* not JSON: try a Python literal */ }
  const value = literalValue(trimmed);
  if (value && (value.t === 'list' || value.t === 'tuple')) {
    const plain = pyToPlain(value);
    if (Array.isArray(plain)) return plain;
  }
  return undefined;
}

/** Decides a record's style; throws an Error naming the inconsistency when the evidence disagrees. */
export function detectStyle(evidence: StyleEvidence): StyleDecision {
  const { inputs, fnName, stub = '', solution = '' } = evidence;
  const strings = inputs.filter((x) => typeof x === 'string').length;
  const lists = inputs.filter((x) => Array.isArray(x)).length;
  if (strings + lists !== inputs.length) {
    const bad = inputs.findIndex((x) => typeof x !== 'string' && !Array.isArray(x));
    throw new Error(`field "inputs[${bad}]": expected a string (stdin) or an argument list (call)`);
  }
  if (strings > 0 && lists > 0) throw new Error(`field "inputs": ${strings} strings and ${lists} argument lists mixed`);
  if (lists > 0) return { style: 'call', reason: 'inputs are argument lists' };
  const decode = (why: string): StyleDecision | undefined => {
    const decoded = (inputs as string[]).map(decodeArgumentList);
    if (decoded.every((d) => d !== undefined)) return { style: 'call', reason: `${why}; inputs stored as text decoded into argument lists`, decodedInputs: decoded as PlainValue[][] };
    return undefined;
  };
  if (fnName) {
    if (inputs.length === 0) return { style: 'call', reason: 'fn_name given' };
    const zeroArg = new RegExp(`^[ \\t]*def[ \\t]+${fnName.replace(/\W/gu, '')}[ \\t]*\\([ \\t]*\\)`, 'mu').test(stub);
    if (!zeroArg) {
      const d = decode('fn_name given');
      if (d) return d;
    }
    return { style: 'stdin', reason: 'inputs are text; fn_name is the zero-argument entry function' };
  }
  const def = lastDef(stub);
  const leetcode = /^[ \t]*class[ \t]+Solution\b/mu.test(stub);
  const readsStdin = READS_STDIN.test(stub) || READS_STDIN.test(solution);
  if ((leetcode || def?.hasParams) && !readsStdin) {
    if (inputs.length === 0) return { style: 'call', reason: leetcode ? 'LeetCode-style stub' : 'stub takes parameters' };
    const d = decode(leetcode ? 'LeetCode-style stub' : 'stub takes parameters and never reads stdin');
    if (d) return d;
    if (leetcode) throw new Error('field "inputs": a LeetCode-style stub but the inputs are not argument lists');
  }
  return { style: 'stdin', reason: inputs.length > 0 ? 'inputs are text' : 'no call-style evidence' };
}
