// Gemma 3: Gemma 2's sandwich-norm layer plus per-head q/k RMSNorm, no attention softcapping, five
// sliding layers to one global (`sliding_window_pattern` 6), a separate rope base for the sliding
// layers (`rope_local_base_freq`) and linear rope scaling on the global ones. Two tables: the text
// model (Gemma3ForCausalLM) and the language model inside Gemma3ForConditionalGeneration, whose
// config nests under `text_config` and whose vision tower and projector ride along in HF builds.

import type { Architecture } from "../architecture.js";
import { GEMMA2, GEMMA2_MLP } from "./gemma2.js";
import { EMBED, LLAMA_ATTENTION, NORM, QK_NORMS, TEXT_MODEL_KEYS, withHfPrefix, withoutQkPermute } from "./roles.js";

/** transformers' Gemma3TextConfig defaults: google/gemma-3-4b-it's text_config names only 6 keys */
const GEMMA3_TEXT_DEFAULTS = {
  vocab_size: 262208, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8,
  num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 131072, rms_norm_eps: 1e-6, rope_theta: 1_000_000,
  rope_local_base_freq: 10_000, query_pre_attn_scalar: 256, sliding_window: 4096, sliding_window_pattern: 6,
  final_logit_softcapping: null, attn_logit_softcapping: null, tie_word_embeddings: true,
};

const GEMMA3_LAYER = withoutQkPermute([...LLAMA_ATTENTION, ...QK_NORMS, ...GEMMA2_MLP]);

export const GEMMA3: Architecture = {
  ...GEMMA2,
  name: "gemma3",
  hfArchitectures: ["Gemma3ForCausalLM"],
  hfModelTypes: ["gemma3_text"],
  ggufArchitectures: ["gemma3"],
  hfConfigDefaults: GEMMA3_TEXT_DEFAULTS,
  layer: GEMMA3_LAYER,
  perLayerConfigKeys: ["layer_types"],
  slidingWindow: { hf: "period", period: 6, periodKey: "sliding_window_pattern", ggufPeriod: 6, ggufNeedsWindowKey: true },
  // Gemma 3 27B has 62 layers
  llamaCppScaleLayerCount: 62,
  // TextModel's keys, then its own: final softcap (when set) and the window
  converter: {
    keys: [...TEXT_MODEL_KEYS, "final_logit_softcapping", "attention.sliding_window"],
    ropeFreqsTensor: false, llamaVocab: false, vocab: { noSpacePrefix: true, sentencePieceFromJson: true }, trimEmbeddingToVocab: true,
  },
  forward: { ...GEMMA2.forward, qkNorm: true },
};

/** The language model of Gemma3ForConditionalGeneration (google/gemma-3-4b-it and up). */
export const GEMMA3_MULTIMODAL: Architecture = {
  ...GEMMA3,
  name: "gemma3-multimodal",
  hfArchitectures: ["Gemma3ForConditionalGeneration"],
  hfModelTypes: ["gemma3"],
  hfTextConfigKey: "text_config",
  hfLayerPrefix: "language_model.model.layers",
  hfOtherModalities: ["vision_tower.", "multi_modal_projector."],
  preLayer: withHfPrefix([EMBED], "language_model."),
  layer: withHfPrefix(GEMMA3_LAYER, "language_model."),
  postLayer: withHfPrefix([NORM], "language_model."),
};
