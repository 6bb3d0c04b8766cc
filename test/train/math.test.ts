// The trainers' math: advantages, schedules and KL controllers against hand-worked numbers; the graph
// losses on real ONNX Runtime against hand values, with garbage in masked positions; their gradients against
// float64 central differences; and losses and gradients against PyTorch autograd (float64).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { checkGradients, compile, gradients, Graph, type Feed, type Tensor } from '../../src/engine/index.js';
import {
  accumulatedReward, gae, groupAdvantages, klPerToken, leaveOneOutAdvantages, ppoTokenRewards, whiten,
} from '../../src/train/advantages.js';
import { clippedValueLoss, grpoPolicyLoss, klPenaltyLoss, maskedMean, maskedSum, ppoPolicyLoss, type GrpoLossOptions } from '../../src/train/losses.js';
import {
  AdaptiveKl, FixedKl, klControllerFromState, linearWarmupLr, parseRewardSchedule, scheduleWeights, type RewardSchedule,
} from '../../src/train/schedule.js';
import { rng } from '../engine/helpers.js';

const SESSION = { optimization: 'basic', denormalAsZero: false, threads: 1 } as const;

function close(actual: ArrayLike<number> | number, expected: ArrayLike<number> | number, tol: number, what: string): void {
  const a = typeof actual === 'number' ? [actual] : Array.from(actual);
  const e = typeof expected === 'number' ? [expected] : Array.from(expected);
  assert.equal(a.length, e.length, `${what}: length ${a.length} vs ${e.length}`);
  a.forEach((x, i) => assert.ok(Math.abs(x - e[i]) <= tol, `${what}[${i}]: ${x} vs ${e[i]} (tol ${tol})`));
}

describe('advantages', () => {
  it('GAE over 3 tokens with γ 1, λ 0.95, and 2 tokens with γ 0.9, λ 0.5', () => {
    // r = [0, 0, 1], V = [0.5, 0.4, 0.2], V after the end 0:
    // δ2 = 1 − 0.2 = 0.8;          A2 = 0.8
    // δ1 = 0 + 0.2 − 0.4 = −0.2;   A1 = −0.2 + 0.95·0.8 = 0.56
    // δ0 = 0 + 0.4 − 0.5 = −0.1;   A0 = −0.1 + 0.95·0.56 = 0.432;  returns = A + V = [0.932, 0.96, 1]
    const a = gae([0, 0, 1], [0.5, 0.4, 0.2], 1, 0.95);
    close(a.advantages, [0.432, 0.56, 0.8], 1e-12, 'A');
    close(a.returns, [0.932, 0.96, 1], 1e-12, 'returns');
    // r = [1, 2], V = [0.5, 1]: δ1 = 2 − 1 = 1, A1 = 1; δ0 = 1 + 0.9·1 − 0.5 = 1.4, A0 = 1.4 + 0.45·1 = 1.85
    const b = gae([1, 2], [0.5, 1], 0.9, 0.5);
    close(b.advantages, [1.85, 1], 1e-12, 'A');
    close(b.returns, [2.35, 2], 1e-12, 'returns');
    assert.equal(gae([], [], 1, 0.95).advantages.length, 0);
    assert.throws(() => gae([1], [1, 2], 1, 1), /lengths differ/);
    assert.throws(() => gae([NaN], [1], 1, 1), /rewards\[0\] is NaN/);
  });

  it('whitens across ragged sequences with the unbiased variance', () => {
    // [1, 2], [3], [6]: n 4, mean 3, deviations −2, −1, 0, 3, Σ² = 14, var = 14/3
    const s = Math.sqrt(14 / 3 + 1e-8);
    const w = whiten([[1, 2], [3], [6]]);
    close(w[0], [-2 / s, -1 / s], 1e-12, 'w0');
    close(w[1], [0], 1e-12, 'w1');
    close(w[2], [3 / s], 1e-12, 'w2');
    const u = whiten([[1, 2], [3], [6]], { shiftMean: false }); // + mean 3
    close(u[0], [-2 / s + 3, -1 / s + 3], 1e-12, 'u0');
    close(u[2], [3 / s + 3], 1e-12, 'u2');
    // [], [2, 4]: mean 3, var (1 + 1)/1 = 2
    const e = whiten([[], [2, 4]]);
    assert.equal(e[0].length, 0);
    close(e[1], [-1 / Math.sqrt(2 + 1e-8), 1 / Math.sqrt(2 + 1e-8)], 1e-12, 'e1');
    // One element has no variance: 0, or itself without the shift.
    close(whiten([[5]])[0], [0], 0, 'one');
    close(whiten([[], [5]], { shiftMean: false })[1], [5], 0, 'one unshifted');
    assert.deepEqual(whiten([]), []);
    assert.throws(() => whiten([[1, Infinity]]), /seqs\[0\]\[1\] is Infinity/);
  });

  it('the three KL estimators and PPO token rewards', () => {
    // logp − ref = d = [0.5, −1]
    const logp = [-1, -2], ref = [-1.5, -1];
    close(klPerToken(logp, ref, 'k1'), [0.5, -1], 1e-15, 'k1');
    close(klPerToken(logp, ref, 'k2'), [0.125, 0.5], 1e-15, 'k2'); // ½d²
    // exp(−d) − 1 + d: e^−0.5 − 0.5 = 0.1065306597…, e − 2 = 0.7182818284…
    close(klPerToken(logp, ref, 'k3'), [0.10653065971263342, 0.7182818284590451], 1e-15, 'k3');
    // score 2, β 0.1, k1: rewards = [−0.1·0.5, −0.1·(−1) + 2] = [−0.05, 2.1]
    const p = ppoTokenRewards(2, logp, ref, 0.1, 'k1');
    close(p.rewards, [-0.05, 2.1], 1e-15, 'rewards');
    close(p.kl, [0.5, -1], 0, 'kl');
    const q = ppoTokenRewards(2, [], [], 0.1, 'k3');
    assert.equal(q.rewards.length, 0);
    assert.equal(q.kl.length, 0);
    assert.throws(() => klPerToken([0], [0], 'k4' as 'k1'), /unknown estimator "k4"/);
  });

  it('group advantages (GRPO) scaled by the group, the batch, or not at all', () => {
    const r = [1, 0, 0, 0, 1, 1]; // groups [1, 0, 0] (mean 1/3) and [0, 1, 1] (mean 2/3)
    // group std (unbiased): sqrt(((2/3)² + 2·(1/3)²)/2) = sqrt(1/3), the same for both groups
    const sg = Math.sqrt(1 / 3) + 1e-4;
    const centred = [2 / 3, -1 / 3, -1 / 3, -2 / 3, 1 / 3, 1 / 3];
    close(groupAdvantages(r, 3, 'group'), centred.map((x) => x / sg), 1e-12, 'group');
    // batch: mean 0.5, Σ(r − 0.5)² = 6·0.25 = 1.5, var 1.5/5 = 0.3
    close(groupAdvantages(r, 3, 'batch'), centred.map((x) => x / (Math.sqrt(0.3) + 1e-4)), 1e-12, 'batch');
    close(groupAdvantages(r, 3, 'none'), centred, 1e-12, 'none');
    close(groupAdvantages([0.4, 0.4], 2, 'group'), [0, 0], 0, 'equal rewards'); // 0/(0 + 1e-4)
    assert.throws(() => groupAdvantages([1, 2, 3], 2, 'group'), /3 rewards are not a whole number of groups of 2/);
    assert.throws(() => groupAdvantages([1], 1, 'group'), /groupSize must be an integer ≥ 2/);
    assert.throws(() => groupAdvantages([1, NaN], 2, 'none'), /rewards\[1\] is NaN/);
  });

  it('leave-one-out advantages (RLOO)', () => {
    // group [1, 0, 0]: 1 − (0+0)/2 = 1, 0 − (1+0)/2 = −0.5 (twice); group [0, 1, 1]: 0 − 1 = −1, 1 − 0.5 = 0.5
    close(leaveOneOutAdvantages([1, 0, 0, 0, 1, 1], 3), [1, -0.5, -0.5, -1, 0.5, 0.5], 1e-15, 'k3');
    close(leaveOneOutAdvantages([3, 1], 2), [2, -2], 0, 'k2'); // 3 − 1, 1 − 3
    assert.throws(() => leaveOneOutAdvantages([1, 2], 1), /k must be an integer ≥ 2/);
    assert.throws(() => leaveOneOutAdvantages([1, 2, 3], 2), /not a whole number of groups/);
  });

  it('accumulated multi-turn reward (COCOS)', () => {
    // T=2, γ 0.9: 0.9·0.2 + (0.6 − 0.2) = 0.18 + 0.4 = 0.58
    close(accumulatedReward([0.2, 0.6], 0.9), 0.58, 1e-15, 'T2');
    // T=3, γ 0.5: 0.25·0.2 + 0.5·(0.6 − 0.2) + (1 − 0.6) = 0.05 + 0.2 + 0.4 = 0.65
    close(accumulatedReward([0.2, 0.6, 1], 0.5), 0.65, 1e-15, 'T3');
    close(accumulatedReward([0.7], 0.5), 0.7, 0, 'T1');
    close(accumulatedReward([0.2, 0.9, 0.4], 1), 0.4, 1e-15, 'γ 1 telescopes to r_T');
    assert.throws(() => accumulatedReward([], 1), /at least one turn/);
    assert.throws(() => accumulatedReward([1], 1.5), /gamma must be in \[0, 1\]/);
  });
});

