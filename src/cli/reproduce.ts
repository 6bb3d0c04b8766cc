import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { oneOf, parse, UsageError } from './args.js';
import { reproduce } from '../train/reproduce.js';
import { reproduceSecurity } from '../train/reproduce-security.js';
import { reproduceTrainers } from '../train/reproduce-trainers.js';

export const usage = `usage: securecoderl reproduce --preset tiny|minimal|toy|security-tiny [--out DIR] [--episodes N | --steps N]
       [--model DIR [--skip-mix-sft]] [--quiet]

tiny, minimal: the paper's Table 3 in miniature: from the preset's SFT model, PPO simple (binary reward),
fresh (partial), continue (partial, from simple's final adapter) and scheduled (binary → partial at half
the episodes, in one run); all five models evaluated on the same held-out prompts with 95% bootstrap
intervals and paired differences against SFT.
toy: GRPO and RLOO self-correction side by side on the generated toy tasks (the one set a tiny model
solves part of), from one SFT model; every model answers the held-out problems twice (turn 2 sees turn
1's program and its feedback): the turn-1 table and Acc@t1, Acc@t2.
security-tiny: the tiny model SFT'd on a mix of APPS+ solutions and CyberSecEval prompts answered with
their source code, then PPO on a mix of APPS+ and CyberSecEval training prompts in three arms — no
security term, the paper's linear term, the graded term — and SFT and the three models on held-out
CyberSecEval prompts (insecure-code rate, per CWE) and held-out APPS+ problems (syntax, ≥1-pass).
Writes DIR/table.md, DIR/table.json, DIR/runs/<run>/ and DIR/report/.

  --preset P     tiny (APPS+, the paper's data), minimal (MBPP, minutes), toy or security-tiny [tiny]
  --out DIR      [runs/reproduce-<preset>]
  --episodes N   tiny, minimal, security-tiny: episodes per PPO run [the preset's]
  --steps N      toy: steps per trainer [the presets': 40]
  --model DIR    security-tiny: the SFT model folder to start from [the tiny preset's]
  --skip-mix-sft security-tiny: no SFT on the APPS+/CyberSecEval mix; the arms start from the model as it is`;

const positive = (flag: string, v: unknown): number | undefined => {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${flag}: expected a positive integer, got ${JSON.stringify(v)}`);
  return n;
};

export async function run(argv: string[]): Promise<number> {
  const v = parse(argv, {
    preset: { type: 'string' }, out: { type: 'string' }, episodes: { type: 'string' }, steps: { type: 'string' }, quiet: { type: 'boolean' },
    model: { type: 'string' }, 'skip-mix-sft': { type: 'boolean' },
  });
  const preset = oneOf('preset', v.preset, ['tiny', 'minimal', 'toy', 'security-tiny'] as const, 'tiny');
  if (preset !== 'security-tiny' && (v.model !== undefined || v['skip-mix-sft'])) throw new UsageError(`--model and --skip-mix-sft are for security-tiny; ${preset} starts from its preset's model`);
  const model = v.model as string | undefined;
  if (model !== undefined && !existsSync(join(model, 'config.json'))) throw new UsageError(`--model ${model}: no config.json there (expected a model folder: config.json, weights, tokenizer)`);
  const episodes = positive('episodes', v.episodes), steps = positive('steps', v.steps);
  const outDir = (v.out as string | undefined) ?? `runs/reproduce-${preset}`;
  if (preset === 'toy') {
    if (episodes !== undefined) throw new UsageError('--episodes is for tiny and minimal; toy takes --steps');
    const r = await reproduceTrainers({ outDir, quiet: v.quiet === true, steps });
    process.stdout.write(`${r.markdown}\n(${(r.seconds / 60).toFixed(1)} min)\n`);
    return 0;
  }
  if (steps !== undefined) throw new UsageError(`--steps is for toy; ${preset} takes --episodes`);
  if (preset === 'security-tiny') {
    const r = await reproduceSecurity({
      outDir, quiet: v.quiet === true, model: model === undefined ? undefined : { sftDir: model, key: resolve(model) },
      settings: { ...(episodes ? { episodes } : {}), ...(v['skip-mix-sft'] ? { sftApps: 0, sftCse: 0 } : {}) },
    });
    process.stdout.write(`${r.markdown}\n(${(r.seconds / 60).toFixed(1)} min)\n`);
    return 0;
  }
  const r = await reproduce({ preset, outDir, quiet: v.quiet === true, episodes });
  process.stdout.write(`${r.markdown}\n(${(r.seconds / 60).toFixed(1)} min)\n`);
  return 0;
}
