// LoRA adapters on disk in PEFT's layout: `adapter_config.json` (peft_type "LORA", r, lora_alpha,
// lora_dropout, target_modules, …) and `adapter_model.safetensors` with keys
// `base_model.model.<module path>.lora_A.weight` [r, in] and `.lora_B.weight` [out, r].
// PEFT options that change the math and are not implemented (DoRA, rsLoRA, per-module rank/alpha patterns,
// bias training, fan_in_fan_out, modules_to_save) are refused with the file and field.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelConfig } from './config.js';
import { LORA_MODULES, LoraAdapter, loraLayers, modulePath, moduleShape, validateLoraConfig, type LoraConfig, type LoraModule, type LoraPair } from './lora.js';
import { SafetensorsFile, writeSafetensors, type TensorToWrite } from './safetensors.js';

export const PEFT_PREFIX = 'base_model.model.';

/** The safetensors key PEFT writes for a module's A or B. */
export function peftKey(path: string, which: 'A' | 'B'): string {
  return `${PEFT_PREFIX}${path}.lora_${which}.weight`;
}

export interface SaveAdapterOptions {
  baseModelNameOrPath?: string;
}

/** Writes adapter_config.json and adapter_model.safetensors (float32) to DIR. */
export function saveAdapter(dir: string, adapter: LoraAdapter, o: SaveAdapterOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  const cfg = adapter.config;
  const json = {
    peft_type: 'LORA',
    task_type: 'CAUSAL_LM',
    base_model_name_or_path: o.baseModelNameOrPath ?? null,
    r: cfg.r,
    lora_alpha: cfg.alpha,
    lora_dropout: cfg.dropout,
    target_modules: [...cfg.targetModules],
    layers_to_transform: cfg.layers ?? null,
    bias: 'none',
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    modules_to_save: null,
    use_rslora: false,
    use_dora: false,
    rank_pattern: {},
    alpha_pattern: {},
  };
  writeFileSync(join(dir, 'adapter_config.json'), `${JSON.stringify(json, null, 2)}\n`);
  const tensors = new Map<string, TensorToWrite>();
  for (const p of adapter.pairs.values()) {
    tensors.set(peftKey(p.path, 'A'), { shape: [cfg.r, p.inFeatures], data: p.A });
    tensors.set(peftKey(p.path, 'B'), { shape: [p.outFeatures, cfg.r], data: p.B });
  }
  writeSafetensors(join(dir, 'adapter_model.safetensors'), tensors, { format: 'pt' });
}

type Json = Record<string, unknown>;

/** Parses adapter_config.json into a LoraConfig (refusing what is not implemented). */
export function parseAdapterConfig(json: unknown, model: ModelConfig, file = 'adapter_config.json'): LoraConfig {
  if (typeof json !== 'object' || json === null) throw new Error(`${file}: expected a JSON object`);
  const c = json as Json;
  const bad = (field: string, msg: string): never => { throw new Error(`${file}: field '${field}' ${msg}`); };
  if (c.peft_type !== 'LORA') bad('peft_type', `is ${JSON.stringify(c.peft_type)}; only "LORA" is supported`);
  const r = c.r;
  if (typeof r !== 'number' || !Number.isInteger(r) || r <= 0) bad('r', `must be a positive integer, got ${JSON.stringify(r)}`);
  const alpha = c.lora_alpha ?? 8;
  if (typeof alpha !== 'number' || !(alpha > 0)) bad('lora_alpha', `must be a positive number, got ${JSON.stringify(alpha)}`);
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== 'number' || !(dropout >= 0 && dropout < 1)) bad('lora_dropout', `must be in [0, 1), got ${JSON.stringify(dropout)}`);
  if (c.use_dora === true) bad('use_dora', 'is true; DoRA is not implemented');
  if (c.use_rslora === true) bad('use_rslora', 'is true; rank-stabilised scaling (alpha/sqrt(r)) is not implemented');
  if (c.fan_in_fan_out === true) bad('fan_in_fan_out', 'is true; Llama-family linears store [out, in]');
  if (c.bias !== undefined && c.bias !== 'none') bad('bias', `is ${JSON.stringify(c.bias)}; only "none" is supported`);
  for (const k of ['rank_pattern', 'alpha_pattern']) {
    const v = c[k];
    if (v && typeof v === 'object' && Object.keys(v).length > 0) bad(k, 'is not empty; per-module ranks/alphas are not implemented');
  }
  if (Array.isArray(c.modules_to_save) && c.modules_to_save.length > 0) bad('modules_to_save', 'is set; fully trained extra modules are not supported');
  let targets = c.target_modules;
  if (typeof targets === 'string') {
    if (!(LORA_MODULES as readonly string[]).includes(targets)) bad('target_modules', `is the pattern ${JSON.stringify(targets)}; give a list of module names (${LORA_MODULES.join(', ')})`);
    targets = [targets];
  }
  if (!Array.isArray(targets) || targets.length === 0) bad('target_modules', `must be a non-empty list of module names, got ${JSON.stringify(targets)}`);
  for (const t of targets as unknown[]) {
    if (typeof t !== 'string' || !(LORA_MODULES as readonly string[]).includes(t)) bad('target_modules', `contains ${JSON.stringify(t)}; supported: ${LORA_MODULES.join(', ')}`);
  }
  let layers: number[] | undefined;
  const lt = c.layers_to_transform;
  if (typeof lt === 'number') layers = [lt];
  else if (Array.isArray(lt)) layers = lt as number[];
  else if (lt !== undefined && lt !== null) bad('layers_to_transform', `must be a layer index or a list, got ${JSON.stringify(lt)}`);
  const cfg: LoraConfig = { r: r as number, alpha: alpha as number, dropout: dropout as number, targetModules: [...new Set(targets as LoraModule[])], ...(layers ? { layers } : {}) };
  validateLoraConfig(cfg, model, file);
  return cfg;
}

