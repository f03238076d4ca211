// Phi-3 and Phi-4 (Phi3ForCausalLM): fused q|k|v and gate|up projections, kept fused in GGUF
// (attn_qkv, and ffn_up holding [gate; up] as HF's chunk(2)); NEOX rope, partial rotary
// (Phi-4-mini: partial_rotary_factor 0.75) and LongRoPE factor tensors for the long-context models.
// Phi-3 trains with a sliding window on every layer; llama.cpp disables Phi SWA at load.

import type { Architecture } from "../architecture.js";
import { LLAMA } from "./llama.js";
import { attn, layerNorm, mlp } from "./roles.js";

export const PHI3: Architecture = {
  ...LLAMA,
  name: "phi3",
  hfArchitectures: ["Phi3ForCausalLM"],
  hfModelTypes: ["phi3"],
  ggufArchitectures: ["phi3"],
  // transformers' Phi3Config defaults for keys the converter needs
  hfConfigDefaults: { original_max_position_embeddings: 4096, rope_theta: 10000, rms_norm_eps: 1e-5, sliding_window: null },
  layer: [
    layerNorm("input_layernorm", "input_layernorm.weight", "attn_norm.weight"),
    attn("qkv_proj", "qkv_proj.weight", "attn_qkv.weight"),
    attn("o_proj", "o_proj.weight", "attn_output.weight", { residualOutput: true }),
    layerNorm("post_attention_layernorm", "post_attention_layernorm.weight", "ffn_norm.weight"),
    mlp("gate_up_proj", "gate_up_proj.weight", "ffn_up.weight"),
    mlp("down_proj", "down_proj.weight", "ffn_down.weight", { residualOutput: true }),
  ],
  slidingWindow: { hf: "all" },
  longRope: true,
  // Phi3MiniModel's own order; the LongRoPE attention factor comes first (written with the tensors)
  converter: {
    keys: [
      "rope.scaling.attn_factor", "general", "context_length", "rope.scaling.original_context_length", "embedding_length",
      "feed_forward_length", "block_count", "attention.head_count", "attention.head_count_kv", "attention.layer_norm_rms_epsilon",
      "rope.dimension_count", "rope.freq_base", "file_type", "attention.sliding_window_or_0",
    ],
    ropeFreqsTensor: false, llamaVocab: false, vocab: { phi3: true },
  },
};