describe('schedule', () => {
  const where = 'config.json: reward.schedule';
  it('parses reward schedules and names the bad field', () => {
    assert.deepEqual(parseRewardSchedule('binary', where), { kind: 'constant', mode: 'binary' });
    assert.deepEqual(parseRewardSchedule({ kind: 'switch', from: 'binary', to: 'partial', atEpisode: 100 }, where),
      { kind: 'switch', from: 'binary', to: 'partial', atEpisode: 100 });
    assert.deepEqual(parseRewardSchedule({ kind: 'blend', from: 'partial', to: 'binary', startEpisode: 0, endEpisode: 50 }, where),
      { kind: 'blend', from: 'partial', to: 'binary', startEpisode: 0, endEpisode: 50 });
    const bad: [unknown, string][] = [
      [{ kind: 'switch', from: 'binary', to: 'partial', atEpisode: 'x' }, 'config.json: reward.schedule.atEpisode: expected a non-negative integer, got "x"'],
      [{ kind: 'switch', from: 'binary', to: 'partial', atEpisode: -1 }, 'config.json: reward.schedule.atEpisode: expected a non-negative integer, got -1'],
      [{ kind: 'switch', from: 'binary', to: 'partial' }, 'config.json: reward.schedule.atEpisode: expected a non-negative integer, got nothing'],
      [{ kind: 'constant', mode: 'exact' }, 'config.json: reward.schedule.mode: expected one of partial, binary, additive, got "exact"'],
      [{ kind: 'ramp' }, 'config.json: reward.schedule.kind: expected one of constant, switch, blend, got "ramp"'],
      [{ kind: 'constant', mode: 'binary', at: 3 }, 'config.json: reward.schedule.at: unknown field for kind constant (expected mode)'],
      [{ kind: 'blend', from: 'binary', to: 'partial', startEpisode: 5, endEpisode: 5 }, 'config.json: reward.schedule.endEpisode: expected an integer greater than startEpisode (5), got 5'],
      [42, 'config.json: reward.schedule: expected a reward mode (partial, binary, additive) or an object with kind constant, switch or blend, got 42'],
    ];
    for (const [json, msg] of bad) assert.throws(() => parseRewardSchedule(json, where), { message: msg });
  });

  it('weights at the boundaries of switch and blend', () => {
    const sw: RewardSchedule = { kind: 'switch', from: 'binary', to: 'partial', atEpisode: 10 };
    assert.deepEqual(scheduleWeights(sw, 9), [{ mode: 'binary', weight: 1 }]);
    assert.deepEqual(scheduleWeights(sw, 10), [{ mode: 'partial', weight: 1 }]);
    const bl: RewardSchedule = { kind: 'blend', from: 'binary', to: 'partial', startEpisode: 10, endEpisode: 20 };
    assert.deepEqual(scheduleWeights(bl, 0), [{ mode: 'binary', weight: 1 }]); // clamped before the start
    assert.deepEqual(scheduleWeights(bl, 10), [{ mode: 'binary', weight: 1 }]);
    assert.deepEqual(scheduleWeights(bl, 15), [{ mode: 'binary', weight: 0.5 }, { mode: 'partial', weight: 0.5 }]);
    const w12 = scheduleWeights(bl, 12); // t = (12 − 10)/10 = 0.2
    assert.equal(w12.length, 2);
    close(w12.map((w) => w.weight), [0.8, 0.2], 1e-15, 'blend at 12');
    assert.deepEqual(scheduleWeights(bl, 20), [{ mode: 'partial', weight: 1 }]);
    assert.deepEqual(scheduleWeights(bl, 25), [{ mode: 'partial', weight: 1 }]);
    assert.deepEqual(scheduleWeights({ kind: 'blend', from: 'binary', to: 'binary', startEpisode: 0, endEpisode: 2 }, 1), [{ mode: 'binary', weight: 1 }]);
    assert.deepEqual(scheduleWeights({ kind: 'constant', mode: 'additive' }, 7), [{ mode: 'additive', weight: 1 }]);
    assert.throws(() => scheduleWeights(sw, -1), /episode must be a number ≥ 0/);
  });

  it('KL controllers: fixed, adaptive over a few updates, and an exact resume from state', () => {
    const f = new FixedKl(0.05);
    f.update();
    assert.equal(f.value, 0.05);
    assert.deepEqual(f.state(), { kind: 'fixed', value: 0.05 });
    const a = new AdaptiveKl(0.2, 6, 10000);
    a.update(9, 100); // err = clip(9/6 − 1 = 0.5) = 0.2; ×(1 + 0.2·100/10000) = ×1.002 → 0.2004
    close(a.value, 0.2004, 1e-16, 'after 1');
    a.update(3, 100); // err = clip(3/6 − 1 = −0.5) = −0.2; ×0.998 → 0.1999992
    close(a.value, 0.1999992, 1e-16, 'after 2');
    const saved = JSON.parse(JSON.stringify(a.state()));
    a.update(6.6, 1000); // err = 6.6/6 − 1 = 0.1; ×(1 + 0.1·1000/10000) = ×1.01 → 0.201999192
    close(a.value, 0.201999192, 1e-15, 'after 3');
    const b = klControllerFromState(saved);
    assert.ok(b instanceof AdaptiveKl);
    b.update(6.6, 1000);
    assert.equal(b.value, a.value); // bit for bit
    assert.deepEqual(b.state(), a.state());
    assert.equal(klControllerFromState({ kind: 'fixed', value: 0.1 }).value, 0.1);
    assert.throws(() => klControllerFromState({ kind: 'pid', value: 1 } as never), /unknown controller state/);
    assert.throws(() => new AdaptiveKl(0.1, 0, 1), /target must be a finite number > 0/);
  });

  it('learning rate: linear warmup from 0, then constant, linear or cosine decay to 0 at total', () => {
    const lr = (step: number, kind: 'constant' | 'linear' | 'cosine') => linearWarmupLr(1e-3, step, 10, 110, kind);
    for (const k of ['constant', 'linear', 'cosine'] as const) {
      assert.equal(lr(0, k), 0);
      close(lr(5, k), 5e-4, 1e-18, `${k} warmup`); // 1e-3·5/10
      close(lr(10, k), 1e-3, 1e-18, `${k} peak`);
    }
    close(lr(35, 'linear'), 7.5e-4, 1e-18, 'linear'); // progress (35 − 10)/100 = 0.25 → 1 − 0.25
    close(lr(35, 'cosine'), 1e-3 * 0.5 * (1 + Math.SQRT1_2), 1e-18, 'cosine'); // ½(1 + cos(π/4))
    close(lr(60, 'linear'), 5e-4, 1e-18, 'linear half');
    close(lr(60, 'cosine'), 5e-4, 1e-18, 'cosine half'); // ½(1 + cos(π/2))
    assert.equal(lr(110, 'linear'), 0);
    assert.equal(lr(110, 'cosine'), 0);
    assert.equal(lr(200, 'cosine'), 0);
    assert.equal(lr(200, 'constant'), 1e-3);
    assert.equal(linearWarmupLr(1e-3, 0, 0, 10, 'linear'), 1e-3);
    assert.throws(() => linearWarmupLr(1e-3, 0, 10, 5, 'linear'), /total must be an integer ≥ warmup/);
    assert.throws(() => linearWarmupLr(1e-3, 0, 10, 50, 'step' as 'linear'), /unknown kind "step"/);
  });
});

