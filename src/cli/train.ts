import { existsSync, readFileSync } from 'node:fs';
import { oneOf, parse, UsageError } from './args.js';
import { PRESET_NAMES, resolveGrpoConfig, resolveRlooConfig, resolvePpoConfig, resolvePretrainConfig, resolveSftConfig, pretrainTexts, type PresetName, type RunOverrides } from '../train/presets.js';
import { grpo, parseGrpoConfig } from '../train/grpo.js';
import { parsePpoConfig, ppo, type PpoResult } from '../train/ppo.js';
import { parseRlooConfig, rloo } from '../train/rloo.js';
import { parsePretrainConfig, pretrain } from '../train/pretrain.js';
import { parseSftConfig, sft } from '../train/sft.js';
import { DEFAULT_QUANTIZE, QUANTIZE_MODES } from '../model/quantized.js';

export const usage = `usage: securecoderl train pretrain|sft|ppo|grpo|rloo (--preset NAME | --config FILE) [options]
       securecoderl train ppo|grpo|rloo --resume DIR

  --preset NAME      minimal | tiny | toy (build and cache their tiny model) | paper; rloo: minimal, toy
  --config FILE      a JSON config (its fields over the preset's; unknown fields are errors)
  --out DIR          the run folder [runs/<trainer>-<preset>]
  --seed S           seed of everything random in the run
  --steps N          ppo: steps (episodes = N × batch size); grpo: steps (prompts × G completions each);
                     rloo: steps (prompts × k trajectories of T turns each);
                     sft: optimizer steps; pretrain: steps
  --save-every K     ppo, grpo, rloo: checkpoint every K steps
  --model DIR        a Hugging Face model folder (instead of the preset's tiny model)
  --adapter DIR      sft: start from this PEFT adapter; ppo, grpo, rloo: the reference (and starting) adapter
  --variant V        ppo: simple | fresh | continue | scheduled (the paper's variants)
  --init DIR         ppo: start the policy from this adapter folder (continue: a simple run's final/)
  --low-memory       ppo, grpo, rloo: one copy of the base weights, shared by the sampler and the graphs (slower decoding)
  --quantize MODE    ppo, grpo, rloo, sft (LoRA): frozen base weights as int8 | nbits4 | none (default; see docs/model.md)
  --recompute        ppo, grpo, rloo, sft: rebuild each block's activations in the backward pass (same
                     gradients, less memory, one more forward of the blocks per update)
  --resume DIR       ppo, grpo, rloo: continue a run from its newest checkpoint
  --quiet            no progress output

The run folder holds config.json, metrics.jsonl, samples.jsonl (ppo, grpo, rloo), checkpoints/step-N/ and final/.
Ctrl-C saves a checkpoint and stops; --resume continues exactly. See docs/train.md.`;

const OPTIONS = {
  preset: { type: 'string' }, config: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' }, steps: { type: 'string' },
  'save-every': { type: 'string' }, model: { type: 'string' }, adapter: { type: 'string' }, variant: { type: 'string' }, init: { type: 'string' },
  resume: { type: 'string' }, quiet: { type: 'boolean' }, 'low-memory': { type: 'boolean' }, quantize: { type: 'string' }, recompute: { type: 'boolean' },
} as const;

/** --quantize MODE and --recompute over a resolved config's `quantize` and `recompute` fields. */
function withResourceFlags(merged: Record<string, unknown>, v: { quantize?: string | boolean; recompute?: string | boolean }): Record<string, unknown> {
  const out = v.recompute === true ? { ...merged, recompute: true } : merged;
  if (v.quantize === undefined) return out;
  const mode = oneOf('quantize', v.quantize, QUANTIZE_MODES, 'none');
  return { ...out, quantize: { ...DEFAULT_QUANTIZE, ...(merged.quantize as object | undefined), mode } };
}

function readConfig(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new UsageError(`--config ${path}: no such file`);
  try {
    const json: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (!json || typeof json !== 'object' || Array.isArray(json)) throw new Error('expected a JSON object');
    return json as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`--config ${path}: ${(e as Error).message}`);
  }
}

const integer = (flag: string, v: string | boolean | undefined, allowZero = false) => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < (allowZero ? 0 : 1)) throw new UsageError(`--${flag}: expected ${allowZero ? 'a non-negative' : 'a positive'} integer, got ${JSON.stringify(v)}`);
  return n;
};

