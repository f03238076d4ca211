// The shape each tensor role has in HF layout ([out, in] for linear weights), from hyperparameters:
// what the tiny-checkpoint generator writes and what the opener expects of a family's tensors.

import type { HParams } from "./hparams.js";

/** HF shape of `role` for a model with `hp`, or undefined for a role this table does not know. */
export function roleShape(role: string, hp: HParams): number[] | undefined {
  const D = hp.hiddenSize;
  const F = hp.intermediateSize;
  const q = hp.numHeads * hp.headDim;
  const kv = hp.numKvHeads * hp.headDim;
  const shapes: Record<string, number[]> = {
    embed_tokens: [hp.vocabSize, D],
    lm_head: [hp.vocabSize, D],
    norm: [D],
    input_layernorm: [D],
    post_attention_layernorm: [D],
    post_attention_norm: [D],
    post_feedforward_norm: [D],
    q_proj: [q, D],
    k_proj: [kv, D],
    v_proj: [kv, D],
    o_proj: [D, q],
    q_norm: [hp.headDim],
    k_norm: [hp.headDim],
    q_bias: [q],
    k_bias: [kv],
    v_bias: [kv],
    qkv_proj: [q + 2 * kv, D],
    gate_proj: [F, D],
    up_proj: [F, D],
    gate_up_proj: [2 * F, D],
    down_proj: [D, F],
  };
  return shapes[role];
}
