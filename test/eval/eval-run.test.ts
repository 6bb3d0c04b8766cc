import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Scorer } from '../../src/reward/scorer.js';
import { runEval, type EvalConfig, type RunSummary } from '../../src/eval/run.js';
import { hash32 } from '../../src/random.js';
import { COMPLETIONS, PROBLEMS, writeCompletions, writeProblems } from './fixtures.js';
import { closedPort, startStandIn } from './openai-stand-in.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const runCli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } });
/** The CLI without blocking this process's event loop (the stand-in server lives in it). */
const runCliAsync = (args: string[], env: Record<string, string> = {}) => new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
  execFile(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } }, (error, stdout, stderr) => {
    resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
  });
});
const close = (a: number | null, b: number, tol = 1e-4) => assert.ok(a !== null && Math.abs(a - b) <= tol, `${a} != ${b}`);

const scorer = new Scorer();
after(() => scorer.close());

/** The stand-in's reply: the fixture completion for the prompt's problem and the sample whose seed this is. */
function replay(seed = 42) {
  const bySeed = new Map<number, string>();
  for (const [id, list] of Object.entries(COMPLETIONS)) list.forEach((c, s) => bySeed.set(hash32(`${id}#${s}`, seed), c));
  return (body: Record<string, unknown>) => {
    const completion = bySeed.get(body.seed as number);
    if (completion === undefined) throw new Error(`stand-in: unknown seed ${body.seed}`);
    return completion;
  };
}

/** Hand-computed from the fixture (see the comments in fixtures.ts): 4 problems x 3 samples. */
function checkHandValues(s: RunSummary) {
  assert.equal(s.status, 'complete');
  assert.equal(s.n, 4);
  assert.equal(s.samples, 12);
  close(s.syn_pct, (100 * 11) / 12); // only add#2 fails to compile
  close(s.pass1_pct, 50); // add#0, add#1, twice#0, twice#1, hello#0, hello#1
  close(s.allpass_pct, (100 * 4) / 12); // add#0, twice#0, hello#0, hello#1
  close(s.secclean_pct, 75); // 11 compile, twice#0 and hello#1 call eval (B307 MEDIUM)
  // R = 0.6 R_func + 0.4 R_sec, summed by hand over the 12 samples: 8.4.
  close(s.mean_r, 8.4 / 12);
  close(s.mean_r_sec, 10 / 12); // 9 clean (1.0), 2 with one MEDIUM (0.5), 1 syntax error (0)
  assert.deepEqual(s.stages.counts, [1, 2, 2, 1, 6]);
  assert.deepEqual(s.failures.counts, { wrong_output: 3, no_output: 2, timeout: 0, crash: 1, memory: 1 });
  close(s.failures.pct.wrong_output, (100 * 3) / 7);
  assert.equal(s.failures.syntax_errors, 1);
  // pass@k per problem with n = 3: add c=1, twice c=1, max c=0, hello c=2.
  close(s.pass_at_k['1'].pct, 100 * (1 / 3 + 1 / 3 + 0 + 2 / 3) / 4);
  close(s.pass_at_k['3'].pct, 75);
  // Best-of-3 by the first test: add#0 (tie with add#1, lower index), twice#1 (x + 2 passes the
  // first test only and has no finding: fooled), max#1, hello#0.
  close(s.best_of_k!.allpass_pct, 50);
  close(s.best_of_k!.pass1_pct, 75);
  close(s.best_of_k!.mean_r, (1 + 0.88 + 0.76 + 1) / 4);
  assert.equal(s.best_of_k!.oracle_allpass_pct, 75);
  assert.deepEqual(s.findings.by_rule.map((r) => [r.bandit_id, r.severity, r.cwe, r.count]), [['B307', 'MEDIUM', 78, 2]]);
  for (const name of ['syn_pct', 'pass1_pct', 'allpass_pct', 'secclean_pct', 'mean_r'] as const) {
    const ci = s[`${name}_ci`]!;
    assert.ok(ci[0] <= s[name]! && s[name]! <= ci[1], `${name} ${s[name]} outside ${ci}`);
  }
}