// ---- graph losses ---------------------------------------------------------------------------------

type DT = 'float32' | 'float64';
const arr = (dt: DT, xs: readonly number[]) => (dt === 'float32' ? Float32Array.from(xs) : Float64Array.from(xs));

/** Builds a graph with [b, s] inputs named in `names` (and [b] ones in `seqNames`), outputs `build`'s scalars. */
async function evalLoss(dt: DT, shape: [number, number], names: string[], build: (x: Record<string, Tensor>) => Record<string, Tensor>,
  data: Record<string, readonly number[]>, seqNames: string[] = [], gradOf?: [string, string]): Promise<Record<string, number[]>> {
  const g = new Graph({ name: 'loss' });
  const x: Record<string, Tensor> = {};
  for (const n of names) x[n] = g.input(n, dt, shape);
  for (const n of seqNames) x[n] = g.input(n, dt, [shape[0]]);
  const outs = build(x);
  for (const [k, t] of Object.entries(outs)) g.output(k, t);
  if (gradOf) g.output('grad', gradients(outs[gradOf[0]], [x[gradOf[1]]])[0]);
  const feeds: Record<string, Feed> = {};
  for (const n of [...names, ...seqNames]) feeds[n] = arr(dt, data[n]);
  const names2 = [...Object.keys(outs), ...(gradOf ? ['grad'] : [])];
  const res = await (await compile(g, names2, SESSION)).run(feeds);
  return Object.fromEntries(names2.map((k) => [k, Array.from(res[k].data as Float64Array)]));
}

