// RoPE scaling as the converter reads it: rope_scaling or transformers 5's rope_parameters, the
// llama3 defaults, yarn's optional keys, and bad values named by field.

import { describe, expect, it } from "vitest";
import { ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { LLAMA } from "./families/index.js";
import { readGgufHParams, readHParams } from "./hparams.js";
import { llama3RopeFactors } from "./rope-factors.js";

const base = { vocab_size: 64, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, rope_theta: 500000 };

describe("readHParams rope scaling", () => {
  it("llama3: factors from rope_scaling with the converter's defaults", () => {
    const hp = readHParams(LLAMA, { ...base, rope_scaling: { rope_type: "llama3", factor: 8 } }, "config.json");
    expect(hp.ropeScaling).toEqual({ type: "llama3", factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 });
    expect(hp.ropeFreqFactors).toEqual(llama3RopeFactors(8, 500000, { factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalContext: 8192 }));
    // 1 for fast dimensions, `factor` for slow ones, smoothed between: θ = 500000, d = 8 → wavelengths
    // 6, 167, 4443, 118k against 8192/4 and 8192; s = (8192/4443 − 1)/3 → 1/((1 − s)/8 + s) = 2.69
    expect([...hp.ropeFreqFactors!].map((f) => +f.toFixed(4))).toEqual([1, 1, 2.6945, 8]);
  });

  it("rope_parameters (transformers 5) is read the same way, its rope_theta winning", () => {
    const a = readHParams(LLAMA, { ...base, rope_scaling: { rope_type: "llama3", factor: 8, original_max_position_embeddings: 8192 } }, "config.json");
    const b = readHParams(LLAMA, { ...base, rope_theta: 1, rope_parameters: { rope_type: "llama3", factor: 8, original_max_position_embeddings: 8192, rope_theta: 500000 } }, "config.json");
    expect(b.ropeTheta).toBe(500000);
    expect(b.ropeFreqFactors).toEqual(a.ropeFreqFactors);
    expect(readHParams(LLAMA, { ...base, rope_parameters: { rope_type: "default", rope_theta: 1e6 } }, "c").ropeTheta).toBe(1e6);
  });

  it("yarn keeps its optional keys; a GGUF written from them reads back", () => {
    const hp = readHParams(LLAMA, { ...base, rope_scaling: { type: "yarn", factor: 4, original_max_position_embeddings: 4096, beta_fast: 16, attn_factor: 0.9 } }, "c");
    expect(hp.ropeScaling).toEqual({ type: "yarn", factor: 4, originalContext: 4096, betaFast: 16, attentionFactor: 0.9 });
    const kv: GgufKv = new Map([
      ["general.architecture", ggufValue.string("llama")], ["llama.embedding_length", ggufValue.u32(32)], ["llama.feed_forward_length", ggufValue.u32(64)],
      ["llama.block_count", ggufValue.u32(2)], ["llama.attention.head_count", ggufValue.u32(4)], ["llama.vocab_size", ggufValue.u32(64)],
      ["llama.rope.scaling.type", ggufValue.string("yarn")], ["llama.rope.scaling.factor", ggufValue.f32(4)],
      ["llama.rope.scaling.original_context_length", ggufValue.u32(4096)], ["llama.rope.scaling.yarn_beta_fast", ggufValue.f32(16)],
    ]);
    expect(readGgufHParams(LLAMA, kv, "m.gguf").ropeScaling).toEqual({ type: "yarn", factor: 4, originalContext: 4096, betaFast: 16 });
  });

  it("refuses what it cannot represent, naming the field", () => {
    expect(() => readHParams(LLAMA, { ...base, rope_scaling: { rope_type: "longrope", factor: 2 } }, "config.json")).toThrow(expect.objectContaining({ field: "rope_scaling.rope_type" }));
    expect(() => readHParams(LLAMA, { ...base, rope_scaling: { rope_type: "llama3", factor: -1 } }, "config.json")).toThrow(expect.objectContaining({ field: "rope_scaling.factor" }));
    expect(() => readHParams(LLAMA, { ...base, rope_scaling: { rope_type: "yarn", factor: 2 } }, "config.json")).toThrow(/original_max_position_embeddings/);
  });
});
