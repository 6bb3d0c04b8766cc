// The decoder graph: KV-cache decoding equals the full forward pass (batched, left-padded, cache growing),
// rows are independent of their batch-mates and padding, and the logits command prints what the model gives.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { CausalLM, PREFILL_CHUNK } from '../../src/model/causal-lm.js';
import { inverseFrequencies } from '../../src/model/rope.js';
import { createTinyModel, tinyConfig, tinyModel } from '../../src/model/weights.js';
import { relErr, tempDir } from './helpers.js';
import { VARIANTS } from './variants.js';

const PROMPTS = [[1, 17, 33, 250, 9, 4, 4, 100], [5, 6], [200, 201, 202, 3, 77]];
const CONT = [[8, 9, 10, 11, 12], [40, 41, 42, 43, 44], [90, 91, 92, 93, 94]];

describe('decoder', () => {
  for (const [name, opts] of Object.entries(VARIANTS)) {
    it(`${name}: KV-cache decoding (batched, left-padded, growing cache) equals the full forward pass`, async () => {
      const ck = tinyModel(opts);
      const lm = new CausalLM(ck, { session: { threads: 1 } });
      const V = ck.config.vocabSize;
      const full = await lm.logits(PROMPTS.map((p, b) => [...p, ...CONT[b]]));
      const cache = lm.newCache(PROMPTS.length, 9); // too small on purpose: it has to grow
      let last = await lm.prefill(cache, PROMPTS);
      let worst = 0;
      for (let t = 0; t <= CONT[0].length; t++) {
        for (let b = 0; b < PROMPTS.length; b++) {
          const pos = PROMPTS[b].length - 1 + t;
          worst = Math.max(worst, relErr(last.subarray(b * V, (b + 1) * V), full[b].subarray(pos * V, (pos + 1) * V)));
        }
        if (t < CONT[0].length) last = await lm.step(cache, CONT.map((c) => c[t]));
      }
      assert.ok(cache.capacity >= 13);
      assert.ok(worst < 1e-5, `worst relative error ${worst}`);
      // Each row alone gives the same logits as inside the padded batch.
      for (let b = 0; b < PROMPTS.length; b++) {
        const [solo] = await lm.logits([[...PROMPTS[b], ...CONT[b]]]);
        assert.ok(relErr(solo, full[b]) < 1e-5, `row ${b}: ${relErr(solo, full[b])}`);
      }
    });
  }

  it('a prefill longer than a chunk (one row padded through the whole first chunk) equals the full forward pass', async () => {
    const ck = tinyModel(VARIANTS.qwen2);
    const lm = new CausalLM(ck, { session: { threads: 1 } });
    const V = ck.config.vocabSize;
    const long = Array.from({ length: 2 * PREFILL_CHUNK + 37 }, (_, i) => (i * 31 + 7) % V);
    const short = long.slice(0, PREFILL_CHUNK - 50).map((t) => (t + 3) % V); // its padding fills chunk 1
    const rows = [long, short];
    const full = await lm.logits(rows.map((r) => [...r, 11, 12]));
    const cache = lm.newCache(2, long.length + 2);
    let last = await lm.prefill(cache, rows);
    let worst = 0;
    for (let t = 0; t <= 2; t++) {
      for (let b = 0; b < 2; b++) {
        const pos = rows[b].length - 1 + t;
        worst = Math.max(worst, relErr(last.subarray(b * V, (b + 1) * V), full[b].subarray(pos * V, (pos + 1) * V)));
      }
      if (t < 2) last = await lm.step(cache, [11 + t, 11 + t]);
    }
    assert.equal(cache.length, long.length + 2);
    assert.ok(worst < 1e-5, `worst relative error ${worst}`);
  });

  it('llama3 and linear RoPE scaling change the inverse frequencies as Hugging Face does', () => {
    const plain = inverseFrequencies(tinyConfig({ ropeTheta: 500000, headDim: 16, numHeads: 4 }));
    const lin = inverseFrequencies(tinyConfig({ ropeTheta: 500000, ropeScaling: { type: 'linear', factor: 4 } }));
    lin.forEach((v, i) => assert.ok(Math.abs(v - plain[i] / 4) < 1e-15));
    const l3 = inverseFrequencies(tinyConfig(VARIANTS['llama-3.2']));
    // wavelengths 2π/f: ≤ 2048 kept, > 8192 divided by 32, in between blended.
    const kinds = Array.from(plain, (f, i) => {
      const w = (2 * Math.PI) / f;
      if (w < 2048) { assert.equal(l3[i], f); return 'kept'; }
      if (w > 8192) { assert.ok(Math.abs(l3[i] - f / 32) < 1e-18); return 'scaled'; }
      assert.ok(l3[i] < f && l3[i] > f / 32); return 'blended';
    });
    assert.deepEqual([...new Set(kinds)], ['kept', 'blended', 'scaled']);
  });

  it('refuses token ids outside the vocabulary', async () => {
    const lm = new CausalLM(tinyModel({ seed: 2 }));
    await assert.rejects(lm.logits([[1, 256]]), /token id 256 is outside the vocabulary \(0..255\)/);
  });
});

describe('securecoderl logits', () => {
  const cli = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
  it('prints float32 logits at every position (JSON and text), equal to the library', async () => {
    const dir = tempDir('logits-cli');
    const ck = createTinyModel(dir, { architecture: 'qwen2', vocabSize: 40, seed: 3 });
    const res = spawnSync(process.execPath, [cli, 'logits', '--model', dir, '--tokens', '1,2,3', '--json', '--threads', '1'], { encoding: 'utf8' });
    assert.equal(res.status, 0, res.stderr);
    const json = JSON.parse(res.stdout) as { logits: number[][] };
    assert.equal(json.logits.length, 3);
    assert.equal(json.logits[0].length, 40);
    const [ref] = await new CausalLM(ck).logits([[1, 2, 3]]);
    // Printed as the shortest decimal of each float32: reading it back as float32 gives the value exactly.
    const back = Float32Array.from(json.logits.flat());
    assert.deepEqual(back, ref);
    const text = spawnSync(process.execPath, [cli, 'logits', '--model', dir, '--tokens', '1,2,3', '--top', '2'], { encoding: 'utf8' });
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^position 0 token 1: \d+=-?[\d.e-]+ \d+=-?[\d.e-]+\nposition 1 token 2: /);
    const bad = spawnSync(process.execPath, [cli, 'logits', '--model', dir, '--tokens', '1,x'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--tokens: expected comma-separated non-negative integers/);
  });
});
