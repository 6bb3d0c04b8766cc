import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('bench judge --quick --json: runs both sides and ends with the figures as one JSON line', { timeout: 240_000 }, () => {
  const result = spawnSync(process.execPath, [cli, 'bench', 'judge', '--quick', '--limit', '1', '--json'], { encoding: 'utf8', timeout: 230_000 });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  const figures = JSON.parse(lines[lines.length - 1]);
  for (const key of ['ours_per_s', 'baseline_per_s', 'ratio', 'ratio_parallel', 'ratio_with_timeouts']) {
    assert.ok(typeof figures[key] === 'number' && figures[key] > 0, `${key}: ${figures[key]}`);
  }
  assert.equal(figures.isolation, true);
  assert.ok(figures.ratio > 1, 'the warm sandboxed judge should beat one python process per test');
  assert.match(result.stdout, /light: .* sequential = .*x/);
});
