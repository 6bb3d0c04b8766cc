import type { Problem } from '../data/problem.js';
import { DEFAULT_TEMPLATE, renderPrompt, resolveTemplate, TEMPLATE_NAMES, type ChatMessage } from '../data/templates.js';

/** A problem as a backend takes it: as text (completion APIs, the local model) and as chat messages
 * (chat APIs). */
export interface BackendPrompt {
  prompt: string;
  messages: ChatMessage[];
}

/** How an evaluation turns a problem into what the model sees. */
export interface EvalTemplate {
  /** Recorded in the run config; two runs compare only with the same template. */
  name: string;
  render(problem: Problem): BackendPrompt;
}

/** Names kept from earlier run configs: `paper` is data's `instruction`, `plain` its `completion`. */
const ALIASES: Record<string, string> = { paper: 'instruction', plain: 'completion' };

/**
 * The run's template. A name is one of data's shared templates (the one SFT and training use:
 * `instruction` — the paper's — by default, `instruction-python`, `chat`, `completion`), so a model is
 * measured on the text it was trained on. A text template goes to chat APIs as one user message; the
 * `chat` template's messages go to completion APIs joined as plain text. Anything containing
 * `{prompt}` is a format string (`{starter_code}` also works).
 */
export function promptTemplate(spec: string = DEFAULT_TEMPLATE): EvalTemplate {
  if (spec.includes('{prompt}')) {
    return {
      name: spec,
      render(problem) {
        const text = spec.replaceAll('{prompt}', problem.prompt).replaceAll('{starter_code}', problem.starterCode ?? '');
        return { prompt: text, messages: [{ role: 'user', content: text }] };
      },
    };
  }
  const name = ALIASES[spec] ?? spec;
  if (!(TEMPLATE_NAMES as readonly string[]).includes(name)) {
    throw new Error(`--template: expected ${[...TEMPLATE_NAMES, ...Object.keys(ALIASES)].join(', ')} or a format string with {prompt}, got ${JSON.stringify(spec)}`);
  }
  const template = resolveTemplate(name);
  return {
    name,
    render(problem) {
      const rendered = renderPrompt(problem, template);
      if (rendered.template === 'chat') return { prompt: rendered.messages.map((m) => m.content).join('\n\n'), messages: rendered.messages };
      return { prompt: rendered.text, messages: [{ role: 'user', content: rendered.text }] };
    },
  };
}
