// Load test of the reward service, loopback only, bounded in samples and time.
// Run: npx tsc -p . && node dist/bench/serve-load.js [--clients 32] [--batch 8] [--samples 1000]
//        [--rounds 2] [--workers N] [--max-seconds 600] [--no-overload] [--json]
// (--json: the lines go to standard error, one JSON summary to standard output)
//
// The workload is the 500 bundled APPS+ reference solutions, cycled to --samples. Each round scores it
// three times, interleaved, in an order that rotates from round to round: in process with `scoreFiles` (what the `score` command does); in process
// with a Scorer kept busy by a free-running pool of two samples per judge worker (the server's own
// dispatch without HTTP: the in-process ceiling); and through a `securecoderl serve` child process
// with --clients concurrent keep-alive clients sending batches of --batch samples by problem id. It
// prints sustained samples/s, request latency p50/p99, errors, the ratios of the served figure to both
// in-process ones, and checks that all paths gave every sample the same reward.
// Then an overload phase: a server whose queue holds fewer samples than the clients send, clients that
// retry after Retry-After; every 429 is counted and every sample must still be scored.

import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { loadAppsPlus, type Problem } from '../src/data/index.js';
import { BUNDLED_DATA } from '../src/eval/demo.js';
import { scoreFiles } from '../src/eval/score-files.js';
import { Scorer } from '../src/reward/scorer.js';

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const opt = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: expected a positive number, got ${JSON.stringify(args[i + 1])}`);
  return n;
};
const clients = opt('clients', 32);
const batch = opt('batch', 8);
const total = opt('samples', 1000);
const rounds = opt('rounds', 2);
const workers = opt('workers', 2 * availableParallelism());
const maxSeconds = opt('max-seconds', 600);
const json = flag('json');
const log = (line: string) => { if (json) console.error(line); else console.log(line); };
const deadlineAt = Date.now() + maxSeconds * 1000;

const PROBLEMS = join(BUNDLED_DATA, 'apps_plus/valid_500.json');
const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

interface Sample { problem_id: string; completion: string }

function workload(): Sample[] {
  const records = JSON.parse(readFileSync(PROBLEMS, 'utf8')) as { canonical_solution: string }[];
  return Array.from({ length: total }, (_, i) => ({ problem_id: String(i % records.length), completion: records[i % records.length].canonical_solution }));
}

interface Answer { status: number; retryAfter: number; body: string }

function postJson(agent: Agent, url: URL, body: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: Number(res.headers['retry-after'] ?? 0), body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function startServer(extra: string[]): Promise<{ url: string; child: ChildProcessByStdio<null, Readable, Readable> }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--port', '0', '--problems', PROBLEMS, '--workers', String(workers), ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c) => { out += c; });
  child.stderr.on('data', (c) => { err += c; });
  const started = Date.now();
  while (!/listening on (\S+)/.test(out)) {
    if (child.exitCode !== null || Date.now() - started > 60_000) throw new Error(`serve did not start: ${err}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: /listening on (\S+)/.exec(out)![1], child };
}

async function stopServer(child: ChildProcessByStdio<null, Readable, Readable>): Promise<void> {
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  await exited;
}

/** User + system CPU seconds of a process so far (Linux). */
function processCpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** CPU seconds of this process and of every descendant it has reaped (the judge's sandboxed workers,
 * the server child and its workers once they exited): the whole cost of a path, less noisy than time. */
function treeCpuSeconds(): number {
  const fields = readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

const ownCpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

interface ServerRun {
  seconds: number;
  perSecond: number;
  requests: number;
  p50Ms: number;
  p99Ms: number;
  http429: number;
  errors: number;
  rewards: number[];
}

/** `clients` loops take the next `batch` samples until none are left; a 429 is retried after Retry-After
 * (capped at 2 s to keep the run short) when `retry`, else counted as an error. */
async function drive(url: string, samples: Sample[], retry: boolean): Promise<ServerRun> {
  const agent = new Agent({ keepAlive: true, maxSockets: clients });
  const endpoint = new URL('/v1/score', url);
  const rewards = new Array<number>(samples.length).fill(NaN);
  const latencies: number[] = [];
  let next = 0, http429 = 0, errors = 0;
  const started = performance.now();
  const client = async () => {
    while (next < samples.length && Date.now() < deadlineAt) {
      const from = next;
      next = Math.min(samples.length, next + batch);
      const body = JSON.stringify({ samples: samples.slice(from, next) });
      for (let attempt = 0; ; attempt++) {
        const t0 = performance.now();
        let answer: Answer;
        try {
          answer = await postJson(agent, endpoint, body);
        } catch {
          errors++;
          break;
        }
        if (answer.status === 429 && retry && attempt < 20 && Date.now() < deadlineAt) {
          http429++;
          await new Promise((r) => setTimeout(r, Math.min(2, answer.retryAfter || 1) * 1000));
          continue;
        }
        latencies.push(performance.now() - t0);
        if (answer.status === 429) http429++;
        if (answer.status !== 200) {
          errors++;
          break;
        }
        const results = (JSON.parse(answer.body) as { results: { status: string; reward: number }[] }).results;
        results.forEach((r, k) => {
          if (r.status !== 'scored') errors++;
          rewards[from + k] = r.reward;
        });
        break;
      }
    }
  };
  await Promise.all(Array.from({ length: clients }, client));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const done = rewards.filter((r) => !Number.isNaN(r)).length;
  return { seconds, perSecond: done / seconds, requests: latencies.length, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99), http429, errors: errors + (samples.length - done), rewards };
}