test('eval over the OpenAI protocol (stand-in on loopback) with 3 samples per prompt: metrics worked out by hand', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-eval-'));
  const server = await startStandIn({ reply: replay() });
  try {
    const config: EvalConfig = { data: writeProblems(dir), backend: { kind: 'openai', endpoint: server.url, model: 'stand-in' }, samplesPerPrompt: 3, n: null };
    const result = await runEval(config, { outDir: join(dir, 'run'), scorer });
    checkHandValues(result.summary);
    assert.equal(server.generations(), 12);
    // Prompts are the paper's template around each problem's prompt.
    const first = server.requests.find((r) => r.path === '/v1/completions')!;
    assert.match(String(first.body.prompt), /^### Instruction:\nComplete the following code:\n\n[^]*\n\n### Response:\n$/);
    // The run folder.
    const run = join(dir, 'run');
    for (const f of ['config.json', 'prompts.jsonl', 'generations.jsonl', 'samples.jsonl', 'summary.json']) assert.ok(existsSync(join(run, f)), f);
    const summary = JSON.parse(readFileSync(join(run, 'summary.json'), 'utf8'));
    for (const k of ['n', 'syn_pct', 'pass1_pct', 'allpass_pct', 'secclean_pct', 'mean_r']) assert.equal(typeof summary[k], 'number', k);
    for (const k of ['syn_pct_ci', 'pass1_pct_ci', 'allpass_pct_ci', 'secclean_pct_ci', 'mean_r_ci']) assert.equal(summary[k].length, 2, k);
    const samples = readFileSync(join(run, 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(samples.map((r) => `${r.problem_id}#${r.sample}`), PROBLEMS.flatMap((p) => [0, 1, 2].map((s) => `${p.id}#${s}`)));
    const addAll = samples[0];
    assert.equal(addAll.program, 'a, b = map(int, input().split())\nprint(a + b)\n');
    assert.deepEqual([addAll.verdicts, addAll.reward, addAll.stage, addAll.completion_tokens], [['passed', 'passed', 'passed'], 1, 4, 10]); // the stand-in counts words as tokens
    const config2 = JSON.parse(readFileSync(join(run, 'config.json'), 'utf8'));
    assert.equal(config2.backend.model, 'stand-in');
    assert.ok(!JSON.stringify(config2).includes('sk-'), 'no key in the config');
  } finally {
    await server.close();
  }
});

test('resume: an interrupted run keeps its partial results, and rerunning asks only for the missing generations', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-eval-'));
  const data = writeProblems(dir);
  const out = join(dir, 'run');
  // The endpoint dies after 5 answers (every later request is a 503 and retries are off).
  const dying = await startStandIn({ reply: replay(), fail: (n) => (n > 5 ? { status: 503 } : null) });
  const config: EvalConfig = { data, backend: { kind: 'openai', endpoint: dying.url, model: 'stand-in', retries: 0, concurrency: 2 }, samplesPerPrompt: 3, n: null };
  try {
    await assert.rejects(runEval(config, { outDir: out, scorer }), (e: Error) => /HTTP 503/.test(e.message) && /rerun the same command to resume/.test(e.message));
  } finally {
    await dying.close();
  }
  const partial = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
  assert.equal(partial.status, 'partial');
  assert.match(partial.error, /HTTP 503/);
  const cached = readFileSync(join(out, 'generations.jsonl'), 'utf8').trim().split('\n').length;
  assert.equal(cached, 5);
  assert.ok(partial.samples <= 5 && partial.samples >= 1, `partial samples ${partial.samples}`);
  // A crash mid-write leaves half a line: it is dropped on resume.
  writeFileSync(join(out, 'generations.jsonl'), `${readFileSync(join(out, 'generations.jsonl'), 'utf8')}{"problem_id":"max","sam`);

  const healthy = await startStandIn({ reply: replay() });
  try {
    const resumed = await runEval({ ...config, backend: { ...config.backend, endpoint: healthy.url } as EvalConfig['backend'] }, { outDir: out, scorer });
    assert.equal(healthy.generations(), 12 - 5, 'only the missing generations are asked for');
    assert.equal(resumed.reusedGenerations, 5);
    checkHandValues(resumed.summary);
  } finally {
    await healthy.close();
  }
  // A different config in the same folder is refused.
  await assert.rejects(runEval({ ...config, samplesPerPrompt: 2 }, { outDir: out, scorer }), /different samples_per_prompt/);
});

test('completions file backend; CLI: eval and its errors (malformed data file, unreachable endpoint, bad key, local model)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scrl-eval-'));
  const data = writeProblems(dir);
  const completions = writeCompletions(dir);
  const result = await runEval({ data, backend: { kind: 'completions-file', path: completions }, samplesPerPrompt: 3 }, { outDir: join(dir, 'file-run'), scorer });
  checkHandValues(result.summary);
  // Too few completions for the samples asked.
  await assert.rejects(runEval({ data, backend: { kind: 'completions-file', path: completions }, samplesPerPrompt: 4 }, { outDir: join(dir, 'short'), scorer }), /too few completions for 4 of 4 prompts: "add" \(has 3, needs 4\)/);

  const cliRun = runCli(['eval', '--data', data, '--completions', completions, '--samples-per-prompt', '3', '--out', join(dir, 'cli-run'), '--workers', '2', '--json']);
  assert.equal(cliRun.status, 0, cliRun.stderr);
  const s = JSON.parse(cliRun.stdout.trim().split('\n').at(-1)!);
  assert.equal(s.allpass_pct.toFixed(4), ((100 * 4) / 12).toFixed(4));

  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify(PROBLEMS[0])}\n{"id": "x", "prompt": \n`);
  const malformed = runCli(['eval', '--data', bad, '--completions', completions, '--out', join(dir, 'bad-run')]);
  assert.equal(malformed.status, 1);
  assert.match(malformed.stderr, new RegExp(`${bad}:2: `));

  const port = await closedPort();
  const unreachable = runCli(['eval', '--data', data, '--endpoint', `http://127.0.0.1:${port}/v1`, '--model', 'm', '--n', '2', '--out', join(dir, 'u-run')]);
  assert.equal(unreachable.status, 1);
  assert.match(unreachable.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}/v1/models: connection refused \\(is the server running, and is --endpoint right\\?\\)`));

  const server = await startStandIn({ apiKey: 'sk-good', reply: replay() });
  try {
    const wrongKey = await runCliAsync(['eval', '--data', data, '--endpoint', server.url, '--model', 'stand-in', '--out', join(dir, 'k-run')], { OPENAI_API_KEY: 'sk-bad' });
    assert.equal(wrongKey.status, 1);
    assert.match(wrongKey.stderr, /rejected the API key \(HTTP 401/);
  } finally {
    await server.close();
  }

  const local = runCli(['eval', '--data', data, '--model', join(dir, 'some-model-dir')]);
  assert.equal(local.status, 1);
  assert.match(local.stderr, /--model .*some-model-dir: no such folder/);
  const usage = runCli(['eval', '--data', data]);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /--endpoint URL --model NAME, or --completions FILE/);
});
