// AdamW (decoupled weight decay, as torch.optim.AdamW) and global-norm gradient clipping over JS-owned
// Float32Array parameters — the same arrays that are fed to the graph as trainable inputs, updated in
// place. State (step, first and second moments) round-trips exactly through bytes.

import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

export interface AdamWConfig {
  /** Learning rate (a step may override it, for schedules). */
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** Decoupled weight decay: p ← p·(1 − lr·wd) before the Adam step (default 0.01, as PyTorch). */
  weightDecay?: number;
}

export interface Param {
  name: string;
  data: Float32Array;
  /** Apply weight decay to this parameter (default true; usually false for norms and biases). */
  decay?: boolean;
}

export class AdamW {
  readonly config: Required<AdamWConfig>;
  /** Number of steps taken. */
  step = 0;
  readonly m: Float32Array[];
  readonly v: Float32Array[];

  constructor(readonly params: readonly Param[], config: AdamWConfig) {
    this.config = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01, ...config };
    const names = new Set<string>();
    for (const p of params) {
      if (names.has(p.name)) throw new Error(`AdamW: parameter '${p.name}' listed twice`);
      names.add(p.name);
    }
    this.m = params.map((p) => new Float32Array(p.data.length));
    this.v = params.map((p) => new Float32Array(p.data.length));
  }

  /** One update with `grads` in parameter order (or by name). */
  update(grads: readonly Float32Array[] | Readonly<Record<string, Float32Array>>, lr = this.config.lr): void {
    const { beta1: b1, beta2: b2, eps, weightDecay: wd } = this.config;
    const t = ++this.step;
    const stepSize = lr / (1 - b1 ** t);
    const invSqrtBc2 = 1 / Math.sqrt(1 - b2 ** t);
    const c1 = 1 - b1, c2 = 1 - b2;
    this.params.forEach((p, k) => {
      const g = Array.isArray(grads) ? (grads as Float32Array[])[k] : (grads as Record<string, Float32Array>)[p.name];
      if (!g || g.length !== p.data.length) throw new Error(`AdamW: gradient for '${p.name}' missing or of length ${g?.length} (want ${p.data.length})`);
      const x = p.data, m = this.m[k], v = this.v[k];
      const decay = p.decay === false ? 1 : 1 - lr * wd;
      // p ← p·(1 − lr·wd) − lr/(1−β1ᵗ) · m / (sqrt(v/(1−β2ᵗ)) + eps), in float64, stored as float32.
      for (let i = 0, n = x.length; i < n; i++) {
        const gi = g[i];
        const mi = b1 * m[i] + c1 * gi;
        const vi = b2 * v[i] + c2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        x[i] = x[i] * decay - (stepSize * mi) / (Math.sqrt(vi) * invSqrtBc2 + eps);
      }
    });
  }

  /** The state as safetensors bytes: `m.<name>`, `v.<name>`, the step and config in the metadata. */
  saveState(): Uint8Array {
    const tensors: Record<string, Float32Array> = {};
    this.params.forEach((p, k) => { tensors[`m.${p.name}`] = this.m[k]; tensors[`v.${p.name}`] = this.v[k]; });
    return encodeSafetensors(tensors, { format: 'securecoderl-adamw-1', step: String(this.step), config: JSON.stringify(this.config) });
  }

  /** Restores state saved by saveState for the same parameters (names and sizes must match). */
  loadState(bytes: Uint8Array): void {
    const { tensors, metadata } = decodeSafetensors(bytes);
    if (metadata.format !== 'securecoderl-adamw-1') throw new Error(`AdamW state: unknown format '${metadata.format}'`);
    this.params.forEach((p, k) => {
      for (const [which, dst] of [['m', this.m[k]], ['v', this.v[k]]] as const) {
        const t = tensors[`${which}.${p.name}`];
        if (!t || !(t.data instanceof Float32Array) || t.data.length !== dst.length) {
          throw new Error(`AdamW state: '${which}.${p.name}' missing or of the wrong size (want ${dst.length} float32)`);
        }
        dst.set(t.data);
      }
    });
    this.step = Number(metadata.step);
  }
}

/** The L2 norm of all gradients together (accumulated in float64). */
export function globalNorm(grads: readonly Float32Array[]): number {
  let s = 0;
  for (const g of grads) for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/**
 * Scales all gradients in place so their global norm is at most maxNorm (torch.nn.utils.clip_grad_norm_:
 * factor maxNorm / (norm + 1e-6) when that is below 1). Returns the norm before clipping.
 */
export function clipGradNorm(grads: readonly Float32Array[], maxNorm: number): number {
  const norm = globalNorm(grads);
  const c = maxNorm / (norm + 1e-6);
  if (c < 1) for (const g of grads) for (let i = 0; i < g.length; i++) g[i] *= c;
  return norm;
}
