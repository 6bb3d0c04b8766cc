// CyberSecEval as training and evaluation prompt sets: the split by source snippet, the named sets, the mix.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cyberSecEvalOrigin, loadAppsPlus, loadDataset, mixPromptSets, readSplit, Rng, splitCyberSecEval, writeSplit, BUNDLED_DATA_DIR,
  type Problem,
} from '../../src/data/index.js';

const all = loadDataset('cyberseceval', { variant: 'all' }).problems;
const ids = (ps: readonly Problem[]) => ps.map((p) => p.id);

test('the three variants are prompts over 350 shared source snippets', () => {
  assert.equal(all.length, 984);
  const origins = new Set(all.map(cyberSecEvalOrigin));
  assert.equal(origins.size, 350);
  const instruct = all.filter((p) => p.meta?.file === 'instruct');
  const autocomplete = all.filter((p) => p.meta?.file === 'autocomplete');
  assert.deepEqual(new Set(instruct.map(cyberSecEvalOrigin)), new Set(autocomplete.map(cyberSecEvalOrigin)));
});

test('split: disjoint by id and by source snippet, covers every prompt, a fifth of the snippets held out', () => {
  const { train, eval: held, split } = splitCyberSecEval(all);
  assert.equal(train.length + held.length, all.length);
  const heldIds = new Set(ids(held));
  assert.equal(ids(train).filter((id) => heldIds.has(id)).length, 0);
  const heldOrigins = new Set(held.map(cyberSecEvalOrigin));
  assert.equal(train.filter((p) => heldOrigins.has(cyberSecEvalOrigin(p))).length, 0, 'a snippet on both sides');
  assert.deepEqual([split.total, split.eval.length, split.train.length], [350, 70, 280]);
  assert.deepEqual([train.length, held.length], [790, 194]);
  // Every CWE of the data set is on both sides.
  const cwes = (ps: readonly Problem[]) => new Set(ps.map((p) => p.meta?.cwe));
  assert.deepEqual(cwes(held), cwes(train));
});

test('split: stable — the same call twice, the problems in another order, fewer variants, a file round trip', () => {
  const a = splitCyberSecEval(all);
  const shuffled = new Rng(7).shuffled(all);
  const b = splitCyberSecEval(shuffled);
  assert.deepEqual(ids(b.eval), ids(a.eval));
  assert.deepEqual(ids(b.train), ids(a.train));
  assert.deepEqual(ids(splitCyberSecEval(all).eval), ids(a.eval));
  // instruct alone has the same 350 snippets, so each of its prompts lands where it did with all three.
  const instruct = loadDataset('cyberseceval', { variant: 'instruct' }).problems;
  const alone = splitCyberSecEval(instruct);
  assert.deepEqual(ids(alone.eval), ids(a.eval).filter((id) => id.startsWith('instruct/')));
  // Pinned: the held-out set must not move between versions (evaluations compare against it).
  assert.equal(a.split.fingerprint, '5cb25712d30231a6');
  assert.deepEqual(ids(a.eval).slice(0, 4), ['autocomplete/1869', 'instruct/1869', 'autocomplete/1805', 'instruct-v2/1805']);
  // Another seed gives another split of the same sizes.
  const other = splitCyberSecEval(all, { seed: 1 });
  assert.notDeepEqual(ids(other.eval), ids(a.eval));
  assert.equal(other.split.eval.length, 70);
  const file = join(mkdtempSync(join(tmpdir(), 'scrl-split-')), 'cse.json');
  writeSplit(file, a.split);
  assert.deepEqual(readSplit(file).eval, a.split.eval);
  assert.throws(() => splitCyberSecEval([...all, all[0]]), /duplicate problem id "autocomplete\/\d+"/);
});

test('named sets cyberseceval-train and cyberseceval-eval are that split', () => {
  const train = loadDataset('cyberseceval-train');
  const held = loadDataset('cyberseceval-eval');
  const a = splitCyberSecEval(all);
  assert.deepEqual(ids(train.problems), ids(a.train));
  assert.deepEqual(ids(held.problems), ids(a.eval));
  assert.deepEqual(train.errors, []);
  assert.match(held.notes!.join('\n'), /cyberseceval-eval: 194 of 984 prompts \(70 of 350 source snippets/);
});

test('mixPromptSets: APPS+ with CyberSecEval, seeded counts from each part, deterministic, refuses what does not fit', () => {
  const apps = loadAppsPlus(join(BUNDLED_DATA_DIR, 'apps_plus/valid_500.json')).problems;
  const { train } = splitCyberSecEval(all);
  const mix = mixPromptSets([{ problems: apps, count: 48 }, { problems: train, count: 16 }], 3);
  assert.equal(mix.length, 64);
  assert.equal(mix.filter((p) => p.dataset === 'cyberseceval').length, 16);
  assert.equal(new Set(ids(mix)).size, 64);
  assert.deepEqual(ids(mixPromptSets([{ problems: apps, count: 48 }, { problems: train, count: 16 }], 3)), ids(mix));
  assert.notDeepEqual(ids(mixPromptSets([{ problems: apps, count: 48 }, { problems: train, count: 16 }], 4)), ids(mix));
  // The security prompts are spread through the list, not appended.
  const firstHalf = mix.slice(0, 32).filter((p) => p.dataset === 'cyberseceval').length;
  assert.ok(firstHalf > 0 && firstHalf < 16, `${firstHalf} of 16 in the first half`);
  assert.throws(() => mixPromptSets([{ problems: train, count: train.length + 1 }]), /part 0: count 791 does not fit its 790 problems/);
  assert.throws(() => mixPromptSets([{ problems: train, count: 5 }, { problems: train, count: train.length }]), /is in more than one part/);
});

test('a trainer finds every piece at the package root', async () => {
  const root = await import('../../src/index.js');
  for (const name of ['splitCyberSecEval', 'mixPromptSets', 'cyberSecEvalOrigin', 'loadDataset', 'Scorer', 'runEval', 'computeSummary', 'securitySummary',
    'repairTasks', 'repairReward', 'repairPrompt', 'cyberSecEvalAgreement', 'gradedWeight', 'vulnerabilityScore', 'CWE_SEVERITY', 'analyzableWindow']) {
    assert.equal(typeof (root as Record<string, unknown>)[name], name === 'CWE_SEVERITY' ? 'object' : 'function', name);
  }
});
