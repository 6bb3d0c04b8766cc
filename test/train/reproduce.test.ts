// The Table 3 rows: each column's value from the breakdowns (computed by hand here), bootstrap intervals
// that contain the value, and paired differences against the first model (SFT).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RewardBreakdown } from '../../src/reward/scorer.js';
import { tableMarkdown, tableRows } from '../../src/train/reproduce.js';

function b(stage: 0 | 1 | 2 | 3 | 4, passed: number, total: number, reward: number, high = false): RewardBreakdown {
  return {
    problemId: 'p', reward, rFunc: 0, rSec: 1, rLint: null, stage, syntaxOk: stage > 0, testsPassed: passed, testsTotal: total, verdicts: [],
    findings: high ? [{ rule: 'S602', banditId: 'B602', severity: 'HIGH', cwe: 78, line: 1, message: 'shell', confidence: 'HIGH' } as never] : [],
    lintCount: null, program: '', extraction: 'whole', tests: [],
  };
}

describe('reproduce table', () => {
  it('computes each column and the paired difference against SFT', () => {
    const sft = [b(0, 0, 2, 0), b(1, 0, 2, 0.52), b(3, 0, 2, 0.76), b(4, 2, 2, 1)];
    const ppo = [b(1, 0, 2, 0.52), b(2, 0, 2, 0.64, true), b(4, 1, 2, 0.48), b(4, 2, 2, 1)];
    const [r0, r1] = tableRows([{ name: 'SFT', breakdowns: sft }, { name: 'PPO', breakdowns: ppo }], 1);
    // SFT: syntax 3/4, runs (stage ≥ 2) 2/4, prints (≥ 3) 2/4, ≥1 pass 1/4, all pass 1/4, sec-clean 3/4, mean R 2.28/4.
    assert.deepEqual(['syntax', 'runs', 'prints', 'pass1', 'allpass', 'secclean'].map((k) => r0.values[k].value), [75, 50, 50, 25, 25, 75]);
    assert.ok(Math.abs(r0.values.mean_r.value - 0.57) < 1e-12);
    assert.equal(r0.values.syntax.vsSft, null);
    // PPO: syntax 4/4, runs 3/4, prints 2/4, ≥1 pass 2/4, all pass 1/4, sec-clean 3/4 (one HIGH finding).
    assert.deepEqual(['syntax', 'runs', 'prints', 'pass1', 'allpass', 'secclean'].map((k) => r1.values[k].value), [100, 75, 50, 50, 25, 75]);
    assert.equal(r1.values.syntax.vsSft!.diff, 25);
    assert.equal(r1.values.allpass.vsSft!.diff, 0);
    for (const row of [r0, r1]) for (const v of Object.values(row.values)) assert.ok(v.ci[0] <= v.value + 1e-9 && v.value <= v.ci[1] + 1e-9);
    const md = tableMarkdown([r0, r1], 'note');
    assert.match(md, /\| PPO \| 100\.0 \[100\.0, 100\.0\]<br>Δ \+25\.0 \[/);
  });
});

describe('self-correction table', () => {
  it('Acc@t1, Acc@t2, their paired gain, Δi→c and Δc→i from two turns', async () => {
    const { correctionRow, correctionMarkdown } = await import('../../src/train/reproduce-trainers.js');
    // Problems: wrong → solved, solved → solved, solved → wrong, wrong → wrong, wrong → solved.
    const t1 = [b(1, 0, 3, 0), b(4, 3, 3, 1), b(4, 3, 3, 1), b(3, 0, 3, 0.6), b(4, 1, 3, 0.7)];
    const t2 = [b(4, 3, 3, 1), b(4, 3, 3, 1), b(4, 2, 3, 0.9), b(3, 0, 3, 0.6), b(4, 3, 3, 1)];
    const r = correctionRow('RLOO', [t1, t2], 1);
    assert.equal(r.acc_t1.value, 0.4);
    assert.equal(r.acc_t2.value, 0.6);
    assert.ok(Math.abs(r.gain.diff - 0.2) < 1e-12);
    assert.ok(r.gain.ci[0] <= r.gain.diff && r.gain.diff <= r.gain.ci[1]);
    assert.equal(r.delta_i_to_c, 0.4);
    assert.equal(r.delta_c_to_i, 0.2);
    for (const a of [r.acc_t1, r.acc_t2]) assert.ok(a.ci[0] <= a.value && a.value <= a.ci[1]);
    assert.equal(r.t2VsSft, null);
    assert.match(correctionMarkdown([r]), /\| RLOO \| 40\.0 \[[\d.]+, [\d.]+\] \| 60\.0 \[[\d.]+, [\d.]+\] \| \+20\.0 \[[-\d.]+, [\d.]+\], p [\d.]+ \| 40\.0 \| 20\.0 \|  \|/);
    // Paired with an SFT model that solved only problem 2 at turn 2: 3/5 against 1/5.
    const sft2 = [b(1, 0, 3, 0), b(4, 3, 3, 1), b(1, 0, 3, 0), b(1, 0, 3, 0), b(1, 0, 3, 0)];
    const paired = correctionRow('RLOO', [t1, t2], 1, [sft2, sft2]);
    assert.ok(Math.abs(paired.t2VsSft!.diff - 0.4) < 1e-12);
    assert.match(correctionMarkdown([paired]), /\| \+40\.0 \[[-\d.]+, [\d.]+\] \|$/m);
  });
});
