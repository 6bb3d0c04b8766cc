// Named run configs. `minimal` and `tiny` start from a tiny model this project builds itself (no pretrained
// checkpoint can be downloaded here): pretraining from scratch on the training split's reference solutions,
// MBPP's code and the Python standard library's sources, then SFT on the training split. Both stages are
// deterministic from their configs and cached under a key of those configs, so every preset run after the
// first starts at once. `paper` is the paper's settings for a real checkpoint (give --model and --adapter).

import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_DATA_DIR } from '../data/datasets.js';
import { fnv1a64 } from '../random.js';
import { appsPlusSolutions, mbppSolutions, pythonStdlibDir, pythonStdlibSources } from './corpus.js';
import { DEFAULT_DATA, loadTrainData, type DataConfig } from './data.js';
import { DEFAULT_GRPO_CONFIG, type GrpoConfig } from './grpo.js';
import { DEFAULT_PPO_CONFIG, type PpoConfig } from './ppo.js';
import { DEFAULT_PRETRAIN_CONFIG, pretrain, type PretrainConfig } from './pretrain.js';
import type { RlooConfig } from './rloo.js';
import { DEFAULT_SFT_CONFIG, sft, type SftConfig } from './sft.js';
import { DEFAULT_TASK_DATA, type TaskDataConfig } from './task-split.js';
import { readJson, writeJson } from './run.js';

export const PRESET_NAMES = ['minimal', 'tiny', 'toy', 'paper'] as const;
/** The presets that build their own tiny model. */
export type TinyPresetName = 'minimal' | 'tiny' | 'toy';
export const isTinyPreset = (p: string | undefined): p is TinyPresetName => p === 'minimal' || p === 'tiny' || p === 'toy';
export type PresetName = (typeof PRESET_NAMES)[number];

/** How a preset's tiny model is built: pretraining, then SFT (full fine-tuning), on one data split. */
export interface TinyRecipe {
  data: DataConfig;
  pretrain: PretrainConfig;
  /** Standard-library bytes in the pretraining corpus. */
  stdlibBytes: number;
  sft: Omit<SftConfig, 'model' | 'data' | 'run_name'>;
}

/** minimal: MBPP (short function-call tasks a tiny model can learn); tiny: the paper's APPS+; toy: the generated
 * one-line function tasks (src/data/toy.ts), the one set here a tiny model solves part of. */
const MINIMAL_DATA: DataConfig = { ...DEFAULT_DATA, dataset: 'mbpp', evalSize: 100, splitSeed: 42 };
const TINY_DATA: DataConfig = { ...DEFAULT_DATA, dataset: 'apps-plus', evalSize: 100, splitSeed: 42 };
const TOY_DATA: DataConfig = { ...DEFAULT_DATA, dataset: 'toy', evalSize: 100, splitSeed: 42 };
/** The same split as the RL trainers' task data (the same held-out problems). */
const TOY_TASKS: TaskDataConfig = { ...DEFAULT_TASK_DATA, dataset: 'toy', split: 'seeded', evalSize: TOY_DATA.evalSize, splitSeed: TOY_DATA.splitSeed, promptTests: 0 };

export const RECIPES: Record<TinyPresetName, TinyRecipe> = {
  minimal: {
    data: MINIMAL_DATA,
    pretrain: { ...DEFAULT_PRETRAIN_CONFIG, steps: 400, evalEvery: 100 },
    stdlibBytes: 1_500_000,
    sft: { ...DEFAULT_SFT_CONFIG, mode: 'full', epochs: 2, lr: 1e-3, lrSchedule: 'cosine', warmupSteps: 5, batchSize: 8, gradAccum: 1, maxSeqLen: 768, evalEvery: 20, valFraction: 0.05 },
  },
  tiny: {
    data: TINY_DATA,
    pretrain: { ...DEFAULT_PRETRAIN_CONFIG },
    stdlibBytes: 4_000_000,
    sft: { ...DEFAULT_SFT_CONFIG, mode: 'full', epochs: 3, lr: 5e-4, lrSchedule: 'cosine', warmupSteps: 10, batchSize: 8, gradAccum: 1, maxSeqLen: 1024, evalEvery: 25, valFraction: 0.05 },
  },
  toy: {
    data: TOY_DATA,
    pretrain: { ...DEFAULT_PRETRAIN_CONFIG, steps: 300, evalEvery: 100 },
    stdlibBytes: 500_000,
    sft: { ...DEFAULT_SFT_CONFIG, mode: 'full', epochs: 2, lr: 1e-3, lrSchedule: 'cosine', warmupSteps: 5, batchSize: 8, gradAccum: 1, maxSeqLen: 512, evalEvery: 100, valFraction: 0.05, correctionExamples: true },
  },
};

