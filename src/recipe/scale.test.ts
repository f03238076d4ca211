import { describe, expect, test } from "vitest";
import { RecipeError } from "../errors.js";
import { parseMergekitYaml } from "./mergekit-import.js";
import { evaluateScaleSetting, gradientPosition, resolveNonLayerScale, resolveScale } from "./scale.js";

const o = (layer: number): string => `model.layers.${layer}.self_attn.o_proj.weight`;
const q = (layer: number): string => `model.layers.${layer}.self_attn.q_proj.weight`;
const down = (layer: number): string => `model.layers.${layer}.mlp.down_proj.weight`;
const norm = (layer: number): string => `model.layers.${layer}.input_layernorm.weight`;

describe("gradients (mergekit plan_slice: t = i/(len−1), 1 for a single layer)", () => {
  test("positions", () => {
    expect([0, 1, 2, 3, 4].map((i) => gradientPosition(i, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(gradientPosition(0, 1)).toBe(1);
  });

  test("hand-computed interpolation", () => {
    const r = parseMergekitYaml(`merge_method: passthrough
slices:
  - sources:
      - model: m
        layer_range: [0, 5]
    parameters:
      scale: [1, 0.5, 0]     # t = 0, .25, .5, .75, 1 → 1, .75, .5, .25, 0
  - sources:
      - model: m
        layer_range: [10, 14]
    parameters:
      scale: [0, 1, 0]       # t = 0, 1/3, 2/3, 1 → 0, 2/3, 2/3, 0
  - sources:
      - model: m
        layer_range: [20, 21]
    parameters:
      scale: [0.2, 0.8]      # one layer: t = 1 → the gradient's end, 0.8
`);
    expect([0, 1, 2, 3, 4].map((i) => resolveScale(r, 0, i, q(i)))).toEqual([1, 0.75, 0.5, 0.25, 0]);
    const second = [0, 1, 2, 3].map((i) => resolveScale(r, 1, i, q(10 + i)));
    expect(second[0]).toBe(0);
    expect(second[1]).toBeCloseTo(2 / 3, 12);
    expect(second[2]).toBeCloseTo(2 / 3, 12);
    expect(second[3]).toBe(0);
    expect(resolveScale(r, 2, 0, q(20))).toBe(0.8);
  });

  test("a gradient inside a filter entry", () => {
    expect(evaluateScaleSetting([{ filter: "mlp", value: [0, 2] }], 0.25, down(3))).toBe(0.5);
    expect(evaluateScaleSetting([{ filter: "mlp", value: [0, 2] }], 0.25, o(3))).toBeUndefined();
  });
});

describe("precedence and filters (mergekit ConfigReader.parameter)", () => {
  const r = parseMergekitYaml(`merge_method: passthrough
parameters:
  scale:
    - filter: lm_head
      value: 2
    - filter: input_layernorm
      value: 3
slices:
  - sources:
      - model: m
        layer_range: [0, 3]
        parameters:
          scale:
            - filter: o_proj
              value: 0
    parameters:
      scale:
        - filter: self_attn
          value: 0.5
        - filter: mlp
          value: [1, 0]
  - sources:
      - model: m
        layer_range: [3, 4]
    parameters:
      scale:
        - filter: "*"
          value: 0.25
`);

  test("source > slice > global, first matching filter wins, no match falls through", () => {
    expect(resolveScale(r, 0, 1, o(1))).toBe(0); // source filter
    expect(resolveScale(r, 0, 1, q(1))).toBe(0.5); // source has no match → slice `self_attn`
    expect(resolveScale(r, 0, 1, down(1))).toBe(0.5); // slice `mlp` gradient [1, 0] at t = 0.5
    expect(resolveScale(r, 0, 2, down(2))).toBe(0); // t = 1
    expect(resolveScale(r, 0, 0, norm(0))).toBe(3); // neither source nor slice match → global
    expect(resolveScale(r, 0, 0, "model.layers.0.post_attention_layernorm.weight")).toBe(1); // nothing applies
  });

  test('filter "*" matches everything, so the global level is never reached for that slice', () => {
    expect(resolveScale(r, 1, 0, norm(3))).toBe(0.25);
    expect(resolveNonLayerScale(r, "last", "lm_head.weight")).toBe(0.25);
  });

  test("embeddings use the first slice at t = 0; a global filter reaches lm_head when the last slice has no default", () => {
    expect(resolveNonLayerScale(r, "first", "model.embed_tokens.weight")).toBe(1);
    const g = parseMergekitYaml("merge_method: passthrough\nparameters:\n  scale:\n    - filter: lm_head\n      value: 2\n    - value: 0.5\nslices:\n  - sources:\n      - {model: m, layer_range: [0, 2]}\n");
    expect(resolveNonLayerScale(g, "last", "lm_head.weight")).toBe(2);
    expect(resolveNonLayerScale(g, "first", "model.embed_tokens.weight")).toBe(0.5); // the default entry
    expect(resolveScale(g, 0, 1, q(1))).toBe(0.5);
  });

  test("filters match the source tensor name as a substring (mergekit `in`)", () => {
    const f = parseMergekitYaml("merge_method: passthrough\nslices:\n  - sources:\n      - {model: m, layer_range: [8, 10]}\n    parameters:\n      scale:\n        - {filter: layers.9., value: 0}\n");
    expect(resolveScale(f, 0, 0, q(8))).toBe(1);
    expect(resolveScale(f, 0, 1, q(9))).toBe(0);
  });

  test("out-of-range indices are RecipeErrors", () => {
    expect(() => resolveScale(r, 5, 0, q(0))).toThrow(RecipeError);
    expect(() => resolveScale(r, 0, 3, q(0))).toThrow(/outside slice 0, which has 3 layers/);
    expect(() => resolveScale(r, 0, -1, q(0))).toThrow(RecipeError);
  });
});
