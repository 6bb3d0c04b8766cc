// `securecoderl bench engine`: flags in, figures out (the measurements are benchEngine's, in src/bench/engine.ts).

import { benchEngine } from '../bench/engine.js';
import { oneOf, parse, positiveNumber } from './args.js';

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, { json: { type: 'boolean' }, quick: { type: 'boolean' }, threads: { type: 'string' }, large: { type: 'string' } });
  const result = await benchEngine({
    quick: values.quick === true,
    threads: positiveNumber('threads', values.threads),
    large: oneOf('large', values.large, ['auto', 'on', 'off'] as const, 'auto'),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  if (values.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}
