#!/usr/bin/env node
import { UsageError } from './args.js';

interface Command {
  summary: string;
  load: () => Promise<{ usage: string; run: (argv: string[]) => Promise<number> }>;
}

const COMMANDS: Record<string, Command> = {
  demo: { summary: 'score the bundled APPS+ reference solutions and sample completions', load: () => import('./demo.js') },
  score: { summary: 'score completions against problems in the sandboxed judge', load: () => import('./score.js') },
  agreement: { summary: "how the security analyzer agrees with CyberSecEval's labels on its origin_code, per CWE", load: () => import('./agreement.js') },
  eval: { summary: 'evaluate a model (OpenAI-compatible endpoint or completions file) with metrics and bootstrap intervals', load: () => import('./eval.js') },
  'minimal-example': { summary: 'bundled data → tiny model → SFT → PPO per reward mode → evaluation → security; PASS or FAIL', load: () => import('./minimal-example.js') },
  reproduce: { summary: "the paper's Table 3 in miniature: SFT and the PPO variants on held-out prompts, with intervals", load: () => import('./reproduce.js') },
  train: { summary: 'train a model: `train pretrain|sft|ppo|grpo|rloo --preset NAME | --config FILE`, `train ppo|grpo|rloo --resume DIR`', load: () => import('./train.js') },
  report: { summary: 'Markdown, SVG/PNG charts and one HTML page for eval and training run folders', load: () => import('./report.js') },
  bench: { summary: 'benchmarks: `bench judge`, `bench models`, `bench engine`', load: () => import('./bench.js') },
  logits: { summary: 'print a model\'s float32 logits at every position for given token ids', load: () => import('./logits.js') },
  serve: { summary: 'HTTP reward service for trainers (/v1/score, OpenRLHF /openrlhf, /metrics)', load: () => import('./serve.js') },
};

function help(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length));
  return [
    'securecoderl: partial-credit, security-aware RL for small code models',
    '',
    'usage: securecoderl <command> [options]      securecoderl <command> --help',
    '',
    'global option:',
    '  --device cpu|cuda  where ONNX Runtime runs the model graphs [cpu]; cuda needs onnxruntime-node\'s CUDA provider (docs/engine.md)',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`),
  ].join('\n');
}

/** `argv` without the global `--device X` (or `--device=X`), and the device it named. */
function takeDevice(argv: string[]): { argv: string[]; device?: string } {
  const i = argv.findIndex((a) => a === '--device' || a.startsWith('--device='));
  if (i < 0) return { argv };
  const inline = argv[i].startsWith('--device=');
  const device = inline ? argv[i].slice('--device='.length) : argv[i + 1];
  return { argv: [...argv.slice(0, i), ...argv.slice(i + (inline ? 1 : 2))], device };
}

async function main(all: string[]): Promise<number> {
  const { argv, device } = takeDevice(all);
  if (device !== undefined) {
    const { DEVICES, executionProviders, setDefaultDevice } = await import('../engine/device.js');
    if (!(DEVICES as readonly string[]).includes(device)) {
      process.stderr.write(`securecoderl: --device must be one of ${DEVICES.join(', ')}, got ${JSON.stringify(device ?? '')}\n`);
      return 2;
    }
    try {
      executionProviders(device as 'cpu' | 'cuda');
    } catch (error) {
      process.stderr.write(`securecoderl: ${(error as Error).message}\n`);
      return 1;
    }
    setDefaultDevice(device as 'cpu' | 'cuda');
  }
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`securecoderl: unknown command '${name}'\n\n${help()}\n`);
    return 2;
  }
  const module = await command.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`${module.usage}\n`);
    return 0;
  }
  try {
    return await module.run(rest);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`securecoderl ${name}: ${error.message}\n\n${module.usage}\n`);
      return 2;
    }
    process.stderr.write(`securecoderl ${name}: ${(error as Error).message}\n`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
