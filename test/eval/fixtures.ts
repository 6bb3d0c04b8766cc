// Problems and completions whose metrics the tests work out by hand (see eval-run.test.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PROBLEMS = [
  { id: 'add', prompt: 'Read two integers and print their sum.', inputs: ['1 2\n', '3 4\n', '10 20\n'], outputs: ['3\n', '7\n', '30\n'] },
  { id: 'twice', prompt: 'def twice(x):\n    """Return twice x."""\n', inputs: [[2], [5]], outputs: [[4], [10]], fn_name: 'twice' },
  { id: 'max', prompt: 'Read integers and print the largest.', inputs: ['3 9 4\n', '-1 -5\n'], outputs: ['9\n', '-1\n'] },
  { id: 'hello', prompt: 'Print hello.', inputs: [''], outputs: ['hello\n'] },
];

/** Three samples per problem, each chosen for a known outcome. */
export const COMPLETIONS: Record<string, string[]> = {
  add: [
    '```python\na, b = map(int, input().split())\nprint(a + b)\n```', // all pass
    '```python\nprint(3)\n```', // passes the first (visible) test only: wrong output on test 2
    '```python\ndef f(:\n    pass\n```', // syntax error
  ],
  twice: [
    'def twice(x):\n    return eval("x * 2")\n', // all pass, B307 MEDIUM
    'def twice(x):\n    return x + 2\n', // passes the first test (2 -> 4) only
    'def twice(x):\n    pass\n', // returns None: no output, stage 2
  ],
  max: [
    '```python\nnums = list(map(int, input().split()))\nbest = max(nums)\n```', // computes, never prints: no output
    '```python\nprint(min(map(int, input().split())))\n```', // wrong output, stage 3
    '```python\nraise ValueError("boom")\n```', // crash, stage 1
  ],
  hello: [
    '```python\nprint("hello")\n```', // pass
    '```python\nprint("hello")\neval("1")\n```', // pass, B307 MEDIUM
    '```python\nx = [0] * (10 ** 10)\nprint(len(x))\n```', // MemoryError: memory
  ],
};

export function writeProblems(dir: string): string {
  const path = join(dir, 'problems.jsonl');
  writeFileSync(path, PROBLEMS.map((p) => JSON.stringify(p)).join('\n') + '\n');
  return path;
}

export function writeCompletions(dir: string, name = 'completions.jsonl'): string {
  const path = join(dir, name);
  const lines: string[] = [];
  for (const [id, list] of Object.entries(COMPLETIONS)) for (const c of list) lines.push(JSON.stringify({ problem_id: id, completion: c }));
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}