export async function run(argv: string[]): Promise<number> {
  const [trainer, ...rest] = argv;
  if (!['pretrain', 'sft', 'ppo', 'grpo', 'rloo'].includes(trainer ?? '')) throw new UsageError(`expected a trainer (pretrain, sft, ppo, grpo or rloo), got ${JSON.stringify(trainer ?? '')}`);
  const v = parse(rest, OPTIONS);
  const quiet = v.quiet === true;
  const log = (line: string) => { if (!quiet) process.stderr.write(`${line}\n`); };

  if (typeof v.resume === 'string') {
    if (trainer === 'grpo') return report(await grpo({ resume: v.resume }, { quiet }), 'GRPO');
    if (trainer === 'rloo') return report(await rloo({ resume: v.resume }, { quiet }), 'RLOO');
    if (trainer !== 'ppo') throw new UsageError('--resume works for train ppo, grpo and rloo');
    return report(await ppo({ resume: v.resume }, { quiet }), 'PPO');
  }
  if (v.preset === undefined && v.config === undefined) throw new UsageError('give --preset NAME or --config FILE');
  const preset = v.preset === undefined ? undefined : oneOf('preset', v.preset, PRESET_NAMES, 'minimal') as PresetName;
  const o: RunOverrides = {
    preset, config: typeof v.config === 'string' ? readConfig(v.config) : undefined,
    seed: integer('seed', v.seed, true), steps: integer('steps', v.steps), saveEvery: integer('save-every', v['save-every']),
    model: v.model as string | undefined, adapter: v.adapter as string | undefined,
  };
  const where = typeof v.config === 'string' ? v.config : `preset ${preset}`;
  const out = (v.out as string | undefined) ?? `runs/${trainer}-${preset ?? 'config'}`;

  if (trainer === 'pretrain') {
    const { config, recipe } = resolvePretrainConfig(o);
    const r = await pretrain(parsePretrainConfig(config, where), { outDir: out, texts: pretrainTexts(recipe), quiet });
    process.stdout.write(`pretrained ${r.steps} steps in ${r.seconds.toFixed(0)} s: held-out loss ${r.heldoutLoss.toFixed(3)} (unigram ${r.unigramLoss.toFixed(3)}); model in ${r.modelDir}\n`);
    return 0;
  }
  if (trainer === 'sft') {
    const r = await sft(parseSftConfig(withResourceFlags(await resolveSftConfig(o, log), v), where), { outDir: out, quiet });
    process.stdout.write(`SFT: ${r.steps} steps in ${r.seconds.toFixed(0)} s, train loss ${r.trainLoss.toFixed(3)}, best validation loss ${r.bestValLoss?.toFixed(3) ?? 'n/a'}; final in ${r.finalDir}\n`);
    return 0;
  }
  if (trainer === 'grpo') {
    for (const flag of ['variant', 'init'] as const) if (v[flag] !== undefined) throw new UsageError(`--${flag} is a PPO option`);
    const merged = await resolveGrpoConfig(o, log);
    if (v['low-memory'] === true) merged.lowMemory = true;
    return report(await grpo({ config: parseGrpoConfig(withResourceFlags(merged, v), where), outDir: out }, { quiet }), 'GRPO');
  }
  if (trainer === 'rloo') {
    for (const flag of ['variant', 'init'] as const) if (v[flag] !== undefined) throw new UsageError(`--${flag} is a PPO option`);
    if (preset && preset !== 'minimal' && preset !== 'toy') throw new UsageError(`--preset: rloo has the presets minimal and toy, got ${JSON.stringify(preset)}`);
    const merged = await resolveRlooConfig(o, log);
    if (v['low-memory'] === true) merged.lowMemory = true;
    return report(await rloo({ config: parseRlooConfig(withResourceFlags(merged, v), where), outDir: out }, { quiet }), 'RLOO');
  }
  const merged = await resolvePpoConfig(o, log);
  if (v.variant !== undefined) merged.variant = oneOf('variant', v.variant, ['simple', 'fresh', 'continue', 'scheduled'] as const, 'fresh');
  if (typeof v.init === 'string') merged.init = v.init;
  if (v['low-memory'] === true) merged.lowMemory = true;
  if (preset && v.variant !== undefined && o.config?.run_name === undefined) merged.run_name = `${preset}-${String(merged.variant)}`;
  return report(await ppo({ config: parsePpoConfig(withResourceFlags(merged, v), where), outDir: out }, { quiet }), 'PPO');
}

function report(r: PpoResult, trainer: 'PPO' | 'GRPO' | 'RLOO'): number {
  if (r.stopped) {
    process.stderr.write(`stopped after step ${r.steps}; a checkpoint is saved: continue with --resume ${r.runDir}\n`);
    return 130;
  }
  process.stdout.write(`${trainer}: ${r.steps} steps; final adapter in ${r.finalDir}; metrics in ${r.runDir}/metrics.jsonl\n`);
  return 0;
}