// PPO example, ε 0.2, mask [[1, 1, 0], [0, 1, 1]] (left and right padding), oldLogp −1 on response tokens:
//   (0,0) ratio 1.5, A  1: max(−1.5, −1.2) = −1.2   |ratio − 1| > ε
//   (0,1) ratio 0.9, A −2: max( 1.8,  1.8) =  1.8
//   (1,1) ratio 0.5, A −1: max( 0.5,  0.8) =  0.8   |ratio − 1| > ε
//   (1,2) ratio 1.1, A  3: max(−3.3, −3.3) = −3.3
//   loss = (−1.2 + 1.8 + 0.8 − 3.3)/4 = −0.475, clipFrac 2/4, ratioMean (1.5 + 0.9 + 0.5 + 1.1)/4 = 1,
//   approxKl = ½·(ln²1.5 + ln²0.9 + ln²0.5 + ln²1.1)/4
const ppoMask = [1, 1, 0, 0, 1, 1];
const ppoData = (garbage: [number, number, number, number, number, number]) => ({
  logp: [-1 + Math.log(1.5), -1 + Math.log(0.9), garbage[0], garbage[1], -1 + Math.log(0.5), -1 + Math.log(1.1)],
  oldLogp: [-1, -1, garbage[2], garbage[3], -1, -1],
  adv: [1, -2, garbage[4], garbage[5], -1, 3],
  mask: ppoMask,
});
const ppoExpected = {
  loss: -0.475, clipFrac: 0.5, ratioMean: 1,
  approxKl: 0.5 * (Math.log(1.5) ** 2 + Math.log(0.9) ** 2 + Math.log(0.5) ** 2 + Math.log(1.1) ** 2) / 4,
};

