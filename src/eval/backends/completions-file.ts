import { loadSamples } from '../../data/index.js';
import { BackendError, type Generation, type GenerationBackend, type GenerationRequest, type PlannedPrompt } from './backend.js';

/**
 * Completions read from a JSONL file (`problem_id`, `completion` per line, as the `score` command
 * takes them). The j-th line for a problem, in file order, is its sample j. Bad lines and unknown
 * problem ids are refused with file and line.
 */
export class CompletionsFileBackend implements GenerationBackend {
  readonly kind = 'completions-file' as const;
  readonly concurrency = 64;
  private readonly byProblem = new Map<string, string[]>();

  constructor(readonly path: string, knownIds?: ReadonlySet<string>) {
    const { samples, errors } = loadSamples(path, knownIds);
    if (errors.length > 0) {
      const more = errors.length > 5 ? `\n  ... and ${errors.length - 5} more` : '';
      throw new BackendError('missing', `completions file has ${errors.length} bad line${errors.length === 1 ? '' : 's'}:\n  ${errors.slice(0, 5).join('\n  ')}${more}`);
    }
    for (const s of samples) {
      const list = this.byProblem.get(s.problemId) ?? [];
      list.push(s.completion);
      this.byProblem.set(s.problemId, list);
    }
  }

  /** Problem ids with at least one completion, in first-appearance order. */
  problemIds(): string[] {
    return [...this.byProblem.keys()];
  }

  describe(): Record<string, unknown> {
    return { kind: this.kind, path: this.path };
  }

  /** Every planned prompt must have as many completions as the run wants samples. */
  async check(plan: readonly PlannedPrompt[]): Promise<void> {
    const short = plan.filter((p) => (this.byProblem.get(p.problemId)?.length ?? 0) < p.samples);
    if (short.length === 0) return;
    const list = short.slice(0, 5).map((p) => `"${p.problemId}" (has ${this.byProblem.get(p.problemId)?.length ?? 0}, needs ${p.samples})`).join(', ');
    throw new BackendError('missing', `${this.path}: too few completions for ${short.length} of ${plan.length} prompts: ${list}${short.length > 5 ? ', ...' : ''}`);
  }

  async generate(request: GenerationRequest): Promise<Generation> {
    const completion = this.byProblem.get(request.problemId)?.[request.sample];
    if (completion === undefined) throw new BackendError('missing', `${this.path}: no completion for problem "${request.problemId}" sample ${request.sample}`);
    return { completion, finishReason: null, completionTokens: null, latencyMs: 0, attempts: 0 };
  }
}
