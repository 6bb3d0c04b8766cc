// Reproduction: run a short SFT (and optionally PPO) twice with the same config and compare every logged
// number bit for bit. Run: npx tsc -p . && node dist/bench/determinism.js [--threads N] [--steps N] [--ppo]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_SFT_CONFIG, parseSftConfig, sft } from '../src/train/sft.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo } from '../src/train/ppo.js';
import { PPO_PRESETS, RECIPES } from '../src/train/presets.js';
import { tinyModelDir, SMALL_DATA } from '../test/train/fixtures.js';

const args = process.argv.slice(2);
const opt = (name: string, d: number) => { const i = args.indexOf(`--${name}`); return i >= 0 ? Number(args[i + 1]) : d; };
const threads = opt('threads', 0), steps = opt('steps', 3), hidden = opt('hidden', 64);
const model = args.includes('--model') ? args[args.indexOf('--model') + 1] : tinyModelDir({ hidden, vocab: 320 });
const mode = args.includes('--lora') ? 'lora' : 'full';

async function sftOnce(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'det-sft-'));
  const cfg = parseSftConfig({ ...DEFAULT_SFT_CONFIG, model, data: { ...SMALL_DATA, trainSize: 40 }, mode, epochs: 1, lr: 1e-3, batchSize: 4, gradAccum: 1,
    maxSeqLen: 1024, evalEvery: 100, valFraction: 0.1, maxSteps: steps, threads }, 'det');
  await sft(cfg, { outDir: out, quiet: true });
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8');
}

// SFT with the minimal recipe's settings (give --model the minimal tiny model's pretrain/model).
async function sftRecipeOnce(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'det-sft-'));
  const cfg = parseSftConfig({ ...RECIPES.minimal.sft, model, data: RECIPES.minimal.data, maxSteps: steps, threads }, 'det');
  await sft(cfg, { outDir: out, quiet: true });
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8');
}

async function ppoOnce(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'det-ppo-'));
  const cfg = parsePpoConfig({ ...DEFAULT_PPO_CONFIG, model, data: SMALL_DATA, episodes: 4 * steps, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2, lr: 1e-2,
    maxPromptTokens: 4000, sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 24 },
    lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] }, saveEvery: 100, threads }, 'det');
  await ppo({ config: cfg, outDir: out }, { quiet: true });
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').map((l) => l.replace(/"time_[a-z]+_s":[0-9.e-]+,?/g, '')).join('\n');
}

// PPO with the minimal preset's settings (give --model the minimal tiny model's sft/final).
async function ppoPresetOnce(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'det-ppo-'));
  const cfg = parsePpoConfig({ ...DEFAULT_PPO_CONFIG, ...PPO_PRESETS.minimal, model, episodes: 8 * steps, saveEvery: 100, threads }, 'det');
  await ppo({ config: cfg, outDir: out }, { quiet: true });
  return readFileSync(join(out, 'metrics.jsonl'), 'utf8').split('\n').map((l) => l.replace(/"time_[a-z]+_s":[0-9.e-]+,?/g, '')).join('\n');
}

const run = args.includes('--sft-recipe') ? sftRecipeOnce : args.includes('--ppo-preset') ? ppoPresetOnce : args.includes('--ppo') ? ppoOnce : sftOnce;
if (args.includes('--once')) { process.stdout.write(await run()); process.exit(0); }
const a = await run(), b = await run();
console.log(`model ${model} threads ${threads} ${args.find((a) => a.startsWith('--ppo') || a === '--sft-recipe') ?? `sft ${mode}`}: ${a === b ? 'IDENTICAL' : 'DIFFERENT'}`);
if (a !== b) { console.log(a); console.log(b); }
