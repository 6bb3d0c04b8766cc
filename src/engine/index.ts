// The engine's public API: symbolic graphs, the op set, autodiff, ONNX Runtime execution, optimizers.

export * from './tensor.js';
export { Graph, int, float, ints, str, type Attr, type Node, type GraphOptions } from './graph.js';
export { FileSlice } from './file-slice.js';
export * from './ops.js';
export { gradients, defineGrad, recomputed, sumToShape, withCustomGradient, type GradRule, type RegionRule, type GradientOptions } from './autodiff.js';
export { encodeModel, prune, OPSET, type EncodeOptions, type EncodedModel } from './onnx-proto.js';
export { compile, run, releaseSessions, Executable, type SessionOptions, type Feed, type Output } from './session.js';
export { DEVICES, defaultDevice, setDefaultDevice, executionProviders, CUDA_INSTALL_HINT, type Device } from './device.js';
export * from './nn.js';
export { checkGradients, type GradCheckOptions, type GradCheckResult, type TensorCheck } from './check.js';
export { AdamW, clipGradNorm, globalNorm, type AdamWConfig, type Param } from './optim.js';
export { encodeSafetensors, decodeSafetensors, type NamedArray } from './safetensors.js';
export {
  measureMatmulGflops, measureMlpStep, DecoderTrainBench, PROTOTYPE_DECODER, DECODER_10M,
  type MatmulBenchOptions, type MatmulBenchResult, type MlpBenchOptions, type MlpBenchResult,
  type DecoderBenchConfig, type DecoderBenchVariant, type DecoderStepTiming,
} from './bench.js';
export { QuantizedWeight, QUANT_MODES, NBITS_BLOCK, halfCeil, dequantizeNBits4, type QuantMode, type Int8Forward, type NBits4Matrix, type QuantBackward } from './quantize.js';
export { quantizedLinear, quantizedGather, quantizedHeadLogProbs, blockedHead, quantizedTensors, quantizedFeeds, quantizedNames, dequantizeNBits4Graph, type QuantizedTensors } from './qlinear.js';