describe('graph losses against hand values', () => {
  for (const dt of ['float32', 'float64'] as const) {
    const tol = dt === 'float32' ? 2e-6 : 1e-12;
    it(`maskedSum and maskedMean (${dt}), with an all-masked batch giving 0`, async () => {
      // x = [[1, 2, −1e9], [NaN, 4, 8]], mask [[1, 1, 0], [0, 1, 1]]: Σ = 15, mean 15/4
      const r = await evalLoss(dt, [2, 3], ['x', 'mask'], ({ x, mask }) => ({ s: maskedSum(x, mask), m: maskedMean(x, mask) }),
        { x: [1, 2, -1e9, NaN, 4, 8], mask: ppoMask });
      close(r.s, 15, tol, 's');
      close(r.m, 3.75, tol, 'm');
      const z = await evalLoss(dt, [2, 3], ['x', 'mask'], ({ x, mask }) => ({ m: maskedMean(x, mask) }),
        { x: [1, 2, 3, NaN, -Infinity, Infinity], mask: [0, 0, 0, 0, 0, 0] });
      close(z.m, 0, 0, 'all masked');
    });

    it(`ppoPolicyLoss (${dt}); garbage in masked positions changes nothing`, async () => {
      const build = ({ logp, oldLogp, adv, mask }: Record<string, Tensor>) => ({ ...ppoPolicyLoss(logp, oldLogp, adv, mask, 0.2) });
      const garbages: [number, number, number, number, number, number][] = [
        [0, 0, 0, 0, 0, 0], [-1e9, NaN, 5, -1e9, 1e9, Infinity], [Infinity, -Infinity, NaN, 1e30, NaN, -1e9],
      ];
      let grad0: number[] | undefined;
      for (const gb of garbages) {
        const r = await evalLoss(dt, [2, 3], ['logp', 'oldLogp', 'adv', 'mask'], build, ppoData(gb), [], ['loss', 'logp']);
        for (const k of ['loss', 'clipFrac', 'approxKl', 'ratioMean'] as const) close(r[k], ppoExpected[k], tol, `${k} with garbage ${gb}`);
        // d loss/d logp: unclipped tokens −A·ratio/4, clipped and masked ones 0.
        close(r.grad, [0, 2 * 0.9 / 4, 0, 0, 0, -3 * 1.1 / 4], tol, `grad with garbage ${gb}`);
        grad0 ??= r.grad;
        assert.deepEqual(r.grad, grad0);
      }
    });

    it(`clippedValueLoss (${dt})`, async () => {
      // ε 0.2, mask [[1, 1, 0], [0, 1, 1]]:
      //   (0,0) V 1,    old 0.5, R 0:    Vc 0.7,  (V−R)² 1,    (Vc−R)² 0.49 → 1
      //   (0,1) V 1,    old 0.5, R 2:    Vc 0.7,  1,           1.69         → 1.69 (clipped larger)
      //   (1,1) V 0.55, old 0.5, R 0.25: Vc 0.55, 0.09,        0.09         → 0.09
      //   (1,2) V −0.5, old 0,   R −1:   Vc −0.2, 0.25,        0.64         → 0.64 (clipped larger)
      //   loss = ½·(1 + 1.69 + 0.09 + 0.64)/4 = 0.4275, clipFrac 2/4
      const r = await evalLoss(dt, [2, 3], ['v', 'old', 'ret', 'mask'], ({ v, old, ret, mask }) => clippedValueLoss(v, old, ret, mask, 0.2), {
        v: [1, 1, NaN, -1e9, 0.55, -0.5], old: [0.5, 0.5, 1e9, Infinity, 0.5, 0], ret: [0, 2, -Infinity, NaN, 0.25, -1], mask: ppoMask,
      }, [], ['loss', 'v']);
      close(r.loss, 0.4275, tol, 'loss');
      close(r.clipFrac, 0.5, tol, 'clipFrac');
      // d/dV: unclipped-larger tokens (V − R)/4: (0,0) 1/4; the clipped ones 0 (Vc does not move with V); (1,1) a tie: 0.3/4
      close(r.grad, [0.25, 0, 0, 0, 0.075, 0], tol, 'grad');
    });

    it(`klPenaltyLoss k1, k2, k3 (${dt})`, async () => {
      // d = logp − ref on the response tokens = [0.5, −1, 2]
      //   k1: (0.5 − 1 + 2)/3 = 0.5;  k2: (0.125 + 0.5 + 2)/3 = 0.875
      //   k3: ((e^−0.5 − 0.5) + (e − 2) + (e^−2 + 1))/3
      const data = { logp: [-1, -2, -1e9, 0], ref: [-1.5, -1, 7, -2], mask: [1, 1, 0, 1] };
      const expected = { k1: 0.5, k2: 0.875, k3: (Math.exp(-0.5) - 0.5 + Math.E - 2 + Math.exp(-2) + 1) / 3 };
      for (const kind of ['k1', 'k2', 'k3'] as const) {
        const r = await evalLoss(dt, [2, 2], ['logp', 'ref', 'mask'], ({ logp, ref, mask }) => ({ kl: klPenaltyLoss(logp, ref, mask, kind) }), data);
        close(r.kl, expected[kind], tol, kind);
        // the same as the JS estimator's mean over the response tokens
        const js = klPerToken([-1, -2, 0], [-1.5, -1, -2], kind);
        close(r.kl, js.reduce((s, v) => s + v, 0) / 3, tol, `${kind} vs klPerToken`);
      }
    });

    it(`grpoPolicyLoss, token and sequence level, each loss type (${dt})`, async () => {
      // mask [[1, 1, 0], [1, 1, 1]], A = [1, −1], clip [0.8, 1.28], oldLogp −2 on response tokens.
      // Token level:
      //   row 0 (A 1):  ratio 1.5 → −min(1.5, 1.28) = −1.28 (high-clipped); ratio 0.5 → −min(0.5, 0.8) = −0.5
      //   row 1 (A −1): ratio 0.5 → −min(−0.5, −0.8) = 0.8 (low-clipped); 1.5 → −min(−1.5, −1.28) = 1.5; 1 → 1
      //   grpo = ((−1.28 − 0.5)/2 + (0.8 + 1.5 + 1)/3)/2 = (−0.89 + 1.1)/2 = 0.105
      //   dapo = (−1.78 + 3.3)/5 = 0.304;  dr_grpo (L 4) = 1.52/(2·4) = 0.19;  clipFrac 2/5
      // Sequence level: r0 = exp((ln 1.5 + ln 0.5)/2) = √0.75, r1 = exp((ln 0.5 + ln 1.5 + 0)/3) = 0.75^(1/3),
      //   both inside the clip: per-token −√0.75 on row 0 (2 tokens), 0.75^(1/3) on row 1 (3 tokens)
      // With a k3 penalty (β 0.1, ref = oldLogp so d = ln ratio): k3(r) = 1/r − 1 + ln r, Σ over tokens
      //   2·k3(1.5) + 2·k3(0.5) + k3(1); dapo adds 0.1·Σ/5.
      const lr = [Math.log(1.5), Math.log(0.5), 0, Math.log(0.5), Math.log(1.5), 0];
      const data = { logp: lr.map((x, i) => (i === 2 ? -1e9 : -2 + x)), old: [-2, -2, NaN, -2, -2, -2], ref: [-2, -2, Infinity, -2, -2, -2], mask: [1, 1, 0, 1, 1, 1], adv: [1, -1] };
      const a = Math.sqrt(0.75), b = 0.75 ** (1 / 3);
      const k3 = (r: number) => 1 / r - 1 + Math.log(r);
      const klSum = 2 * k3(1.5) + 2 * k3(0.5) + k3(1);
      const cases: [Partial<GrpoLossOptions>, number, number][] = [
        [{ level: 'token', lossType: 'grpo' }, 0.105, 0.4],
        [{ level: 'token', lossType: 'dapo' }, 0.304, 0.4],
        [{ level: 'token', lossType: 'dr_grpo', maxCompletionLength: 4 }, 0.19, 0.4],
        [{ level: 'sequence', lossType: 'grpo' }, (-a + b) / 2, 0],
        [{ level: 'sequence', lossType: 'dapo' }, (-2 * a + 3 * b) / 5, 0],
        [{ level: 'sequence', lossType: 'dr_grpo', maxCompletionLength: 4 }, (-2 * a + 3 * b) / 8, 0],
        [{ level: 'token', lossType: 'dapo', kl: { beta: 0.1 } as GrpoLossOptions['kl'] }, 0.304 + 0.1 * klSum / 5, 0.4],
      ];
      for (const [o, loss, clipFrac] of cases) {
        const r = await evalLoss(dt, [2, 3], ['logp', 'old', 'ref', 'mask'], ({ logp, old, ref, mask, adv }) => {
          const res = grpoPolicyLoss({ logp, oldLogp: old, advantages: adv, mask, clipLow: 0.2, clipHigh: 0.28, level: 'token', lossType: 'grpo',
            ...o, kl: o.kl ? { refLogp: ref, beta: o.kl.beta } : undefined } as GrpoLossOptions);
          return { loss: res.loss, clipFrac: res.clipFrac, ...(res.kl ? { kl: res.kl } : {}) };
        }, data, ['adv']);
        close(r.loss, loss, tol, `loss ${JSON.stringify(o)}`);
        close(r.clipFrac, clipFrac, tol, `clipFrac ${JSON.stringify(o)}`);
        if (o.kl) close(r.kl, klSum / 5, tol, 'kl');
      }
      // dapo with the whole batch's token count given (micro-batching): 1.52/10
      const r = await evalLoss(dt, [2, 3], ['logp', 'old', 'mask'], ({ logp, old, mask, adv }) => {
        const g = logp.graph;
        return { loss: grpoPolicyLoss({ logp, oldLogp: old, advantages: adv, mask, clipLow: 0.2, clipHigh: 0.28, level: 'token', lossType: 'dapo', tokenCount: g.scalar(10, dt) }).loss };
      }, data, ['adv']);
      close(r.loss, 0.152, tol, 'tokenCount');
    });
  }

  it('refuses bad arguments with clear messages', () => {
    const g = new Graph();
    const x = g.input('x', 'float64', [2, 3]), m = g.input('m', 'float64', [2, 3]), m32 = g.input('m32', 'float32', [2, 3]);
    const adv = g.input('adv', 'float64', [2]);
    assert.throws(() => maskedMean(x, m32), /maskedMean: x is .* but mask is float32/);
    assert.throws(() => ppoPolicyLoss(x, x, x, m, -0.1), /clip must be a finite number ≥ 0/);
    assert.throws(() => grpoPolicyLoss({ logp: x, oldLogp: x, advantages: x, mask: m, clipLow: 0.2, clipHigh: 0.2, level: 'token', lossType: 'grpo' }), /advantages must be \[batch\]/);
    assert.throws(() => grpoPolicyLoss({ logp: x, oldLogp: x, advantages: adv, mask: m, clipLow: 0.2, clipHigh: 0.2, level: 'token', lossType: 'dr_grpo' }), /dr_grpo needs maxCompletionLength/);
    assert.throws(() => klPenaltyLoss(x, x, m, 'k5' as 'k1'), /unknown KL estimator "k5"/);
  });
});

