// Llama and Mistral (one table: Mistral checkpoints are Llama-shaped). GGUF arch `llama`, Q/K rows
// permuted for llama.cpp's rotary layout, llama3 RoPE scaling as the rope_freqs tensor.

import type { Architecture } from "../architecture.js";
import { EMBED, HEAD, LLAMA_LAYER, NORM, TEXT_MODEL_KEYS } from "./roles.js";

export const LLAMA: Architecture = {
  name: "llama",
  hfArchitectures: ["LlamaForCausalLM", "MistralForCausalLM"],
  hfModelTypes: ["llama", "mistral"],
  ggufArchitectures: ["llama"],
  hfLayerCountKey: "num_hidden_layers",
  hfLayerPrefix: "model.layers",
  preLayer: [EMBED],
  layer: LLAMA_LAYER,
  postLayer: [NORM, HEAD],
  tied: { head: "lm_head", embedding: "embed_tokens", hfConfigKey: "tie_word_embeddings", defaultTied: false },
  perLayerConfigKeys: ["layer_types"],
  converter: { keys: [...TEXT_MODEL_KEYS, "vocab_size", "rope.dimension_count"], ropeFreqsTensor: true, llamaVocab: true },
  forward: { activation: "silu", normWeightOffset: 0, scaleEmbeddings: false, qkNorm: false, sandwichNorms: false },
};
