import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('bench train --quick --json: PPO, GRPO and RLOO steps split into sampling, scoring and training, ending with one JSON line', { timeout: 240_000 }, () => {
  const result = spawnSync(process.execPath, [cli, 'bench', 'train', '--quick', '--threads', '1', '--json'], { encoding: 'utf8', timeout: 230_000 });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  const r = JSON.parse(lines[lines.length - 1]);
  for (const key of ['sample_s', 'train_s', 'sample_tokens_per_s', 'train_tokens_per_s', 'matmul_gflops', 'train_utilization', 'model_params']) {
    assert.ok(typeof r[key] === 'number' && r[key] > 0, `${key}: ${r[key]}`);
  }
  assert.ok(r.score_wait_s >= 0);
  assert.equal(r.batch, 8);
  assert.ok(r.model_params > 7e6 && r.model_params < 11e6);
  assert.match(result.stdout, /sampling .* new tokens\/s/);
  assert.match(result.stdout, /of \d+ GFLOP\/s/);
  for (const [trainer, rows] of [['grpo', 8], ['rloo', 16]] as const) {
    const x = r[trainer];
    assert.equal(x.rows, rows, trainer);
    assert.equal(x.steps, 1, trainer);
    for (const key of ['sample_s', 'train_s', 'sample_tokens_per_s', 'response_tokens_mean']) assert.ok(typeof x[key] === 'number' && x[key] > 0, `${trainer}.${key}: ${x[key]}`);
    assert.ok(x.score_wait_s >= 0, trainer);
  }
  assert.equal(r.grpo.generations, 8);
  assert.deepEqual([r.rloo.k, r.rloo.turns], [4, 2]);
  assert.match(result.stdout, /GRPO step .* training [\d.]+ s/);
  assert.match(result.stdout, /RLOO step .* training [\d.]+ s/);
});
