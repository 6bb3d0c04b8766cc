// A byte-level BPE trainer for from-scratch models, writing a Hugging Face `tokenizer.json` (and a
// `tokenizer_config.json`) that the tokenizer library loads like any published one.
// Text is split with GPT-2's pre-tokenizer pattern (what the ByteLevel pre-tokenizer with use_regex applies
// when loading), each piece becomes its UTF-8 bytes as byte-level characters, and the most frequent adjacent
// pair is merged until the vocabulary is full. Pair counts are updated incrementally: a merge only touches
// the words that contain its pair.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { byteToChar } from './byte-level.js';

/** GPT-2's split pattern (contractions, letters, digits, other symbols, whitespace runs). */
export const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

export interface BpeTrainOptions {
  /** Total vocabulary including the 256 byte tokens and the special tokens. */
  vocabSize: number;
  /** Added as special tokens with the first ids (default ['<|endoftext|>']). */
  specialTokens?: string[];
  /** Pairs seen fewer times are not merged (default 2). */
  minFrequency?: number;
}

export interface TrainedBpe {
  /** token → id */
  vocab: Map<string, number>;
  /** In merge order, as "left right". */
  merges: string[];
  specialTokens: string[];
}

export function trainBpe(texts: Iterable<string>, o: BpeTrainOptions): TrainedBpe {
  const specials = o.specialTokens ?? ['<|endoftext|>'];
  const minFreq = o.minFrequency ?? 2;
  if (o.vocabSize < 256 + specials.length) throw new Error(`BPE: vocabSize ${o.vocabSize} is below the ${256 + specials.length} byte and special tokens`);
  const enc = new TextEncoder();

  // Word counts, splitting around special tokens so they are never merged into text.
  const counts = new Map<string, number>();
  const specialRe = specials.length ? new RegExp(specials.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g') : null;
  for (const text of texts) {
    for (const part of specialRe ? text.split(specialRe) : [text]) {
      for (const m of part.matchAll(GPT2_SPLIT)) {
        let w = '';
        for (const b of enc.encode(m[0])) w += byteToChar(b);
        counts.set(w, (counts.get(w) ?? 0) + 1);
      }
    }
  }

  // Symbols as ids; words as id arrays.
  const symbols: string[] = [];
  const symbolId = new Map<string, number>();
  const sym = (s: string) => { let id = symbolId.get(s); if (id === undefined) { id = symbols.length; symbols.push(s); symbolId.set(s, id); } return id; };
  for (let b = 0; b < 256; b++) sym(byteToChar(b));
  const words: number[][] = [], freq: number[] = [];
  for (const [w, c] of counts) { words.push(Array.from(w, sym)); freq.push(c); }

  const KEY = 1 << 21; // pair key = left·KEY + right (ids stay far below 2^21)
  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const w = words[wi], f = freq[wi] * sign;
    for (let i = 0; i + 1 < w.length; i++) {
      const k = w[i] * KEY + w[i + 1];
      pairCount.set(k, (pairCount.get(k) ?? 0) + f);
      if (sign > 0) { let s = pairWords.get(k); if (!s) { s = new Set(); pairWords.set(k, s); } s.add(wi); }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const merges: string[] = [];
  const target = o.vocabSize - specials.length;
  while (symbols.length < target) {
    let best = -1, bestCount = 0, bestName: string | null = null;
    const nameOf = (k: number) => `${symbols[Math.floor(k / KEY)]} ${symbols[k % KEY]}`;
    for (const [k, c] of pairCount) {
      if (c < minFreq || c < bestCount) continue;
      if (c > bestCount) { best = k; bestCount = c; bestName = null; continue; }
      // A tie: the lexicographically smallest pair wins, so the result does not depend on map order.
      bestName ??= nameOf(best);
      const name = nameOf(k);
      if (name < bestName) { best = k; bestName = name; }
    }
    if (best < 0) break;
    bestName ??= nameOf(best);
    const l = Math.floor(best / KEY), r = best % KEY;
    const merged = sym(symbols[l] + symbols[r]);
    merges.push(bestName);
    for (const wi of pairWords.get(best) ?? []) {
      const w = words[wi];
      addPairs(wi, -1);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === l && w[i + 1] === r) { out.push(merged); i++; } else out.push(w[i]);
      }
      words[wi] = out;
      addPairs(wi, 1);
    }
    pairCount.delete(best);
    pairWords.delete(best);
    for (const [k, c] of pairCount) if (c === 0) { pairCount.delete(k); pairWords.delete(k); }
  }

  const vocab = new Map<string, number>();
  specials.forEach((s, i) => vocab.set(s, i));
  symbols.forEach((s, i) => vocab.set(s, specials.length + i));
  return { vocab, merges, specialTokens: specials };
}

/** The tokenizer.json object (Hugging Face tokenizers format, byte-level BPE). */
export function tokenizerJson(t: TrainedBpe): Record<string, unknown> {
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: t.specialTokens.map((content) => ({
      id: t.vocab.get(content), content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
    })),
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: { ...byteLevel, trim_offsets: false },
    decoder: byteLevel,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, ignore_merges: false,
      vocab: Object.fromEntries(t.vocab), merges: t.merges,
    },
  };
}

export interface SaveTokenizerOptions {
  bosToken?: string | null;
  eosToken?: string | null;
  padToken?: string | null;
  chatTemplate?: string;
  modelMaxLength?: number;
}

/** Writes tokenizer.json and tokenizer_config.json to DIR. */
export function saveTrainedTokenizer(dir: string, t: TrainedBpe, o: SaveTokenizerOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson(t)));
  const decoderEntries = Object.fromEntries(t.specialTokens.map((content) => [String(t.vocab.get(content)), {
    content, lstrip: false, normalized: false, rstrip: false, single_word: false, special: true,
  }]));
  const eos = o.eosToken === undefined ? t.specialTokens[0] ?? null : o.eosToken;
  const cfg: Record<string, unknown> = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    add_bos_token: false,
    add_eos_token: false,
    bos_token: o.bosToken ?? null,
    eos_token: eos,
    pad_token: o.padToken === undefined ? eos : o.padToken,
    unk_token: null,
    clean_up_tokenization_spaces: false,
    model_max_length: o.modelMaxLength ?? 2048,
    added_tokens_decoder: decoderEntries,
  };
  if (o.chatTemplate) cfg.chat_template = o.chatTemplate;
  writeFileSync(join(dir, 'tokenizer_config.json'), `${JSON.stringify(cfg, null, 2)}\n`);
}
