// Gemma 2 (Gemma2ForCausalLM): Gemma's layer with sandwich norms (after attention and after the
// MLP too), attention and final-logit softcapping, and sliding-window attention on every other
// layer (even layers slide). In GGUF the pre-FFN norm is `ffn_norm`, the two new ones
// `post_attention_norm` and `post_ffw_norm`; the converter drops a stored lm_head.

import type { Architecture } from "../architecture.js";
import { GEMMA, GEMMA_KEYS } from "./gemma.js";
import { LLAMA_ATTENTION, layerNorm, mlp, withoutQkPermute } from "./roles.js";

/** Gemma 2's norms and MLP: the HF `post_attention_layernorm` is the post-attention norm here. */
export const GEMMA2_MLP = [
  layerNorm("post_attention_norm", "post_attention_layernorm.weight", "post_attention_norm.weight"),
  layerNorm("post_attention_layernorm", "pre_feedforward_layernorm.weight", "ffn_norm.weight"),
  mlp("gate_proj", "gate_proj.weight", "ffn_gate.weight"),
  mlp("up_proj", "up_proj.weight", "ffn_up.weight"),
  mlp("down_proj", "down_proj.weight", "ffn_down.weight", { residualOutput: true }),
  layerNorm("post_feedforward_norm", "post_feedforward_layernorm.weight", "post_ffw_norm.weight"),
];

export const GEMMA2: Architecture = {
  ...GEMMA,
  name: "gemma2",
  hfArchitectures: ["Gemma2ForCausalLM"],
  hfModelTypes: ["gemma2"],
  ggufArchitectures: ["gemma2"],
  // transformers' Gemma2Config defaults (google/gemma-2-2b spells out all of them)
  hfConfigDefaults: {
    vocab_size: 256000, hidden_size: 2304, intermediate_size: 9216, num_hidden_layers: 26, num_attention_heads: 8,
    num_key_value_heads: 4, head_dim: 256, max_position_embeddings: 8192, rms_norm_eps: 1e-6, rope_theta: 10000,
    query_pre_attn_scalar: 256, sliding_window: 4096, final_logit_softcapping: 30.0, attn_logit_softcapping: 50.0,
  },
  layer: withoutQkPermute([...LLAMA_ATTENTION, ...GEMMA2_MLP]),
  slidingWindow: { hf: "period", period: 2, ggufPeriod: 2 },
  // Gemma 2 27B has 46 layers
  llamaCppScaleLayerCount: 46,
  converter: {
    ...GEMMA.converter,
    keys: [...GEMMA_KEYS, "attn_logit_softcapping", "final_logit_softcapping", "attention.sliding_window"],
    vocab: { noSpacePrefix: true },
  },
  forward: { ...GEMMA.forward, sandwichNorms: true },
};