// ---- gradients against central differences -------------------------------------------------------

/** Log-ratio values kept ≥ 0.02 away from the clip kinks ln(1 − ε), ln(1 + ε) for ε in {0.2, 0.28}. */
const RATIOS = [-0.5, -0.1, 0.05, 0.4, 0.1, -0.3, 0.15, -0.15, 0.3, 0.6, -0.05, 0.02];

describe('loss gradients against float64 central differences', () => {
  const shape = [3, 4];
  const mask = [1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1];
  const r = rng(11);
  const old = Array.from({ length: 12 }, () => -1 - r());
  const logp = old.map((o, i) => (mask[i] ? o + RATIOS[i] : -1e9));
  const adv = Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? -1 : 1) * (0.5 + r()));

  async function check(name: string, build: (x: Record<string, Tensor>) => Tensor, data: Record<string, number[]>, wrt: string, seq: Record<string, number[]> = {}) {
    const g = new Graph({ name });
    const x: Record<string, Tensor> = {};
    const feeds: Record<string, Feed> = {};
    for (const [k, v] of Object.entries(data)) { x[k] = g.input(k, 'float64', shape); feeds[k] = Float64Array.from(v); }
    for (const [k, v] of Object.entries(seq)) { x[k] = g.input(k, 'float64', [v.length]); feeds[k] = Float64Array.from(v); }
    const res = await checkGradients(g, build(x), [x[wrt]], feeds, { session: { threads: 1 } });
    const t = res.tensors[0];
    assert.ok(t.maxGrad > 0, `${name}: zero gradient`);
    assert.ok(t.relErr < 1e-7, `${name}: relative error ${t.relErr.toExponential(2)}`);
  }

  it('ppoPolicyLoss wrt logp', async () => {
    await check('ppo', ({ logp: l, old: o, adv: a, mask: m }) => ppoPolicyLoss(l, o, a, m, 0.2).loss, { logp, old, adv, mask }, 'logp');
  });

  it('clippedValueLoss wrt values', async () => {
    // V − V_old in ±{0.05, 0.1, 0.3, 0.5}: clipped and unclipped tokens, none near ±0.2
    const oldV = Array.from({ length: 12 }, () => r() * 2 - 1);
    const steps = [0.05, -0.3, 0.5, -0.1, 0.3, -0.05, 0.1, -0.5, 0.3, 0.05, -0.3, 0.1];
    const v = oldV.map((o, i) => o + steps[i]);
    const ret = Array.from({ length: 12 }, () => r() * 2 - 1);
    await check('value', ({ v: V, old: O, ret: R, mask: m }) => clippedValueLoss(V, O, R, m, 0.2).loss, { v, old: oldV, ret, mask }, 'v');
  });

  for (const level of ['token', 'sequence'] as const) {
    for (const lossType of ['grpo', 'dr_grpo', 'dapo'] as const) {
      it(`grpoPolicyLoss wrt logp (${level}, ${lossType}${level === 'token' && lossType === 'grpo' ? ', with a k3 penalty' : ''})`, async () => {
        const ref = old.map((o) => o - 0.2 + 0.4 * r());
        await check(`grpo-${level}-${lossType}`, ({ logp: l, old: o, ref: rf, mask: m, adv: a }) => grpoPolicyLoss({
          logp: l, oldLogp: o, advantages: a, mask: m, clipLow: 0.2, clipHigh: 0.28, level, lossType, maxCompletionLength: 6,
          kl: level === 'token' && lossType === 'grpo' ? { refLogp: rf, beta: 0.05 } : undefined,
        }).loss, { logp, old, ref, mask }, 'logp', { adv: [0.7, -1.3, 0.4] });
      });
    }
  }
});

