// Qwen3 (Qwen3ForCausalLM): Qwen2's layout without biases, plus per-head q/k RMSNorm before RoPE;
// head_dim is set independently of hidden/heads (Qwen3-0.6B: 128 vs 1024/16), so the converter
// writes key_length/value_length. The MoE variant and the rerankers are refused at detection.

import type { Architecture } from "../architecture.js";
import { QWEN2 } from "./qwen2.js";
import { LLAMA_ATTENTION, LLAMA_MLP, QK_NORMS, withoutQkPermute } from "./roles.js";

export const QWEN3: Architecture = {
  ...QWEN2,
  name: "qwen3",
  hfArchitectures: ["Qwen3ForCausalLM"],
  hfModelTypes: ["qwen3"],
  ggufArchitectures: ["qwen3"],
  layer: withoutQkPermute([...LLAMA_ATTENTION, ...QK_NORMS, ...LLAMA_MLP]),
  forward: { ...QWEN2.forward, qkNorm: true },
};
