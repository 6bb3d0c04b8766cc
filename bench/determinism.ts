// Reproducibility check: runs one short training job twice in this process and says whether the two
// metrics.jsonl files are byte-identical (timings left out), or prints one run's metrics (--once) to compare
// across processes with cmp. See docs/train.md, Reproducibility.
//
// Run: npx tsc -p . && node dist/bench/determinism.js --job JOB [--steps N] [--threads N] [--model DIR] [--once]
//   sft          full fine-tuning SFT on a few APPS+ problems (--lora: LoRA with dropout), a fresh tiny model
//   sft-minimal  the minimal recipe's SFT (--model: a minimal tiny model's pretrain/model)
//   ppo          LoRA PPO on a few APPS+ problems, a fresh tiny model
//   ppo-minimal  the minimal preset's PPO (--model: a minimal tiny model's sft/final)

import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo } from '../src/train/ppo.js';
import { PPO_PRESETS, RECIPES } from '../src/train/presets.js';
import { DEFAULT_SFT_CONFIG, parseSftConfig, sft } from '../src/train/sft.js';
import { SMALL_DATA, tinyModelDir } from '../test/train/fixtures.js';

const args = process.argv.slice(2);
const value = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const job = value('job') ?? 'sft';
const steps = Number(value('steps') ?? 4), threads = Number(value('threads') ?? 0);
const model = value('model') ?? tinyModelDir({ hidden: 64 });

/** A run's metrics without its wall-clock fields (the only ones expected to differ). */
const metrics = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').replace(/"time_[a-z]+_s":[0-9.e+-]+,?/g, '');

async function once(): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), `securecoderl-det-${job}-`));
  if (job === 'sft' || job === 'sft-minimal') {
    const base = job === 'sft'
      ? { ...DEFAULT_SFT_CONFIG, data: { ...SMALL_DATA, trainSize: 150 }, mode: args.includes('--lora') ? 'lora' : 'full', epochs: 1, lr: 1e-3, batchSize: 16, gradAccum: 1, maxSeqLen: 1024, evalEvery: 4 }
      : { ...RECIPES.minimal.sft, data: RECIPES.minimal.data };
    await sft(parseSftConfig({ ...base, model, maxSteps: steps, threads }, job), { outDir: out, quiet: true });
  } else if (job === 'ppo' || job === 'ppo-minimal') {
    const base = job === 'ppo'
      ? { data: SMALL_DATA, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2, lr: 1e-2, maxPromptTokens: 4000, lora: { r: 4, alpha: 8, targetModules: ['q_proj', 'v_proj'] },
        sampling: { temperature: 1, topP: 1, topK: 0, repetitionPenalty: 1, maxNewTokens: 24 } }
      : PPO_PRESETS.minimal;
    const batch = Number(base.batchSize);
    await ppo({ config: parsePpoConfig({ ...DEFAULT_PPO_CONFIG, ...base, model, episodes: batch * steps, saveEvery: 1000, threads }, job), outDir: out }, { quiet: true });
  } else {
    throw new Error(`--job: sft, sft-minimal, ppo or ppo-minimal, not '${job}'`);
  }
  return metrics(out);
}

if (args.includes('--once')) {
  process.stdout.write(await once());
} else {
  const a = (await once()).split('\n'), b = (await once()).split('\n');
  const at = a.findIndex((line, i) => line !== b[i]);
  process.stdout.write(`${job}, ${steps} steps, threads ${threads || 'all'}: ${at < 0 ? 'byte-identical' : `differ from line ${at + 1}:\n${a[at]}\n${b[at]}`}\n`);
  process.exitCode = at < 0 ? 0 : 1;
}
