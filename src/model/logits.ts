// Logits at every position for one token sequence: the library side of `securecoderl logits`.

import { CausalLM } from './causal-lm.js';

export interface LogitsOptions {
  /** Model folder (config.json + model.safetensors or shards). */
  model: string;
  /** PEFT adapter folder, applied unmerged. */
  adapter?: string;
  tokens: readonly number[];
  /** ONNX Runtime intra-op threads. */
  threads?: number;
}

/** [position][vocab] float32 logits. */
export async function logits(o: LogitsOptions): Promise<Float32Array[]> {
  if (o.tokens.length === 0) throw new Error('logits: no tokens');
  const lm = CausalLM.load(o.model, { adapter: o.adapter, session: o.threads ? { threads: o.threads } : undefined });
  const [all] = await lm.logits([o.tokens]);
  const V = lm.config.vocabSize;
  return Array.from({ length: o.tokens.length }, (_, i) => all.slice(i * V, (i + 1) * V));
}

/** The shortest decimal that reads back as the same float32 (so printed logits are exact float32 values). */
export function formatFloat32(x: number): string {
  const f = Math.fround(x);
  if (!Number.isFinite(f)) return String(f);
  for (let p = 1; p <= 9; p++) {
    const s = f.toPrecision(p);
    if (Math.fround(Number(s)) === f) return String(Number(s));
  }
  return String(f);
}
