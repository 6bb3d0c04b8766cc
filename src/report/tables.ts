import type { Interval } from '../eval/bootstrap.js';
import { comparePaired, PAIRED_METRICS, type PairedResult } from '../eval/compare.js';
import { FAILURE_KINDS } from '../eval/metrics.js';
import type { LoadedRun } from './load.js';

/** A table as data; rendered to Markdown and HTML by the same definition. */
export interface Table {
  id: string;
  title: string;
  note?: string;
  headers: string[];
  rows: string[][];
}

const STAGE_NAMES = ['0 syntax error', '1 compiles', '2 runs', '3 prints', '4 passes ≥1'];
const FAILURE_NAMES: Record<string, string> = { wrong_output: 'wrong output', no_output: 'no output', timeout: 'timeout', crash: 'crash', memory: 'memory' };

export const pctCi = (v: number | null | undefined, ci: Interval | null | undefined) =>
  v === null || v === undefined ? 'n/a' : `${v.toFixed(1)} [${ci ? `${ci[0].toFixed(1)}, ${ci[1].toFixed(1)}` : '–'}]`;
export const numCi = (v: number | null | undefined, ci: Interval | null | undefined, digits = 3) =>
  v === null || v === undefined ? 'n/a' : `${v.toFixed(digits)} [${ci ? `${ci[0].toFixed(digits)}, ${ci[1].toFixed(digits)}` : '–'}]`;
