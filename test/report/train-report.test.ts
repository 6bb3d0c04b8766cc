// The report over training run folders: synthetic PPO and SFT runs written in the trainers' format
// (config.json, metrics.jsonl), tables checked against means worked out by hand, one curve per run
// and metric in the SVGs, a cut-short last line, a bad middle line, missing and broken files, a report
// mixing an eval run with a training run, and the page in headless Chromium.

import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAppsPlus } from '../../src/data/index.js';
import { BUNDLED_DATA } from '../../src/eval/demo.js';
import { runEval } from '../../src/eval/run.js';
import { movingAverage, smoothingHalfWidth, writeReport, type ReportResult } from '../../src/report/index.js';
import { Scorer } from '../../src/reward/scorer.js';
import { run as reportCli } from '../../src/cli/report.js';

const CHROMIUM = '/usr/bin/chromium';

let dir: string;
let report: ReportResult;

/** Writes a training run folder: config.json and metrics.jsonl from lines given as text. */
function writeTrainingRun(name: string, config: Record<string, unknown>, lines: string[], tail = '\n'): string {
  const runDir = join(dir, name);
  mkdirSync(runDir, { recursive: true });
  writeFileSync(join(runDir, 'config.json'), `${JSON.stringify(config, null, 2)}\n`);
  writeFileSync(join(runDir, 'metrics.jsonl'), lines.join('\n') + tail);
  return runDir;
}

/** A PPO metrics line with every field the trainer logs. */
function ppoLine(step: number, fields: { reward: number; pass: number; rSec: number | null; kl: number; weights?: Record<string, number> }): string {
  return JSON.stringify({
    step, episode: step * 8, reward_mean: fields.reward, reward_partial_mean: fields.reward, r_func_mean: fields.reward * 0.9, r_sec_mean: fields.rSec,
    stage_shares: [0.1, 0.2, 0.2, 0.2, 0.3], pass_all_rate: fields.pass, kl: fields.kl, entropy: 1.5 - step / 100,
    policy_loss: -0.01 * step, value_loss: 0.5 / step, clip_frac: 0.1, approx_kl: 0.002, lr: 1e-5, kl_coef: 0.05,
    response_len_mean: 120 + step, time_sample_s: 2, time_score_s: 1, time_train_s: 3,
    ...(fields.weights ? { reward_weights: fields.weights } : {}),
  });
}

// "simple": 6 steps, then a line cut short by a kill (no newline).
const SIMPLE_REWARDS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
const SIMPLE_PASS = [0, 0.1, 0.1, 0.2, 0.3, 0.5];
const SIMPLE_RSEC = [0.7, 0.8, 0.8, 0.9, 0.8, 1.0];
const SIMPLE_KL = [0.01, 0.02, 0.03, 0.04, 0.045, 0.05];
// "scheduled": 40 steps, security term off, reward weights scheduled; line 4 is damaged.
const SCHEDULED_STEPS = 40;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'scrl-train-report-'));
  writeTrainingRun('simple', { trainer: 'ppo', run_name: 'simple', lr: 1e-5 },
    SIMPLE_REWARDS.map((reward, i) => ppoLine(i + 1, { reward, pass: SIMPLE_PASS[i], rSec: SIMPLE_RSEC[i], kl: SIMPLE_KL[i] })),
    '\n{"step": 7, "episode": 56, "reward_me');
  const scheduled = Array.from({ length: SCHEDULED_STEPS }, (_, i) => {
    const step = i + 1;
    return ppoLine(step, { reward: step / 100, pass: step <= 20 ? 0 : 0.5, rSec: null, kl: step === SCHEDULED_STEPS ? 0.125 : 0.1, weights: { binary: 1 - step / 40, partial: step / 40 } });
  });
  scheduled.splice(3, 0, '{"step": 4, "reward_mean": 0.04,,}');
  writeTrainingRun('scheduled', { trainer: 'ppo', run_name: 'scheduled', reward_schedule: 'linear' }, scheduled);
  const sftLoss = [2.0, 1.8, 1.6, 1.5, 1.4];
  const sftVal: Record<number, number> = { 2: 1.9, 4: 1.7, 5: 1.75 };
  writeTrainingRun('sft', { trainer: 'sft', run_name: 'sft-base' }, sftLoss.map((loss, i) => JSON.stringify({
    step: i + 1, epoch: i < 3 ? 1 : 2, loss, lr: 2e-5, tokens: 4096, ...(sftVal[i + 1] === undefined ? {} : { val_loss: sftVal[i + 1] }),
  })));
  report = writeReport([join(dir, 'simple'), join(dir, 'scheduled'), join(dir, 'sft')], { outDir: join(dir, 'report') });
});

