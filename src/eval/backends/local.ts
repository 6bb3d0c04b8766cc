import { BackendError, type GenerationBackend } from './backend.js';

/**
 * The local model backend (`--model DIR`): a model directory (safetensors or GGUF, with its
 * tokenizer) run by the project's own engine, sampling batches with a KV cache. It will implement
 * `GenerationBackend` with `generateBatch`. It does not exist yet: the model/ module (Llama-family
 * decoder, tokenizer, sampler) is still an open issue. Until then this throws a clear error.
 */
export function createLocalBackend(dir: string): GenerationBackend {
  throw new BackendError(
    'not_available',
    `the local model backend (--model ${dir} without --endpoint) is not available yet: it needs the model/ sampler, which is not built. `
      + 'Serve the model with an OpenAI-compatible server (vLLM, llama.cpp\'s server, Ollama) and pass --endpoint URL --model NAME, or pass --completions FILE.',
  );
}
