// llama.cpp as the tests' independent implementation: the prebuilt CPU binding that node-llama-cpp ships as
// the npm package @node-llama-cpp/linux-x64 (llama.cpp compiled as a Node addon), driven directly. The
// node-llama-cpp wrapper itself cannot be installed with `npm ci` here: its lock entries for other
// platforms' binary packages cannot be resolved from this registry.

import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after } from 'node:test';

interface AddonModel {
  init(): Promise<boolean>;
  dispose(): Promise<void>;
  tokenize(text: string, specialTokens: boolean): Uint32Array;
  detokenize(tokens: Uint32Array, specialTokens?: boolean): string;
}
interface AddonSampler { applyConfig(c: Record<string, unknown>): void; dispose?(): void }
interface AddonContext {
  init(): Promise<boolean>;
  dispose(): Promise<void>;
  initBatch(size: number): void;
  addToBatch(seq: number, firstPos: number, tokens: Uint32Array, logitIndexes: Uint32Array): Uint32Array;
  decodeBatch(): Promise<void>;
  sampleToken(i: number, s: AddonSampler, probabilities: boolean, confidence: boolean, logits: boolean): Promise<[number, unknown, unknown, number[] | undefined]>;
}
interface Addon {
  AddonModel: new (path: string, o: Record<string, unknown>) => AddonModel;
  AddonContext: new (m: AddonModel, o: Record<string, unknown>) => AddonContext;
  AddonSampler: new (m: AddonModel) => AddonSampler;
  setLogger(f: (level: number, message: string) => void): void;
  setLoggerLogLevel(level: number): void;
  loadBackends(dir?: string): void;
  getGgmlType(name: string): number | undefined;
  init(): Promise<void>;
  dispose(): Promise<void>;
}

let ready: Promise<Addon> | null = null;

async function addon(): Promise<Addon> {
  ready ??= (async () => {
    const pkg = '@node-llama-cpp/linux-x64'; // untyped package: imported by name
    const { getBinsDir } = await import(pkg) as { getBinsDir(): { binsDir: string } };
    const bins = join(getBinsDir().binsDir, 'linux-x64');
    const a = createRequire(import.meta.url)(join(bins, 'llama-addon.node')) as Addon;
    a.setLogger(() => {});
    a.setLoggerLogLevel(2);
    a.loadBackends(bins);
    await a.init();
    after(() => a.dispose());
    return a;
  })();
  return ready;
}

/** Runs `f` with a llama.cpp model loaded from a GGUF file (weights in RAM, no GPU). */
export async function withLlamaModel<T>(gguf: string, f: (m: AddonModel, a: Addon) => Promise<T>): Promise<T> {
  const a = await addon();
  const m = new a.AddonModel(gguf, { gpuLayers: 0, useMmap: false, addonExports: a });
  if (!(await m.init())) throw new Error(`llama.cpp could not load ${gguf}`);
  try { return await f(m, a); } finally { await m.dispose(); }
}

/** llama.cpp's raw logits at every position of `tokens` (one sequence, float32 KV cache, no flash attention). */
export async function llamaCppLogits(gguf: string, tokens: number[], vocab: number): Promise<Float32Array> {
  return withLlamaModel(gguf, async (model, a) => {
    const f32 = a.getGgmlType('F32');
    const ctx = new a.AddonContext(model, { contextSize: 64 * Math.ceil((tokens.length + 1) / 64), batchSize: tokens.length, sequences: 1, flashAttention: false, threads: 1, kvCacheKeyType: f32, kvCacheValueType: f32 });
    if (!(await ctx.init())) throw new Error('llama.cpp could not create a context');
    const sampler = new a.AddonSampler(model);
    try {
      ctx.initBatch(tokens.length);
      const idx = ctx.addToBatch(0, 0, Uint32Array.from(tokens), Uint32Array.from(tokens.keys()));
      await ctx.decodeBatch();
      sampler.applyConfig({ temperature: 0, minP: 0, topK: 40, topP: 0.95, seed: 0 });
      const out = new Float32Array(tokens.length * vocab);
      for (let i = 0; i < tokens.length; i++) {
        const [, , , pairs] = await ctx.sampleToken(idx[i], sampler, false, false, true);
        if (!pairs || pairs.length !== 2 * vocab) throw new Error(`position ${i}: ${pairs ? pairs.length / 2 : 0} logits from llama.cpp, expected ${vocab}`);
        for (let j = 0; j < pairs.length; j += 2) out[i * vocab + pairs[j]] = pairs[j + 1];
      }
      return out;
    } finally {
      sampler.dispose?.();
      await ctx.dispose();
    }
  });
}
