// The engine's model interface: a Llama-family config plus lazily loaded f32 weights in HF layouts.
// Decoupled from file formats: an adapter (safetensors, GGUF, a build plan) implements EngineWeights.
// Not for dtype conversion (the adapter widens F16/BF16) and not for tokenization.

export type RopeScalingType = "linear" | "llama3" | "yarn" | "dynamic";

export interface RopeScaling {
  type: RopeScalingType;
  /** context extension factor (> 0; 1 means no scaling). */
  factor: number;
  /** llama3/yarn/dynamic: the pre-extension context length (HF `original_max_position_embeddings`);
   * defaults to EngineConfig.maxPositions for yarn and dynamic. Required for llama3. */
  originalMaxPositions?: number;
  /** llama3 (HF defaults 1 and 4). */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** yarn (HF defaults 32 and 1; attentionFactor defaults to 0.1·ln(factor)+1). */
  betaFast?: number;
  betaSlow?: number;
  attentionFactor?: number;
}

export interface EngineConfig {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling;
  /**
   * [headDim/2] divisors of the inverse frequencies: llama.cpp's `rope_freqs.weight` (Llama 3.x
   * scaling, from a GGUF's tensor or computed from config.json). Used instead of a llama3 ropeScaling.
   */
  ropeFreqFactors?: Float32Array;
  tiedEmbeddings: boolean;
  /** Qwen2-style biases on q/k/v projections (o_proj has none). */
  attentionBias?: boolean;
  /** HF max_position_embeddings: positions ≥ this are refused. */
  maxPositions: number;
}

/** One decoder layer, all f32. Linear weights are HF [out, in] row-major; Q/K rows in HF order
 * (not ggml-permuted): RoPE pairs element i with i + headDim/2 ("rotate_half"). */
export interface LayerWeights {
  attnNorm: Float32Array; // [hidden]
  wq: Float32Array; // [heads·headDim, hidden]
  wk: Float32Array; // [kvHeads·headDim, hidden]
  wv: Float32Array; // [kvHeads·headDim, hidden]
  wo: Float32Array; // [hidden, heads·headDim]
  bq?: Float32Array; // [heads·headDim]
  bk?: Float32Array; // [kvHeads·headDim]
  bv?: Float32Array; // [kvHeads·headDim]
  ffnNorm: Float32Array; // [hidden]
  wGate: Float32Array; // [intermediate, hidden]
  wUp: Float32Array; // [intermediate, hidden]
  wDown: Float32Array; // [hidden, intermediate]
}

/** Weights are fetched on demand so a forward pass holds about one layer at a time. */
export interface EngineWeights {
  config: EngineConfig;
  embedding(): Promise<Float32Array>; // [vocab, hidden]
  layer(index: number): Promise<LayerWeights>;
  finalNorm(): Promise<Float32Array>; // [hidden]
  /** [vocab, hidden]; for tied models return the embedding. */
  lmHead(): Promise<Float32Array>;
}
