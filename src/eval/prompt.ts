import type { Problem } from '../data/problem.js';
import type { ChatMessage } from './backends/backend.js';

/** A problem rendered for a backend: as text (completion APIs) and as chat messages. */
export interface RenderedPrompt {
  prompt: string;
  messages: ChatMessage[];
}

/** Turns a problem into what the model sees. */
export interface PromptTemplate {
  /** Recorded in the run config; two runs compare only with the same template. */
  name: string;
  render(problem: Problem): RenderedPrompt;
}

/** The paper's instruction template (the reference PPO and evaluation prompt). */
export const PAPER_INSTRUCTION = '### Instruction:\nComplete the following code:\n\n{prompt}\n\n### Response:\n';

/** A template from a format string with `{prompt}` (the problem's prompt text) and optionally
 * `{starter_code}`; chat messages hold the same text as one user message. */
export function formatTemplate(name: string, format: string): PromptTemplate {
  if (!format.includes('{prompt}')) throw new Error(`template ${JSON.stringify(name)}: expected a {prompt} placeholder in ${JSON.stringify(format)}`);
  return {
    name,
    render(problem) {
      const text = format.replaceAll('{prompt}', problem.prompt).replaceAll('{starter_code}', problem.starterCode ?? '');
      return { prompt: text, messages: [{ role: 'user', content: text }] };
    },
  };
}

/**
 * Built-in templates, until the data module's shared templates replace them:
 * - `paper`: the paper's instruction template as text; for chat APIs one user message with the
 *   instruction ("Complete the following code:" and the prompt), the server adding its chat template.
 * - `plain`: the problem's prompt as is (base models, completion APIs).
 * Anything else containing `{prompt}` is used as a format string.
 */
export function promptTemplate(spec: string): PromptTemplate {
  if (spec === 'paper') {
    return {
      name: 'paper',
      render(problem) {
        return {
          prompt: PAPER_INSTRUCTION.replace('{prompt}', problem.prompt),
          messages: [{ role: 'user', content: `Complete the following code:\n\n${problem.prompt}` }],
        };
      },
    };
  }
  if (spec === 'plain') return { name: 'plain', render: (p) => ({ prompt: p.prompt, messages: [{ role: 'user', content: p.prompt }] }) };
  if (spec.includes('{prompt}')) return formatTemplate(spec, spec);
  throw new Error(`--template: expected paper, plain, or a format string with {prompt}, got ${JSON.stringify(spec)}`);
}
