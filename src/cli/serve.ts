import { createRewardServer, DEFAULT_SERVE_LIMITS, loadProblemFiles, type ServeLimits } from '../serve/index.js';
import { parse, positiveNumber, UsageError } from './args.js';
import { judgeOptionsFromFlags, REWARD_FLAGS, REWARD_FLAGS_HELP, rewardConfigFromFlags } from './reward-flags.js';

const L = DEFAULT_SERVE_LIMITS;

export const usage = `securecoderl serve [--port P] [--host 127.0.0.1] [--problems FILE ...] [options]

Runs the HTTP reward service: the sandboxed judge and the reward for trainers (TRL, verl, OpenRLHF).
  POST /v1/score   {"samples": [{"problem_id" or "problem", "completion"}]} -> one record per sample
  POST /openrlhf   OpenRLHF's --remote_rm_url protocol (labels = problem ids or JSON tests)
  GET  /health     GET /metrics (Prometheus)
See docs/serve.md.

  --port P             port (default 8000; 0 = any free port, printed at start)
  --host ADDR          address to bind (default 127.0.0.1: this machine only)
  --problems FILE      problems requests may name by id; repeat for several files; PREFIX=FILE
                       names a file's problems PREFIX/ID (APPS+ lists name them by index)
  --token T            require "Authorization: Bearer T" (all routes but /health); or set
                       SECURECODERL_TOKEN
  --deadline S         answer every sample within S seconds of its request (default ${L.sampleDeadlineSeconds})
  --max-samples N      samples per request (default ${L.maxSamplesPerRequest})
  --max-pending N      samples admitted at once over all requests; beyond: 429 (default ${L.maxPendingSamples})
  --max-body-mb MB     request body size (default ${L.maxBodyBytes >> 20})
  --max-tests N        tests in an inline problem (default ${L.maxTestsPerProblem})
  --log                log every request (JSON lines on standard output)
${REWARD_FLAGS_HELP}

Stops cleanly on SIGINT or SIGTERM (admitted requests are answered first).`;

function integer(flag: string, value: string | boolean | undefined): number | undefined {
  const n = positiveNumber(flag, value);
  if (n !== undefined && !Number.isInteger(n)) throw new UsageError(`--${flag}: expected a whole number, got ${JSON.stringify(value)}`);
  return n;
}

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, {
    port: { type: 'string' }, host: { type: 'string' }, problems: { type: 'string', multiple: true }, token: { type: 'string' },
    deadline: { type: 'string' }, 'max-samples': { type: 'string' }, 'max-pending': { type: 'string' }, 'max-body-mb': { type: 'string' },
    'max-tests': { type: 'string' }, log: { type: 'boolean' }, ...REWARD_FLAGS,
  });
  const portText = (values.port as string | undefined) ?? '8000';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) throw new UsageError(`--port: expected 0 to 65535, got ${JSON.stringify(portText)}`);
  const limits: Partial<ServeLimits> = {};
  const deadline = positiveNumber('deadline', values.deadline);
  if (deadline !== undefined) limits.sampleDeadlineSeconds = deadline;
  const maxSamples = integer('max-samples', values['max-samples']);
  if (maxSamples !== undefined) limits.maxSamplesPerRequest = maxSamples;
  const maxPending = integer('max-pending', values['max-pending']);
  if (maxPending !== undefined) limits.maxPendingSamples = maxPending;
  const maxBody = positiveNumber('max-body-mb', values['max-body-mb']);
  if (maxBody !== undefined) limits.maxBodyBytes = Math.ceil(maxBody * 2 ** 20);
  const maxTests = integer('max-tests', values['max-tests']);
  if (maxTests !== undefined) limits.maxTestsPerProblem = maxTests;
  if ((limits.maxSamplesPerRequest ?? L.maxSamplesPerRequest) > (limits.maxPendingSamples ?? L.maxPendingSamples)) {
    throw new UsageError('--max-samples: larger than --max-pending, so such a request could never be admitted');
  }
  const token = (values.token as string | undefined) ?? process.env.SECURECODERL_TOKEN;
  if (token !== undefined && token.length < 8) throw new UsageError('--token: expected at least 8 characters');
  const problems = loadProblemFiles((values.problems as unknown as string[] | undefined) ?? []);
  const reward = rewardConfigFromFlags(values);

  const server = createRewardServer({
    host: (values.host as string | undefined) ?? '127.0.0.1', port, problems, reward, judge: judgeOptionsFromFlags(values),
    token, limits, log: values.log === true,
  });
  let url: string;
  try {
    url = await server.listen();
  } catch (error) {
    await server.close();
    throw error;
  }
  const { workers } = server.scorer.judge.options;
  const r = server.scorer.config;
  process.stdout.write(`securecoderl serve: listening on ${url} (${problems.length} problems, ${workers} sandboxed workers, reward ${r.mode}, security ${r.security}, deadline ${server.limits.sampleDeadlineSeconds} s${token ? ', bearer token required' : ''})\n`);
  if (server.exposed && !token) process.stderr.write(`securecoderl serve: warning: ${server.host} accepts connections from other machines and no --token is set\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`securecoderl serve: ${signal} again, exiting now\n`);
        process.exit(130);
      }
      stopping = true;
      process.stderr.write(`securecoderl serve: ${signal}, answering admitted requests and stopping\n`);
      server.close().then(resolve, (error: Error) => {
        process.stderr.write(`securecoderl serve: error while stopping: ${error.message}\n`);
        resolve();
      });
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  return 0;
}
