// Barrel for the reference engine: a TypeScript Llama-family forward (and backward) pass, streamed by layer,
// with matmuls on tfjs-wasm (XNNPACK SIMD). Import the engine from here, not from its files.

export type { EngineConfig, EngineWeights, LayerWeights, RopeScaling, RopeScalingType } from "./types.js";
export { forward, tokenLogprobs, layerForward, headForward } from "./forward.js";
export type { ForwardOptions, ForwardResult, ForwardTape, LayerActivations, TokenLogprobOptions } from "./forward.js";
export { getMatmulKernel, measureMatmulPeak } from "./matmul-kernel.js";
export type { MatmulKernel, MatmulPeak } from "./matmul-kernel.js";
export { logSoftmax, logSumExp, rmsnormForward, linearForward, linearForwardTransposedInput, swigluForward, embeddingForward, transpose } from "./ops.js";
export { attentionForward } from "./attention.js";
export type { AttentionShape } from "./attention.js";
export { ropeInverseFrequencies, ropeTables, layerRopeTables, applyRope } from "./rope.js";
export type { RopeTables } from "./rope.js";
export { randomWeights, seededNormal, mulberry32 } from "./random-weights.js";
export type { RandomWeightOptions } from "./random-weights.js";
export { validateConfig, validateLayerWeights } from "./validate.js";
export { linearBackward, rmsnormBackward, swigluBackward, ropeBackward, layerBackward } from "./backward.js";
export type { LayerGrads } from "./backward.js";
export { attentionBackward } from "./attention-backward.js";
export { nextTokenLossAndGradients } from "./loss-backward.js";
export type { ModelGrads } from "./loss-backward.js";
export { checkpointWeights, planWeights, engineConfigFrom, LAYER_ROLE_FIELDS, FUSED_ROLE_FIELDS, fusedFieldSizes } from "./checkpoint-weights.js";
