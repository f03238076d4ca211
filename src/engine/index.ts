// Barrel for the reference engine: a TypeScript decoder forward (and backward) pass for the Llama,
// Qwen2/3, Gemma 1–3 and Phi-3/4 families, streamed by layer, with matmuls on tfjs-wasm (XNNPACK
// SIMD). Import the engine from here, not from its files.

export type { EngineConfig, EngineWeights, LayerType, LayerWeights, RopeScaling, RopeScalingType } from "./types.js";
export { forward, tokenLogprobs, layerForward, layerAttentionShape, headForward } from "./forward.js";
export type { ForwardOptions, ForwardResult, ForwardTape, LayerActivations, TokenLogprobOptions } from "./forward.js";
export { getMatmulKernel, measureMatmulPeak } from "./matmul-kernel.js";
export type { MatmulKernel, MatmulPeak } from "./matmul-kernel.js";
export { logSoftmax, logSumExp, rmsnormForward, normGain, linearForward, linearForwardTransposedInput, swigluForward, gegluForward, geluF16, embeddingForward, transpose } from "./ops.js";
export { attentionForward } from "./attention.js";
export type { AttentionShape } from "./attention.js";
export { ropeInverseFrequencies, ropeTables, layerRopeTables, applyRope } from "./rope.js";
export type { RopeTables } from "./rope.js";
export { randomWeights, seededNormal, mulberry32 } from "./random-weights.js";
export type { RandomWeightOptions } from "./random-weights.js";
export { validateConfig, validateLayerWeights } from "./validate.js";
export { linearBackward, rmsnormBackward, swigluBackward, gegluBackward, ropeBackward, layerBackward } from "./backward.js";
export type { LayerGrads } from "./backward.js";
export { attentionBackward } from "./attention-backward.js";
export { nextTokenLossAndGradients } from "./loss-backward.js";
export type { ModelGrads } from "./loss-backward.js";
export { checkpointWeights, planWeights, engineConfigFrom, LAYER_ROLE_FIELDS, FUSED_ROLE_FIELDS, fusedFieldSizes } from "./checkpoint-weights.js";
