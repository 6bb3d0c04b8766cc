import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

test('bench quantize --shape tiny --quick --json: each mode in its own process, one JSON line with every figure', { timeout: 300_000 }, () => {
  const result = spawnSync(process.execPath, [cli, 'bench', 'quantize', '--shape', 'tiny', '--quick', '--threads', '1', '--json'], { encoding: 'utf8', timeout: 290_000 });
  assert.equal(result.status, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  const r = JSON.parse(lines[lines.length - 1]);
  assert.equal(r.shape, 'tiny');
  assert.deepEqual(Object.keys(r.modes), ['none', 'int8', 'nbits4']);
  for (const [mode, f] of Object.entries(r.modes) as [string, Record<string, number>][]) {
    for (const key of ['forward_tokens_per_s', 'lora_step_s', 'decode_ms_per_token', 'peak_rss_bytes', 'heldout_loss']) {
      assert.ok(typeof f[key] === 'number' && f[key] > 0, `${mode} ${key}: ${f[key]}`);
    }
    assert.ok(mode === 'none' ? f.kl_vs_fp32 === 0 : f.kl_vs_fp32 > 0, `${mode} kl_vs_fp32: ${f.kl_vs_fp32}`);
    assert.ok(f.peak_rss_before_lora_bytes > 0 && f.peak_rss_before_lora_bytes <= f.peak_rss_bytes, `${mode} peak before the LoRA step`);
    // quantized modes quantize the embedding and the head too by default (DEFAULT_QUANTIZE)
    assert.equal(f.embedding_quantized, mode !== 'none', `${mode} embedding_quantized`);
    assert.equal(f.head_quantized, mode !== 'none', `${mode} head_quantized`);
  }
  // weights in JS after the LoRA step: int8 1 byte a parameter (no backward copy), nbits4 0.53 + its 4-bit backward copy
  for (const mode of ['int8', 'nbits4']) assert.ok(r.modes[mode].weight_bytes < r.modes.none.weight_bytes / 3, `${mode} weight_bytes ${r.modes[mode].weight_bytes}`);
  assert.match(result.stdout, /held-out loss/);
});

test('bench quantize refuses an unknown shape', () => {
  const result = spawnSync(process.execPath, [cli, 'bench', 'quantize', '--shape', '7b'], { encoding: 'utf8' });
  assert.notEqual(result.status, 0);
  assert.match(result.stderr + result.stdout, /--shape: expected one of tiny, 10m, 1\.3b/);
});
