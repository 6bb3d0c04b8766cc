// What the deterministic embedding gradient costs: a full fine-tuning SFT step (forward and backward of the
// policy graph) with the Gather gradient as ScatterElements-add (scatterAddRows, the engine's rule) and as
// the ScatterND-add it replaced (racy with more than one thread), interleaved on the same batch.
//
// Run: npx tsc -p . && node dist/bench/embedding-grad.js [--model DIR] [--threads N] [--rows N] [--reps N]
// (default model: a fresh 2-layer one with hidden size 128 and 1,024 tokens, the minimal preset's widths).

import { defineGrad, releaseSessions, type GradRule } from '../src/engine/index.js';
import * as op from '../src/engine/ops.js';
import { loadCheckpoint } from '../src/model/weights.js';
import { packedBatch } from '../src/train/batch.js';
import { PolicyGraph } from '../src/train/policy.js';
import { tinyModelDir } from '../test/train/fixtures.js';

const args = process.argv.slice(2);
const value = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const threads = Number(value('threads') ?? 2), rows = Number(value('rows') ?? 5), reps = Number(value('reps') ?? 8);
const ck = loadCheckpoint(value('model') ?? tinyModelDir({ hidden: 128, vocab: 1024 }));

const rules: Record<string, GradRule> = {
  'ScatterND-add': (n, [d]) => [op.scatterND(op.zerosLike(n.inputs[0]), op.unsqueeze(n.inputs[1], [-1]), d!, 'add'), null],
  'ScatterElements-add': (n, [d]) => [op.scatterAddRows(op.zerosLike(n.inputs[0]), n.inputs[1], d!), null],
};
// Each graph takes the rule registered when it is built; the engine's own is put back after.
let engineRule: GradRule | undefined;
const graphs = Object.entries(rules).map(([name, rule]) => {
  engineRule ??= defineGrad('Gather', rule);
  defineGrad('Gather', rule);
  return { name, g: new PolicyGraph(ck, { session: { threads } }), ms: [] as number[] };
});
defineGrad('Gather', engineRule!);

// Rows of 768 tokens, frequent ids favoured (as in text).
let seed = 7;
const rand = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const batch = packedBatch(Array.from({ length: rows }, () => [{ tokens: Array.from({ length: 768 }, () => Math.floor(rand() * rand() * ck.config.vocabSize)), lossStart: 200 }]));
const params = (g: PolicyGraph) => Object.fromEntries(g.trainable.map((n) => [n, ck.weights.get(n)!.data]));

for (const x of graphs) await x.g.sftStep([batch], params(x.g));
for (let r = 0; r < reps; r++) {
  for (const x of graphs) {
    const t0 = performance.now();
    await x.g.sftStep([batch], params(x.g));
    x.ms.push(performance.now() - t0);
  }
}
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
for (const x of graphs) {
  process.stdout.write(`${x.name.padEnd(20)} ${rows}×768 tokens, ${threads} threads: best ${Math.min(...x.ms).toFixed(0)} ms, median ${median(x.ms).toFixed(0)} ms per step\n`);
  await releaseSessions(x.g.graph);
}
