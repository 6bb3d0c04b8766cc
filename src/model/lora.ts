// LoRA: low-rank updates W + (alpha/r)·B·A on chosen linear modules, with A [r, in] and B [out, r] as
// trainable graph inputs fed from JS arrays (the frozen W stays an initializer, so autodiff produces no dW).
// Dropout is applied to the module input before A, as PEFT does, with masks drawn from the run's seeded
// PRNG and fed as inputs. Merging folds the update into the base weights.

import type { ModelConfig } from './config.js';
import { Rng } from '../random.js';
import type { Checkpoint, Weights } from './weights.js';

export const LORA_MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] as const;
export type LoraModule = typeof LORA_MODULES[number];

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: LoraModule[];
  /** Restrict to these layer indices (default: all). */
  layers?: number[];
}

export const DEFAULT_LORA: LoraConfig = { r: 16, alpha: 32, dropout: 0.05, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] };

/** The Hugging Face name prefix of a module (`model.layers.3.self_attn.q_proj`). */
export function modulePath(layer: number, m: LoraModule): string {
  const block = m === 'gate_proj' || m === 'up_proj' || m === 'down_proj' ? 'mlp' : 'self_attn';
  return `model.layers.${layer}.${block}.${m}`;
}

/** [out, in] of a module's weight. */
export function moduleShape(c: ModelConfig, m: LoraModule): [number, number] {
  const D = c.hiddenSize, q = c.numHeads * c.headDim, kv = c.numKvHeads * c.headDim, F = c.intermediateSize;
  switch (m) {
    case 'q_proj': return [q, D];
    case 'k_proj': case 'v_proj': return [kv, D];
    case 'o_proj': return [D, q];
    case 'gate_proj': case 'up_proj': return [F, D];
    case 'down_proj': return [D, F];
  }
}

/** One adapted module's matrices (row-major float32). */
export interface LoraPair {
  /** Module path, e.g. `model.layers.0.self_attn.q_proj`. */
  path: string;
  layer: number;
  module: LoraModule;
  /** [r, in] */
  A: Float32Array;
  /** [out, r] */
  B: Float32Array;
  inFeatures: number;
  outFeatures: number;
}

/** A LoRA adapter: its config and one A/B pair per adapted module. */
export class LoraAdapter {
  readonly pairs = new Map<string, LoraPair>();

  constructor(readonly config: LoraConfig, readonly model: ModelConfig, pairs?: Iterable<LoraPair>) {
    validateLoraConfig(config, model);
    if (pairs) for (const p of pairs) this.pairs.set(p.path, p);
  }

  /**
   * A fresh adapter as PEFT initialises one: A ~ kaiming-uniform (bound 1/sqrt(in)), B = 0, so the
   * adapted model starts equal to the base. Drawn from a seeded PRNG.
   */
  static init(model: ModelConfig, config: Partial<LoraConfig> = {}, seed = 0): LoraAdapter {
    const cfg: LoraConfig = { ...DEFAULT_LORA, ...config };
    const rng = new Rng(seed);
    const a = new LoraAdapter(cfg, model);
    for (const layer of loraLayers(cfg, model)) {
      for (const m of cfg.targetModules) {
        const [out, inF] = moduleShape(model, m);
        const bound = 1 / Math.sqrt(inF);
        const A = Float32Array.from({ length: cfg.r * inF }, () => (2 * rng.float() - 1) * bound);
        a.pairs.set(modulePath(layer, m), { path: modulePath(layer, m), layer, module: m, A, B: new Float32Array(out * cfg.r), inFeatures: inF, outFeatures: out });
      }
    }
    return a;
  }

  get scale(): number { return this.config.alpha / this.config.r; }

  /** The pair for (layer, module), if that module is adapted. */
  get(layer: number, m: LoraModule): LoraPair | undefined {
    return this.pairs.get(modulePath(layer, m));
  }

  /** Trainable parameters in a stable order, e.g. for AdamW: `{ name, data }` for every A and B. */
  parameters(): { name: string; data: Float32Array }[] {
    const out: { name: string; data: Float32Array }[] = [];
    for (const p of this.pairs.values()) {
      out.push({ name: loraInputName(p.path, 'A'), data: p.A }, { name: loraInputName(p.path, 'B'), data: p.B });
    }
    return out;
  }

  /** Graph feeds: every A and B by input name (zero-copy: the arrays themselves). */
  feeds(): Record<string, Float32Array> {
    const f: Record<string, Float32Array> = {};
    for (const { name, data } of this.parameters()) f[name] = data;
    return f;
  }

  clone(): LoraAdapter {
    return new LoraAdapter({ ...this.config, targetModules: [...this.config.targetModules] }, this.model,
      [...this.pairs.values()].map((p) => ({ ...p, A: p.A.slice(), B: p.B.slice() })));
  }
}

export function loraLayers(cfg: LoraConfig, model: ModelConfig): number[] {
  return cfg.layers ?? Array.from({ length: model.numLayers }, (_, i) => i);
}

export function validateLoraConfig(cfg: LoraConfig, model: ModelConfig, where = 'LoRA config'): void {
  if (!Number.isInteger(cfg.r) || cfg.r <= 0) throw new Error(`${where}: 'r' must be a positive integer, got ${cfg.r}`);
  if (!Number.isFinite(cfg.alpha) || cfg.alpha <= 0) throw new Error(`${where}: 'lora_alpha' must be positive, got ${cfg.alpha}`);
  if (!(cfg.dropout >= 0 && cfg.dropout < 1)) throw new Error(`${where}: 'lora_dropout' must be in [0, 1), got ${cfg.dropout}`);
  if (cfg.targetModules.length === 0) throw new Error(`${where}: 'target_modules' is empty`);
  for (const m of cfg.targetModules) {
    if (!(LORA_MODULES as readonly string[]).includes(m)) throw new Error(`${where}: target module '${m}' is not one of ${LORA_MODULES.join(', ')}`);
  }
  for (const l of cfg.layers ?? []) {
    if (!Number.isInteger(l) || l < 0 || l >= model.numLayers) throw new Error(`${where}: layer ${l} is out of range (0..${model.numLayers - 1})`);
  }
}

/** Graph input names: `model.layers.0.self_attn.q_proj.lora_A` / `.lora_B`. */
export function loraInputName(path: string, which: 'A' | 'B'): string {
  return `${path}.lora_${which}`;
}

/** W + (alpha/r)·B·A for every adapted module, in float64, as new weights (the base is not modified). */
export function mergeLora(ck: Checkpoint, adapter: LoraAdapter): Checkpoint {
  const weights: Weights = new Map(ck.weights);
  const s = adapter.scale;
  const r = adapter.config.r;
  for (const p of adapter.pairs.values()) {
    const name = `${p.path}.weight`;
    const w = ck.weights.get(name);
    if (!w) throw new Error(`mergeLora: base has no '${name}'`);
    const out = Float32Array.from(w.data);
    for (let o = 0; o < p.outFeatures; o++) {
      for (let i = 0; i < p.inFeatures; i++) {
        let acc = 0;
        for (let k = 0; k < r; k++) acc += p.B[o * r + k] * p.A[k * p.inFeatures + i];
        out[o * p.inFeatures + i] = w.data[o * p.inFeatures + i] + s * acc;
      }
    }
    weights.set(name, { shape: w.shape, data: out });
  }
  return { config: ck.config, weights };
}
