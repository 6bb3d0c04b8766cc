// ggml's Q8_0 and Q4_0 blocks (32 values along a row, a float16 scale d each) from the engine's quantized
// weights. Q8_0: {d, 32 × int8}, value d·q. Q4_0: {d, 16 bytes}, byte j holding value j in its low and
// value j + 16 in its high nibble, value d·(code − 8).
//
// Exactness: an int8 weight (per output channel, scale s rounded up to a float16 value) becomes Q8_0 blocks
// with d = s and the same q; a nbits4 weight (Q4_0's own rule, d a float16 value) keeps its codes and d,
// only the nibble order changes. So llama.cpp reads the weights our kernels compute with, bit for bit.
// A float matrix (or a weight quantized in the other mode) is quantized first by the same rules.

import { f32ToF16 } from './safetensors.js';
import { NBITS_BLOCK, QuantizedWeight, type Int8Forward, type NBits4Matrix } from '../engine/index.js';

export const GGUF_QUANT_TYPES = ['Q8_0', 'Q4_0'] as const;
export type GgufQuantType = (typeof GGUF_QUANT_TYPES)[number];

const BLOCK_BYTES: Record<GgufQuantType, number> = { Q8_0: 34, Q4_0: 18 };

/**
 * The blocks of a matrix [rows, cols] (cols a multiple of 32), rows in `order` (row i of the output is
 * source row order[i]; null: as they are).
 */
export function ggufBlocks(src: QuantizedWeight | { data: Float32Array; shape: readonly number[] }, type: GgufQuantType, order: Int32Array | null, where: string): Uint8Array {
  const want = type === 'Q8_0' ? 'int8' : 'nbits4';
  let w: QuantizedWeight;
  if (src instanceof QuantizedWeight) w = src.mode === want ? src : QuantizedWeight.quantize(want, src.dequantize(), src.outFeatures, src.inFeatures);
  else w = QuantizedWeight.quantize(want, src.data, src.shape[0], src.shape[1]);
  const rows = w.outFeatures, cols = w.inFeatures;
  if (cols % NBITS_BLOCK !== 0) throw new Error(`GGUF export: ${where} has rows of ${cols} values; ${type} needs a multiple of ${NBITS_BLOCK}`);
  const nb = cols / NBITS_BLOCK, bytes = BLOCK_BYTES[type];
  const out = new Uint8Array(rows * nb * bytes);
  const dv = new DataView(out.buffer);
  for (let r = 0; r < rows; r++) {
    const s = order ? order[r] : r;
    for (let b = 0; b < nb; b++) {
      const at = (r * nb + b) * bytes;
      if (type === 'Q8_0') {
        const f = w.forward as Int8Forward;
        dv.setUint16(at, f32ToF16(f.scale[s]), true);
        for (let j = 0; j < NBITS_BLOCK; j++) dv.setInt8(at + 2 + j, f.qT[(b * NBITS_BLOCK + j) * rows + s]);
      } else {
        const m = w.forward as NBits4Matrix;
        dv.setUint16(at, f32ToF16(m.scales[s * nb + b]), true);
        const p = (s * nb + b) * 16;
        const code = (j: number) => (m.packed[p + (j >> 1)] >> ((j & 1) * 4)) & 15;
        for (let j = 0; j < 16; j++) out[at + 2 + j] = code(j) | (code(j + 16) << 4);
      }
    }
  }
  return out;
}
