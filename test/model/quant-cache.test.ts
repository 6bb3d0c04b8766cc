// The disk cache of quantized checkpoints: a miss quantizes and writes, a hit reads the same weights back
// (forward copies only: no mode stores a backward copy), both leaving the quantized weights in the file until
// JS needs them; another mode or an edited checkpoint gets another file, and a damaged or foreign file is
// refused with its path named.

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, statSync, truncateSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CausalLM } from '../../src/model/causal-lm.js';
import { loadQuantizedCached, quantizedCachePath } from '../../src/model/quant-cache.js';
import { checkpointBytes, loadQuantizedCheckpoint } from '../../src/model/quantized.js';
import { createTinyModel, saveCheckpoint } from '../../src/model/weights.js';
import { tempDir } from './helpers.js';
import { VARIANTS } from './variants.js';

describe('quantized checkpoint cache', () => {
  for (const mode of ['int8', 'nbits4'] as const) {
    it(`${mode}: the second load reads the cache and gives the same weights and logits`, async () => {
      const dir = tempDir('qcache');
      const hf = join(dir, 'hf'), cache = join(dir, 'cache');
      createTinyModel(hf, { ...VARIANTS.llama, dtype: 'bfloat16' });
      const q = { mode, embedding: true, head: false };
      const a = loadQuantizedCached(hf, q, cache);
      assert.equal(a.hit, false);
      // int8 training reads qT transposed in the graph and nbits4's dequantizes the forward copy: no backward copies
      assert.ok([...a.checkpoint.quantized!.values()].every((w) => !w.hasBackward), 'backward copies built');
      assert.ok(existsSync(a.path));
      const b = loadQuantizedCached(hf, q, cache);
      assert.equal(b.hit, true);
      assert.equal(b.path, a.path);
      assert.deepEqual([...b.checkpoint.weights.keys()].sort(), [...a.checkpoint.weights.keys()].sort());
      for (const [name, w] of a.checkpoint.weights) assert.deepEqual([...b.checkpoint.weights.get(name)!.data], [...w.data], name);
      // Both loads leave the quantized weights in the file; the model built in memory is the reference.
      const inMemory = loadQuantizedCheckpoint(hf, q);
      assert.ok(checkpointBytes(inMemory, { inJs: true }) === checkpointBytes(inMemory));
      for (const ck of [a.checkpoint, b.checkpoint]) {
        assert.ok([...ck.quantized!.values()].every((w) => !w.loaded && w.source !== null), 'quantized weights read into JS');
        assert.equal(checkpointBytes(ck, { inJs: true }), [...ck.weights.values()].reduce((n, w) => n + w.data.byteLength, 0));
        assert.equal(checkpointBytes(ck), checkpointBytes(inMemory));
      }
      const [ref] = await new CausalLM(inMemory, { session: { threads: 1 } }).logits([[3, 1, 4, 1, 5]]);
      const [x] = await new CausalLM(a.checkpoint, { session: { threads: 1 } }).logits([[3, 1, 4, 1, 5]]);
      const [y] = await new CausalLM(b.checkpoint, { session: { threads: 1 } }).logits([[3, 1, 4, 1, 5]]);
      assert.deepEqual([...x], [...ref]);
      assert.deepEqual([...y], [...ref]);
      // The sampler bakes nbits4 weights from the file itself; int8 weights are fed, so they were read.
      assert.ok([...b.checkpoint.quantized!.values()].every((w) => w.loaded === (mode === 'int8')), 'which weights JS read');
      for (const [name, w] of inMemory.quantized!) assert.deepEqual([...b.checkpoint.quantized!.get(name)!.dequantize()], [...w.dequantize()], name);
    });
  }

  it('another mode, other options or an edited checkpoint get another file; a foreign file is refused', () => {
    const dir = tempDir('qcache-key');
    const hf = join(dir, 'hf'), cache = join(dir, 'cache');
    const ck = createTinyModel(hf, VARIANTS.qwen2);
    const q = { mode: 'int8' as const, embedding: false, head: false };
    const p1 = quantizedCachePath(hf, q, cache);
    assert.notEqual(quantizedCachePath(hf, { ...q, mode: 'nbits4' }, cache), p1);
    assert.notEqual(quantizedCachePath(hf, { ...q, head: true }, cache), p1);
    ck.weights.get('model.norm.weight')!.data[0] += 1;
    saveCheckpoint(hf, ck.config, ck.weights);
    utimesSync(join(hf, 'model.safetensors'), new Date(), new Date(Date.now() + 5000));
    const p2 = quantizedCachePath(hf, q, cache);
    assert.notEqual(p2, p1);
    mkdirSync(cache, { recursive: true });
    writeFileSync(p2, 'not safetensors');
    assert.throws(() => loadQuantizedCached(hf, q, cache), new RegExp(p2.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  it('a cache file deleted or cut short under a loaded model: the next session names it', async () => {
    const dir = tempDir('qcache-gone');
    const hf = join(dir, 'hf'), cache = join(dir, 'cache');
    createTinyModel(hf, VARIANTS.llama);
    const q = { mode: 'nbits4' as const, embedding: true, head: true };
    const { checkpoint, path } = loadQuantizedCached(hf, q, cache);
    truncateSync(path, Math.floor(statSync(path).size / 2)); // every tensor's range past the middle is cut
    await assert.rejects(new CausalLM(checkpoint, { session: { threads: 1 } }).logits([[1, 2]]), /weights file .* is \d+ bytes, shorter than the range/);
    rmSync(path);
    await assert.rejects(new CausalLM(checkpoint, { session: { threads: 1 } }).logits([[1, 2]]), /weights file .* cannot be read .* moved or deleted/);
  });
});
