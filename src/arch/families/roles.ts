// Building blocks of the family tables: tensor roles named after what they do (the engine maps
// each role to a weight field), with each family's HF and GGUF names. Data, not code paths.

import type { GgufKeyName, TensorRole } from "../architecture.js";

type Extra = Partial<TensorRole>;

/** `model.layers.{L}.self_attn.<hf>` → `blk.{L}.<gguf>` */
export const attn = (role: string, hfLeaf: string, ggufLeaf: string, extra: Extra = {}): TensorRole => ({
  role,
  hf: `model.layers.{L}.self_attn.${hfLeaf}`,
  gguf: `blk.{L}.${ggufLeaf}`,
  ...extra,
});

/** `model.layers.{L}.mlp.<hf>` → `blk.{L}.<gguf>` */
export const mlp = (role: string, hfLeaf: string, ggufLeaf: string, extra: Extra = {}): TensorRole => ({
  role,
  hf: `model.layers.{L}.mlp.${hfLeaf}`,
  gguf: `blk.{L}.${ggufLeaf}`,
  ...extra,
});

/** a layer's RMSNorm gain: `model.layers.{L}.<hf>` → `blk.{L}.<gguf>`, kept F32 */
export const layerNorm = (role: string, hfLeaf: string, ggufLeaf: string): TensorRole => ({
  role,
  hf: `model.layers.{L}.${hfLeaf}`,
  gguf: `blk.{L}.${ggufLeaf}`,
  keepF32: true,
  norm: true,
});

export const EMBED: TensorRole = { role: "embed_tokens", hf: "model.embed_tokens.weight", gguf: "token_embd.weight" };
export const NORM: TensorRole = { role: "norm", hf: "model.norm.weight", gguf: "output_norm.weight", keepF32: true, norm: true };
export const HEAD: TensorRole = { role: "lm_head", hf: "lm_head.weight", gguf: "output.weight", optional: true };

/** Llama's attention block (Q/K rows permuted by llama.cpp's converter for its rotary layout). */
export const LLAMA_ATTENTION: TensorRole[] = [
  layerNorm("input_layernorm", "input_layernorm.weight", "attn_norm.weight"),
  attn("q_proj", "q_proj.weight", "attn_q.weight", { qkPermute: "heads" }),
  attn("k_proj", "k_proj.weight", "attn_k.weight", { qkPermute: "kvHeads" }),
  attn("v_proj", "v_proj.weight", "attn_v.weight"),
  attn("o_proj", "o_proj.weight", "attn_output.weight", { residualOutput: true }),
];

/** Llama's pre-FFN norm and gated MLP. */
export const LLAMA_MLP: TensorRole[] = [
  layerNorm("post_attention_layernorm", "post_attention_layernorm.weight", "ffn_norm.weight"),
  mlp("gate_proj", "gate_proj.weight", "ffn_gate.weight"),
  mlp("up_proj", "up_proj.weight", "ffn_up.weight"),
  mlp("down_proj", "down_proj.weight", "ffn_down.weight", { residualOutput: true }),
];

export const LLAMA_LAYER: TensorRole[] = [...LLAMA_ATTENTION, ...LLAMA_MLP];

/** Per-head RMSNorm of q and k (Qwen3, Gemma 3): [headDim] gains. */
export const QK_NORMS: TensorRole[] = [
  { ...attn("q_norm", "q_norm.weight", "attn_q_norm.weight"), keepF32: true, norm: true },
  { ...attn("k_norm", "k_norm.weight", "attn_k_norm.weight"), keepF32: true, norm: true },
];

/** NEOX-rope families: llama.cpp's converter leaves Q/K rows in HF order. */
export function withoutQkPermute(roles: readonly TensorRole[]): TensorRole[] {
  return roles.map(({ qkPermute: _dropped, ...rest }) => rest);
}

/** The same roles under a multimodal checkpoint's language-model prefix (`language_model.`). */
export function withHfPrefix(roles: readonly TensorRole[], prefix: string): TensorRole[] {
  return roles.map((r) => ({ ...r, hf: `${prefix}${r.hf}` }));
}

/** TextModel.set_gguf_parameters' keys in its order (Llama, Qwen2/3 and Gemma 3 start from these) */
export const TEXT_MODEL_KEYS: readonly GgufKeyName[] = [
  "general", "block_count", "context_length", "embedding_length", "feed_forward_length", "attention.head_count",
  "attention.head_count_kv", "rope.scaling", "rope.freq_base", "rope.freq_base_swa", "attention.layer_norm_rms_epsilon",
  "attention.key_value_length", "file_type",
];
