// How much quantizing the frozen weights changes a model: over token windows, the mean per-token
// KL(reference ‖ quantized) of the next-token distributions and the next-token loss of each. Windows are
// run one at a time (no padding), so memory stays at one window's logits.

import type { CausalLM } from './causal-lm.js';

export interface QuantComparison {
  /** Positions compared (each window's positions that have a next token). */
  tokens: number;
  /** Mean over positions of KL(p_ref ‖ p_quant), nats. */
  klMean: number;
  /** Largest per-position KL. */
  klMax: number;
  /** Mean next-token cross-entropy (nats) under each model. */
  lossRef: number;
  lossQuant: number;
  /** (lossQuant − lossRef) / lossRef. */
  lossChange: number;
  /** Share of positions where both models' argmax agree. */
  top1Agreement: number;
}

function logSoftmaxRow(z: Float32Array, at: number, V: number, out: Float64Array): void {
  let m = -Infinity;
  for (let j = 0; j < V; j++) if (z[at + j] > m) m = z[at + j];
  let s = 0;
  for (let j = 0; j < V; j++) s += Math.exp(z[at + j] - m);
  const lse = m + Math.log(s);
  for (let j = 0; j < V; j++) out[j] = z[at + j] - lse;
}

/** Compares two models (same vocabulary) on `windows` of token ids (each at least 2 long). */
export async function compareModels(ref: CausalLM, quant: CausalLM, windows: readonly (readonly number[])[]): Promise<QuantComparison> {
  const V = ref.config.vocabSize;
  if (quant.config.vocabSize !== V) throw new Error(`compareModels: vocabularies differ (${V} vs ${quant.config.vocabSize})`);
  const lp = new Float64Array(V), lq = new Float64Array(V);
  let tokens = 0, kl = 0, klMax = 0, lossRef = 0, lossQuant = 0, agree = 0;
  for (const w of windows) {
    if (w.length < 2) throw new Error(`compareModels: a window of ${w.length} token(s); need at least 2`);
    const [zr] = await ref.logits([w]);
    const [zq] = await quant.logits([w]);
    for (let t = 0; t + 1 < w.length; t++) {
      logSoftmaxRow(zr, t * V, V, lp);
      logSoftmaxRow(zq, t * V, V, lq);
      let k = 0, ar = 0, aq = 0;
      for (let j = 0; j < V; j++) {
        k += Math.exp(lp[j]) * (lp[j] - lq[j]);
        if (lp[j] > lp[ar]) ar = j;
        if (lq[j] > lq[aq]) aq = j;
      }
      kl += k; klMax = Math.max(klMax, k);
      lossRef -= lp[w[t + 1]]; lossQuant -= lq[w[t + 1]];
      if (ar === aq) agree++;
      tokens++;
    }
  }
  return {
    tokens, klMean: kl / tokens, klMax, lossRef: lossRef / tokens, lossQuant: lossQuant / tokens,
    lossChange: (lossQuant - lossRef) / lossRef, top1Agreement: agree / tokens,
  };
}
