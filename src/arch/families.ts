// The known families. Llama and Mistral share one table (Mistral checkpoints are Llama-shaped);
// Qwen2 adds q/k/v biases; Gemma ties its head to the embedding and offsets its norms.

import type { Architecture, TensorRole } from "./architecture.js";

const attn = (role: string, hfLeaf: string, ggufLeaf: string, extra: Partial<TensorRole> = {}): TensorRole => ({
  role,
  hf: `model.layers.{L}.self_attn.${hfLeaf}`,
  gguf: `blk.{L}.${ggufLeaf}`,
  ...extra,
});
const mlp = (role: string, hfLeaf: string, ggufLeaf: string, extra: Partial<TensorRole> = {}): TensorRole => ({
  role,
  hf: `model.layers.{L}.mlp.${hfLeaf}`,
  gguf: `blk.{L}.${ggufLeaf}`,
  ...extra,
});
const layerNorm = (role: string, hfLeaf: string, ggufLeaf: string): TensorRole => ({
  role,
  hf: `model.layers.{L}.${hfLeaf}`,
  gguf: `blk.{L}.${ggufLeaf}`,
  keepF32: true,
});

const LLAMA_LAYER: TensorRole[] = [
  layerNorm("input_layernorm", "input_layernorm.weight", "attn_norm.weight"),
  attn("q_proj", "q_proj.weight", "attn_q.weight", { qkPermute: "heads" }),
  attn("k_proj", "k_proj.weight", "attn_k.weight", { qkPermute: "kvHeads" }),
  attn("v_proj", "v_proj.weight", "attn_v.weight"),
  attn("o_proj", "o_proj.weight", "attn_output.weight", { residualOutput: true }),
  layerNorm("post_attention_layernorm", "post_attention_layernorm.weight", "ffn_norm.weight"),
  mlp("gate_proj", "gate_proj.weight", "ffn_gate.weight"),
  mlp("up_proj", "up_proj.weight", "ffn_up.weight"),
  mlp("down_proj", "down_proj.weight", "ffn_down.weight", { residualOutput: true }),
];

const EMBED: TensorRole = { role: "embed_tokens", hf: "model.embed_tokens.weight", gguf: "token_embd.weight" };
const NORM: TensorRole = { role: "norm", hf: "model.norm.weight", gguf: "output_norm.weight", keepF32: true };
const HEAD: TensorRole = { role: "lm_head", hf: "lm_head.weight", gguf: "output.weight", optional: true };

function withoutQkPermute(roles: TensorRole[]): TensorRole[] {
  return roles.map(({ qkPermute: _dropped, ...rest }) => rest);
}

export const LLAMA: Architecture = {
  name: "llama",
  hfArchitectures: ["LlamaForCausalLM", "MistralForCausalLM"],
  hfModelTypes: ["llama", "mistral"],
  ggufArchitectures: ["llama"],
  hfLayerCountKey: "num_hidden_layers",
  preLayer: [EMBED],
  layer: LLAMA_LAYER,
  postLayer: [NORM, HEAD],
  tied: { head: "lm_head", embedding: "embed_tokens", hfConfigKey: "tie_word_embeddings", defaultTied: false },
  perLayerConfigKeys: ["layer_types"],
  converter: { vocabAndRopeDimKeys: true, ropeFreqsTensor: true, llamaVocab: true },
  forward: { activation: "silu", normWeightOffset: 0, scaleEmbeddings: false },
};

export const QWEN2: Architecture = {
  ...LLAMA,
  name: "qwen2",
  hfArchitectures: ["Qwen2ForCausalLM"],
  hfModelTypes: ["qwen2"],
  ggufArchitectures: ["qwen2"],
  layer: [
    ...LLAMA_LAYER,
    attn("q_bias", "q_proj.bias", "attn_q.bias", { keepF32: true }),
    attn("k_bias", "k_proj.bias", "attn_k.bias", { keepF32: true }),
    attn("v_bias", "v_proj.bias", "attn_v.bias", { keepF32: true }),
  ],
  // Qwen2's converter does not permute Q/K: its GGUF arch uses NEOX-style rope.
  perLayerConfigKeys: ["layer_types"],
  converter: { vocabAndRopeDimKeys: false, ropeFreqsTensor: false, llamaVocab: false },
};
QWEN2.layer = withoutQkPermute(QWEN2.layer);

export const GEMMA: Architecture = {
  ...LLAMA,
  name: "gemma",
  hfArchitectures: ["GemmaForCausalLM"],
  hfModelTypes: ["gemma"],
  ggufArchitectures: ["gemma"],
  // NEOX-style rope in llama.cpp, so no Q/K permutation either.
  layer: withoutQkPermute(LLAMA_LAYER),
  postLayer: [NORM],
  tied: { head: "lm_head", embedding: "embed_tokens", hfConfigKey: "tie_word_embeddings", defaultTied: true },
  forward: { activation: "gelu_tanh", normWeightOffset: 1, scaleEmbeddings: true },
};

export const FAMILIES: readonly Architecture[] = [LLAMA, QWEN2, GEMMA];
