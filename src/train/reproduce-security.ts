// Security where it moves, trained: from the `tiny` preset's model, SFT on a mix of APPS+ solutions and
// CyberSecEval prompts answered with their source code (security-sft.ts), then PPO on a seeded mix of
// APPS+ and CyberSecEval training prompts in three arms that differ only in the security term — none
// (R = R_func), the paper's linear term, the graded term — then SFT and the three models on held-out
// CyberSecEval prompts (compiles, insecure-code rate, per CWE) and held-out APPS+ problems (syntax,
// ≥1-pass), with 95% bootstrap intervals and paired differences. Writes table.md, table.json,
// runs/sft/, runs/<arm>/ and report/.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCwe } from '../analyze/index.js';
import { loadDataset } from '../data/datasets.js';
import type { Problem } from '../data/problem.js';
import { loadConfig } from '../model/config.js';
import { Tokenizer } from '../model/tokenizer.js';
import { Rng } from '../random.js';
import { writeReport } from '../report/index.js';
import { Scorer } from '../reward/scorer.js';
import { loadTrainData, type DataConfig } from './data.js';
import { evaluateHeldOut } from './evaluate.js';
import { DEFAULT_PPO_CONFIG, parsePpoConfig, ppo, type PpoConfig } from './ppo.js';
import { buildTinyModel, PPO_PRESETS, RECIPES } from './presets.js';
import { PromptCodec } from './rollout.js';
import { securitySftProblems } from './security-sft.js';
import { parseSftConfig, sft } from './sft.js';
import { writeJson } from './run.js';
import { findingCweCounts, securityComparisons, securityCweRows, securityMarkdown, securityRows, type SecurityEvaluated } from './security-table.js';

/** A trained arm: its name and its reward (the rest of the PPO config is the same for every arm). */
export interface SecurityArm {
  name: string;
  about: string;
  reward: PpoConfig['reward'];
}

export const SECURITY_ARMS: readonly SecurityArm[] = [
  { name: 'none', about: 'no security term: R = R_func (α 1, β 0)', reward: { schedule: null, security: 'ruff', securityShape: 'linear', weights: { func: 1, sec: 0, lint: 0 } } },
  { name: 'linear', about: "the paper's term: R = 0.6·R_func + 0.4·(1 − V), V = Σ severity weights capped at 1", reward: { schedule: null, security: 'ruff', securityShape: 'linear', weights: { func: 0.6, sec: 0.4, lint: 0 } } },
  { name: 'graded', about: 'the graded term: R = 0.6·R_func + 0.4·(1 − V), V = 1 − Π(1 − wᵢ), wᵢ by CWE severity, tool severity and confidence', reward: { schedule: null, security: 'ruff', securityShape: 'graded', weights: { func: 0.6, sec: 0.4, lint: 0 } } },
];

/** The pairs of arms compared directly (A − B). */
export const ARM_PAIRS: readonly (readonly [string, string])[] = [['PPO-linear', 'PPO-none'], ['PPO-graded', 'PPO-none'], ['PPO-graded', 'PPO-linear']];

export interface SecurityReproSettings {
  /** APPS+ training problems in the mix (from the `tiny` split's training side; null: all 400). */
  appsTrain: number | null;
  /** cyberseceval-train prompts in the mix. */
  cseTrain: number;
  /** Episodes per arm (steps × the preset's batch of 8). */
  episodes: number;
  /** A seeded subset of cyberseceval-eval (null: all of it that fits the prompt limit). */
  cseEval: number | null;
  /** A seeded subset of the APPS+ held-out problems (null: all 100). */
  appsEval: number | null;
  /** SFT on the mix before PPO (src/train/security-sft.ts): APPS+ training problems and CyberSecEval
   * training prompts answered with their snippet's code, for `sftEpochs` epochs; 0 and 0: no such stage
   * (PPO starts from the APPS+-only tiny model). */
  sftApps: number;
  sftCse: number;
  sftEpochs: number;
  /** Seed of evaluation sampling, the subset and the bootstrap. */
  seed: number;
}