/** The Markdown row of a run in the table under a heading. */
function markdownRow(md: string, heading: string, run: string): string[] {
  const section = md.slice(md.indexOf(`## ${heading}`));
  const line = section.split('\n').find((l) => l.startsWith(`| ${run} |`));
  assert.ok(line, `row ${run} under ${heading}`);
  return line.split('|').slice(1, -1).map((c) => c.trim());
}

const chartSvg = (id: string) => {
  const entry = report.charts.find((c) => c.svg.endsWith(`/${id}.svg`));
  assert.ok(entry, `chart ${id} written`);
  return readFileSync(entry.svg, 'utf8');
};
const count = (svg: string, pattern: RegExp) => (svg.match(new RegExp(pattern.source, 'g')) ?? []).length;

test('training report: summary tables with first-third and last-third means', () => {
  const md = readFileSync(report.markdown, 'utf8');
  assert.match(md, /^# Training: simple vs scheduled vs sft-base\n\n3 training runs \(ppo, sft\)/);
  // simple: 6 steps, thirds of 2: R (0.1+0.2)/2 = 0.150 → (0.5+0.6)/2 = 0.550; All-P (0+0.1)/2 = 5.0% → (0.3+0.5)/2 = 40.0%;
  // R_sec last (0.8+1.0)/2 = 0.900; final kl 0.05.
  assert.deepEqual(markdownRow(md, 'RL training', 'simple'), ['simple', 'ppo', '6', '0.150', '0.550', '+0.400', '5.0', '40.0', '+35.0', '0.900', '0.05']);
  // scheduled: 40 steps, thirds of 13: R mean(1..13)/100 = 0.070 → mean(28..40)/100 = 0.340; All-P 0% → 50%; security off.
  assert.deepEqual(markdownRow(md, 'RL training', 'scheduled'), ['scheduled', 'ppo', '40', '0.070', '0.340', '+0.270', '0.0', '50.0', '+50.0', 'off', '0.125']);
  // sft: 5 steps, thirds of 1: 2.000 → 1.400; val loss last 1.750 at step 5, lowest 1.700 at step 4.
  assert.deepEqual(markdownRow(md, 'Supervised training', 'sft-base'), ['sft-base', 'sft', '5', '2', '2.000', '1.400', '1.400', '1.750 (step 5)', '1.700 (step 4)']);
  assert.deepEqual(markdownRow(md, 'Training runs', 'simple').slice(0, 5), ['simple', 'ppo', '6', '1–6', 'last line cut short (ignored)']);
  assert.deepEqual(markdownRow(md, 'Training runs', 'scheduled').slice(0, 5), ['scheduled', 'ppo', '40', '1–40', '1 warning']);
  const html = readFileSync(report.html, 'utf8');
  assert.match(html, /<table data-table="train-rl">/);
  assert.match(html, /<tr><th scope="row">simple<\/th><td>ppo<\/td><td>6<\/td><td>0\.150<\/td><td>0\.550<\/td><td>\+0\.400<\/td>/);
  assert.ok(!/<script|https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'no scripts and no external URLs');
});

test('training report: a cut-short last line is ignored, a bad middle line is a file:line warning', () => {
  const warnings = report.warnings.filter((w) => !w.startsWith('no fonts'));
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.ok(warnings[0].startsWith(`${join(dir, 'scheduled', 'metrics.jsonl')}:4: not valid JSON (`), warnings[0]);
  assert.ok(warnings[0].endsWith('); line skipped'), warnings[0]);
});

test('training report: one curve per run and metric, raw and smoothed, colours per run', () => {
  const ids = report.charts.map((c) => c.svg.replace(/^.*\/(.+)\.svg$/, '$1'));
  assert.deepEqual(ids, ['train-reward', 'train-stages', 'train-pass', 'train-kl', 'train-update', 'train-reward-fns', 'train-length', 'train-loss', 'train-schedule', 'train-time']);
  const reward = chartSvg('train-reward');
  for (const kind of ['raw', 'smoothed']) {
    for (const run of ['simple', 'scheduled']) {
      for (const series of ['reward_mean', 'r_func_mean']) assert.equal(count(reward, new RegExp(`<polyline [^>]*data-run="${run}" data-series="${series}" data-kind="${kind}"`)), 1, `${run} ${series} ${kind}`);
    }
    // The security term is off in "scheduled": only "simple" has an R_sec curve.
    assert.equal(count(reward, new RegExp(`data-series="r_sec_mean" data-kind="${kind}"`)), 1);
  }
  assert.equal(count(reward, /<polyline /), 10);
  assert.ok(!reward.includes('sft-base'), 'the SFT run has no reward');
  const note = [...reward.matchAll(/<text [^>]*font-size="11\.5"[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]).join(' ');
  assert.match(note, /^Thin: each step; bold: centred moving average over w ≈ n\/20 steps of a run of n \(w = 1: simple; w = 3: scheduled\)\.$/);
  assert.match(reward, /thin: raw, bold: moving average/);
  // Colours follow the run's position: simple blue, scheduled orange, sft-base green.
  assert.match(reward, /stroke="#0072B2" [^>]*data-run="simple"/);
  assert.match(reward, /stroke="#E69F00" [^>]*data-run="scheduled"/);
  const modes = chartSvg('train-reward-fns');
  assert.equal(count(modes, /data-series="reward_partial_mean" data-kind="smoothed"/), 2);
  assert.match(modes, /partial \(reward_partial_mean\)/);
  const stages = chartSvg('train-stages');
  assert.equal(count(stages, /<path [^>]*data-run="simple"/), 5);
  assert.equal(count(stages, /<path [^>]*data-run="scheduled"/), 5);
  assert.match(stages, /fill="#2e7d32" data-run="simple" data-category="4 passes ≥1"/);
  const loss = chartSvg('train-loss');
  assert.equal(count(loss, /data-run="sft-base" data-series="loss" data-kind="raw"/), 1);
  assert.equal(count(loss, /data-run="sft-base" data-series="loss" data-kind="smoothed"/), 1);
  // Validation loss: three points, dashed, drawn as they are (no moving average).
  assert.match(loss, /stroke="#009E73" stroke-width="2" data-run="sft-base" data-series="val_loss" stroke-dasharray="7 4" data-kind="raw" points="[^"]+ [^"]+ [^"]+"/);
  assert.equal(count(loss, /data-series="val_loss" data-kind="smoothed"/), 0);
  assert.equal(count(loss, /<polyline /), 3);
  const schedule = chartSvg('train-schedule');
  assert.equal(count(schedule, /data-series="lr" data-kind="raw"/), 3);
  assert.equal(count(schedule, /data-series="reward_weights.binary"/), 1);
  assert.equal(count(schedule, /data-kind="smoothed"/), 0);
  for (const c of report.charts) {
    assert.match(readFileSync(c.svg, 'utf8'), /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    if (c.png) assert.deepEqual([...readFileSync(c.png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
  }
});

test('training report: moving average window and values', () => {
  assert.deepEqual(movingAverage([1, 2, 3, 4, 5], 1), [1.5, 2, 3, 4, 4.5]);
  assert.deepEqual(movingAverage([1, 2, 3], 0), [1, 2, 3]);
  assert.equal(2 * smoothingHalfWidth(6) + 1, 1);
  assert.equal(2 * smoothingHalfWidth(40) + 1, 3);
  assert.equal(2 * smoothingHalfWidth(1000) + 1, 51);
});

test('training report: a folder without metrics.jsonl, and a broken config.json, are errors naming the file', () => {
  const noMetrics = join(dir, 'no-metrics');
  mkdirSync(noMetrics);
  writeFileSync(join(noMetrics, 'config.json'), JSON.stringify({ trainer: 'grpo', run_name: 'x' }));
  assert.throws(() => writeReport([noMetrics], { outDir: join(dir, 'r1'), png: false }), (e: Error) => e.message.startsWith(`${join(noMetrics, 'metrics.jsonl')}: no such file`));
  const badConfig = writeTrainingRun('bad-config', {}, [JSON.stringify({ step: 1, loss: 1 })]);
  writeFileSync(join(badConfig, 'config.json'), '{\n  "trainer": "sft",\n  "run_name": \n}\n');
  assert.throws(() => writeReport([badConfig], { outDir: join(dir, 'r2'), png: false }), (e: Error) => e.message.startsWith(`${join(badConfig, 'config.json')}:4:1: not valid JSON`));
  const noTrainer = writeTrainingRun('no-trainer', { trainer: 7, run_name: 'n' }, [JSON.stringify({ step: 1, loss: 1 })]);
  assert.throws(() => writeReport([noTrainer], { outDir: join(dir, 'r3'), png: false }), /config\.json: field "trainer" is not a string/);
});

test('report CLI: training runs, SVG only', async () => {
  const out = join(dir, 'cli-report');
  const write = process.stdout.write;
  let printed = '';
  process.stdout.write = ((chunk: string) => { printed += chunk; return true; }) as typeof process.stdout.write;
  try {
    assert.equal(await reportCli([join(dir, 'simple'), join(dir, 'sft'), '--out', out, '--no-png']), 0);
  } finally {
    process.stdout.write = write;
  }
  assert.match(printed, /charts in /);
  assert.ok(existsSync(join(out, 'charts', 'train-loss.svg')));
  assert.ok(!existsSync(join(out, 'charts', 'train-loss.png')));
});

test('report: an eval run and a training run in one report', async () => {
  const scorer = new Scorer();
  try {
    const apps = join(BUNDLED_DATA, 'apps_plus/valid_500.json');
    const { problems } = loadAppsPlus(apps);
    const completions = problems.slice(0, 3).map((p) => JSON.stringify({ problem_id: p.id, completion: p.canonicalSolution }));
    writeFileSync(join(dir, 'reference.jsonl'), completions.join('\n') + '\n');
    await runEval({ data: apps, backend: { kind: 'completions-file', path: join(dir, 'reference.jsonl') }, label: 'reference' }, { outDir: join(dir, 'eval-reference'), scorer });
  } finally {
    scorer.close();
  }
  const mixed = writeReport([join(dir, 'eval-reference'), join(dir, 'simple')], { outDir: join(dir, 'mixed'), png: false });
  const md = readFileSync(mixed.markdown, 'utf8');
  assert.match(md, /^# Training and evaluation: reference vs simple\n/);
  const headings = [...md.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
  assert.match(headings[0], /^Results \(the paper's Table 3 columns/);
  assert.equal(headings[1], 'Charts');
  assert.match(headings[2], /^RL training/);
  assert.equal(headings[headings.length - 1], 'Training runs');
  assert.match(md, /\| reference \| 3 \| 3 \| 100\.0 \[100\.0, 100\.0\] \|/);
  assert.deepEqual(markdownRow(md, 'RL training', 'simple').slice(0, 6), ['simple', 'ppo', '6', '0.150', '0.550', '+0.400']);
  const ids = mixed.charts.map((c) => c.svg.replace(/^.*\/(.+)\.svg$/, '$1'));
  assert.deepEqual(ids.slice(0, 5), ['rates', 'stages', 'rewards', 'failures', 'train-reward']);
});

test('training report: headless Chromium shows the tables and the curves', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI) assert.fail(`${CHROMIUM} missing: apt-get install -y chromium (.ci/run installs it)`);
    t.skip(`${CHROMIUM} not installed (apt-get install -y chromium)`);
    return;
  }
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'scrl-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    viewport: { width: 1280, height: 900 },
  });
  try {
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(`file://${report.html}`);
    assert.deepEqual(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:')), [], 'the page is self-contained');
    for (const id of ['train-rl', 'train-lm', 'train-runs']) assert.ok(await page.locator(`table[data-table="${id}"]`).isVisible(), `table ${id} visible`);
    for (const id of ['train-reward', 'train-stages', 'train-loss']) {
      const chart = page.locator(`figure[data-chart="${id}"] svg`);
      const box = await chart.boundingBox();
      assert.ok(box && box.width > 400 && box.height > 100, `chart ${id} rendered (${JSON.stringify(box)})`);
      assert.ok((await chart.locator('polyline, path').count()) >= 2, `chart ${id} has curves`);
    }
    const curve = await page.locator('figure[data-chart="train-reward"] polyline[data-run="scheduled"][data-kind="smoothed"]').first().boundingBox();
    assert.ok(curve && curve.width > 300, `the scheduled run's reward spans the step axis (${JSON.stringify(curve)})`);
  } finally {
    await context.close();
  }
});
