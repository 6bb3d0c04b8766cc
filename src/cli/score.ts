import { scoreFiles } from '../eval/score-files.js';
import { formatSummary } from '../eval/summary.js';
import { parse, progressReporter, required } from './args.js';
import { judgeOptionsFromFlags, REWARD_FLAGS, REWARD_FLAGS_HELP, rewardConfigFromFlags } from './reward-flags.js';

export const usage = `securecoderl score --problems P --samples S [options]

Scores completions against problems in the sandboxed judge and writes one JSON line per sample.

  --problems FILE    problems: our JSONL (id, prompt, inputs, outputs, fn_name?, starter_code?) or an APPS+ JSON list
  --samples FILE     completions: JSONL with problem_id and completion
  --out FILE         where to write results (default: standard output)
${REWARD_FLAGS_HELP}

A summary goes to standard error. Bad lines are reported with file and line, the rest is still
scored, and the exit code is 1.`;

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, { problems: { type: 'string' }, samples: { type: 'string' }, out: { type: 'string' }, ...REWARD_FLAGS });
  const { summary, errors } = await scoreFiles({
    problems: required('problems', values.problems),
    samples: required('samples', values.samples),
    out: values.out as string | undefined,
    reward: rewardConfigFromFlags(values),
    judge: judgeOptionsFromFlags(values),
    onProgress: progressReporter('scoring'),
  });
  for (const error of errors) process.stderr.write(`error: ${error}\n`);
  process.stderr.write(`${formatSummary(summary)}\n`);
  return errors.length > 0 ? 1 : 0;
}
