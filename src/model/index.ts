// The model module's public API: Llama-family decoders from Hugging Face checkpoints, LoRA and PEFT files,
// a value head, GGUF export, tokenizers and batched sampling with a KV cache.

export { parseConfig, loadConfig, configToJson, parameterCount, ConfigError, type ModelConfig, type Architecture, type RopeScaling, type TorchDtype } from './config.js';
export { SafetensorsFile, writeSafetensors, toFloat32, fromFloat32, f32ToBf16, f32ToF16, f16ToF32, type StorageDtype, type TensorInfo, type TensorToWrite } from './safetensors.js';
export {
  loadWeights, loadCheckpoint, saveCheckpoint, checkpointFiles, expectedTensors, randomWeights, tinyConfig, tinyModel, createTinyModel,
  type Weights, type WeightTensor, type Checkpoint, type SaveOptions, type TinyModelOptions,
} from './weights.js';
export { Rng } from '../random.js';
export { inverseFrequencies, ropeTables, rotaryTables, applyRope } from './rope.js';
export { appendDecoder, decoderInputs, attentionBias, leftPad, MASKED, LORA_DROPOUT_KEEP, type DecoderInputs, type DecoderOptions, type DecoderTensors, type PaddedBatch } from './decoder.js';
export { KVCache } from './kv-cache.js';
export { CausalLM, type CausalLMOptions } from './causal-lm.js';
export { logits, formatFloat32, type LogitsOptions } from './logits.js';
export {
  LoraAdapter, DEFAULT_LORA, LORA_MODULES, modulePath, moduleShape, loraInputName, mergeLora, validateLoraConfig,
  type LoraConfig, type LoraModule, type LoraPair,
} from './lora.js';
export { saveAdapter, loadAdapter, parseAdapterConfig, peftKey, PEFT_PREFIX, type SaveAdapterOptions } from './peft.js';
export { ValueHead, VALUE_HEAD_FILE } from './value-head.js';
export { exportGguf, ggufContent, writeGguf, readGgufHeader, readGgufTensor, placeholderVocab, permuteForPairRope, type GgufExportOptions, type GgufVocab, type GgufValue, type GgufTensor, type GgufFile } from './gguf.js';
export { Tokenizer, type ChatMessage } from './tokenizer.js';
export { trainBpe, tokenizerJson, saveTrainedTokenizer, GPT2_SPLIT, type BpeTrainOptions, type TrainedBpe, type SaveTokenizerOptions } from './bpe-trainer.js';
export { bytesToSymbols, symbolsToBytes, byteToChar } from './byte-level.js';
export { generate, sampleRow, type SamplingOptions, type SampleResult, type FinishReason } from './sampler.js';
