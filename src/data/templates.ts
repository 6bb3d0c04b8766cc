import type { Problem } from './problem.js';

/**
 * Prompt templates. One template (with its options) is chosen per run and used by SFT, RL training
 * and evaluation alike, so the model is trained and measured on the same text.
 *
 * - `instruction` (default): the paper's template,
 *   `### Instruction:\nComplete the following code:\n\n{prompt}\n\n### Response:\n`.
 * - `instruction-python`: the same with "Python code", the wording of the reference SFT script (a
 *   compatibility mode: the reference trained SFT on it and ran PPO on `instruction`).
 * - `chat`: a messages array for instruct models; the tokenizer's chat template turns it into text
 *   later. The user message holds the same instruction and the prompt in a fenced block.
 * - `completion`: the prompt itself, for base models that continue the code.
 *
 * A prose prompt (`promptKind: 'text'`: CyberSecEval, original APPS) is already an instruction, so the
 * instruction templates use it in place of "Complete the following code:" + code.
 */
export type TemplateName = 'instruction' | 'instruction-python' | 'chat' | 'completion';

export const TEMPLATE_NAMES: readonly TemplateName[] = ['instruction', 'instruction-python', 'chat', 'completion'];
export const DEFAULT_TEMPLATE: TemplateName = 'instruction';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The template a run uses; stored in its config so SFT, training and evaluation share it. */
export interface PromptTemplate {
  name: TemplateName;
  /** chat: an optional system message. */
  system?: string;
}

export type RenderedPrompt =
  | { template: Exclude<TemplateName, 'chat'>; text: string }
  | { template: 'chat'; messages: ChatMessage[] };

/** A template from a name or a config (default: the paper's instruction template); throws on an unknown name. */
export function resolveTemplate(template?: TemplateName | PromptTemplate | string): PromptTemplate {
  if (template === undefined) return { name: DEFAULT_TEMPLATE };
  const t = typeof template === 'string' ? { name: template } : template;
  if (!TEMPLATE_NAMES.includes(t.name as TemplateName)) {
    throw new Error(`unknown prompt template ${JSON.stringify(t.name)} (expected one of ${TEMPLATE_NAMES.join(', ')})`);
  }
  return t as PromptTemplate;
}

type PromptSource = Pick<Problem, 'prompt'> & Partial<Pick<Problem, 'promptKind'>>;

/** {prompt} goes in verbatim, as in the paper's code (APPS+ prompts start with a newline). */
function instructionBody(problem: PromptSource, python: boolean): string {
  if (problem.promptKind === 'text') return problem.prompt;
  return `Complete the following ${python ? 'Python ' : ''}code:\n\n${problem.prompt}`;
}

/** The prompt for one problem under a template. */
export function renderPrompt(problem: PromptSource, template?: TemplateName | PromptTemplate): RenderedPrompt {
  const t = resolveTemplate(template);
  switch (t.name) {
    case 'instruction':
    case 'instruction-python': {
      // The paper's template puts {prompt} between the instruction and the response markers.
      const python = t.name === 'instruction-python';
      return { template: t.name, text: `### Instruction:\n${instructionBody(problem, python)}\n\n### Response:\n` };
    }
    case 'completion':
      return { template: 'completion', text: problem.prompt };
    case 'chat': {
      const prompt = problem.prompt.replace(/^\n+/u, '').replace(/\s+$/u, '');
      const content = problem.promptKind === 'text'
        ? prompt
        : `Complete the following Python code. Answer with the complete program in one \`\`\`python code block.\n\n\`\`\`python\n${prompt}\n\`\`\``;
      return { template: 'chat', messages: [...(t.system ? [{ role: 'system' as const, content: t.system }] : []), { role: 'user', content }] };
    }
  }
}

/** A rendered prompt's text (throws for chat: the tokenizer's chat template makes that text). */
export function promptText(rendered: RenderedPrompt): string {
  if (rendered.template === 'chat') throw new Error('a chat prompt has no text until the tokenizer applies its chat template');
  return rendered.text;
}

/**
 * An SFT example: the prompt and the target response under the same template. For text templates
 * `text` = prompt + response and `promptChars` says where the response starts (the loss masks the
 * prompt); for chat, the messages with the response as the assistant turn.
 */
export function renderExample(problem: PromptSource, response: string, template?: TemplateName | PromptTemplate):
  { template: Exclude<TemplateName, 'chat'>; text: string; promptChars: number } | { template: 'chat'; messages: ChatMessage[] } {
  const rendered = renderPrompt(problem, template);
  if (rendered.template === 'chat') return { template: 'chat', messages: [...rendered.messages, { role: 'assistant', content: response }] };
  return { template: rendered.template, text: rendered.text + response, promptChars: rendered.text.length };
}
