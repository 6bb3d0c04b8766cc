// Safetensors reading/writing (F32/F16/BF16, shards) and tiny models saved in Hugging Face layout.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { f16ToF32, f32ToBf16, f32ToF16, SafetensorsFile, writeSafetensors } from '../../src/model/safetensors.js';
import { createTinyModel, loadCheckpoint, tinyModel, expectedTensors } from '../../src/model/weights.js';
import { Rng } from '../../src/random.js';
import { tempDir } from './helpers.js';

describe('safetensors', () => {
  it('half and bfloat16 conversions round to nearest even, with subnormals and infinities', () => {
    assert.equal(f32ToF16(1), 0x3c00);
    assert.equal(f32ToF16(-2), 0xc000);
    assert.equal(f32ToF16(65504), 0x7bff);
    assert.equal(f32ToF16(65520), 0x7c00); // rounds up to infinity
    assert.equal(f32ToF16(2 ** -24), 0x0001); // smallest subnormal
    assert.equal(f32ToF16(2 ** -25), 0x0000); // a tie rounds to even (zero)
    assert.equal(f32ToF16(3 * 2 ** -25), 0x0002); // 1.5 ulp ties to even (2)
    assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // tie → even
    assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
    assert.ok(Number.isNaN(f16ToF32(f32ToF16(NaN))));
    for (let h = 0; h < 0x7c00; h += 7) assert.equal(f32ToF16(f16ToF32(h)), h); // exact round trip
    assert.equal(f32ToBf16(1), 0x3f80);
    assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // tie → even
    assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
  });

  it('writes and reads F32, F16, BF16 with metadata', () => {
    const dir = tempDir('st');
    const rng = new Rng(3);
    const a = Float32Array.from({ length: 24 }, () => rng.normal());
    const path = join(dir, 't.safetensors');
    writeSafetensors(path, { b: { shape: [4, 6], data: a, dtype: 'BF16' }, a: { shape: [24], data: a }, h: { shape: [2, 12], data: a, dtype: 'F16' } }, { format: 'pt' });
    const bytes = readFileSync(path);
    const n = Number(bytes.readBigUInt64LE(0));
    assert.equal((8 + n) % 8, 0);
    const header = JSON.parse(bytes.subarray(8, 8 + n).toString());
    assert.deepEqual(Object.keys(header), ['__metadata__', 'a', 'b', 'h']);
    assert.deepEqual(header.a, { dtype: 'F32', shape: [24], data_offsets: [0, 96] });
    const f = new SafetensorsFile(path);
    assert.deepEqual(f.metadata, { format: 'pt' });
    assert.deepEqual(f.readFloat32('a'), a);
    const b = f.readFloat32('b'), h = f.readFloat32('h');
    for (let i = 0; i < 24; i++) {
      assert.ok(Math.abs(b[i] - a[i]) <= Math.abs(a[i]) * 2 ** -8);
      assert.ok(Math.abs(h[i] - a[i]) <= Math.abs(a[i]) * 2 ** -11 + 2 ** -25);
    }
    f.close();
    writeFileSync(path, Buffer.concat([bytes.subarray(0, bytes.length - 4)]));
    assert.throws(() => new SafetensorsFile(path), /data_offsets .* do not match/);
  });
});

describe('checkpoints', () => {
  it('a tiny model saved in Hugging Face layout loads back identically (float32, one file)', () => {
    const dir = tempDir('ck');
    const ck = createTinyModel(dir, { architecture: 'qwen3', seed: 5 });
    assert.ok(existsSync(join(dir, 'config.json')) && existsSync(join(dir, 'model.safetensors')));
    const mem = tinyModel({ architecture: 'qwen3', seed: 5 });
    assert.deepEqual(ck.config, mem.config);
    for (const [name, w] of mem.weights) assert.deepEqual(ck.weights.get(name)!.data, w.data, name);
    const names = new SafetensorsFile(join(dir, 'model.safetensors'));
    assert.ok(names.has('model.layers.1.self_attn.q_norm.weight'));
    assert.ok(names.has('lm_head.weight'));
    names.close();
  });

  it('bf16 shards with an index load as the rounded weights', () => {
    const dir = tempDir('shards');
    const ck = createTinyModel(dir, { architecture: 'qwen2', tieWordEmbeddings: true, dtype: 'bfloat16', maxShardBytes: 40_000, seed: 9 });
    const index = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const shards = new Set(Object.values(index.weight_map));
    assert.ok(shards.size > 1, `expected several shards, got ${shards.size}`);
    assert.ok(!existsSync(join(dir, 'model.safetensors')));
    assert.equal(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).torch_dtype, 'bfloat16');
    const mem = tinyModel({ architecture: 'qwen2', tieWordEmbeddings: true, seed: 9 });
    assert.deepEqual([...ck.weights.keys()].sort(), [...expectedTensors(ck.config).keys()].sort());
    assert.ok(!ck.weights.has('lm_head.weight'));
    for (const [name, w] of mem.weights) {
      const got = ck.weights.get(name)!.data;
      for (let i = 0; i < got.length; i++) assert.ok(Math.abs(got[i] - w.data[i]) <= Math.abs(w.data[i]) * 2 ** -8, name);
    }
    const again = loadCheckpoint(dir);
    for (const [name, w] of ck.weights) assert.deepEqual(again.weights.get(name)!.data, w.data);
  });

  it('reports a missing tensor and a wrong shape with the file', () => {
    const dir = tempDir('bad');
    const ck = createTinyModel(dir, { seed: 1 });
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), attention_bias: true }));
    assert.throws(() => loadCheckpoint(dir), /lacks 8 tensor\(s\) the config needs, e.g. model.layers.0.self_attn.q_proj.bias/);
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')), attention_bias: false, intermediate_size: 100 }));
    assert.throws(() => loadCheckpoint(dir), /model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape \[128, 64\], the config implies \[100, 64\]/);
    assert.ok(ck.weights.size > 0);
  });
});
