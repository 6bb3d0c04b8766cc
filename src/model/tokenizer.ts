// Tokenizers from a Hugging Face model folder: `tokenizer.json` loaded by @huggingface/tokenizers (the
// maintained JS port of the tokenizers library; no network: it takes the parsed JSON), special tokens from
// `tokenizer_config.json`, and the chat template rendered by @huggingface/jinja.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Template } from '@huggingface/jinja';
import { Tokenizer as HfTokenizerImpl } from '@huggingface/tokenizers';
import type { GgufVocab } from './gguf.js';

export interface ChatMessage {
  role: string;
  content: string;
}

type Json = Record<string, unknown>;

function tokenContent(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && typeof (v as Json).content === 'string') return (v as Json).content as string;
  return null;
}

export class Tokenizer {
  private readonly impl: HfTokenizerImpl;
  private template: Template | null = null;
  private size: number | null = null;
  /** The parsed tokenizer.json and tokenizer_config.json. */
  readonly json: Json;
  readonly config: Json;
  readonly bosToken: string | null;
  readonly eosToken: string | null;
  readonly padToken: string | null;
  readonly chatTemplate: string | null;

  constructor(tokenizerJson: Json, tokenizerConfig: Json = {}, readonly source = 'tokenizer.json') {
    this.json = tokenizerJson;
    this.config = tokenizerConfig;
    try {
      this.impl = new HfTokenizerImpl(tokenizerJson, tokenizerConfig);
    } catch (e) {
      throw new Error(`${source}: the tokenizer library cannot load it (${(e as Error).message})`);
    }
    this.bosToken = tokenContent(tokenizerConfig.bos_token);
    this.eosToken = tokenContent(tokenizerConfig.eos_token);
    this.padToken = tokenContent(tokenizerConfig.pad_token);
    const ct = tokenizerConfig.chat_template;
    if (typeof ct === 'string') this.chatTemplate = ct;
    else if (Array.isArray(ct)) {
      // A list of named templates: the one called "default".
      const d = (ct as { name?: string; template?: string }[]).find((t) => t.name === 'default');
      this.chatTemplate = d?.template ?? null;
    } else this.chatTemplate = null;
  }

  /** Reads DIR/tokenizer.json and (if present) DIR/tokenizer_config.json. */
  static load(dir: string): Tokenizer {
    const tj = join(dir, 'tokenizer.json');
    if (!existsSync(tj)) throw new Error(`${dir}: no tokenizer.json`);
    const read = (f: string): Json => {
      try { return JSON.parse(readFileSync(f, 'utf8')) as Json; } catch (e) { throw new Error(`${f}: not valid JSON (${(e as Error).message})`); }
    };
    const cfgPath = join(dir, 'tokenizer_config.json');
    return new Tokenizer(read(tj), existsSync(cfgPath) ? read(cfgPath) : {}, tj);
  }

  /** Token ids of `text` (special tokens in the text are recognised; `addSpecialTokens` adds BOS etc.). */
  encode(text: string, o: { addSpecialTokens?: boolean } = {}): number[] {
    return this.impl.encode(text, { add_special_tokens: o.addSpecialTokens ?? false }).ids;
  }

  decode(ids: readonly number[], o: { skipSpecialTokens?: boolean } = {}): string {
    if (ids.length === 0) return ''; // the library refuses an empty list
    return this.impl.decode([...ids], { skip_special_tokens: o.skipSpecialTokens ?? false, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.impl.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.impl.id_to_token(id);
  }

  /** Number of ids (the largest id + 1, counting added tokens). */
  get vocabSize(): number {
    if (this.size !== null) return this.size;
    let max = -1;
    for (const id of this.impl.get_vocab(true).values()) if (id > max) max = id;
    this.size = max + 1;
    return this.size;
  }

  get bosId(): number | null { return this.bosToken === null ? null : this.tokenToId(this.bosToken) ?? null; }
  get eosId(): number | null { return this.eosToken === null ? null : this.tokenToId(this.eosToken) ?? null; }
  get padId(): number | null { return this.padToken === null ? null : this.tokenToId(this.padToken) ?? null; }

  /** Renders the chat template (tokenizer_config.json's chat_template) for `messages`. */
  applyChatTemplate(messages: readonly ChatMessage[], o: { addGenerationPrompt?: boolean; extra?: Record<string, unknown> } = {}): string {
    if (!this.chatTemplate) throw new Error(`${this.source}: tokenizer_config.json has no chat_template`);
    this.template ??= new Template(this.chatTemplate);
    return this.template.render({
      messages: messages.map((m) => ({ ...m })),
      add_generation_prompt: o.addGenerationPrompt ?? false,
      bos_token: this.bosToken ?? '',
      eos_token: this.eosToken ?? '',
      pad_token: this.padToken ?? '',
      ...o.extra,
    });
  }

  /**
   * The vocabulary for a GGUF header (byte-level BPE only: llama.cpp's "gpt2" tokenizer model).
   * `pre` names llama.cpp's pre-tokenizer ('gpt-2' for our trainer, 'deepseek-coder', 'qwen2', 'llama-bpe').
   */
  ggufVocab(pre: string): GgufVocab {
    const model = this.json.model as Json | undefined;
    if (!model || model.type !== 'BPE') throw new Error(`${this.source}: GGUF export supports BPE tokenizers, got model.type ${JSON.stringify(model?.type)}`);
    if (model.byte_fallback === true) throw new Error(`${this.source}: byte-fallback (SentencePiece-style) BPE is not exported; only byte-level BPE`);
    const vocab = model.vocab as Record<string, number>;
    const added = (this.json.added_tokens as { id: number; content: string; special?: boolean }[] | undefined) ?? [];
    const n = this.vocabSize;
    const tokens = new Array<string>(n).fill(''), types = new Array<number>(n).fill(5);
    for (const [t, id] of Object.entries(vocab)) { tokens[id] = t; types[id] = 1; }
    for (const a of added) { tokens[a.id] = a.content; types[a.id] = a.special ? 3 : 4; }
    tokens.forEach((t, i) => { if (t === '') tokens[i] = `[PAD${i}]`; });
    const merges = (model.merges as (string | [string, string])[]).map((m) => (typeof m === 'string' ? m : `${m[0]} ${m[1]}`));
    return {
      tokens, types, merges, pre,
      bos: this.bosId, eos: this.eosId, pad: this.padId,
      addBos: this.config.add_bos_token === true,
      chatTemplate: this.chatTemplate ?? undefined,
    };
  }
}