// ---- PyTorch autograd ----------------------------------------------------------------------------

const TORCH_SCRIPT = String.raw`
import json, sys, torch
d = json.load(sys.stdin)
T = lambda k, g=False: torch.tensor(d[k], dtype=torch.float64).reshape(d['shape'][:1] if k == 'gadv' else d['shape']).requires_grad_(g)
mask = T('mask')
mmean = lambda x: (x * mask).sum() / mask.sum()
out = {}
def grad(loss, x):
    (g,) = torch.autograd.grad(loss, x)
    return g.flatten().tolist()
# PPO policy loss (TRL's PPOTrainer), clipFrac as |ratio - 1| > eps
eps = d['clip']
logp = T('logp', True); old = T('old'); adv = T('adv')
diff = logp - old; ratio = torch.exp(diff)
loss = mmean(torch.max(-adv * ratio, -adv * torch.clamp(ratio, 1 - eps, 1 + eps)))
out['ppo'] = dict(loss=loss.item(), clipFrac=mmean(((ratio - 1).abs() > eps).double()).item(),
                  approxKl=mmean(0.5 * diff ** 2).item(), ratioMean=mmean(ratio).item(), grad=grad(loss, logp))
# value loss
v = T('v', True); vold = T('vold'); ret = T('ret')
vc = torch.clamp(v, vold - eps, vold + eps)
l1 = (v - ret) ** 2; l2 = (vc - ret) ** 2
loss = 0.5 * mmean(torch.max(l1, l2))
out['value'] = dict(loss=loss.item(), clipFrac=mmean((l2 > l1).double()).item(), grad=grad(loss, v))
# KL penalty
ref = T('ref')
for kind in ['k1', 'k2', 'k3']:
    lp = T('logp', True); dd = lp - ref
    k = dd if kind == 'k1' else 0.5 * dd ** 2 if kind == 'k2' else torch.exp(-dd) - 1 + dd
    loss = mmean(k)
    out['kl_' + kind] = dict(loss=loss.item(), grad=grad(loss, lp))
# GRPO (TRL's GRPOTrainer._compute_loss)
A = T('gadv').unsqueeze(1)
for c in d['grpo']:
    lp = T('logp', True)
    lr = lp - old
    w = lr if c['level'] == 'token' else ((lr * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(-1)
    c1 = torch.exp(w); c2 = torch.clamp(c1, 1 - c['lo'], 1 + c['hi'])
    per = -torch.min(c1 * A, c2 * A)
    if c['beta']:
        per = per + c['beta'] * (torch.exp(ref - lp) - (ref - lp) - 1)
    if c['lossType'] == 'grpo':
        loss = ((per * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean()
    elif c['lossType'] == 'dr_grpo':
        loss = (per * mask).sum() / (per.size(0) * c['L'])
    else:
        loss = (per * mask).sum() / mask.sum().clamp(min=1.0)
    clipped = ((c1 < 1 - c['lo']) & (A < 0)) | ((c1 > 1 + c['hi']) & (A > 0))
    out[c['name']] = dict(loss=loss.item(), clipFrac=mmean(clipped.double().expand_as(mask)).item(), grad=grad(loss, lp))
print(json.dumps(out))
`;

