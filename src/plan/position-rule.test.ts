// The GGUF position rule and the 27B attention scale on headers alone: which stacks keep every
// layer's kind, the nearest aligned dus/idus layout, the periods a config or GGUF can state, and
// the layer counts at which llama.cpp switches Gemma's attention scale.

import { describe, expect, test } from "vitest";
import { GEMMA2, GEMMA3, hfPeriodFor, llamaCppPeriodFor, QWEN3, type LayerKind } from "../arch/index.js";
import { dusRecipe, idusRecipe } from "../recipe/index.js";
import { outputConfig } from "./plan-config.js";
import { alignedSuggestion, attentionScaleWarning } from "./position-rule.js";
import type { SourceHeader } from "./types.js";

const S: LayerKind = "sliding_attention";
const F: LayerKind = "full_attention";

const header = (config: Record<string, unknown>, numLayers: number): SourceHeader => ({ ref: "m", format: "safetensors", arch: "gemma2", numLayers, tensors: [], config });

describe("llama.cpp's Gemma attention scale follows the layer count", () => {
  const g2_27b = { hidden_size: 4608, num_attention_heads: 32, head_dim: 128, query_pre_attn_scalar: 144 };
  const g2_9b = { hidden_size: 3584, num_attention_heads: 16, head_dim: 256, query_pre_attn_scalar: 256 };
  test("a stacked Gemma 2 27B (46 → 58 layers) leaves 1/√144 for 1/√128", () => {
    expect(attentionScaleWarning(GEMMA2, header(g2_27b, 46), 46)).toBeUndefined();
    expect(attentionScaleWarning(GEMMA2, header(g2_27b, 46), 58)).toMatchObject({ code: "attention-scale", message: expect.stringMatching(/58 layers it will use 1\/√128.*trained with 1\/√144/) });
  });
  test("a 9B stacked to exactly 46 layers picks up the 27B's scale (1/√224)", () => {
    expect(attentionScaleWarning(GEMMA2, header(g2_9b, 42), 56)).toBeUndefined();
    expect(attentionScaleWarning(GEMMA2, header(g2_9b, 42), 46)?.message).toMatch(/1\/√224/);
  });
  test("Gemma 3 27B: 62 layers; Qwen3 has no such rule", () => {
    const g3_27b = { hidden_size: 5376, num_attention_heads: 32, head_dim: 128, query_pre_attn_scalar: 168 };
    expect(attentionScaleWarning(GEMMA3, header(g3_27b, 62), 93)?.message).toMatch(/1\/√128.*1\/√168/);
    expect(attentionScaleWarning(QWEN3, header(g3_27b, 62), 93)).toBeUndefined();
  });
});

describe("periods", () => {
  test("llama.cpp's rule (position % p < p − 1 slides) and HF's ((i + 1) % p ≠ 0 slides)", () => {
    expect(llamaCppPeriodFor([S, S, S, S, S, F, S, S])).toBe(6);
    expect(llamaCppPeriodFor([F, F, F])).toBe(1);
    expect(llamaCppPeriodFor([S, F, F])).toBeUndefined();
    expect(hfPeriodFor([S, F, S, F])).toBe(2);
    expect(hfPeriodFor([S, S, S, S, S, S, S, F])).toBe(8);
  });
});

describe("the nearest period-aligned preset layout", () => {
  // a 26-layer Gemma 3 (1B): layers 5, 11, 17, 23 are global
  const kinds = [Array.from({ length: 26 }, (_, i) => ((i + 1) % 6 === 0 ? F : S))];
  test("DUS: n − 2m must be a multiple of 6; the default m = 7 already is", () => {
    expect(alignedSuggestion(dusRecipe({ model: "m", layers: 26, drop: 8 }), 6, kinds, ["m"])).toMatch(/dus --drop 7$/);
  });
  test("iDUS-1 cannot keep the kinds; groups and drops in multiples of 6 can", () => {
    expect(alignedSuggestion(idusRecipe({ model: "m", layers: 26, drop: 7, group: 1 }), 6, kinds, ["m"])).toMatch(/idus --drop 6 --group 6$/);
  });
});

describe("outputConfig", () => {
  test("Qwen: max_window_layers becomes the stack's leading run of full-attention layers", () => {
    const base: SourceHeader = { ref: "q", format: "safetensors", arch: "qwen3", numLayers: 8, tensors: [], config: { num_hidden_layers: 8, max_window_layers: 6, use_sliding_window: true, sliding_window: 16 } };
    const layers = [0, 1, 2, 3, 4, 5, 6, 7, 2, 3, 4, 5, 6, 7].map((layer) => ({ source: 0, layer, slice: 0 }));
    const kinds = layers.map((l) => (l.layer >= 6 ? S : F));
    const { config } = outputConfig(QWEN3, base, layers, undefined, false, kinds);
    expect(config.max_window_layers).toBe(6);
    expect(config.layer_types).toEqual(kinds);
    expect(config.num_hidden_layers).toBe(14);
  });
});
