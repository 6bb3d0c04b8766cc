import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { BUNDLED_DATA_DIR, loadAppsPlus, type Problem } from '../data/index.js';
import { Judge } from '../judge/judge.js';
import { CpuTally, forkServerPid, type CpuPerTest } from '../judge/process-cpu.js';
import { outputsMatch, valuesEqual } from '../judge/compare.js';
import type { JudgeTask, TestCase } from '../judge/types.js';
import { BareForkServers } from './bare-limit.js';
import { ReferenceRunner } from './reference-runner.js';

export interface JudgeBenchOptions {
  /** CPU-time limit for our judge and wall-clock timeout for the baseline, in seconds. */
  limitSeconds: number;
  /** A small subset, for a quick check that everything runs. */
  quick: boolean;
  /** The interpreter inside our sandbox and, unless `baselinePython` is set, the baseline's. */
  python: string;
  /** The baseline's interpreter, e.g. `python` from PATH as the reference code starts it. */
  baselinePython?: string;
  log: (line: string) => void;
}

export interface ThroughputRow {
  workload: string;
  runner: string;
  executions: number;
  seconds: number;
  perSecond: number;
}

export interface JudgeBenchResult {
  cores: number;
  isolation: boolean;
  python: string;
  baseline_python: string;
  limitSeconds: number;
  rows: ThroughputRow[];
  ours_per_s: number;
  baseline_per_s: number;
  baseline_parallel_per_s: number;
  ratio: number;
  ratio_parallel: number;
  /** Workload 1 through the limit: a bare fork server per judge worker (python/bare_forkserver.py: fork
   * per test, exec of the compiled program, no sandbox, no verdict logic). */
  limit_per_s: number;
  /** ours_per_s / limit_per_s: the share of the bare fork-per-test rate the judge keeps. */
  ratio_to_limit: number;
  /** Tests of the light reference solutions (all passed by the judge) whose output from the limit does
   * not match the expected one: the limit must run the same code, so only a program whose output the
   * two read differently (a call-style program that also prints) belongs here. */
  limit_wrong_tests: number;
  /** CPU per light test in those alternating passes, ours and the limit's: the bench's Node process,
   * the fork servers' own work and the test processes they reaped, and the minor page faults of the
   * last two. CPU time moves less with the machine's load than rates do; null where a server was
   * replaced in every pass. */
  cpu_per_test: { ours: CpuPerTest | null; limit: CpuPerTest | null };
  ours_with_timeouts_per_s: number;
  baseline_with_timeouts_per_s: number;
  ratio_with_timeouts: number;
  /** Workload 2 again with per-problem limits derived from the reference solutions' run times. */
  ours_derived_limits_per_s: number;
  baseline_derived_limits_per_s: number;
  ratio_with_timeouts_derived_limits: number;
}

/** A reference solution "light" if each of its tests took under this much CPU in the calibration run. */
const LIGHT_CPU_SECONDS = 0.005;

function taskOf(problem: Problem, program: string): JudgeTask {
  return { program, style: problem.style, fnName: problem.fnName, tests: problem.tests };
}

/** Whether the limit's output of a test (call style: the JSON of the return value) is the expected one. */
function limitOutputMatches(task: JudgeTask, test: TestCase, output: string | undefined): boolean {
  if (output === undefined) return false;
  if (task.style === 'stdin') return outputsMatch(output, String(test.output ?? ''), 'default');
  try {
    return valuesEqual(JSON.parse(output), test.output);
  } catch {
    return false;
  }
}

function wrongProgram(problem: Problem): string {
  return problem.style === 'call' ? `def ${problem.fnName}(*args, **kwargs):\n    return None\n` : 'print(-1)\n';
}

const CRASHING_PROGRAM = 'import sys\nraise RuntimeError("crash on purpose")\n';
const LOOPING_PROGRAM = 'while True:\n    pass\n';

/**
 * `bench judge`: the same workloads through our judge and through the reference-style baseline
 * (one `python` per test, no sandbox), sequentially and one process per core.
 * Workload 1 (light): reference solutions whose tests each ran under 5 ms, plus wrong-output and
 * crashing programs — it measures what a harness adds per test. It also runs through the limit, a bare
 * fork server (BareForkServers), in alternating passes with ours so that a change in the machine's load
 * falls on both. Workload 2 (full): every reference solution plus programs that loop until the limit.
 */
