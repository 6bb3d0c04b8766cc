import type { Interval } from './bootstrap.js';
import type { RunSummary } from './run.js';
import { FAILURE_KINDS } from './metrics.js';

const pct = (v: number | null, ci: Interval | null) => (v === null ? 'n/a' : `${v.toFixed(1)}%  [${ci ? `${ci[0].toFixed(1)}, ${ci[1].toFixed(1)}` : '-'}]`);
const num = (v: number | null, ci: Interval | null) => (v === null ? 'n/a' : `${v.toFixed(3)}   [${ci ? `${ci[0].toFixed(3)}, ${ci[1].toFixed(3)}` : '-'}]`);

/** A run's summary for a terminal, each rate with its 95% interval. */
export function formatRunSummary(s: RunSummary): string {
  const lines = [
    `${s.label} on ${s.data}: ${s.n} prompts x ${s.samples_per_prompt} = ${s.samples} samples${s.status === 'partial' ? `  (PARTIAL: ${s.planned_samples} planned)` : ''}`,
    `  Syn%          ${pct(s.syn_pct, s.syn_pct_ci)}`,
    `  >=1-P%        ${pct(s.pass1_pct, s.pass1_pct_ci)}`,
    `  All-P%        ${pct(s.allpass_pct, s.allpass_pct_ci)}`,
    `  Sec-clean%    ${pct(s.secclean_pct, s.secclean_pct_ci)}`,
    `  mean R        ${num(s.mean_r, s.mean_r_ci)}`,
    `  mean R_func   ${num(s.mean_r_func, s.mean_r_func_ci)}`,
    `  mean R_sec    ${s.mean_r_sec === null ? 'off' : num(s.mean_r_sec, s.mean_r_sec_ci)}`,
    `  stages 0..4   ${s.stages.pct.map((p, i) => `${i}: ${p.toFixed(1)}%`).join('  ')}`,
    `  failures      ${s.failures.samples === 0 ? 'none' : FAILURE_KINDS.map((k) => `${k} ${(s.failures.pct[k] ?? 0).toFixed(1)}%`).join('  ')}${s.failures.syntax_errors ? `  (+${s.failures.syntax_errors} syntax errors)` : ''}`,
  ];
  const ks = Object.entries(s.pass_at_k);
  if (s.samples_per_prompt > 1 && ks.length) lines.push(`  pass@k        ${ks.map(([k, v]) => `@${k} ${v.pct === null ? 'n/a' : `${v.pct.toFixed(1)}%`}`).join('  ')}`);
  if (s.best_of_k) lines.push(`  best-of-${s.best_of_k.k}     All-P ${pct(s.best_of_k.allpass_pct, s.best_of_k.allpass_pct_ci)}  (by the first ${s.best_of_k.visible_tests} test${s.best_of_k.visible_tests === 1 ? '' : 's'}; oracle ${s.best_of_k.oracle_allpass_pct ?? 'n/a'}%)`);
  lines.push(`  length        mean ${s.length.mean_chars.toFixed(0)} chars, median ${s.length.median_chars.toFixed(0)}${s.length.mean_tokens === null ? '' : `, mean ${s.length.mean_tokens.toFixed(0)} tokens`}`);
  if (s.self_correction) {
    const c = s.self_correction, T = Object.keys(c).filter((k) => k.startsWith('acc_t')).length;
    const p = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${(100 * v).toFixed(1)}%`);
    lines.push(`  self-correct  ${Array.from({ length: T }, (_, t) => `Acc@t${t + 1} ${p(c[`acc_t${t + 1}`])}`).join('  ')}  Δi→c ${p(c.delta_i_to_c)}  Δc→i ${p(c.delta_c_to_i)}  passing tests kept ${p(c.kept_pass_share)}`);
  }
  const sec = s.security;
  if (sec && sec.compiled > 0) {
    lines.push(`  insecure%     ${pct(sec.insecure_pct, sec.insecure_pct_ci)}  (MEDIUM/HIGH finding, of ${sec.compiled} compiling samples; any finding ${pct(sec.flagged_pct, sec.flagged_pct_ci)})`);
    for (const c of sec.by_prompt_cwe ?? []) {
      lines.push(`    CWE-${String(c.cwe).padEnd(4)} ${String(c.prompts).padStart(4)} prompts  insecure ${pct(c.insecure_pct, c.insecure_pct_ci)}  any ${pct(c.flagged_pct, c.flagged_pct_ci)}  its own CWE ${pct(c.same_cwe_pct, c.same_cwe_pct_ci)}`);
    }
  }
  if (s.findings.total) lines.push(`  findings      ${s.findings.by_rule.map((r) => `${r.bandit_id || r.rule} (${r.severity}, CWE-${r.cwe ?? '?'}) ${r.count}`).join(', ')}`);
  return lines.join('\n');
}
