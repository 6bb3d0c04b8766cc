// LoRA: PEFT-layout save/load, a hand-built PEFT adapter against W + (α/r)·B·A applied by hand, merging,
// seeded dropout masks, gradients reaching only A/B, and the value head.

import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { compile, dropoutMask, gradients, Graph, tokenLogProbs, type Feed } from '../../src/engine/index.js';
import * as op from '../../src/engine/ops.js';
import { CausalLM } from '../../src/model/causal-lm.js';
import { appendDecoder, attentionBias, decoderInputs, leftPad, LORA_DROPOUT_KEEP } from '../../src/model/decoder.js';
import { LoraAdapter, mergeLora } from '../../src/model/lora.js';
import { loadAdapter, saveAdapter } from '../../src/model/peft.js';
import { Rng } from '../../src/random.js';
import { SafetensorsFile } from '../../src/model/safetensors.js';
import { ValueHead } from '../../src/model/value-head.js';
import { tinyModel, type Weights } from '../../src/model/weights.js';
import { relErr, tempDir } from './helpers.js';
import { VARIANTS } from './variants.js';

const TOKENS = [3, 14, 15, 92, 65, 35, 89, 79];

function randomB(a: LoraAdapter, seed: number, scale = 0.2): void {
  const r = new Rng(seed);
  for (const p of a.pairs.values()) for (let i = 0; i < p.B.length; i++) p.B[i] = scale * r.normal();
}

/** Bytes of a safetensors file written directly from the documented layout (not with our writer). */
function handWrittenSafetensors(tensors: [string, number[], Float32Array][]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const [name, shape, data] of tensors) { header[name] = { dtype: 'F32', shape, data_offsets: [off, off + 4 * data.length] }; off += 4 * data.length; }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8); len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, ...tensors.map(([, , d]) => Buffer.from(d.buffer, d.byteOffset, d.byteLength))]);
}

