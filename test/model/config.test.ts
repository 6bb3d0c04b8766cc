// config.json parsing for each supported family, and the errors for what is not implemented.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, configToJson, loadConfig, parseConfig, parameterCount } from '../../src/model/config.js';
import { tinyConfig } from '../../src/model/weights.js';
import { tempDir } from './helpers.js';

// The fields as the published checkpoints write them (values from their config.json files).
const DEEPSEEK_CODER_1_3B = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 32256, hidden_size: 2048,
  intermediate_size: 5504, num_hidden_layers: 24, num_attention_heads: 16, num_key_value_heads: 16,
  hidden_act: 'silu', max_position_embeddings: 16384, rms_norm_eps: 1e-6, rope_theta: 100000,
  rope_scaling: { factor: 4.0, type: 'linear' }, tie_word_embeddings: false, bos_token_id: 32013,
  eos_token_id: 32021, torch_dtype: 'bfloat16', pretraining_tp: 1, attention_bias: false,
};
const QWEN25_05B = {
  architectures: ['Qwen2ForCausalLM'], model_type: 'qwen2', vocab_size: 151936, hidden_size: 896,
  intermediate_size: 4864, num_hidden_layers: 24, num_attention_heads: 14, num_key_value_heads: 2,
  hidden_act: 'silu', max_position_embeddings: 32768, rms_norm_eps: 1e-6, rope_theta: 1000000.0,
  sliding_window: 32768, use_sliding_window: false, max_window_layers: 21, tie_word_embeddings: true,
  bos_token_id: 151643, eos_token_id: 151645, torch_dtype: 'bfloat16',
};
const QWEN3_06B = {
  architectures: ['Qwen3ForCausalLM'], model_type: 'qwen3', vocab_size: 151936, hidden_size: 1024,
  intermediate_size: 3072, num_hidden_layers: 28, num_attention_heads: 16, num_key_value_heads: 8,
  head_dim: 128, hidden_act: 'silu', max_position_embeddings: 40960, rms_norm_eps: 1e-6, rope_theta: 1000000,
  rope_scaling: null, attention_bias: false, tie_word_embeddings: true, bos_token_id: 151643,
  eos_token_id: 151645, torch_dtype: 'bfloat16', use_sliding_window: false, sliding_window: null,
};
const LLAMA32_1B = {
  architectures: ['LlamaForCausalLM'], model_type: 'llama', vocab_size: 128256, hidden_size: 2048,
  intermediate_size: 8192, num_hidden_layers: 16, num_attention_heads: 32, num_key_value_heads: 8,
  head_dim: 64, hidden_act: 'silu', max_position_embeddings: 131072, rms_norm_eps: 1e-5, rope_theta: 500000.0,
  rope_scaling: { factor: 32.0, high_freq_factor: 4.0, low_freq_factor: 1.0, original_max_position_embeddings: 8192, rope_type: 'llama3' },
  tie_word_embeddings: true, bos_token_id: 128000, eos_token_id: [128001, 128008, 128009], torch_dtype: 'bfloat16',
  attention_bias: false, mlp_bias: false,
};

