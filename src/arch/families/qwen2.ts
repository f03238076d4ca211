// Qwen2: Llama's layer plus q/k/v biases; NEOX-style rope in llama.cpp (no Q/K permutation);
// sliding window (rarely enabled) on layers from max_window_layers up.

import type { Architecture } from "../architecture.js";
import { LLAMA } from "./llama.js";
import { attn, LLAMA_LAYER, TEXT_MODEL_KEYS, withoutQkPermute } from "./roles.js";

export const QWEN2: Architecture = {
  ...LLAMA,
  name: "qwen2",
  hfArchitectures: ["Qwen2ForCausalLM"],
  hfModelTypes: ["qwen2"],
  ggufArchitectures: ["qwen2"],
  layer: withoutQkPermute([
    ...LLAMA_LAYER,
    attn("q_bias", "q_proj.bias", "attn_q.bias", { keepF32: true }),
    attn("k_bias", "k_proj.bias", "attn_k.bias", { keepF32: true }),
    attn("v_bias", "v_proj.bias", "attn_v.bias", { keepF32: true }),
  ]),
  perLayerConfigKeys: ["layer_types"],
  slidingWindow: { hf: "maxWindowLayers" },
  converter: { keys: TEXT_MODEL_KEYS, ropeFreqsTensor: false, llamaVocab: false },
};
