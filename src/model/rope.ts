// Rotary position embeddings as Hugging Face computes them: inverse frequencies base^(-2i/d) for
// i < d/2, adjusted by the scaling variant (linear divides them by the factor; llama3 divides only the low
// frequencies and blends the band between), then angle = position · inv_freq, applied with rotate_half:
// by the engine's `rotary` (ORT's RotaryEmbedding kernel) from per-token tables, or by standard ops.

import { Graph, type Tensor } from '../engine/index.js';
import * as op from '../engine/ops.js';
import type { ModelConfig } from './config.js';

/** The d/2 inverse frequencies (float64) after the config's scaling. */
export function inverseFrequencies(c: ModelConfig): Float64Array {
  const d = c.headDim;
  const inv = new Float64Array(d / 2);
  for (let i = 0; i < d / 2; i++) inv[i] = 1 / c.ropeTheta ** ((2 * i) / d);
  const s = c.ropeScaling;
  if (s.type === 'linear') for (let i = 0; i < inv.length; i++) inv[i] /= s.factor;
  if (s.type === 'llama3') {
    const lowWavelen = s.originalMaxPositionEmbeddings / s.lowFreqFactor;
    const highWavelen = s.originalMaxPositionEmbeddings / s.highFreqFactor;
    for (let i = 0; i < inv.length; i++) {
      const wavelen = (2 * Math.PI) / inv[i];
      if (wavelen > lowWavelen) inv[i] /= s.factor;
      else if (wavelen >= highWavelen) {
        const smooth = (s.originalMaxPositionEmbeddings / wavelen - s.lowFreqFactor) / (s.highFreqFactor - s.lowFreqFactor);
        inv[i] = (1 - smooth) * (inv[i] / s.factor) + smooth * inv[i];
      }
    }
  }
  return inv;
}

/**
 * cos and sin tables [batch, seq, 1, head_dim] for int64 positions [batch, seq], computed in the graph
 * (float32, as Hugging Face does): the d/2 angles repeated twice, matching rotate_half.
 */
export function ropeTables(g: Graph, positions: Tensor, c: ModelConfig): { cos: Tensor; sin: Tensor } {
  const inv = inverseFrequencies(c);
  const invT = g.constant(Float32Array.from([...inv, ...inv]), 'float32', [c.headDim]);
  const pos = op.unsqueeze(op.cast(positions, 'float32'), [-1, -2]); // [b, s, 1, 1]
  const ang = op.mul(pos, invT); // [b, s, 1, d]
  const [cos] = g.addNode('Cos', [ang], {}, [{ dtype: 'float32', shape: ang.shape }]);
  const [sin] = g.addNode('Sin', [ang], {}, [{ dtype: 'float32', shape: ang.shape }]);
  return { cos, sin };
}

/**
 * Tables for the engine's `rotary`, one row per token: cos and sin [batch·seq, head_dim/2] of each token's
 * d/2 angles (float32, computed as ropeTables computes them: the same values) and `rows` int64 [batch,
 * seq] = 0, 1, …, each token's row, fed to the kernel as its position ids. So the kernel reads exactly the
 * angles of the positions given (any positions: no max-position table) and no cosine is computed twice.
 */
export function rotaryTables(g: Graph, positions: Tensor, c: ModelConfig): { cos: Tensor; sin: Tensor; rows: Tensor } {
  const half = c.headDim / 2;
  const invT = g.constant(Float32Array.from(inverseFrequencies(c)), 'float32', [half]);
  const ang = op.reshape(op.mul(op.unsqueeze(op.cast(positions, 'float32'), [-1]), invT), [-1, half]); // [b·s, d/2]
  const [cos] = g.addNode('Cos', [ang], {}, [{ dtype: 'float32', shape: ang.shape }]);
  const [sin] = g.addNode('Sin', [ang], {}, [{ dtype: 'float32', shape: ang.shape }]);
  const [count] = g.addNode('Size', [positions], {}, [{ dtype: 'int64', shape: [] }]);
  return { cos, sin, rows: op.reshapeLike(op.range(g, 0, count), positions) };
}

/** x·cos + rotate_half(x)·sin over the last axis (rotate_half(x) = [−x₂, x₁]). */
export function applyRope(x: Tensor, cos: Tensor, sin: Tensor, headDim: number): Tensor {
  const half = headDim / 2;
  const x1 = op.slice(x, [-1], [0], [half]);
  const x2 = op.slice(x, [-1], [half], [headDim]);
  const rot = op.concat([op.neg(x2), x1], -1);
  return op.add(op.mul(x, cos), op.mul(rot, sin));
}