/**
 * Reads a PEFT LoRA adapter folder for a model config. Every (layer, target module) pair must be present
 * with the right shapes; keys with or without PEFT's adapter-name infix (`.default.`) are accepted.
 */
export function loadAdapter(dir: string, model: ModelConfig): LoraAdapter {
  const cfgFile = join(dir, 'adapter_config.json');
  if (!existsSync(cfgFile)) throw new Error(`${dir}: no adapter_config.json`);
  let json: unknown;
  try { json = JSON.parse(readFileSync(cfgFile, 'utf8')); } catch (e) { throw new Error(`${cfgFile}: not valid JSON (${(e as Error).message})`); }
  const cfg = parseAdapterConfig(json, model, cfgFile);
  const stFile = join(dir, 'adapter_model.safetensors');
  if (!existsSync(stFile)) throw new Error(`${dir}: no adapter_model.safetensors (adapter_model.bin is not supported)`);
  const f = new SafetensorsFile(stFile);
  try {
    const find = (path: string, which: 'A' | 'B'): string | undefined => {
      const plain = peftKey(path, which);
      if (f.has(plain)) return plain;
      const named = `${PEFT_PREFIX}${path}.lora_${which}.default.weight`;
      return f.has(named) ? named : undefined;
    };
    const pairs: LoraPair[] = [];
    const used = new Set<string>();
    for (const layer of loraLayers(cfg, model)) {
      for (const m of cfg.targetModules) {
        const path = modulePath(layer, m);
        const [out, inF] = moduleShape(model, m);
        const ka = find(path, 'A'), kb = find(path, 'B');
        if (!ka || !kb) throw new Error(`${stFile}: missing ${peftKey(path, ka ? 'B' : 'A')} (target_modules lists ${m})`);
        const sa = f.info(ka).shape, sb = f.info(kb).shape;
        if (sa.join() !== `${cfg.r},${inF}`) throw new Error(`${stFile}: '${ka}' has shape [${sa.join(', ')}], expected [${cfg.r}, ${inF}] (r × in)`);
        if (sb.join() !== `${out},${cfg.r}`) throw new Error(`${stFile}: '${kb}' has shape [${sb.join(', ')}], expected [${out}, ${cfg.r}] (out × r)`);
        pairs.push({ path, layer, module: m, A: f.readFloat32(ka), B: f.readFloat32(kb), inFeatures: inF, outFeatures: out });
        used.add(ka); used.add(kb);
      }
    }
    const extra = [...f.tensors.keys()].filter((k) => !used.has(k));
    if (extra.length) throw new Error(`${stFile}: ${extra.length} tensor(s) this config does not account for, e.g. '${extra[0]}'`);
    return new LoraAdapter(cfg, model, pairs);
  } finally {
    f.close();
  }
}