/** `security-tiny`: 48 steps × 8 per arm on the 400 APPS+ training problems and 200 CyberSecEval
 * prompts; PPO keeps those within 768 prompt tokens (about half of APPS+, all of CyberSecEval), so the
 * arms train on roughly equal parts of each, every prompt seen at most once. */
export const SECURITY_TINY: SecurityReproSettings = {
  appsTrain: null, cseTrain: 200, episodes: 384, cseEval: null, appsEval: null, sftApps: 200, sftCse: 300, sftEpochs: 2, seed: 1234,
};

/** The training data of every arm: the `tiny` split (its 100 held-out APPS+ problems kept out), with
 * `cseTrain` cyberseceval-train prompts mixed in. */
export function securityTrainData(s: SecurityReproSettings): DataConfig {
  return { ...PPO_PRESETS.tiny.data!, trainSize: s.appsTrain, mix: [{ dataset: 'cyberseceval-train', count: s.cseTrain }] };
}

/** An arm's PPO config: the `tiny` preset, variant `fresh` (partial functional reward from the start). */
export function securityArmConfig(arm: SecurityArm, model: string, s: SecurityReproSettings): PpoConfig {
  return parsePpoConfig({
    ...DEFAULT_PPO_CONFIG, ...PPO_PRESETS.tiny, model, variant: 'fresh', run_name: `security-${arm.name}`,
    data: securityTrainData(s), episodes: s.episodes, reward: arm.reward,
  }, `reproduce security-tiny (${arm.name})`);
}

/** Held-out problems that fit the prompt limit (as PPO filters its own), and how many did not. */
function fitting(problems: readonly Problem[], codec: PromptCodec, maxPromptTokens: number): { kept: Problem[]; dropped: number } {
  const kept = problems.filter((p) => codec.encode(p).length <= maxPromptTokens);
  return { kept, dropped: problems.length - kept.length };
}

/** What the security term had to act on in a run: its samples, those that compiled, and those with a
 * MEDIUM or HIGH finding (the only ones where R_sec differs from the compile indicator under linear). */
export interface TrainingSignal { samples: number; compiled: number; insecure: number; flagged: number }

export function trainingSignal(runDir: string): TrainingSignal {
  const file = join(runDir, 'samples.jsonl');
  const out: TrainingSignal = { samples: 0, compiled: 0, insecure: 0, flagged: 0 };
  readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    let r: { syntax_ok?: unknown; findings?: { severity?: unknown }[] };
    try { r = JSON.parse(line) as typeof r; } catch (e) { throw new Error(`${file}:${i + 1}: ${(e as Error).message}`); }
    if (typeof r.syntax_ok !== 'boolean' || !Array.isArray(r.findings)) throw new Error(`${file}:${i + 1}: expected a sample record with syntax_ok and findings`);
    out.samples++;
    if (!r.syntax_ok) return;
    out.compiled++;
    if (r.findings.length) out.flagged++;
    if (r.findings.some((f) => f.severity === 'MEDIUM' || f.severity === 'HIGH')) out.insecure++;
  });
  return out;
}

export interface SecurityReproResult {
  markdown: string;
  seconds: number;
  table: Record<string, unknown>;
}

