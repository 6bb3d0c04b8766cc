/** Where the program came from in a completion. */
export type ExtractionSource = 'fenced' | 'whole' | 'stub+completion';

export interface ExtractedProgram {
  program: string;
  source: ExtractionSource;
}

/** The first fenced code block tagged python (or untagged); null if there is none. */
export function firstFencedBlock(text: string): string | null {
  const blocks = text.matchAll(/```[ \t]*([\w+-]*)[ \t]*\r?\n([\s\S]*?)(?:```|$)/gu);
  for (const block of blocks) {
    const tag = block[1].toLowerCase();
    if (tag === '' || tag === 'python' || tag === 'python3' || tag === 'py') return block[2];
  }
  return null;
}

/** Triple-quoted strings, comments and import lines removed, to see what code is left. */
function withoutDocstringsAndComments(code: string): string {
  return code
    .replace(/("""|''')[\s\S]*?(\1|$)/gu, '')
    .replace(/#[^\n]*/gu, '')
    .replace(/^[ \t]*(import[ \t]+[\w., \t]+|from[ \t]+[\w.]+[ \t]+import[ \t]+[\w., \t*()]+)$/gmu, '');
}

/**
 * True when the prompt ends in a function stub: a `def` line followed by nothing but a docstring,
 * comments, import lines and blank lines (as in APPS+ and HumanEval prompts; HumanEval/115 imports
 * inside the function before its docstring).
 */
export function endsInFunctionStub(prompt: string): boolean {
  const defs = [...prompt.matchAll(/^[ \t]*(async[ \t]+)?def[ \t]+\w+[ \t]*\([\s\S]*?\)[^\n:]*:[ \t]*(#[^\n]*)?$/gmu)];
  const last = defs[defs.length - 1];
  if (!last) return false;
  const rest = prompt.slice(last.index! + last[0].length);
  return withoutDocstringsAndComments(rest).trim() === '';
}

function definesFunction(code: string, fnName: string | undefined): boolean {
  if (!fnName) return /^[ \t]*(async[ \t]+)?def[ \t]/mu.test(code);
  return new RegExp(`^[ \\t]*(async[ \\t]+)?def[ \\t]+${fnName}\\b`, 'mu').test(code);
}

/**
 * The program to judge from a raw completion: the first fenced code block if there is one (python or
 * untagged), else the whole text. When the code does not define the problem's function itself and
 * the prompt is to be continued — it ends in a function stub, or the problem has a `suffix` (ODEX's
 * prompts stop mid-statement at `return `) — the program is prompt + completion (+ suffix).
 */
export function extractProgram(completion: string, prompt?: string, fnName?: string, suffix?: string): ExtractedProgram {
  const fenced = firstFencedBlock(completion);
  const code = fenced ?? completion;
  // An empty answer stays empty: the prompt's stub alone is not the model's program.
  if (code.trim() === '') return { program: '', source: fenced === null ? 'whole' : 'fenced' };
  if (prompt && suffix !== undefined && !definesFunction(code, fnName)) {
    return { program: prompt + code + suffix, source: 'stub+completion' };
  }
  if (prompt && endsInFunctionStub(prompt) && !definesFunction(code, fnName)) {
    const joint = prompt.endsWith('\n') ? '' : '\n';
    return { program: prompt + joint + code, source: 'stub+completion' };
  }
  return { program: code, source: fenced === null ? 'whole' : 'fenced' };
}
