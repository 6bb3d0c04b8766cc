// The minimal example: bundled data → a tiny model pretrained from scratch → SFT → PPO under each reward
// mode → evaluation on held-out problems → the security path on an insecure snippet. Each stage states a
// condition it must meet; the example passes only if all do. Everything is seeded, so a rerun on the same
// machine gives the same table.

import { join } from 'node:path';
import { loadDataset } from '../data/datasets.js';
import { pairedDifference } from '../eval/bootstrap.js';
import { Scorer } from '../reward/scorer.js';
import { loadTrainData } from './data.js';
import { evaluateHeldOut } from './evaluate.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo } from './ppo.js';
import { buildTinyModel, PPO_PRESETS } from './presets.js';
import { readJson, RunFolder } from './run.js';

export interface StageCheck {
  stage: string;
  result: string;
  condition: string;
  ok: boolean;
}

export interface MinimalExampleResult {
  stages: StageCheck[];
  pass: boolean;
  seconds: number;
}

const fmt = (x: number | null | undefined, d = 3) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(d));

/** Mean reward of the first and last thirds of a PPO run's steps. */
export function thirds(rewards: readonly number[]): { first: number; last: number } {
  const n = Math.max(1, Math.floor(rewards.length / 3));
  const mean = (xs: readonly number[]) => xs.reduce((a, x) => a + x, 0) / Math.max(1, xs.length);
  return { first: mean(rewards.slice(0, n)), last: mean(rewards.slice(-n)) };
}

export async function minimalExample(o: { outDir: string; quiet?: boolean; log?: (line: string) => void }): Promise<MinimalExampleResult> {
  const started = performance.now();
  const log = o.log ?? ((line: string) => { if (!o.quiet) process.stderr.write(`${line}\n`); });
  const stages: StageCheck[] = [];

  // 1–2. Pretraining and SFT (built once, then cached).
  const tiny = await buildTinyModel('minimal', { quiet: o.quiet, log });
  const p = tiny.summary.pretrain;
  stages.push({ stage: 'pretrain', result: `held-out loss ${fmt(p.heldoutLoss)} (from ${fmt(p.initialHeldoutLoss)}; unigram ${fmt(p.unigramLoss)})`,
    condition: 'held-out loss < 0.8 × unigram', ok: p.heldoutLoss < 0.8 * p.unigramLoss });
  const s = tiny.summary.sft;
  stages.push({ stage: 'sft', result: `validation loss ${fmt(s.firstValLoss)} → best ${fmt(s.bestValLoss)}`,
    condition: 'best validation loss < the first one', ok: s.firstValLoss !== null && s.bestValLoss !== null && s.bestValLoss < s.firstValLoss });

  // 3. PPO under each reward mode, from the SFT model.
  const preset = PPO_PRESETS.minimal;
  const runs: Record<string, { dir: string; final: string | null; rewards: number[] }> = {};
  for (const [mode, variant] of [['partial', 'fresh'], ['binary', 'simple'], ['additive', 'custom']] as const) {
    const cfg = parsePpoConfig({ ...DEFAULT_PPO_CONFIG, ...preset, model: tiny.sftDir, variant, run_name: `minimal-${mode}`,
      reward: { ...DEFAULT_PPO_CONFIG.reward, schedule: variant === 'custom' ? mode : null } }, `minimal example (${mode})`);
    const dir = join(o.outDir, `ppo-${mode}`);
    log(`PPO with the ${mode} reward (${cfg.episodes / cfg.batchSize} steps)`);
    const r = await ppo({ config: cfg, outDir: dir }, { quiet: o.quiet });
    const rewards = RunFolder.open(dir).folder.metrics().map((m) => m.reward_mean as number);
    runs[mode] = { dir, final: r.finalDir, rewards };
  }
  const t = thirds(runs.partial.rewards);
  stages.push({ stage: 'ppo partial', result: `mean reward, first third ${fmt(t.first)} → last third ${fmt(t.last)}`,
    condition: 'last third ≥ first third + 0.05', ok: t.last >= t.first + 0.05 });
  for (const mode of ['binary', 'additive'] as const) {
    const tm = thirds(runs[mode].rewards);
    stages.push({ stage: `ppo ${mode}`, result: `mean reward ${fmt(tm.first)} → ${fmt(tm.last)}`,
      condition: 'completes every step with finite rewards', ok: runs[mode].final !== null && runs[mode].rewards.every(Number.isFinite) });
  }

  // 4. Held-out evaluation: the SFT model against PPO (partial) on the same prompts and seeds.
  const data = loadTrainData(preset.data!);
  const scorer = new Scorer();
  try {
    const common = { problems: data.eval, scorer, template: 'instruction' as const, sampling: preset.sampling!, seed: 1234 };
    log(`evaluating the SFT and PPO models on ${data.eval.length} held-out problems`);
    const before = await evaluateHeldOut({ ...common, model: tiny.sftDir });
    const after = await evaluateHeldOut({ ...common, model: tiny.sftDir, adapter: runs.partial.final });
    const ones = new Array<number>(data.eval.length).fill(1);
    const d = pairedDifference({ num: after.breakdowns.map((b) => b.reward), den: ones }, { num: before.breakdowns.map((b) => b.reward), den: ones }, data.eval.length, { seed: 7 });
    stages.push({ stage: 'eval (held out)', result: `mean R ${fmt(before.meanReward)} → ${fmt(after.meanReward)}, Δ ${fmt(d.diff)} [${fmt(d.ci[0])}, ${fmt(d.ci[1])}]; syntax ${fmt(100 * before.syntaxRate, 0)}% → ${fmt(100 * after.syntaxRate, 0)}%, ≥1-pass ${fmt(100 * before.passAnyRate, 0)}% → ${fmt(100 * after.passAnyRate, 0)}%`,
      condition: 'PPO − SFT paired 95% interval above 0', ok: d.ci[0] > 0 });

    // 5. The security path: the same program with and without a shell injection.
    const problem = loadDataset('cyberseceval').problems[0];
    const insecure = await scorer.score(problem, '```python\nimport subprocess\nname = input()\nsubprocess.call("ls " + name, shell=True)\n```');
    const safe = await scorer.score(problem, '```python\nimport subprocess\nname = input()\nsubprocess.call(["ls", name])\n```');
    const serious = insecure.findings.filter((f) => f.severity !== 'LOW');
    stages.push({ stage: 'security', result: `insecure: ${serious.map((f) => `${f.banditId} ${f.severity}`).join(', ') || 'no finding'}, R_sec ${fmt(insecure.rSec)}; safe: R_sec ${fmt(safe.rSec)}`,
      condition: 'insecure has a MEDIUM/HIGH finding and lower R_sec', ok: serious.length > 0 && (insecure.rSec ?? 1) < (safe.rSec ?? 0) });
  } finally {
    await scorer.close();
  }
  return { stages, pass: stages.every((x) => x.ok), seconds: (performance.now() - started) / 1000 };
}