/** Where built models are cached ($SECURECODERL_CACHE, default ~/.cache/securecoderl). */
export function cacheDir(): string {
  return process.env.SECURECODERL_CACHE ?? join(homedir(), '.cache', 'securecoderl');
}

/** Bump when the build changes what a recipe produces. 5: the embedding's gradient no longer races between
 * ORT's threads, so a build is bit-reproducible (models cached by version 4 were one draw of the race). */
const RECIPE_VERSION = 5;

export interface TinyModel {
  /** The pretrained base (a Hugging Face folder). */
  baseDir: string;
  /** The SFT model (a Hugging Face folder: full fine-tuning of the base). */
  sftDir: string;
  key: string;
  /** What the build measured (kept in the cache as summary.json). */
  summary: TinyModelSummary;
}

export interface TinyModelSummary {
  pretrain: { heldoutLoss: number; initialHeldoutLoss: number; unigramLoss: number; seconds: number };
  sft: { firstValLoss: number | null; bestValLoss: number | null; seconds: number };
}

/**
 * The preset's pretrained and SFT models, built on first use (deterministic from the recipe) and cached.
 * The pretraining corpus holds only the training split's solutions: the evaluation problems' answers are
 * never seen.
 */
export async function buildTinyModel(name: TinyPresetName, o: { quiet?: boolean; log?: (line: string) => void; recipe?: TinyRecipe } = {}): Promise<TinyModel> {
  const recipe = o.recipe ?? RECIPES[name];
  // The standard library's folder names the Python version, whose sources are part of the corpus.
  const key = `${name}-${fnv1a64(JSON.stringify({ RECIPE_VERSION, recipe, stdlib: pythonStdlibDir() })).toString(16).padStart(16, '0')}`;
  const root = join(cacheDir(), 'models', key);
  const baseDir = join(root, 'pretrain', 'model'), sftDir = join(root, 'sft', 'final');
  if (existsSync(join(root, 'DONE'))) return { baseDir, sftDir, key, summary: readJson<TinyModelSummary>(join(root, 'summary.json')) };
  const tmp = `${root}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const log = o.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  const texts = pretrainTexts(recipe);
  log(`building the '${name}' tiny model (cached in ${root}): pretraining on ${texts.length} files`);
  const pre = await pretrain(recipe.pretrain, { outDir: join(tmp, 'pretrain'), texts, quiet: o.quiet, runName: `${name}-pretrain` });
  log(`pretrained in ${pre.seconds.toFixed(0)} s: held-out loss ${pre.heldoutLoss.toFixed(3)} (unigram ${pre.unigramLoss.toFixed(3)}); SFT next`);
  const s = await sft({ ...recipe.sft, run_name: `${name}-sft`, model: pre.modelDir, data: recipe.data }, { outDir: join(tmp, 'sft'), quiet: o.quiet });
  log(`SFT in ${s.seconds.toFixed(0)} s: validation loss ${s.bestValLoss?.toFixed(3) ?? 'n/a'}`);
  const firstVal = readJsonl(join(tmp, 'sft', 'metrics.jsonl')).find((m) => typeof m.val_loss === 'number');
  const summary: TinyModelSummary = {
    pretrain: { heldoutLoss: pre.heldoutLoss, initialHeldoutLoss: pre.initialHeldoutLoss, unigramLoss: pre.unigramLoss, seconds: pre.seconds },
    sft: { firstValLoss: (firstVal?.val_loss as number | undefined) ?? null, bestValLoss: s.bestValLoss, seconds: s.seconds },
  };
  writeJson(join(tmp, 'summary.json'), summary);
  mkdirSync(join(tmp, 'DONE'));
  rmSync(root, { recursive: true, force: true });
  mkdirSync(join(cacheDir(), 'models'), { recursive: true });
  renameSync(tmp, root);
  return { baseDir, sftDir, key, summary };
}

function readJsonl(path: string): Record<string, unknown>[] {
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** PPO settings of each preset (model paths are filled in from the built tiny model, or by flags). */
export const PPO_PRESETS: Record<PresetName, Partial<PpoConfig>> = {
  minimal: {
    variant: 'fresh', data: MINIMAL_DATA, maxPromptTokens: 640, episodes: 320, batchSize: 8, miniBatchSize: 4, ppoEpochs: 2,
    lr: 2e-3, gradClip: 1, lora: { r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 128 },
    kl: { ...DEFAULT_PPO_CONFIG.kl, coef: 0.02 }, saveEvery: 4, microBatch: 8,
  },
  tiny: {
    variant: 'fresh', data: TINY_DATA, maxPromptTokens: 768, episodes: 400, batchSize: 8, miniBatchSize: 4, ppoEpochs: 2,
    lr: 1e-3, gradClip: 1, lora: { r: 16, alpha: 32, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 160 },
    kl: { ...DEFAULT_PPO_CONFIG.kl, coef: 0.05 }, switchEpisode: 200, saveEvery: 10, microBatch: 8,
  },
  toy: {
    variant: 'fresh', data: TOY_DATA, maxPromptTokens: 256, episodes: 320, batchSize: 8, miniBatchSize: 4, ppoEpochs: 2,
    lr: 5e-4, gradClip: 1, lora: { r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 48 },
    kl: { ...DEFAULT_PPO_CONFIG.kl, coef: 0.02 }, saveEvery: 4, microBatch: 8,
  },
  paper: {},
};

/**
 * GRPO settings of each preset. `minimal`: MBPP's standard split and prompt, 2 prompts × 8 completions per
 * step from the cached tiny SFT model, two passes of two minibatches per step (so the clip acts), the combined
 * reward; `tiny`: the same on APPS+ (split by seed as for PPO); `paper`: TRL's defaults (give --model).
 */
export const GRPO_PRESETS: Record<PresetName, Partial<GrpoConfig>> = {
  minimal: {
    maxPromptTokens: 640, steps: 40, promptsPerStep: 2, numGenerations: 8, numIterations: 2, stepsPerGeneration: 2,
    lr: 2e-3, lrSchedule: 'constant', lora: { r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 128 }, saveEvery: 5, microBatch: 8,
  },
  tiny: {
    data: { ...DEFAULT_GRPO_CONFIG.data, dataset: 'apps-plus', split: 'seeded', evalSize: TINY_DATA.evalSize, splitSeed: TINY_DATA.splitSeed },
    maxPromptTokens: 768, steps: 50, promptsPerStep: 2, numGenerations: 8, numIterations: 2, stepsPerGeneration: 2,
    lr: 1e-3, lrSchedule: 'constant', lora: { r: 16, alpha: 32, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 160 }, saveEvery: 10, microBatch: 8,
  },
  toy: {
    data: TOY_TASKS, maxPromptTokens: 256, steps: 40, promptsPerStep: 2, numGenerations: 8, numIterations: 2, stepsPerGeneration: 2,
    lr: 5e-4, lrSchedule: 'constant', lora: { r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 48 }, saveEvery: 5, microBatch: 8,
  },
  paper: {},
};

/** RLOO self-correction presets: `minimal` is MBPP on the cached minimal tiny model (2 turns, k 4; r_t is the
 * partial-credit R, since the tiny model passes no MBPP test and the fraction passed would give no signal). */
export const RLOO_PRESETS: Partial<Record<PresetName, Partial<RlooConfig>>> = {
  minimal: {
    maxPromptTokens: 640, steps: 40, promptsPerStep: 2, k: 4, turns: 2, gamma: 0.5, beta: 0.01, turnReward: 'partial',
    lr: 5e-3, lrSchedule: 'constant', lora: { r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 128 }, saveEvery: 5, microBatch: 8,
  },
  toy: {
    data: TOY_TASKS, maxPromptTokens: 512, steps: 40, promptsPerStep: 2, k: 4, turns: 2, gamma: 0.5, beta: 0.01, turnReward: 'tests',
    lr: 1e-3, lrSchedule: 'constant', lora: { r: 8, alpha: 16, targetModules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'] },
    sampling: { temperature: 0.7, topP: 0.95, topK: 50, repetitionPenalty: 1.1, maxNewTokens: 48 }, saveEvery: 5, microBatch: 8,
  },
};

/** What a command line or a caller gives on top of a preset or a config file. */
export interface RunOverrides {
  preset?: PresetName;
  /** Parsed JSON of a config file (merged over the preset). */
  config?: Record<string, unknown>;
  seed?: number;
  /** PPO: steps (episodes = steps × batch); GRPO: generation steps; SFT: optimizer steps; pretrain: steps. */
  steps?: number;
  saveEvery?: number;
  model?: string;
  adapter?: string;
}

/**
 * An RL trainer's config from a preset's fields and overrides: the preset's tiny SFT model (built and
 * cached) unless `model` is given; `adapter` is the reference (and starting) adapter, e.g. an SFT LoRA;
 * `stepsTo` says how `--steps` is written in the config.
 */
async function resolveRlConfig(preset: object | undefined, runName: (merged: Record<string, unknown>) => string, o: RunOverrides,
  stepsTo: (merged: Record<string, unknown>, steps: number) => void, log?: (line: string) => void): Promise<Record<string, unknown>> {
  const merged: Record<string, unknown> = { ...preset, ...o.config };
  if (o.preset) merged.run_name ??= runName(merged);
  if (o.model) { merged.model = o.model; merged.reference = o.adapter ?? null; } else if (o.adapter) merged.reference = o.adapter;
  if (!merged.model && isTinyPreset(o.preset)) merged.model = (await buildTinyModel(o.preset, { log })).sftDir;
  if (o.seed !== undefined) merged.seed = o.seed;
  if (o.saveEvery !== undefined) merged.saveEvery = o.saveEvery;
  if (o.steps !== undefined) stepsTo(merged, o.steps);
  return merged;
}

/** A PPO config (`--steps` are steps of `batchSize` episodes). */
export function resolvePpoConfig(o: RunOverrides, log?: (line: string) => void): Promise<Record<string, unknown>> {
  return resolveRlConfig(o.preset && PPO_PRESETS[o.preset], (m) => `${o.preset}-${String(m.variant ?? 'fresh')}`, o,
    (m, steps) => { m.episodes = steps * Number(m.batchSize ?? DEFAULT_PPO_CONFIG.batchSize); }, log);
}

/** A GRPO config. */
export function resolveGrpoConfig(o: RunOverrides, log?: (line: string) => void): Promise<Record<string, unknown>> {
  return resolveRlConfig(o.preset && GRPO_PRESETS[o.preset], () => `${o.preset}-grpo`, o, (m, steps) => { m.steps = steps; }, log);
}

/** An RLOO config (only `minimal` has a preset). */
export async function resolveRlooConfig(o: RunOverrides, log?: (line: string) => void): Promise<Record<string, unknown>> {
  const preset = o.preset ? RLOO_PRESETS[o.preset] : {};
  if (!preset) throw new Error(`rloo has no preset '${o.preset}' (it has: ${Object.keys(RLOO_PRESETS).join(', ')})`);
  return resolveRlConfig(preset, () => `${o.preset}-rloo`, o, (m, steps) => { m.steps = steps; }, log);
}

/** An SFT config: the preset's recipe on its pretrained base unless `model` is given. */
export async function resolveSftConfig(o: RunOverrides, log?: (line: string) => void): Promise<Record<string, unknown>> {
  const recipe = isTinyPreset(o.preset) ? RECIPES[o.preset] : null;
  const merged: Record<string, unknown> = { ...(recipe ? { ...recipe.sft, data: recipe.data, run_name: `${o.preset}-sft` } : {}), ...o.config };
  if (o.model) merged.model = o.model;
  if (o.adapter) merged.adapter = o.adapter;
  if (!merged.model && recipe) merged.model = (await buildTinyModel(o.preset as TinyPresetName, { log })).baseDir;
  if (o.seed !== undefined) merged.seed = o.seed;
  if (o.steps !== undefined) merged.maxSteps = o.steps;
  return merged;
}

/** A pretraining config and its corpus spec from a preset (or the defaults) and overrides. */
export function resolvePretrainConfig(o: RunOverrides): { config: Record<string, unknown>; recipe: TinyRecipe } {
  const recipe = RECIPES[isTinyPreset(o.preset) ? o.preset : 'minimal'];
  const config: Record<string, unknown> = { ...(o.preset && o.preset !== 'paper' ? recipe.pretrain : DEFAULT_PRETRAIN_CONFIG), ...o.config };
  if (o.seed !== undefined) config.seed = o.seed;
  if (o.steps !== undefined) config.steps = o.steps;
  return { config, recipe };
}

/**
 * The pretraining texts of a recipe: the APPS+ and MBPP reference solutions — of the recipe's data set only
 * its training split's, so no evaluation answer is seen — and standard-library sources.
 */
export function pretrainTexts(recipe: TinyRecipe): string[] {
  const data = loadTrainData(recipe.data);
  const trainIds = new Set(data.train.map((p) => p.id));
  const evaluated = (set: string) => recipe.data.dataset === set;
  return [
    ...appsPlusSolutions(join(BUNDLED_DATA_DIR, 'apps_plus', 'valid_500.json'), (i) => !evaluated('apps-plus') || trainIds.has(String(i))),
    ...mbppSolutions(join(BUNDLED_DATA_DIR, 'mbpp', 'mbpp.jsonl'), (id) => !evaluated('mbpp') || trainIds.has(String(id))),
    // Another data set's training solutions (toy's, say); its evaluation problems' stay out.
    ...(['apps-plus', 'mbpp'].includes(recipe.data.dataset) ? [] : data.train.flatMap((p) => (p.canonicalSolution ? [p.canonicalSolution] : []))),
    ...pythonStdlibSources({ maxBytes: recipe.stdlibBytes }),
  ];
}