const signed = (x: number, digits: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}`;

function pairedCell(r: PairedResult, digits: number): string {
  if (r.diff === null || !r.ci) return 'n/a';
  const star = r.ci[0] > 0 || r.ci[1] < 0 ? ' *' : '';
  return `${signed(r.diff, digits)} [${signed(r.ci[0], digits)}, ${signed(r.ci[1], digits)}] p=${r.p === null ? '–' : r.p < 0.001 ? '<0.001' : r.p.toFixed(3)}${star}`;
}

/** Paired differences of every later run against the first, when they share the prompt set. */
export function pairedRows(runs: LoadedRun[], seed: number, resamples: number): { rows: string[][]; skipped: string[] } {
  const rows: string[][] = [];
  const skipped: string[] = [];
  const base = runs[0];
  for (const other of runs.slice(1)) {
    if (other.promptIds.join('\n') !== base.promptIds.join('\n')) {
      skipped.push(`${other.label}: not the same prompts as ${base.label}`);
      continue;
    }
    try {
      const r = comparePaired(base.promptIds, other.records(), base.records(), { seed, resamples });
      rows.push([`${other.label} − ${base.label}`, ...PAIRED_METRICS.map((m) => pairedCell(r[m], m === 'mean_r' ? 3 : 1))]);
    } catch (error) {
      skipped.push(`${other.label}: ${(error as Error).message}`);
    }
  }
  return { rows, skipped };
}

export function buildTables(runs: LoadedRun[], options: { seed?: number; resamples?: number } = {}): Table[] {
  const tables: Table[] = [];
  const s = (r: LoadedRun) => r.summary;
  const level = `${Math.round((s(runs[0]).bootstrap?.level ?? 0.95) * 100)}%`;
  tables.push({
    id: 'main',
    title: 'Results (the paper\'s Table 3 columns, plus Sec-clean and the reward terms)',
    note: `Rates in percent, rewards in [0, 1]; each with its ${level} bootstrap interval over prompts (${s(runs[0]).bootstrap?.resamples ?? '?'} resamples). ≥1-P: at least one test passed; All-P: all tests passed.`,
    headers: ['Model', 'Prompts', 'Samples', 'Syn%', '≥1-P%', 'All-P%', 'Sec-clean%', 'mean R', 'R_func', 'R_sec'],
    rows: runs.map((r) => [
      r.label + (s(r).status === 'partial' ? ' (partial)' : ''), String(s(r).n), String(s(r).samples),
      pctCi(s(r).syn_pct, s(r).syn_pct_ci), pctCi(s(r).pass1_pct, s(r).pass1_pct_ci), pctCi(s(r).allpass_pct, s(r).allpass_pct_ci),
      pctCi(s(r).secclean_pct, s(r).secclean_pct_ci), numCi(s(r).mean_r, s(r).mean_r_ci), numCi(s(r).mean_r_func, s(r).mean_r_func_ci),
      s(r).mean_r_sec === null ? 'off' : numCi(s(r).mean_r_sec, s(r).mean_r_sec_ci),
    ]),
  });
  tables.push({
    id: 'table2',
    title: 'Benchmark summary (the paper\'s Table 2 columns)',
    note: 'Test pass = all tests passed (as the paper defines it); tests passed / tests run is the reference code\'s figure.',
    headers: ['Model', 'Syntax valid %', 'Test pass % (all tests)', 'Security clean %', 'Tests passed / run %'],
    rows: runs.map((r) => [r.label, pctCi(s(r).syn_pct, s(r).syn_pct_ci), pctCi(s(r).allpass_pct, s(r).allpass_pct_ci), pctCi(s(r).secclean_pct, s(r).secclean_pct_ci), pctCi(s(r).test_pass_pct, s(r).test_pass_pct_ci)]),
  });
  if (runs.length > 1) {
    const { rows, skipped } = pairedRows(runs, options.seed ?? s(runs[0]).bootstrap?.seed ?? 42, options.resamples ?? s(runs[0]).bootstrap?.resamples ?? 10_000);
    if (rows.length || skipped.length) {
      tables.push({
        id: 'paired',
        title: `Paired differences against ${runs[0].label}`,
        note: `Same prompts, paired bootstrap: ${level} interval and two-sided p; * = the interval excludes 0. Rates in percentage points.${skipped.length ? ` Not compared: ${skipped.join('; ')}.` : ''}`,
        headers: ['Comparison', 'ΔSyn', 'Δ≥1-P', 'ΔAll-P', 'ΔSec-clean', 'Δmean R'],
        rows,
      });
    }
  }
  tables.push({
    id: 'stages',
    title: 'Ladder stage distribution (% of samples)',
    headers: ['Model', ...STAGE_NAMES],
    rows: runs.map((r) => [r.label, ...s(r).stages.pct.map((p, i) => pctCi(p, s(r).stages.pct_ci[i]))]),
  });
  tables.push({
    id: 'failures',
    title: 'Failure taxonomy (% of failing samples)',
    note: 'Failing: compiles, has tests, not all passed; the kind is the first failing test\'s verdict. Syntax errors are counted apart.',
    headers: ['Model', 'Failing', ...FAILURE_KINDS.map((k) => FAILURE_NAMES[k]), 'Syntax errors'],
    rows: runs.map((r) => [r.label, String(s(r).failures.samples), ...FAILURE_KINDS.map((k) => pctCi(s(r).failures.pct[k], s(r).failures.pct_ci[k])), String(s(r).failures.syntax_errors)]),
  });
  const multi = runs.filter((r) => s(r).samples_per_prompt > 1);
  if (multi.length) {
    const ks = [...new Set(multi.flatMap((r) => Object.keys(s(r).pass_at_k).map(Number)))].sort((a, b) => a - b);
    tables.push({
      id: 'passk',
      title: 'pass@k (unbiased estimator) and best-of-k',
      note: 'pass@k: all tests passed by at least one of k samples, estimated from all samples. Best-of-k: the sample with the highest reward on the visible tests, judged on all tests; oracle: picked by all tests.',
      headers: ['Model', 'k', ...ks.map((k) => `pass@${k}`), 'best-of-k All-P%', 'best-of-k ≥1-P%', 'oracle All-P%', 'visible tests'],
      rows: multi.map((r) => {
        const b = s(r).best_of_k;
        return [r.label, String(s(r).samples_per_prompt), ...ks.map((k) => { const v = s(r).pass_at_k[String(k)]; return v ? pctCi(v.pct, v.ci) : '–'; }),
          b ? pctCi(b.allpass_pct, b.allpass_pct_ci) : '–', b ? pctCi(b.pass1_pct, b.pass1_pct_ci) : '–', b?.oracle_allpass_pct?.toFixed(1) ?? '–', b ? String(b.visible_tests) : '–'];
      }),
    });
  }
  tables.push({
    id: 'length',
    title: 'Completion length',
    headers: ['Model', 'mean chars', 'median chars', 'p90 chars', 'mean tokens', 'mean program lines'],
    rows: runs.map((r) => [r.label, numCi(s(r).length.mean_chars, s(r).length.mean_chars_ci, 1), s(r).length.median_chars.toFixed(0), s(r).length.p90_chars.toFixed(0), s(r).length.mean_tokens === null ? 'n/a' : s(r).length.mean_tokens!.toFixed(1), s(r).length.mean_program_lines.toFixed(1)]),
  });
  const ruleRows = runs.flatMap((r) => s(r).findings.by_rule.map((f) => [r.label, f.rule, f.bandit_id || '–', f.severity, f.cwe === null ? '–' : `CWE-${f.cwe}`, String(f.count), f.samples_pct.toFixed(1)]));
  tables.push({
    id: 'rules',
    title: 'Security findings by rule',
    note: ruleRows.length ? 'LOW findings are listed but do not count against Sec-clean or R_sec.' : 'No findings in any run.',
    headers: ['Model', 'Ruff rule', 'Bandit id', 'Severity', 'CWE', 'Findings', '% of samples'],
    rows: ruleRows,
  });
  const cweRows = runs.flatMap((r) => s(r).findings.by_cwe.map((f) => [r.label, f.cwe === null ? '–' : `CWE-${f.cwe}`, String(f.count), f.samples_pct.toFixed(1)]));
  if (cweRows.length) tables.push({ id: 'cwes', title: 'Security findings by CWE', headers: ['Model', 'CWE', 'Findings', '% of samples'], rows: cweRows });
  // Runs on a prompt set with CWE labels (CyberSecEval): the insecure-code rate per labelled CWE.
  const labelRows = runs.flatMap((r) => (s(r).security?.by_prompt_cwe ?? []).map((c) => [
    r.label, `CWE-${c.cwe}`, String(c.prompts), String(c.compiled), pctCi(c.insecure_pct, c.insecure_pct_ci), pctCi(c.flagged_pct, c.flagged_pct_ci), pctCi(c.same_cwe_pct, c.same_cwe_pct_ci),
  ]));
  if (labelRows.length) {
    tables.push({
      id: 'insecure-by-cwe',
      title: 'Insecure-code rate by the CWE each prompt elicits',
      note: 'Over samples that compile. Insecure: some MEDIUM or HIGH finding; any: a finding of any severity; its own CWE: a finding of the prompt\'s weakness (see docs/security.md).',
      headers: ['Model', 'Prompt CWE', 'Prompts', 'Compiling samples', 'Insecure %', 'Any finding %', 'Its own CWE %'],
      rows: labelRows,
    });
  }
  tables.push({
    id: 'runs',
    title: 'Runs',
    headers: ['Model', 'Data', 'Prompts', 'Samples/prompt', 'Backend', 'Template', 'Seed', 'Status', 'Folder'],
    rows: runs.map((r) => {
      const backend = (r.config.backend ?? {}) as Record<string, unknown>;
      const what = backend.kind === 'openai' ? `${backend.api} ${backend.model} @ ${backend.endpoint} (T=${backend.temperature})` : backend.kind === 'completions-file' ? `file ${backend.path}` : String(backend.kind ?? '?');
      return [r.label, String((r.config.data as { spec?: string } | undefined)?.spec ?? s(r).data), String(s(r).n), String(s(r).samples_per_prompt), what, String(r.config.template ?? '?'), String(r.config.seed ?? '?'), s(r).status + (s(r).error ? `: ${s(r).error}` : ''), r.dir];
    }),
  });
  return tables;
}
