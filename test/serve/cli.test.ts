// `securecoderl serve` as a process: flags, the start line, a request, a clean stop on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { BUNDLED_DATA } from '../../src/eval/demo.js';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('serve: usage errors name the flag', () => {
  const help = spawnSync(process.execPath, [cli, 'serve', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  assert.match(help.stdout, /POST \/openrlhf/);
  const bad = spawnSync(process.execPath, [cli, 'serve', '--port', 'http'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--port: expected 0 to 65535, got "http"/);
  const tight = spawnSync(process.execPath, [cli, 'serve', '--max-samples', '10', '--max-pending', '5'], { encoding: 'utf8' });
  assert.equal(tight.status, 2);
  assert.match(tight.stderr, /--max-samples: larger than --max-pending/);
  const missing = spawnSync(process.execPath, [cli, 'serve', '--problems', '/nonexistent.jsonl'], { encoding: 'utf8' });
  assert.equal(missing.status, 1);
  assert.match(missing.stderr, /cannot read problems file \/nonexistent\.jsonl/);
});

test('serve: starts on a free port with preloaded problems, scores, stops on SIGTERM', { timeout: 60_000 }, async () => {
  const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--workers', '1', '--problems', `apps=${BUNDLED_DATA}/apps_plus/train_16.json`, '--reward', 'binary'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk) => { out += chunk; });
  child.stderr.on('data', (chunk) => { err += chunk; });
  try {
    while (!/listening on (\S+)/.test(out)) {
      if (child.exitCode !== null) assert.fail(`serve exited ${child.exitCode}: ${err}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const url = /listening on (\S+)/.exec(out)![1];
    assert.match(out, /\(16 problems, 1 sandboxed workers, reward binary, security ruff, deadline 150 s\)/);
    const response = await fetch(`${url}/v1/score`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ samples: [{ problem_id: 'apps/0', completion: 'print(' }], details: false }),
    });
    assert.equal(response.status, 200);
    const body = await response.json() as { results: { problem_id: string; r_func: number; stage: number }[] };
    assert.deepEqual(body.results.map((r) => [r.problem_id, r.r_func, r.stage]), [['apps/0', 0, 0]]);
  } finally {
    child.kill('SIGTERM');
  }
  const [code] = await once(child, 'exit');
  assert.equal(code, 0, err);
  assert.match(err, /SIGTERM, answering admitted requests and stopping/);
});
