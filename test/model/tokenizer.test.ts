// Our byte-level BPE trainer writes a tokenizer.json that @huggingface/tokenizers loads; encoding round-trips
// any text; llama.cpp's own BPE (from our GGUF export of the vocabulary and merges) tokenizes text to the
// same ids; chat templates render through @huggingface/jinja.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { saveTrainedTokenizer, trainBpe, tokenizerJson } from '../../src/model/bpe-trainer.js';
import { exportGguf } from '../../src/model/gguf.js';
import { Tokenizer } from '../../src/model/tokenizer.js';
import { tinyModel } from '../../src/model/weights.js';
import { tempDir } from './helpers.js';
import { withLlamaModel } from './llama-cpp.js';

const dataFile = fileURLToPath(new URL('../../../data/apps_plus/valid_500.json', import.meta.url));

function corpus(): string[] {
  const problems = JSON.parse(readFileSync(dataFile, 'utf8')) as Record<string, unknown>[];
  const texts: string[] = [];
  for (const p of problems.slice(0, 200)) for (const v of Object.values(p)) if (typeof v === 'string' && v.length > 40) texts.push(v);
  return texts;
}

const SAMPLE = 'def solve(n: int) -> int:\n    """Return n²."""\n    return n ** 2  # héllo wörld 🙂\n\n\tprint(solve(12345))<|endoftext|>  trailing  ';
const TEMPLATE = "{% for m in messages %}{% if m['role'] == 'system' %}{{ m['content'] }}\n{% else %}### {{ m['role'] | capitalize }}:\n{{ m['content'] }}\n{% endif %}{% endfor %}{% if add_generation_prompt %}### Response:\n{% endif %}";


describe('tokenizer', () => {
  const texts = corpus();
  const bpe = trainBpe(texts, { vocabSize: 1024, specialTokens: ['<|endoftext|>', '<|pad|>'] });
  const dir = tempDir('tok');
  saveTrainedTokenizer(dir, bpe, { padToken: '<|pad|>', chatTemplate: TEMPLATE });
  const tok = Tokenizer.load(dir);

  it('the trainer fills the vocabulary deterministically, specials first, bytes next, merges after', () => {
    assert.equal(bpe.vocab.size, 1024);
    assert.equal(bpe.merges.length, 1024 - 256 - 2);
    assert.equal(bpe.vocab.get('<|endoftext|>'), 0);
    assert.equal(bpe.vocab.get('<|pad|>'), 1);
    assert.equal(bpe.vocab.get('!'), 2 + 33);
    const again = trainBpe(texts, { vocabSize: 1024, specialTokens: ['<|endoftext|>', '<|pad|>'] });
    assert.deepEqual(again.merges, bpe.merges);
    const json = tokenizerJson(bpe) as { model: { type: string; merges: string[] }; pre_tokenizer: { type: string } };
    assert.equal(json.model.type, 'BPE');
    assert.equal(json.pre_tokenizer.type, 'ByteLevel');
    for (const m of json.model.merges) {
      const [l, r] = m.split(' ');
      assert.ok(bpe.vocab.has(l) && bpe.vocab.has(r) && bpe.vocab.has(l + r), m);
    }
  });

  it('@huggingface/tokenizers loads it: round trips, compresses, knows the special tokens', () => {
    const ids = tok.encode(SAMPLE);
    assert.equal(tok.decode(ids), SAMPLE);
    assert.equal(ids.filter((t) => t === 0).length, 1, '<|endoftext|> is one special token');
    assert.equal(tok.decode(ids, { skipSpecialTokens: true }), SAMPLE.replace('<|endoftext|>', ''));
    const text = texts.slice(0, 50).join('\n');
    const n = tok.encode(text).length;
    assert.ok(text.length / n > 2.5, `compression ${text.length / n} chars per token`);
    assert.equal(tok.eosId, 0);
    assert.equal(tok.padId, 1);
    assert.equal(tok.vocabSize, 1024);
    for (const s of ['', ' ', '\u0000\u00ff', '日本語のテキスト', 'a\r\nb']) assert.equal(tok.decode(tok.encode(s)), s);
  });

  it('llama.cpp tokenizes like the library after GGUF export of the vocabulary and merges', async () => {
    const gdir = tempDir('tok-gguf');
    const ck = tinyModel({ vocabSize: 1024, seed: 1 });
    exportGguf(join(gdir, 'm.gguf'), ck, { vocab: tok.ggufVocab('gpt-2') });
    await withLlamaModel(join(gdir, 'm.gguf'), async (model) => {
      for (const s of [SAMPLE.replace('<|endoftext|>', ''), ...texts.slice(0, 20)]) {
        assert.deepEqual(Array.from(model.tokenize(s, false)), tok.encode(s), JSON.stringify(s.slice(0, 60)));
      }
      assert.equal(model.detokenize(Uint32Array.from(tok.encode(SAMPLE)), false), SAMPLE.replace('<|endoftext|>', ''));
    });
  });

  it('renders the chat template from tokenizer_config.json with @huggingface/jinja', () => {
    const out = tok.applyChatTemplate([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Add 2 and 3.' }], { addGenerationPrompt: true });
    assert.equal(out, 'Be brief.\n### User:\nAdd 2 and 3.\n### Response:\n');
    const plain = new Tokenizer(tokenizerJson(bpe), {});
    assert.throws(() => plain.applyChatTemplate([{ role: 'user', content: 'x' }]), /has no chat_template/);
  });
});