describe('losses and gradients against PyTorch autograd (float64)', () => {
  const probe = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' });
  const skip = probe.status !== 0 ? `PyTorch is not importable by /usr/bin/python3: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}` : false;

  it('PPO policy and value losses, KL penalties, GRPO/GSPO losses', { skip }, async () => {
    const B = 4, S = 6, n = B * S;
    const r = rng(29);
    const mask = [0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, 1]; // left and right padding
    const old = Array.from({ length: n }, () => -0.5 - 2 * r());
    const logp = old.map((o) => o + (r() - 0.5)); // ratios in [0.61, 1.65]: clipped and unclipped
    const ref = old.map((o) => o + 0.6 * (r() - 0.5));
    const adv = Array.from({ length: n }, () => 2 * r() - 1);
    const vold = Array.from({ length: n }, () => 2 * r() - 1);
    const v = vold.map((x) => x + 0.8 * (r() - 0.5));
    const ret = Array.from({ length: n }, () => 2 * r() - 1);
    const gadv = [-0.9, 1.1, 0.3, 0.2]; // sequence ratios ≈ [0.84, 0.86, 1.02, 1.09]: rows 0 and 3 clipped at [0.85, 1.04]
    const grpo: { name: string; level: 'token' | 'sequence'; lossType: 'grpo' | 'dr_grpo' | 'dapo'; lo: number; hi: number; beta: number; L: number }[] = [];
    for (const level of ['token', 'sequence'] as const) {
      for (const lossType of ['grpo', 'dr_grpo', 'dapo'] as const) {
        for (const beta of [0, 0.04]) grpo.push({ name: `grpo_${level}_${lossType}_${beta}`, level, lossType, lo: level === 'token' ? 0.2 : 0.15, hi: level === 'token' ? 0.28 : 0.04, beta, L: 8 });
      }
    }
    const clip = 0.2;
    const torchIn = { shape: [B, S], mask, old, logp, ref, adv, v, vold, ret, gadv, clip, grpo };
    const py = spawnSync('/usr/bin/python3', ['-c', TORCH_SCRIPT], { input: JSON.stringify(torchIn), encoding: 'utf8', maxBuffer: 1 << 24 });
    assert.equal(py.status, 0, `python failed: ${py.stderr}`);
    const want = JSON.parse(py.stdout) as Record<string, { loss: number; grad: number[]; clipFrac?: number; approxKl?: number; ratioMean?: number }>;

    // The engine gets garbage where the mask is 0 (torch got ordinary numbers there): nothing may change.
    const dirty = (xs: number[], junk: number) => xs.map((x, i) => (mask[i] ? x : junk));
    const g = new Graph({ name: 'torch-check' });
    const inp = (k: string) => g.input(k, 'float64', [B, S]);
    const [tLogp, tOld, tRef, tAdv, tV, tVold, tRet, tMask] = ['logp', 'old', 'ref', 'adv', 'v', 'vold', 'ret', 'mask'].map(inp);
    const tGadv = g.input('gadv', 'float64', [B]);
    const feeds: Record<string, Feed> = {
      logp: Float64Array.from(dirty(logp, -1e9)), old: Float64Array.from(dirty(old, NaN)), ref: Float64Array.from(dirty(ref, Infinity)),
      adv: Float64Array.from(dirty(adv, 1e9)), v: Float64Array.from(dirty(v, NaN)), vold: Float64Array.from(dirty(vold, -Infinity)),
      ret: Float64Array.from(dirty(ret, 1e30)), mask: Float64Array.from(mask), gadv: Float64Array.from(gadv),
    };
    const scalars: Record<string, Tensor> = {};
    const grads: Record<string, Tensor> = {};
    const ppo = ppoPolicyLoss(tLogp, tOld, tAdv, tMask, clip);
    Object.assign(scalars, { 'ppo.loss': ppo.loss, 'ppo.clipFrac': ppo.clipFrac, 'ppo.approxKl': ppo.approxKl, 'ppo.ratioMean': ppo.ratioMean });
    grads.ppo = gradients(ppo.loss, [tLogp])[0];
    const val = clippedValueLoss(tV, tVold, tRet, tMask, clip);
    Object.assign(scalars, { 'value.loss': val.loss, 'value.clipFrac': val.clipFrac });
    grads.value = gradients(val.loss, [tV])[0];
    for (const kind of ['k1', 'k2', 'k3'] as const) {
      const l = klPenaltyLoss(tLogp, tRef, tMask, kind);
      scalars[`kl_${kind}.loss`] = l;
      grads[`kl_${kind}`] = gradients(l, [tLogp])[0];
    }
    for (const c of grpo) {
      const res = grpoPolicyLoss({ logp: tLogp, oldLogp: tOld, advantages: tGadv, mask: tMask, clipLow: c.lo, clipHigh: c.hi, level: c.level,
        lossType: c.lossType, maxCompletionLength: c.L, kl: c.beta ? { refLogp: tRef, beta: c.beta } : undefined });
      Object.assign(scalars, { [`${c.name}.loss`]: res.loss, [`${c.name}.clipFrac`]: res.clipFrac });
      grads[c.name] = gradients(res.loss, [tLogp])[0];
    }
    for (const [k, t] of Object.entries(scalars)) g.output(k, t);
    for (const [k, t] of Object.entries(grads)) g.output(`${k}.grad`, t);
    const outs = [...Object.keys(scalars), ...Object.keys(grads).map((k) => `${k}.grad`)];
    const got = await (await compile(g, outs, SESSION)).run(feeds);

    let compared = 0;
    for (const [name, w] of Object.entries(want)) {
      for (const field of ['loss', 'clipFrac', 'approxKl', 'ratioMean'] as const) {
        if (w[field] === undefined) continue;
        close(got[`${name}.${field}`].data as Float64Array, w[field]!, 1e-9, `${name}.${field}`);
        compared++;
      }
      const gr = Array.from(got[`${name}.grad`].data as Float64Array);
      close(gr, w.grad, 1e-9, `${name}.grad`);
      assert.ok(gr.some((x) => x !== 0), `${name}: gradient is all zero`);
      assert.ok(gr.every((x, i) => mask[i] || x === 0), `${name}: a masked token has a gradient`);
      compared++;
    }
    assert.equal(compared, 5 + 3 + 3 * 2 + grpo.length * 3);
    // The data exercise both sides of the clips, or the comparison would prove less.
    assert.ok(Number(got['ppo.clipFrac'].data[0]) > 0 && Number(got['ppo.clipFrac'].data[0]) < 1);
    assert.ok(Number(got['value.clipFrac'].data[0]) > 0 && Number(got['value.clipFrac'].data[0]) < 1);
    assert.ok(Number(got['grpo_token_grpo_0.clipFrac'].data[0]) > 0);
    assert.ok(Number(got['grpo_sequence_grpo_0.clipFrac'].data[0]) > 0);
  });
});