describe('config.json', () => {
  it('DeepSeek-Coder 1.3B: llama with linear RoPE scaling, untied, ~1.35B parameters', () => {
    const c = parseConfig(DEEPSEEK_CODER_1_3B);
    assert.equal(c.architecture, 'llama');
    assert.deepEqual(c.ropeScaling, { type: 'linear', factor: 4 });
    assert.equal(c.headDim, 128);
    assert.equal(c.numKvHeads, 16);
    assert.equal(c.tieWordEmbeddings, false);
    assert.equal(c.qkvBias, false);
    assert.deepEqual(c.eosTokenIds, [32021]);
    assert.equal(c.torchDtype, 'bfloat16');
    const n = parameterCount(c);
    assert.ok(n > 1.3e9 && n < 1.4e9, String(n));
  });

  it('Qwen2.5 0.5B: q/k/v biases, no o bias, tied, GQA', () => {
    const c = parseConfig(QWEN25_05B);
    assert.equal(c.architecture, 'qwen2');
    assert.equal(c.qkvBias, true);
    assert.equal(c.oBias, false);
    assert.equal(c.tieWordEmbeddings, true);
    assert.equal(c.headDim, 64);
    assert.equal(c.numKvHeads, 2);
    const n = parameterCount(c);
    assert.ok(n > 0.49e9 && n < 0.5e9, String(n));
  });

  it('Qwen3 0.6B: q/k norms, explicit head_dim different from hidden/heads', () => {
    const c = parseConfig(QWEN3_06B);
    assert.equal(c.architecture, 'qwen3');
    assert.equal(c.qkNorm, true);
    assert.equal(c.headDim, 128);
    assert.equal(c.qkvBias, false);
    assert.deepEqual(c.ropeScaling, { type: 'none' });
  });

  it('Llama 3.2 1B: tied embeddings, llama3 RoPE scaling, several eos ids', () => {
    const c = parseConfig(LLAMA32_1B);
    assert.deepEqual(c.ropeScaling, { type: 'llama3', factor: 32, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositionEmbeddings: 8192 });
    assert.equal(c.tieWordEmbeddings, true);
    assert.deepEqual(c.eosTokenIds, [128001, 128008, 128009]);
    const n = parameterCount(c);
    assert.ok(n > 1.2e9 && n < 1.25e9, String(n));
  });

  it('round-trips through configToJson', () => {
    for (const json of [DEEPSEEK_CODER_1_3B, QWEN25_05B, QWEN3_06B, LLAMA32_1B]) {
      const c = parseConfig(json);
      assert.deepEqual(parseConfig(configToJson(c)), c);
    }
    for (const arch of ['llama', 'qwen2', 'qwen3'] as const) {
      const c = tinyConfig({ architecture: arch, tieWordEmbeddings: true });
      assert.deepEqual(parseConfig(configToJson(c)), c);
    }
  });

  it('refuses what is not implemented, naming the file and the field', () => {
    const dir = tempDir('config');
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ ...DEEPSEEK_CODER_1_3B, model_type: 'mixtral' }, /field 'model_type' is "mixtral"; supported: llama, qwen2, qwen3/],
      [{ ...DEEPSEEK_CODER_1_3B, rope_scaling: { type: 'dynamic', factor: 2 } }, /field 'rope_scaling.type' is "dynamic"/],
      [{ ...QWEN3_06B, rope_scaling: { rope_type: 'yarn', factor: 4 } }, /field 'rope_scaling.rope_type' is "yarn"/],
      [{ ...DEEPSEEK_CODER_1_3B, hidden_act: 'gelu' }, /field 'hidden_act' is "gelu"/],
      [{ ...QWEN25_05B, use_sliding_window: true }, /field 'use_sliding_window' is true/],
      [{ ...DEEPSEEK_CODER_1_3B, num_key_value_heads: 5 }, /field 'num_key_value_heads' \(5\) must divide/],
      [{ ...DEEPSEEK_CODER_1_3B, hidden_size: '2048' }, /field 'hidden_size' must be a positive integer, got "2048"/],
      [{ ...DEEPSEEK_CODER_1_3B, vocab_size: undefined }, /field 'vocab_size' is missing/],
      [{ ...LLAMA32_1B, rope_scaling: { ...LLAMA32_1B.rope_scaling, low_freq_factor: 8 } }, /rope_scaling.high_freq_factor' must exceed/],
      [{ ...DEEPSEEK_CODER_1_3B, torch_dtype: 'float8' }, /field 'torch_dtype' is "float8"/],
    ];
    for (const [json, re] of cases) {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(json));
      assert.throws(() => loadConfig(dir), (e: Error) => e instanceof ConfigError && e.message.startsWith(join(dir, 'config.json')) && re.test(e.message), String(re));
    }
    writeFileSync(join(dir, 'config.json'), '{ not json');
    assert.throws(() => loadConfig(dir), /config.json: not valid JSON/);
  });
});