async function health(url: string): Promise<boolean> {
  const agent = new Agent();
  return new Promise((resolve) => {
    request(new URL('/health', url), { agent }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode === 200)); }).on('error', () => resolve(false)).end();
  });
}

/** The in-process ceiling: one Scorer, `2 × workers` samples in flight, a new one as soon as any ends. */
async function pooled(samples: Sample[], byId: ReadonlyMap<string, Problem>): Promise<{ perSecond: number; seconds: number; rewards: number[]; cpu: number }> {
  const started = performance.now();
  const scorer = new Scorer({}, { workers });
  const rewards = new Array<number>(samples.length).fill(NaN);
  let next = 0;
  const loop = async () => {
    while (next < samples.length) {
      const i = next++;
      rewards[i] = (await scorer.score(byId.get(samples[i].problem_id)!, samples[i].completion)).reward;
    }
  };
  const cpu0 = ownCpuSeconds();
  try {
    await Promise.all(Array.from({ length: scorer.judge.options.workers * 2 }, loop));
  } finally {
    await scorer.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { perSecond: samples.length / seconds, seconds, rewards, cpu: ownCpuSeconds() - cpu0 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (x: number, d = 1) => x.toFixed(d);

const samples = workload();
const dir = mkdtempSync(join(tmpdir(), 'scrl-serve-load-'));
const samplesFile = join(dir, 'samples.jsonl');
writeFileSync(samplesFile, samples.map((s) => JSON.stringify(s)).join('\n'));
const load0 = loadavg()[0];
log(`serve load test: ${total} samples (APPS+ reference solutions), ${clients} clients x ${batch} samples per request, ${workers} judge workers, ${availableParallelism()} cores, load ${fmt(load0, 2)}`);

const byId = new Map(loadAppsPlus(PROBLEMS).problems.map((p) => [p.id, p]));
const inProcess: number[] = [];
const pool: number[] = [];
const served: ServerRun[] = [];
const cpuPerSample = { scoreFiles: [] as number[], pool: [] as number[], served: [] as number[] };
let mismatches = 0;
try {
  let reference: number[] | undefined;
  const compare = (rewards: number[]) => {
    reference ??= rewards;
    const differ = rewards.reduce((n, r, i) => n + (Math.abs(r - reference![i]) > 1e-6 ? 1 : 0), 0);
    mismatches += differ;
    return differ;
  };
  const steps = {
    async scoreFiles(round: number) {
      const cpu0 = treeCpuSeconds();
      const t0 = performance.now();
      const base = await scoreFiles({ problems: PROBLEMS, samples: samplesFile, out: join(dir, 'scored.jsonl'), judge: { workers } });
      const seconds = (performance.now() - t0) / 1000;
      inProcess[round] = base.summary.n / seconds;
      const differ = compare(base.results.map((b) => b.reward));
      const cpu = treeCpuSeconds() - cpu0;
      cpuPerSample.scoreFiles.push((cpu / total) * 1000);
      log(`round ${round + 1}: in-process scoreFiles ${fmt(inProcess[round])} samples/s (${fmt(seconds)} s), ${fmt((cpu / total) * 1000, 2)} CPU ms per sample in all processes, ${differ} rewards differ`);
    },
    async pool(round: number) {
      const cpu0 = treeCpuSeconds();
      const ceiling = await pooled(samples, byId);
      const cpu = treeCpuSeconds() - cpu0;
      cpuPerSample.pool.push((cpu / total) * 1000);
      pool[round] = ceiling.perSecond;
      const differ = compare(ceiling.rewards);
      log(`round ${round + 1}: in-process Scorer pool ${fmt(ceiling.perSecond)} samples/s (${fmt(ceiling.seconds)} s), ${fmt((cpu / total) * 1000, 2)} CPU ms per sample in all processes (Node ${fmt(ceiling.cpu)} s), ${differ} rewards differ`);
    },
    async served(round: number) {
      const cpu0 = treeCpuSeconds();
      const { url, child } = await startServer([]);
      let line = '';
      try {
        const serverCpu0 = processCpuSeconds(child.pid!);
        const clientCpu0 = ownCpuSeconds();
        const run = await drive(url, samples, false);
        const serverCpu = processCpuSeconds(child.pid!) - serverCpu0;
        const clientCpu = ownCpuSeconds() - clientCpu0;
        served[round] = run;
        const differ = compare(run.rewards);
        line = (`round ${round + 1}: served ${fmt(run.perSecond)} samples/s (${fmt(run.seconds)} s), request latency p50 ${fmt(run.p50Ms, 0)} ms p99 ${fmt(run.p99Ms, 0)} ms, ${run.requests} requests, ${run.errors} errors, ${run.http429} x 429, ${differ} rewards differ; server process CPU ${fmt(serverCpu)} s, clients' CPU ${fmt(clientCpu)} s`);
      } finally {
        await stopServer(child);
      }
      const cpu = treeCpuSeconds() - cpu0;
      cpuPerSample.served.push((cpu / total) * 1000);
      log(`${line}; ${fmt((cpu / total) * 1000, 2)} CPU ms per sample in all processes (server start and stop included)`);
    },
  };
  const order = ['scoreFiles', 'pool', 'served'] as const;
  for (let round = 0; round < rounds && Date.now() < deadlineAt; round++) {
    // rotate the order so that no path always runs first (the machine's load drifts)
    for (let k = 0; k < order.length; k++) await steps[order[(round + k) % order.length]](round);
  }

  let overload: { http429: number; errors: number; perSecond: number; healthy: boolean; capacity: number } | undefined;
  if (!flag('no-overload') && Date.now() < deadlineAt) {
    const capacity = Math.max(batch, Math.floor((clients * batch) / 4));
    const { url, child } = await startServer(['--max-pending', String(capacity), '--max-samples', String(batch)]);
    try {
      const part = samples.slice(0, Math.min(samples.length, 500));
      const run = await drive(url, part, true);
      overload = { http429: run.http429, errors: run.errors, perSecond: run.perSecond, healthy: await health(url), capacity };
      log(`overload: queue of ${capacity} samples, ${clients * batch} sent at once: ${run.http429} x 429 (retried after Retry-After), ${run.errors} errors, ${fmt(run.perSecond)} samples/s, healthy afterwards: ${overload.healthy}`);
    } finally {
      await stopServer(child);
    }
  }

  const servedRates = served.map((s) => s.perSecond);
  const result = {
    cores: availableParallelism(), workers, clients, batch, samples: total, rounds,
    load_start: load0, load_end: loadavg()[0],
    in_process_per_s: { best: Math.max(...inProcess), median: median(inProcess) },
    pool_per_s: { best: Math.max(...pool), median: median(pool) },
    served_per_s: { best: Math.max(...servedRates), median: median(servedRates) },
    ratio_best: Math.max(...servedRates) / Math.max(...inProcess),
    ratio_median: median(servedRates) / median(inProcess),
    ratio_pool_best: Math.max(...servedRates) / Math.max(...pool),
    ratio_pool_median: median(servedRates) / median(pool),
    /** served / in-process, per round (the two runs of a round are closest in time), then the median. */
    ratio_per_round_median: median(servedRates.map((r, i) => r / inProcess[i])),
    ratio_pool_per_round_median: median(servedRates.map((r, i) => r / pool[i])),
    p50_ms: median(served.map((s) => s.p50Ms)),
    p99_ms: median(served.map((s) => s.p99Ms)),
    errors: served.reduce((n, s) => n + s.errors, 0),
    http429_below_capacity: served.reduce((n, s) => n + s.http429, 0),
    reward_mismatches: mismatches,
    /** CPU milliseconds per sample over all processes (median of rounds). */
    cpu_ms_per_sample: { scoreFiles: median(cpuPerSample.scoreFiles), pool: median(cpuPerSample.pool), served: median(cpuPerSample.served) },
    overload,
  };
  log('');
  log(`served / in-process scoreFiles: ${fmt(result.ratio_median * 100, 0)}% (median rounds: ${fmt(result.served_per_s.median)} vs ${fmt(result.in_process_per_s.median)} samples/s), best ${fmt(result.ratio_best * 100, 0)}%`);
  log(`served / in-process Scorer pool: ${fmt(result.ratio_pool_median * 100, 0)}% (median rounds: ${fmt(result.served_per_s.median)} vs ${fmt(result.pool_per_s.median)} samples/s), best ${fmt(result.ratio_pool_best * 100, 0)}%`);
  log(`CPU ms per sample, all processes (median of rounds): scoreFiles ${fmt(result.cpu_ms_per_sample.scoreFiles, 2)}, Scorer pool ${fmt(result.cpu_ms_per_sample.pool, 2)}, served ${fmt(result.cpu_ms_per_sample.served, 2)}`);
  log(`median of per-round ratios: served / scoreFiles ${fmt(result.ratio_per_round_median * 100, 0)}%, served / Scorer pool ${fmt(result.ratio_pool_per_round_median * 100, 0)}%`);
  log(`latency p50 ${fmt(result.p50_ms, 0)} ms, p99 ${fmt(result.p99_ms, 0)} ms per ${batch}-sample request; errors ${result.errors}; rewards differing between paths ${mismatches}; load ${fmt(load0, 2)} -> ${fmt(result.load_end, 2)}`);
  if (json) console.log(JSON.stringify(result));
  process.exitCode = result.errors > 0 || result.http429_below_capacity > 0 ? 1 : 0;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
