import { problemFromAppsPlus, type Problem } from '../../src/data/index.js';

/** Small problems the service tests preload: stdin, call style, one slow-friendly single test. */
export function testProblems(): Problem[] {
  return [
    problemFromAppsPlus({ prompt: 'Add two numbers.', inputs: ['1 2\n', '3 4\n'], outputs: ['3\n', '7\n'] }, 'add', 'test'),
    problemFromAppsPlus({ prompt: 'def twice(x):\n', inputs: [[2], [5]], outputs: [[4], [10]], fn_name: 'twice' }, 'twice', 'test'),
    problemFromAppsPlus({ prompt: 'Print 1.', inputs: [''], outputs: ['1\n'] }, 'one', 'test'),
  ];
}

export const ADD_OK = '```python\na, b = map(int, input().split())\nprint(a + b)\n```';
export const TWICE_EVAL = 'def twice(x):\n    return eval("x * 2")\n';

export interface Answer {
  status: number;
  headers: Headers;
  /** The parsed JSON answer, read loosely by the tests. */
  body: any;
  ms: number;
}

/** POSTs a JSON body (or raw text) and reads the JSON answer. */
export async function post(url: string, body: unknown, init: { raw?: boolean; headers?: Record<string, string> } = {}): Promise<Answer> {
  const started = performance.now();
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...init.headers },
    body: init.raw ? (body as string) : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, ms: performance.now() - started };
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Headers; text: string }> {
  const response = await fetch(url, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export async function waitFor(what: string, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
