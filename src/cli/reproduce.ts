import { oneOf, parse, UsageError } from './args.js';
import { reproduce } from '../train/reproduce.js';

export const usage = `usage: securecoderl reproduce --preset tiny|minimal [--out DIR] [--episodes N] [--quiet]

The paper's Table 3 in miniature: from the preset's SFT model, PPO simple (binary reward), fresh (partial),
continue (partial, from simple's final adapter) and scheduled (binary → partial at half the episodes, in
one run); all five models evaluated on the same held-out prompts with 95% bootstrap intervals and paired
differences against SFT. Writes DIR/table.md, DIR/table.json, DIR/runs/<variant>/ and DIR/report/.

  --preset P     tiny (APPS+, the paper's data) or minimal (MBPP, minutes) [tiny]
  --out DIR      [runs/reproduce-<preset>]
  --episodes N   episodes per PPO run [the preset's]`;

export async function run(argv: string[]): Promise<number> {
  const v = parse(argv, { preset: { type: 'string' }, out: { type: 'string' }, episodes: { type: 'string' }, quiet: { type: 'boolean' } });
  const preset = oneOf('preset', v.preset, ['tiny', 'minimal'] as const, 'tiny');
  let episodes: number | undefined;
  if (v.episodes !== undefined) {
    episodes = Number(v.episodes);
    if (!Number.isInteger(episodes) || episodes < 1) throw new UsageError(`--episodes: expected a positive integer, got ${JSON.stringify(v.episodes)}`);
  }
  const r = await reproduce({ preset, outDir: (v.out as string | undefined) ?? `runs/reproduce-${preset}`, quiet: v.quiet === true, episodes });
  process.stdout.write(`${r.markdown}\n(${(r.seconds / 60).toFixed(1)} min)\n`);
  return 0;
}