describe('LoRA', () => {
  it('a fresh adapter (B = 0) leaves the logits unchanged; PEFT init shapes and defaults', async () => {
    const ck = tinyModel(VARIANTS.llama);
    const a = LoraAdapter.init(ck.config, {}, 1);
    assert.deepEqual(a.config, { r: 16, alpha: 32, dropout: 0.05, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj'] });
    assert.equal(a.pairs.size, 8);
    const q = a.get(0, 'q_proj')!;
    assert.equal(q.A.length, 16 * 64);
    assert.ok(q.A.some((x) => x !== 0) && q.B.every((x) => x === 0));
    const [base] = await new CausalLM(ck).logits([TOKENS]);
    const [adapted] = await new CausalLM(ck, { adapter: a }).logits([TOKENS]);
    assert.deepEqual(adapted, base);
  });

  it('our adapter saved in PEFT layout loads back identically, with PEFT key names', async () => {
    const dir = tempDir('peft');
    const ck = tinyModel(VARIANTS.qwen3);
    const a = LoraAdapter.init(ck.config, { targetModules: ['q_proj', 'v_proj', 'down_proj'], r: 4, alpha: 16 }, 2);
    randomB(a, 3);
    saveAdapter(dir, a, { baseModelNameOrPath: 'tiny-qwen3' });
    const cfg = JSON.parse(readFileSync(join(dir, 'adapter_config.json'), 'utf8'));
    assert.equal(cfg.peft_type, 'LORA');
    assert.equal(cfg.r, 4); assert.equal(cfg.lora_alpha, 16); assert.equal(cfg.lora_dropout, 0.05);
    assert.deepEqual(cfg.target_modules, ['q_proj', 'v_proj', 'down_proj']);
    assert.equal(cfg.base_model_name_or_path, 'tiny-qwen3');
    const f = new SafetensorsFile(join(dir, 'adapter_model.safetensors'));
    assert.ok(f.has('base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight'));
    assert.deepEqual(f.info('base_model.model.model.layers.1.mlp.down_proj.lora_B.weight').shape, [64, 4]);
    assert.deepEqual(f.info('base_model.model.model.layers.1.mlp.down_proj.lora_A.weight').shape, [4, 128]);
    assert.equal(f.tensors.size, 2 * 3 * 2);
    f.close();
    const b = loadAdapter(dir, ck.config);
    assert.deepEqual(b.config, a.config);
    for (const [path, p] of a.pairs) {
      assert.deepEqual(b.pairs.get(path)!.A, p.A);
      assert.deepEqual(b.pairs.get(path)!.B, p.B);
    }
    const [x] = await new CausalLM(ck, { adapter: a }).logits([TOKENS]);
    const [y] = await new CausalLM(ck, { adapter: b }).logits([TOKENS]);
    assert.deepEqual(x, y);
  });

  it('a PEFT adapter written by hand from the documented layout gives the logits of W + (α/r)·B·A', async () => {
    const dir = tempDir('peft-hand');
    const ck = tinyModel(VARIANTS.qwen2);
    const r = 2, alpha = 6, rng = new Rng(4);
    const targets: [string, number, number][] = []; // [module path, out, in]
    for (let l = 0; l < 2; l++) {
      targets.push([`model.layers.${l}.self_attn.q_proj`, 64, 64], [`model.layers.${l}.self_attn.v_proj`, 16, 64]);
    }
    const tensors: [string, number[], Float32Array][] = [];
    const mats = new Map<string, { A: Float32Array; B: Float32Array }>();
    for (const [path, out, inF] of targets) {
      const A = Float32Array.from({ length: r * inF }, () => 0.3 * rng.normal());
      const B = Float32Array.from({ length: out * r }, () => 0.3 * rng.normal());
      mats.set(path, { A, B });
      tensors.push([`base_model.model.${path}.lora_A.weight`, [r, inF], A], [`base_model.model.${path}.lora_B.weight`, [out, r], B]);
    }
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'adapter_model.safetensors'), handWrittenSafetensors(tensors));
    writeFileSync(join(dir, 'adapter_config.json'), JSON.stringify({
      alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'Qwen/Qwen2.5-0.5B', bias: 'none', fan_in_fan_out: false,
      inference_mode: true, init_lora_weights: true, layers_pattern: null, layers_to_transform: null, lora_alpha: alpha,
      lora_dropout: 0.1, modules_to_save: null, peft_type: 'LORA', r, rank_pattern: {}, revision: null,
      target_modules: ['v_proj', 'q_proj'], task_type: 'CAUSAL_LM', use_dora: false, use_rslora: false,
    }));
    // W + (α/r)·B·A by hand, in float64.
    const merged: Weights = new Map(ck.weights);
    for (const [path, out, inF] of targets) {
      const { A, B } = mats.get(path)!;
      const W = ck.weights.get(`${path}.weight`)!;
      const data = Float32Array.from(W.data);
      for (let o = 0; o < out; o++) for (let i = 0; i < inF; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += B[o * r + k] * A[k * inF + i];
        data[o * inF + i] += (alpha / r) * s;
      }
      merged.set(`${path}.weight`, { shape: W.shape, data });
    }
    const adapter = loadAdapter(dir, ck.config);
    assert.equal(adapter.scale, 3);
    const [viaAdapter] = await new CausalLM(ck, { adapter }).logits([TOKENS]);
    const [byHand] = await new CausalLM({ config: ck.config, weights: merged }).logits([TOKENS]);
    const [base] = await new CausalLM(ck).logits([TOKENS]);
    assert.ok(relErr(base, byHand) > 1e-2, 'the adapter matters');
    assert.ok(relErr(viaAdapter, byHand) < 1e-5, `adapter vs hand-merged: ${relErr(viaAdapter, byHand)}`);
    const [viaMerge] = await new CausalLM(mergeLora(ck, adapter)).logits([TOKENS]);
    assert.ok(relErr(viaMerge, byHand) < 1e-6, `mergeLora vs by hand: ${relErr(viaMerge, byHand)}`);
  });

  it('refuses adapters it cannot apply, naming file and field', () => {
    const dir = tempDir('peft-bad');
    const ck = tinyModel(VARIANTS.llama);
    const a = LoraAdapter.init(ck.config, { r: 2 }, 1);
    saveAdapter(dir, a);
    const cfgPath = join(dir, 'adapter_config.json');
    const cfg = JSON.parse(readFileSync(cfgPath, 'utf8'));
    for (const [patch, re] of [
      [{ use_dora: true }, /adapter_config.json: field 'use_dora' is true; DoRA is not implemented/],
      [{ use_rslora: true }, /field 'use_rslora'/],
      [{ target_modules: ['q_proj', 'lm_head'] }, /field 'target_modules' contains "lm_head"/],
      [{ peft_type: 'IA3' }, /field 'peft_type' is "IA3"/],
      [{ r: 3 }, /'base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight' has shape \[2, 64\], expected \[3, 64\]/],
      [{ target_modules: ['q_proj', 'gate_proj'] }, /missing base_model.model.model.layers.0.mlp.gate_proj.lora_A.weight/],
    ] as [Record<string, unknown>, RegExp][]) {
      writeFileSync(cfgPath, JSON.stringify({ ...cfg, ...patch }));
      assert.throws(() => loadAdapter(dir, ck.config), re);
    }
  });

  it('training graph: dropout drawn in the graph, gradients only for A/B (none for frozen W), value head', async () => {
    const ck = tinyModel(VARIANTS.llama);
    const a = LoraAdapter.init(ck.config, { r: 4, alpha: 8, dropout: 0.25 }, 5);
    randomB(a, 6);
    const g = new Graph({ name: 'train', contribOps: true });
    const inputs = decoderInputs(g, ck.config, false);
    const t = appendDecoder(g, ck, inputs, { lora: a.config, dropout: true, dropoutSeed: 3, valueHead: true });
    const targets = g.input('targets', 'int64', ['batch', 'seq']);
    const loss = op.neg(op.mean(tokenLogProbs(t.logits, targets)));
    const wrt = [...t.trainable.values()].filter((x) => x.name.includes('lora'));
    const grads = gradients(loss, wrt);
    g.output('loss', loss); g.output('values', t.values!); g.output('hidden', t.hidden);
    grads.forEach((d, i) => g.output(`grad:${wrt[i].name}`, d));
    assert.equal(wrt.length, 16);
    const p = leftPad([TOKENS, TOKENS.slice(3)]);
    const head = ValueHead.init(ck.config, 3);
    head.bias[0] = 0.5;
    const dir = tempDir('vhead');
    head.save(dir);
    const loaded = ValueHead.load(dir, ck.config);
    assert.deepEqual(loaded.weight, head.weight);
    const vw = loaded.weight, vb = loaded.bias;
    const base: Record<string, Feed> = {
      input_ids: { data: p.ids, dims: [2, p.seq] }, position_ids: { data: p.positions, dims: [2, p.seq] },
      attn_bias: { data: attentionBias(2, p.seq, 0, null, 0, p.valid), dims: [2, 1, 1, p.seq, p.seq] },
      targets: { data: p.ids, dims: [2, p.seq] }, ...loaded.feeds(), ...a.feeds(),
    };
    const names = ['loss', 'values', 'hidden', ...wrt.map((w) => `grad:${w.name}`)];
    const exe = await compile(g, names, { threads: 1 });
    const keep = (p: number) => ({ [LORA_DROPOUT_KEEP]: Float32Array.of(p) });
    const r1 = await exe.run({ ...base, ...keep(0.75) }), r2 = await exe.run({ ...base, ...keep(0.75) });
    assert.notDeepEqual(r1.loss.data, r2.loss.data, 'each run draws new masks');
    const again = await (await compile(g, names, { threads: 1, optimization: 'basic' })).run({ ...base, ...keep(0.75) });
    assert.deepEqual(again.loss.data, r1.loss.data, 'a new session draws the same sequence');
    for (const w of wrt) assert.ok((r1[`grad:${w.name}`].data as Float32Array).some((x) => x !== 0), w.name);
    // value = hidden · w + b at every position
    const hidden = r1.hidden.data as Float32Array, values = r1.values.data as Float32Array;
    assert.deepEqual(r1.values.dims, [2, p.seq]);
    for (let i = 0; i < values.length; i++) {
      let s = vb[0];
      for (let k = 0; k < 64; k++) s += hidden[i * 64 + k] * vw[k];
      assert.ok(Math.abs(values[i] - s) < 1e-4 * Math.max(1, Math.abs(s)));
    }
    // With keep = 1 every mask is exactly 1: the dropout graph equals the inference graph's logits.
    g.output('logits', t.logits);
    const withOnes = await (await compile(g, ['logits'], { threads: 1 })).run({ ...base, ...keep(1) });
    const [ref] = await new CausalLM(ck, { adapter: a }).logits([TOKENS]);
    assert.ok(relErr((withOnes.logits.data as Float32Array).subarray(0, ref.length), ref) < 1e-5);
  });

  it('a dropout mask drawn in the graph: 1/keep with probability keep, else 0; all ones at keep 1; distinct seeds, distinct masks', async () => {
    const g = new Graph({ name: 'mask' });
    const x = g.input('x', 'float32', [4, 64, 64]);
    const k = g.input('keep', 'float32', [1]);
    g.output('m1', dropoutMask(x, k, 1));
    g.output('m2', dropoutMask(x, k, 2));
    const exe = await compile(g, ['m1', 'm2'], { threads: 1 });
    const feeds = (keep: number) => ({ x: new Float32Array(4 * 64 * 64).fill(1), keep: Float32Array.of(keep) });
    const r = await exe.run(feeds(0.75));
    const m1 = r.m1.data as Float32Array, m2 = r.m2.data as Float32Array;
    const dropped = m1.filter((v) => v === 0).length / m1.length;
    assert.ok(Math.abs(dropped - 0.25) < 0.02, `dropped ${dropped}`);
    assert.ok(m1.every((v) => v === 0 || Math.abs(v - 4 / 3) < 1e-6));
    assert.notDeepEqual(m1, m2);
    const ones = await exe.run(feeds(1));
    assert.ok((ones.m1.data as Float32Array).every((v) => v === 1));
  });
});
