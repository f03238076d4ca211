// The engine's model interface: a decoder config (Llama, Qwen2/3, Gemma 1/2/3, Phi-3 features as
// optional fields) plus lazily loaded f32 weights in HF layouts. Decoupled from file formats: an
// adapter (safetensors, GGUF, a build plan) implements EngineWeights. Not for dtype conversion (the
// adapter widens F16/BF16 and slices fused tensors) and not for tokenization.

export type RopeScalingType = "linear" | "llama3" | "yarn" | "dynamic" | "longrope";

export type LayerType = "sliding_attention" | "full_attention";

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
  /** yarn and longrope: the factor cos and sin are multiplied by (longrope default:
   * √(1 + ln(factor)/ln(originalMaxPositions)), factor = maxPositions/originalMaxPositions). */
  attentionFactor?: number;
  /** longrope (Phi-3): [rotaryDim/2] divisors of the inverse frequencies, the short ones for
   * sequences up to originalMaxPositions and the long ones past it (as HF picks them). */
  shortFactor?: number[];
  longFactor?: number[];
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

  // ---- family features (absent = Llama behaviour) ----
  /** MLP activation of gate (default silu; Gemma: gelu with the tanh approximation). */
  activation?: "silu" | "gelu_tanh";
  /** forward only: gelu as llama.cpp's CPU kernel computes it, from a table over f16 inputs
   * (ops.ts geluF16), for cross-checks that should agree to float rounding; HF's gelu otherwise. */
  geluF16Table?: boolean;
  /** 1 when RMSNorm gains are stored as w − 1 and the norm multiplies by (1 + w) (HF Gemma; a GGUF
   * stores 1 + w already, so 0 there). Applies to every norm, q/k norms included. */
  normWeightOffset?: 0 | 1;
  /** embeddings are multiplied by this (Gemma: √hidden rounded to f32, as HF and llama.cpp do). */
  embedScale?: number;
  /** per-head RMSNorm of q and k over headDim, before RoPE (Qwen3, Gemma 3): LayerWeights.qNorm/kNorm. */
  qkNorm?: boolean;
  /** Gemma 2/3: RMSNorm of each branch's output before the residual add (postAttnNorm, postFfnNorm). */
  sandwichNorms?: boolean;
  /** attention scores s become cap·tanh(s/cap) before the softmax (Gemma 2). */
  attnLogitSoftcap?: number;
  /** logits z become cap·tanh(z/cap) (Gemma 2). */
  finalLogitSoftcap?: number;
  /** the attention scale is queryPreAttnScalar^-½ instead of headDim^-½ (Gemma 2/3). */
  queryPreAttnScalar?: number;
  /** each layer's attention kind; sliding layers see only the last slidingWindow keys (the query's
   * own included: key u is visible to query t when t − u < slidingWindow). Length numLayers. */
  layerTypes?: LayerType[];
  slidingWindow?: number;
  /** sliding layers' RoPE base (Gemma 3 rope_local_base_freq), without ropeScaling; full layers use
   * ropeTheta with ropeScaling. Absent: every layer uses the same tables. */
  ropeLocalTheta?: number;
  /** rotary dimensions per head (partial rotary, Phi: partial_rotary_factor·headDim); the first
   * rotaryDim elements rotate (i pairs with i + rotaryDim/2), the rest pass through. */
  rotaryDim?: number;
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
  ffnNorm: Float32Array; // [hidden] (the pre-FFN norm)
  qNorm?: Float32Array; // [headDim], config.qkNorm
  kNorm?: Float32Array; // [headDim]
  postAttnNorm?: Float32Array; // [hidden], config.sandwichNorms
  postFfnNorm?: Float32Array; // [hidden]
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
