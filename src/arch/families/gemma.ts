// Gemma (v1): Llama's layer with NEOX rope, gelu_tanh MLP, RMSNorm gains stored as w − 1, embeddings
// scaled by √hidden, and the head tied to the embedding (the converter drops a stored lm_head).

import type { Architecture } from "../architecture.js";
import { LLAMA } from "./llama.js";
import type { GgufKeyName } from "../architecture.js";
import { LLAMA_LAYER, NORM, withoutQkPermute } from "./roles.js";

/** GemmaModel.set_gguf_parameters' own order (no rope keys: llama.cpp's defaults are Gemma's) */
export const GEMMA_KEYS: readonly GgufKeyName[] = [
  "general", "context_length", "embedding_length", "block_count", "feed_forward_length", "attention.head_count",
  "attention.head_count_kv", "attention.layer_norm_rms_epsilon", "attention.key_value_length", "file_type",
];

export const GEMMA: Architecture = {
  ...LLAMA,
  name: "gemma",
  hfArchitectures: ["GemmaForCausalLM"],
  hfModelTypes: ["gemma"],
  ggufArchitectures: ["gemma"],
  layer: withoutQkPermute(LLAMA_LAYER),
  postLayer: [NORM],
  tied: { head: "lm_head", embedding: "embed_tokens", hfConfigKey: "tie_word_embeddings", defaultTied: true },
  // transformers' GemmaConfig defaults
  hfConfigDefaults: {
    vocab_size: 256000, hidden_size: 3072, intermediate_size: 24576, num_hidden_layers: 28, num_attention_heads: 16,
    num_key_value_heads: 16, head_dim: 256, max_position_embeddings: 8192, rms_norm_eps: 1e-6, rope_theta: 10000,
  },
  converter: {
    keys: GEMMA_KEYS, ropeFreqsTensor: false, llamaVocab: false, skipTensors: ["lm_head.weight"],
    vocab: { noSpacePrefix: true, fixedSpecialIds: { eot: 107 } },
  },
  forward: { activation: "gelu_tanh", normWeightOffset: 1, scaleEmbeddings: true, qkNorm: false, sandwichNorms: false },
};