export async function benchJudge(options: JudgeBenchOptions): Promise<JudgeBenchResult> {
  const cores = availableParallelism();
  const { problems } = loadAppsPlus(join(BUNDLED_DATA_DIR, 'apps_plus/valid_500.json'));
  const judge = new Judge({ sandbox: { python: options.python }, limits: { cpuSeconds: options.limitSeconds, wallSeconds: options.limitSeconds * 3 + 2 } });
  await judge.warmUp();
  const baseline = new ReferenceRunner(options.baselinePython ?? options.python, options.limitSeconds);
  const rows: ThroughputRow[] = [];
  try {
    options.log('calibrating: running every reference solution once to find the light ones');
    const calibration = await Promise.all(problems.map((p) => judge.judge(taskOf(p, p.canonicalSolution ?? ''))));
    let light = problems.filter((_, i) => calibration[i].passed === calibration[i].total
      && calibration[i].tests.every((t) => t.cpuSeconds < LIGHT_CPU_SECONDS));
    let all = problems;
    if (options.quick) {
      light = light.slice(0, 40);
      all = problems.slice(0, 40);
    }
    const sideShare = Math.ceil(light.length / 4);
    const lightTasks = [
      ...light.map((p) => taskOf(p, p.canonicalSolution ?? '')),
      ...light.slice(0, sideShare).map((p) => taskOf(p, wrongProgram(p))),
      ...light.slice(sideShare, 2 * sideShare).map((p) => taskOf(p, CRASHING_PROGRAM)),
    ];
    const loopers = options.quick ? 2 : 8;
    // Each workload-2 task with the problem it belongs to, for per-problem limits.
    const fullEntries: [Problem, JudgeTask][] = [
      ...all.map((p): [Problem, JudgeTask] => [p, taskOf(p, p.canonicalSolution ?? '')]),
      ...all.slice(0, loopers).map((p): [Problem, JudgeTask] => [p, { ...taskOf(p, LOOPING_PROGRAM), tests: p.tests.slice(0, 1) }]),
    ];
    const fullTasks = fullEntries.map(([, task]) => task);
    // EvalPlus-style limits: 4x the reference solution's slowest test, at least 1 s, at most the fixed
    // limit; the same per-problem limit on both sides.
    const slowest = new Map(problems.map((p, i) => [p.id, Math.max(0, ...calibration[i].tests.map((t) => t.cpuSeconds))]));
    const derivedTasks = fullEntries.map(([p, task]) => ({
      ...task, limits: { cpuSeconds: Math.min(options.limitSeconds, Math.max(1, 4 * slowest.get(p.id)!)) },
    }));
    options.log(`workload 1 (light): ${lightTasks.length} programs, ${countTests(lightTasks)} test executions`);
    options.log(`workload 2 (full):  ${fullTasks.length} programs, ${countTests(fullTasks)} test executions, ${loopers} loop until the ${options.limitSeconds} s limit`);

    /** Runs `tasks` through `run`, `concurrency` at a time, `passes` times (each pass given in
     * `interleave`'s turn with other runners'), and records one row. */
    const pass = async (tasks: JudgeTask[], run: (t: JudgeTask) => Promise<number>, concurrency: number) => {
      const started = process.hrtime.bigint();
      let executions = 0;
      let next = 0;
      const lane = async () => {
        while (next < tasks.length) {
          const done = await run(tasks[next++]);
          executions += done;
        }
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
      return { executions, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
    };
    const record = (workload: string, runner: string, executions: number, seconds: number) => {
      const row = { workload, runner, executions, seconds, perSecond: executions / seconds };
      rows.push(row);
      options.log(`  ${workload.padEnd(6)} ${runner.padEnd(24)} ${executions} tests in ${seconds.toFixed(2)} s = ${row.perSecond.toFixed(1)}/s`);
      return row;
    };
    const measure = async (workload: string, runner: string, tasks: JudgeTask[], run: (t: JudgeTask) => Promise<number>, concurrency: number) => {
      const { executions, seconds } = await pass(tasks, run, concurrency);
      return record(workload, runner, executions, seconds);
    };
    const ours = (t: JudgeTask) => judge.judge(t).then((r) => r.tests.length);
    const sequential = (t: JudgeTask) => baseline.run(t, 1);

    const lanes = judge.options.workers * 2;
    // Ours and the limit in alternating passes (ours, limit, ours, limit), each runner's passes summed.
    const bare = new BareForkServers(options.python, judge.options.workers);
    let oursLight: ThroughputRow;
    let limitWrongTests = 0;
    let limitLight: ThroughputRow;
    const cpu = { ours: new CpuTally(), limit: new CpuTally() };
    try {
      await bare.start();
      // The limit runs the reference solutions the judge passed (also its warm-up): a test it gets wrong
      // ran other code than in the judge (before the shared program environment, it skipped the APPS+
      // entry call of most stdin programs, which then only defined functions).
      const references = lightTasks.slice(0, light.length);
      const outputs = await Promise.all(references.map((t) => bare.outputs(t)));
      limitWrongTests = references.reduce((sum, task, i) => sum + task.tests.filter((test, j) => !limitOutputMatches(task, test, outputs[i][j])).length, 0);
      options.log(`  light  limit: ${limitWrongTests} of ${countTests(references)} reference tests with an output other than the expected`);
      const limit = (t: JudgeTask) => bare.run(t);
      const totals = { ours: { executions: 0, seconds: 0 }, limit: { executions: 0, seconds: 0 } };
      const serverPids = {
        ours: () => judge.workerPids.map((pid) => (pid === undefined ? null : forkServerPid(pid, judge.options.sandbox.isolation))),
        limit: () => bare.pids.map((pid) => pid ?? null),
      };
      for (let round = 0; round < 2; round++) {
        for (const [name, run] of [['ours', ours], ['limit', limit]] as const) {
          const end = cpu[name].begin(serverPids[name]());
          const done = await pass(lightTasks, run, lanes);
          end(done.executions);
          totals[name].executions += done.executions;
          totals[name].seconds += done.seconds;
        }
      }
      oursLight = record('light', 'securecoderl judge', totals.ours.executions, totals.ours.seconds);
      limitLight = record('light', 'limit: bare fork server', totals.limit.executions, totals.limit.seconds);
      for (const [name, tally] of Object.entries(cpu)) {
        const c = tally.perTest();
        if (c) {
          options.log(`  light  a test, ${name.padEnd(5)}: CPU Node ${c.node_us} µs, servers ${c.server_us} µs, their test processes ${c.children_us} µs;`
            + ` page faults ${c.server_faults} and ${c.children_faults}`);
        }
      }
    } finally {
      await bare.close();
    }
    const baseLight = await measure('light', 'baseline sequential', lightTasks, sequential, 1);
    const baseLightParallel = await measure('light', `baseline ${cores} parallel`, lightTasks, sequential, cores);
    const oursFull = await measure('full', 'securecoderl judge', fullTasks, ours, lanes);
    const baseFull = await measure('full', 'baseline sequential', fullTasks, sequential, 1);
    const oursDerived = await measure('full*', 'securecoderl judge', derivedTasks, ours, lanes);
    const baseDerived = await measure('full*', 'baseline sequential', derivedTasks, sequential, 1);
    return {
      cores,
      isolation: judge.options.sandbox.isolation,
      python: options.python,
      baseline_python: options.baselinePython ?? options.python,
      limitSeconds: options.limitSeconds,
      rows,
      ours_per_s: oursLight.perSecond,
      baseline_per_s: baseLight.perSecond,
      baseline_parallel_per_s: baseLightParallel.perSecond,
      ratio: oursLight.perSecond / baseLight.perSecond,
      ratio_parallel: oursLight.perSecond / baseLightParallel.perSecond,
      limit_per_s: limitLight.perSecond,
      ratio_to_limit: oursLight.perSecond / limitLight.perSecond,
      limit_wrong_tests: limitWrongTests,
      cpu_per_test: { ours: cpu.ours.perTest(), limit: cpu.limit.perTest() },
      ours_with_timeouts_per_s: oursFull.perSecond,
      baseline_with_timeouts_per_s: baseFull.perSecond,
      ratio_with_timeouts: oursFull.perSecond / baseFull.perSecond,
      ours_derived_limits_per_s: oursDerived.perSecond,
      baseline_derived_limits_per_s: baseDerived.perSecond,
      ratio_with_timeouts_derived_limits: oursDerived.perSecond / baseDerived.perSecond,
    };
  } finally {
    baseline.close();
    await judge.close();
  }
}

function countTests(tasks: JudgeTask[]): number {
  return tasks.reduce((sum, t) => sum + t.tests.length, 0);
}
