import { formatFloat32, logits } from '../model/logits.js';
import { parse, positiveNumber, required, UsageError } from './args.js';

export const usage = `securecoderl logits --model DIR [--adapter DIR] --tokens 1,2,3 [--json] [--top K]

Runs the model on the token ids and prints the float32 logits at every position.
  --model DIR      Hugging Face model folder (config.json + model.safetensors or shards)
  --adapter DIR    PEFT LoRA adapter folder (adapter_config.json + adapter_model.safetensors)
  --tokens IDS     comma-separated token ids
  --json           one JSON object: {"logits": [[...], ...]} (one row per position)
  --top K          text output: only the K largest logits per position, as id=value
  --threads N      ONNX Runtime threads (default: all cores)`;

export async function run(argv: string[]): Promise<number> {
  const values = parse(argv, {
    model: { type: 'string' }, adapter: { type: 'string' }, tokens: { type: 'string' },
    json: { type: 'boolean' }, top: { type: 'string' }, threads: { type: 'string' },
  });
  const text = required('tokens', values.tokens);
  const tokens = text.split(',').map((s) => s.trim());
  if (tokens.some((s) => !/^\d+$/.test(s))) throw new UsageError(`--tokens: expected comma-separated non-negative integers, got ${JSON.stringify(text)}`);
  const top = positiveNumber('top', values.top);
  const threads = positiveNumber('threads', values.threads);
  const rows = await logits({
    model: required('model', values.model),
    adapter: values.adapter as string | undefined,
    tokens: tokens.map(Number),
    threads,
  });
  if (values.json) {
    process.stdout.write(`{"logits": [${rows.map((r) => `[${Array.from(r, formatFloat32).join(', ')}]`).join(', ')}]}\n`);
    return 0;
  }
  rows.forEach((r, i) => {
    let body: string;
    if (top) {
      const order = Array.from(r.keys()).sort((a, b) => r[b] - r[a]).slice(0, Math.floor(top));
      body = order.map((id) => `${id}=${formatFloat32(r[id])}`).join(' ');
    } else {
      body = Array.from(r, formatFloat32).join(' ');
    }
    process.stdout.write(`position ${i} token ${tokens[i]}: ${body}\n`);
  });
  return 0;
}
