import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('bench engine --quick --json: prints each figure and ends with them as one JSON line', { timeout: 120_000 }, () => {
  const result = spawnSync(process.execPath, [cli, 'bench', 'engine', '--quick', '--threads', '1', '--json'], { encoding: 'utf8', timeout: 110_000 });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  const figures = JSON.parse(lines[lines.length - 1]);
  for (const key of ['matmul_gflops', 'train_tokens_per_s', 'train_utilization', 'decode_ms_per_token_ctx128', 'decode_ms_per_token_ctx1024',
    'sampling_tokens_per_s_batch1', 'sampling_tokens_per_s_batch16',
    'sampling_tokens_per_s_batch16_paper', 'sampling_tokens_per_s_batch16_full', 'sampling_tokens_per_s_batch16_greedy', 'model_train_utilization', 'model_lora_train_utilization']) {
    assert.ok(typeof figures[key] === 'number' && figures[key] > 0, `${key}: ${figures[key]}`);
  }
  assert.equal(figures.threads, 1);
  assert.match(result.stdout, /GFLOP\/s/);
  assert.match(result.stdout, /of the matmul rate/);
  assert.match(result.stdout, /model module \(PolicyGraph\.sftStep \+ clipping \+ AdamW\), full fine-tuning: /);
  assert.match(result.stdout, /sampling, batch 16 .*greedy .*paper settings .*full softmax/);
  assert.match(result.stdout, /DeepSeek-Coder-1.3B config: not measured \(quick run\)/);
});

test('bench engine refuses a bad --large value', () => {
  const result = spawnSync(process.execPath, [cli, 'bench', 'engine', '--large', 'maybe'], { encoding: 'utf8' });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr + result.stdout, /--large: expected one of auto, on, off/);
});