/** `model`: an SFT model folder to start from instead of the `tiny` preset's (built and cached on first use). */
export async function reproduceSecurity(o: { outDir: string; quiet?: boolean; log?: (line: string) => void; settings?: Partial<SecurityReproSettings>; model?: { sftDir: string; key: string } }): Promise<SecurityReproResult> {
  const started = performance.now();
  const s: SecurityReproSettings = { ...SECURITY_TINY, ...o.settings };
  const log = o.log ?? ((line: string) => { if (!o.quiet) process.stderr.write(`${line}\n`); });
  const tiny = o.model ?? await buildTinyModel('tiny', { quiet: o.quiet, log });
  const runDir = (name: string) => join(o.outDir, 'runs', name);

  // SFT on the mix (the model every arm starts from and the table's SFT row), unless switched off.
  const given = o.model ? `the model in ${o.model.sftDir}` : 'the tiny model (APPS+)';
  let start = tiny.sftDir, sftNote = `SFT = ${given}${o.model ? '' : ' only'}`;
  if (s.sftApps + s.sftCse > 0) {
    const cseTrain = loadDataset('cyberseceval-train');
    if (cseTrain.errors.length) throw new Error(`cyberseceval-train: ${cseTrain.errors.length} bad record(s), first: ${cseTrain.errors[0]}`);
    const set = securitySftProblems(loadTrainData(PPO_PRESETS.tiny.data!).train, cseTrain.problems, { appsCount: s.sftApps, cseCount: s.sftCse, seed: s.seed });
    log(`SFT on the mix: ${set.apps} APPS+ problems and ${set.cyberseceval} CyberSecEval prompts answered with their snippet's code (${set.skipped} prompts' snippets give no window the analyzer sees), ${s.sftEpochs} epochs`);
    const cfg = parseSftConfig({ ...RECIPES.tiny.sft, model: tiny.sftDir, data: PPO_PRESETS.tiny.data, epochs: s.sftEpochs, warmupSteps: 5, run_name: 'security-sft' }, 'reproduce security-tiny (sft)');
    const r = await sft(cfg, { outDir: runDir('sft'), quiet: o.quiet, problems: set.problems });
    log(`SFT on the mix in ${r.seconds.toFixed(0)} s: validation loss ${r.bestValLoss?.toFixed(3) ?? 'n/a'}`);
    start = r.finalDir;
    sftNote = `SFT = ${given} then ${s.sftEpochs} epochs of full fine-tuning on ${set.apps} APPS+ training problems and ${set.cyberseceval} cyberseceval-train prompts answered with the parseable window of the code they were written from`;
  }
  const configs = SECURITY_ARMS.map((arm) => securityArmConfig(arm, start, s));
  const cfg0 = configs[0];

  // Held-out sets, fixed before training: APPS+ from the split's evaluation side, CyberSecEval's own held-out snippets.
  const codec = PromptCodec.forModel(Tokenizer.load(start), cfg0.template, loadConfig(start));
  const appsFit = fitting(loadTrainData(cfg0.data).eval, codec, cfg0.maxPromptTokens);
  const cseReport = loadDataset('cyberseceval-eval');
  if (cseReport.errors.length) throw new Error(`cyberseceval-eval: ${cseReport.errors.length} bad record(s), first: ${cseReport.errors[0]}`);
  const cseAll = fitting(cseReport.problems, codec, cfg0.maxPromptTokens);
  const subset = (ps: Problem[], n: number | null, what: string) => (n === null ? ps : new Rng(s.seed).fork(`${what} eval subset`).shuffled(ps).slice(0, n));
  const cseEval = subset(cseAll.kept, s.cseEval, 'cse');
  const trainFit = fitting(loadTrainData(cfg0.data).train, codec, cfg0.maxPromptTokens).kept;
  const trained = { cyberseceval: trainFit.filter((p) => p.dataset === 'cyberseceval').length, apps: trainFit.filter((p) => p.dataset !== 'cyberseceval').length };
  log(`training prompts within ${cfg0.maxPromptTokens} tokens: ${trained.apps} APPS+ and ${trained.cyberseceval} CyberSecEval`);
  const appsHeld = subset(appsFit.kept, s.appsEval, 'apps');

  const finals: Record<string, string> = {};
  for (const [i, arm] of SECURITY_ARMS.entries()) {
    log(`PPO ${arm.name} (${arm.about}): ${configs[i].episodes / configs[i].batchSize} steps`);
    const r = await ppo({ config: configs[i], outDir: runDir(arm.name) }, { quiet: o.quiet });
    if (!r.finalDir) throw new Error(`PPO ${arm.name} stopped at step ${r.steps} without a final adapter (${r.runDir})`);
    finals[`PPO-${arm.name}`] = r.finalDir;
  }

  const scorer = new Scorer({ mode: 'partial', security: 'ruff', securityShape: 'graded' });
  const models: SecurityEvaluated[] = [];
  try {
    for (const name of ['SFT', ...SECURITY_ARMS.map((a) => `PPO-${a.name}`)]) {
      log(`evaluating ${name} on ${cseEval.length} CyberSecEval and ${appsHeld.length} APPS+ held-out prompts`);
      const adapter = name === 'SFT' ? null : finals[name];
      const common = { model: start, adapter, scorer, template: cfg0.template, sampling: cfg0.sampling, seed: s.seed };
      const cse = await evaluateHeldOut({ ...common, problems: cseEval });
      const apps = await evaluateHeldOut({ ...common, problems: appsHeld });
      models.push({ name, cse: cse.breakdowns, apps: apps.breakdowns });
    }
  } finally {
    await scorer.close();
  }

  const labels = cseEval.map((p) => parseCwe(p.meta?.cwe));
  const rows = securityRows(models, s.seed);
  const cweRows = securityCweRows(models, labels, s.seed);
  const comparisons = securityComparisons(models, ARM_PAIRS, s.seed);
  const findings = findingCweCounts(models);
  const signal = Object.fromEntries(SECURITY_ARMS.map((a) => [`PPO-${a.name}`, trainingSignal(runDir(a.name))]));
  const note = [
    `Held out: ${cseEval.length} cyberseceval-eval prompts (snippets never trained on${cseAll.dropped ? `; ${cseAll.dropped} longer than ${cfg0.maxPromptTokens} prompt tokens left out` : ''}${s.cseEval !== null ? `; a seeded subset of ${s.cseEval}` : ''})`,
    `and ${appsHeld.length} APPS+ problems (the tiny split's evaluation side${appsFit.dropped ? `; ${appsFit.dropped} too long left out` : ''}${s.appsEval !== null ? `; a seeded subset of ${s.appsEval}` : ''}); one sample each, the same seed per prompt for every model.`,
    `Insecure = compiles and has a MEDIUM or HIGH finding (Ruff's S rules); "of compiling" is CyberSecEval's rate (n = compiling samples), "of all" counts every sample.`,
    `[95% bootstrap interval, 10,000 resamples over prompts]; Δ = paired difference against SFT. Training: PPO fresh (partial R_func), ${cfg0.episodes / cfg0.batchSize} steps × ${cfg0.batchSize}`,
    `on ${trained.apps} APPS+ + ${trained.cyberseceval} cyberseceval-train prompts (mixed, seed ${cfg0.data.splitSeed}; those of ${s.appsTrain ?? 'the 400'} + ${s.cseTrain} within ${cfg0.maxPromptTokens} prompt tokens); arms: ${SECURITY_ARMS.map((a) => `${a.name} = ${a.about}`).join('; ')}.`,
    `Training samples (all arms' rollouts): ${Object.entries(signal).map(([k, v]) => `${k} ${v.compiled} of ${v.samples} compiled, ${v.insecure} insecure, ${v.flagged} with any finding`).join('; ')}.`,
    `Model: ${o.model ? tiny.sftDir : `the 'tiny' tiny model`} (${tiny.key}); ${sftNote}.`,
  ].join(' ');
  const markdown = securityMarkdown(rows, cweRows, comparisons, note, findings);
  const table = {
    preset: 'security-tiny', model: tiny.key, settings: s, arms: SECURITY_ARMS,
    trained_prompts: trained,
    heldOut: { cyberseceval: cseEval.map((p) => p.id), cyberseceval_too_long: cseAll.dropped, apps: appsHeld.map((p) => p.id), apps_too_long: appsFit.dropped },
    rows, by_prompt_cwe: cweRows, comparisons, finding_cwe_counts: findings, training_signal: signal,
  };
  writeFileSync(join(o.outDir, 'table.md'), markdown);
  writeJson(join(o.outDir, 'table.json'), table);
  writeReport(SECURITY_ARMS.map((a) => runDir(a.name)), { outDir: join(o.outDir, 'report'), title: 'Security where it moves (security-tiny)' });
  return { markdown, seconds: (performance.now() - started) / 1000, table };
}
