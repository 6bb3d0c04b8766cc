// GGUF Q8_0 / Q4_0 export of quantized checkpoints: the blocks hold exactly the weights our kernels compute
// with (read back and decoded here), and llama.cpp running the file gives our quantized model's logits (up to
// the two engines' different rounding of the activations).

import assert from 'node:assert/strict';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CausalLM } from '../../src/model/causal-lm.js';
import { exportGguf, readGgufHeader } from '../../src/model/gguf.js';
import { quantizeCheckpoint } from '../../src/model/quantized.js';
import { f16ToF32 } from '../../src/model/safetensors.js';
import { createTinyModel } from '../../src/model/weights.js';
import { Rng } from '../../src/random.js';
import { relErr, tempDir } from './helpers.js';
import { llamaCppLogits } from './llama-cpp.js';
import { VARIANTS } from './variants.js';

const rng = new Rng(77);
const TOKENS = Array.from({ length: 40 }, () => rng.int(256));

/** Decodes a Q8_0 / Q4_0 tensor of a GGUF file into [rows, cols] floats. */
function readQuantTensor(path: string, name: string): { type: number; values: Float32Array } {
  const file = readGgufHeader(path);
  const t = file.tensors.find((x) => x.name === name)!;
  const [cols, rows] = t.dims;
  const bytes = t.type === 8 ? 34 : 18, nb = cols / 32;
  const buf = Buffer.alloc(rows * nb * bytes);
  const fd = openSync(path, 'r');
  try { readSync(fd, buf, 0, buf.length, file.dataStart + t.offset); } finally { closeSync(fd); }
  const values = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let b = 0; b < nb; b++) {
    const at = (r * nb + b) * bytes, d = f16ToF32(buf.readUInt16LE(at));
    for (let j = 0; j < 32; j++) {
      const v = t.type === 8 ? buf.readInt8(at + 2 + j) : (((j < 16 ? buf[at + 2 + j] : buf[at + 2 + j - 16] >> 4) & 15) - 8);
      values[r * cols + b * 32 + j] = Math.fround(d * v);
    }
  }
  return { type: t.type, values };
}

describe('GGUF Q8_0 / Q4_0 export', () => {
  for (const [mode, type, ggml] of [['int8', 'Q8_0', 8], ['nbits4', 'Q4_0', 2]] as const) {
    it(`${mode} → ${type}: the file holds exactly the weights our kernels compute with`, () => {
      const dir = tempDir('gguf-q');
      const ck = quantizeCheckpoint(createTinyModel(join(dir, 'hf'), VARIANTS.qwen3), { mode, embedding: true, head: true });
      exportGguf(join(dir, 'm.gguf'), ck, { dtype: type });
      for (const [gg, hf] of [['blk.0.attn_q.weight', 'model.layers.0.self_attn.q_proj.weight'], ['blk.1.ffn_down.weight', 'model.layers.1.mlp.down_proj.weight'], ['output.weight', 'lm_head.weight']]) {
        const got = readQuantTensor(join(dir, 'm.gguf'), gg);
        assert.equal(got.type, ggml);
        assert.deepEqual([...got.values], [...ck.quantized!.get(hf)!.dequantize()], gg);
      }
      assert.equal(readGgufHeader(join(dir, 'm.gguf')).metadata.get('general.file_type'), type === 'Q8_0' ? 7 : 2);
    });

    for (const variant of ['llama', 'qwen2'] as const) {
      it(`${mode} → ${type} (${variant}): llama.cpp's logits match our quantized model's`, async () => {
        const dir = tempDir('gguf-q-oracle');
        const ck = quantizeCheckpoint(createTinyModel(join(dir, 'hf'), VARIANTS[variant]), { mode, embedding: true, head: true });
        exportGguf(join(dir, 'm.gguf'), ck, { dtype: type });
        const ref = await llamaCppLogits(join(dir, 'm.gguf'), TOKENS, ck.config.vocabSize);
        const [ours] = await new CausalLM(ck, { session: { threads: 1 } }).logits([TOKENS]);
        const err = relErr(ours, ref);
        process.stderr.write(`# ${variant} ${type}: relative error against llama.cpp ${err.toExponential(2)}\n`);
        assert.ok(err < 3e-2, `relative error ${err}`);
      });
    }
  }
});
