import { parse } from './args.js';
import { minimalExample } from '../train/minimal-example.js';

export const usage = `usage: securecoderl minimal-example [--out DIR] [--quiet]

Bundled data → a tiny model pretrained from scratch → SFT → PPO under the partial, binary and additive
rewards → held-out evaluation → the security path on an insecure snippet. Prints one line per stage with
its condition and, last, MINIMAL EXAMPLE: PASS only if every condition holds (exit 0), else the failing
stages (exit 1). The tiny model is built once and cached ($SECURECODERL_CACHE, default ~/.cache/securecoderl).

  --out DIR   where the PPO runs go [runs/minimal-example]`;

export async function run(argv: string[]): Promise<number> {
  const v = parse(argv, { out: { type: 'string' }, quiet: { type: 'boolean' } });
  const r = await minimalExample({ outDir: (v.out as string | undefined) ?? 'runs/minimal-example', quiet: v.quiet === true });
  const w = Math.max(...r.stages.map((s) => s.stage.length));
  for (const s of r.stages) process.stdout.write(`${s.ok ? 'ok  ' : 'FAIL'}  ${s.stage.padEnd(w)}  ${s.result}   [${s.condition}]\n`);
  process.stdout.write(`(${r.seconds.toFixed(0)} s)\n`);
  if (r.pass) { process.stdout.write('MINIMAL EXAMPLE: PASS\n'); return 0; }
  process.stdout.write(`MINIMAL EXAMPLE: FAIL (${r.stages.filter((s) => !s.ok).map((s) => s.stage).join(', ')})\n`);
  return 1;
}
