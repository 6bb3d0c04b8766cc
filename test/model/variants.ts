// The architecture variants every forward-pass test runs: one tiny model per family feature.

import type { TinyModelOptions } from '../../src/model/weights.js';

export const VARIANTS: Record<string, TinyModelOptions> = {
  // GQA (4 query heads over 2 kv heads), untied head, plain RoPE.
  llama: { architecture: 'llama', numHeads: 4, numKvHeads: 2, seed: 11 },
  // DeepSeek-Coder: llama with linear RoPE scaling (factor 4), theta 1e5, full multi-head attention.
  'deepseek-coder': { architecture: 'llama', numHeads: 4, numKvHeads: 4, ropeTheta: 100000, ropeScaling: { type: 'linear', factor: 4 }, seed: 12 },
  // Qwen2/2.5: q/k/v biases, tied embeddings, GQA, theta 1e6.
  qwen2: { architecture: 'qwen2', numHeads: 4, numKvHeads: 1, ropeTheta: 1e6, tieWordEmbeddings: true, seed: 13 },
  // Qwen3: per-head q/k RMSNorm, head_dim (32) ≠ hidden/heads (16), untied.
  qwen3: { architecture: 'qwen3', numHeads: 4, numKvHeads: 2, headDim: 32, ropeTheta: 1e6, seed: 14 },
  // Llama 3.2: tied embeddings, llama3 RoPE scaling (real 3.2 values: every branch of the scaling is hit).
  'llama-3.2': {
    architecture: 'llama', numHeads: 4, numKvHeads: 2, ropeTheta: 500000, tieWordEmbeddings: true, rmsNormEps: 1e-5,
    ropeScaling: { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 }, seed: 15,
  },
};
