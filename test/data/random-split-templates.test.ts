import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  applySplit, loadDataset, readSplit, renderExample, renderPrompt, resolveTemplate, Rng, splitIds, splitMix64, writeSplit,
} from '../../src/data/index.js';

test('Rng: xoshiro128** and SplitMix64 reference outputs, determinism, state round trip', () => {
  // xoshiro128** from state (1, 2, 3, 4): the reference implementation's first outputs.
  const x = Rng.fromState([1, 2, 3, 4]);
  assert.deepEqual([x.uint32(), x.uint32(), x.uint32(), x.uint32()], [11520, 0, 5927040, 70819200]);
  // SplitMix64 from seed 0: its well-known first output.
  assert.equal(splitMix64(0n).value, 0xe220a8397b1dcdafn);
  const a = new Rng(42);
  const b = new Rng(42);
  const draws = Array.from({ length: 100 }, () => a.uint32());
  assert.deepEqual(Array.from({ length: 100 }, () => b.uint32()), draws);
  assert.notDeepEqual(Array.from({ length: 5 }, () => new Rng(43).uint32()), draws.slice(0, 5));
  const saved = a.state();
  const next = [a.float(), a.int(7), a.normal()];
  const resumed = Rng.fromState(saved);
  assert.deepEqual([resumed.float(), resumed.int(7), resumed.normal()], next);
  assert.deepEqual(new Rng('run-a').state(), new Rng('run-a').state());
  assert.throws(() => new Rng(-1), /seed: expected an integer/);
  assert.throws(() => new Rng(1.5), /seed: expected an integer/);
});

test('Rng: uniform ints without modulo bias, shuffles are permutations, forks are independent and reproducible', () => {
  const rng = new Rng(7);
  const counts = [0, 0, 0];
  for (let i = 0; i < 30000; i++) counts[rng.int(3)]++;
  assert.ok(counts.every((c) => Math.abs(c - 10000) < 400), String(counts));
  const floats = Array.from({ length: 10000 }, () => rng.float());
  assert.ok(floats.every((f) => f >= 0 && f < 1));
  assert.ok(Math.abs(floats.reduce((s, f) => s + f, 0) / floats.length - 0.5) < 0.02);
  const items = Array.from({ length: 50 }, (_, i) => i);
  assert.deepEqual(rng.shuffled(items).sort((p, q) => p - q), items);
  assert.equal(new Set(rng.sample(items, 10)).size, 10);
  const base = new Rng(1);
  const f1 = base.fork('dropout').uint32();
  assert.equal(base.fork('dropout').uint32(), f1);       // forking draws nothing from the parent
  assert.notEqual(base.fork('data-order').uint32(), f1);
  assert.equal(base.uint32(), new Rng(1).uint32());
});

test('splits: disjoint, sized, a function of (set of ids, seed, sizes) only; written and read back', () => {
  const ids = loadDataset('mbpp').problems.map((p) => p.id);
  const s = splitIds(ids, { seed: 42, evalSize: 100, trainSize: 500 });
  assert.equal(s.eval.length, 100);
  assert.equal(s.train.length, 500);
  assert.equal(new Set([...s.eval, ...s.train]).size, 600);
  // the same evaluation set whatever the order the ids come in, for every model
  const again = splitIds([...ids].reverse(), { seed: 42, evalSize: 100, trainSize: 500 });
  assert.deepEqual(again.eval, s.eval);
  assert.deepEqual(again.train, s.train);
  assert.notDeepEqual(splitIds(ids, { seed: 43, evalSize: 100 }).eval, s.eval);
  assert.equal(splitIds(ids, { evalFraction: 0.1 }).eval.length, 97);
  assert.throws(() => splitIds(['a', 'a']), /duplicate id "a"/);
  assert.throws(() => splitIds(ids, { evalSize: 900, trainSize: 100 }), /exceeds 974 ids/);
  const dir = mkdtempSync(join(tmpdir(), 'scrl-split-'));
  const file = join(dir, 'splits', 'mbpp.json');
  writeSplit(file, { ...s, about: { dataset: 'mbpp' } });
  const read = readSplit(file);
  assert.deepEqual(read.eval, s.eval);
  assert.equal(read.fingerprint, s.fingerprint);
  const { problems } = loadDataset('mbpp');
  const applied = applySplit(problems, read);
  assert.deepEqual(applied.eval.map((p) => p.id), s.eval);
  assert.deepEqual(applied.missing, []);
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, JSON.stringify({ format: 'securecoderl-split/1', seed: 1, total: 2, fingerprint: 'x', eval: ['a'], train: ['a'] }));
  assert.throws(() => readSplit(broken), /broken\.json: id "a" is in both eval and train/);
  writeFileSync(broken, JSON.stringify({ format: 'securecoderl-split/1', seed: 1, total: 2, fingerprint: 'x', eval: 'a', train: [] }));
  assert.throws(() => readSplit(broken), /broken\.json: field "eval": expected a list of ids/);
});

test('templates: the paper\'s instruction template, its SFT variant, chat messages, plain completion', () => {
  const apps = loadDataset('apps-plus').problems[0];
  const paper = renderPrompt(apps);
  assert.equal(paper.template, 'instruction');
  assert.equal((paper as { text: string }).text, `### Instruction:\nComplete the following code:\n\n${apps.prompt}\n\n### Response:\n`);
  assert.equal((renderPrompt(apps, 'instruction-python') as { text: string }).text, `### Instruction:\nComplete the following Python code:\n\n${apps.prompt}\n\n### Response:\n`);
  assert.equal((renderPrompt(apps, 'completion') as { text: string }).text, apps.prompt);
  const chat = renderPrompt(apps, { name: 'chat', system: 'You are a careful programmer.' });
  assert.equal(chat.template, 'chat');
  const messages = (chat as { messages: { role: string; content: string }[] }).messages;
  assert.deepEqual(messages.map((m) => m.role), ['system', 'user']);
  assert.match(messages[1].content, /^Complete the following Python code\. .*\n\n```python\ndef FsxrN\(\):/su);
  // prose prompts (security prompts) are already instructions
  const cse = loadDataset('cyberseceval').problems[0];
  assert.equal((renderPrompt(cse) as { text: string }).text, `### Instruction:\n${cse.prompt}\n\n### Response:\n`);
  // an SFT example is the prompt plus the response under the same template, with the prompt length for masking
  const example = renderExample(apps, 'def FsxrN():\n    print(1)\n');
  assert.ok(example.template !== 'chat' && example.text.startsWith((paper as { text: string }).text) && example.promptChars === (paper as { text: string }).text.length);
  assert.throws(() => resolveTemplate('alpaca'), /unknown prompt template "alpaca"/);
});
