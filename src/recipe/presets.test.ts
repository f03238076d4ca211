import { describe, expect, test } from "vitest";
import { RecipeError } from "../errors.js";
import { recipeLayers } from "./layout.js";
import { dusRecipe, expandRecipe, idusRecipe, parseDropRange, pruneRecipe } from "./presets.js";
import { resolveScale } from "./scale.js";
import type { Recipe } from "./recipe.js";

const M = "mistralai/Mistral-7B-v0.1";
const layerIds = (r: Recipe): number[] => recipeLayers(r).map((l) => l.layer);
const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);

function expectRecipeError(fn: () => unknown, path: string, message: RegExp): RecipeError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(RecipeError);
  const err = caught as RecipeError;
  expect(err.path).toBe(path);
  expect(err.message).toMatch(message);
  expect(err.hint).toBeTruthy();
  return err;
}

describe("dus", () => {
  test("n = 32, default m = 8: 0..23 then 8..31, two slices (REFERENCE.md)", () => {
    const r = dusRecipe({ model: M, layers: 32 });
    expect(r.slices).toHaveLength(2);
    expect(layerIds(r)).toEqual([...range(0, 24), ...range(8, 32)]);
    expect(r.origin).toEqual({ kind: "preset", preset: "dus", options: { layers: 32, drop: 8, model: M } });
  });

  test("two models of the same shape: A from model, B from modelB", () => {
    const r = dusRecipe({ model: "a/one", modelB: "b/two", layers: 16, drop: 4 });
    const stack = recipeLayers(r);
    expect(stack.filter((l) => l.model === "a/one").map((l) => l.layer)).toEqual(range(0, 12));
    expect(stack.filter((l) => l.model === "b/two").map((l) => l.layer)).toEqual(range(4, 16));
  });

  test("default m rounds n/4", () => {
    expect(dusRecipe({ model: M, layers: 30 }).slices[0]?.sources[0].layerRange).toEqual([0, 22]); // 7.5 → 8
    expect(dusRecipe({ model: M, layers: 2 }).slices[1]?.sources[0].layerRange).toEqual([1, 2]);
  });

  test("bad --drop: negative, ≥ n, fractional", () => {
    expectRecipeError(() => dusRecipe({ model: M, layers: 32, drop: -1 }), "--drop", /0 ≤ m < n = 32, found -1/);
    expectRecipeError(() => dusRecipe({ model: M, layers: 32, drop: 32 }), "--drop", /found 32/);
    expectRecipeError(() => dusRecipe({ model: M, layers: 32, drop: 2.5 }), "--drop", /found 2.5/);
  });

  test("bad layer count and model", () => {
    expectRecipeError(() => dusRecipe({ model: M, layers: 0 }), "num_hidden_layers", /found 0/);
    expectRecipeError(() => dusRecipe({ model: M, layers: -32 }), "num_hidden_layers", /found -32/);
    expect(() => dusRecipe({ model: " ", layers: 32 })).toThrow(RecipeError);
  });
});

describe("idus", () => {
  test("iDUS-1 for n = 32, m = 8 is exactly 0, 8, 1, 9, …, 23, 31 in 48 one-layer slices", () => {
    const r = idusRecipe({ model: M, layers: 32, drop: 8, group: 1 });
    const expected: number[] = [];
    for (let i = 0; i < 24; i++) expected.push(i, i + 8);
    expect(layerIds(r)).toEqual(expected);
    expect(layerIds(r).slice(0, 6)).toEqual([0, 8, 1, 9, 2, 10]);
    expect(layerIds(r).slice(-2)).toEqual([23, 31]);
    expect(r.slices).toHaveLength(48);
    expect(r.slices.every((s) => s.sources[0].layerRange[1] - s.sources[0].layerRange[0] === 1)).toBe(true);
  });

  test("iDUS-8 is A[0,8) B[8,16) A[8,16) B[16,24) A[16,24) B[24,32), 6 slices", () => {
    const r = idusRecipe({ model: "a", modelB: "b", layers: 32, group: 8 });
    expect(r.slices.map((s) => [s.sources[0].model, ...s.sources[0].layerRange])).toEqual([
      ["a", 0, 8],
      ["b", 8, 16],
      ["a", 8, 16],
      ["b", 16, 24],
      ["a", 16, 24],
      ["b", 24, 32],
    ]);
  });

  test("g = n − m equals dus (slices and layers)", () => {
    for (const [n, m] of [[32, 8], [12, 3], [5, 0]] as const) {
      const idus = idusRecipe({ model: "a", modelB: "b", layers: n, drop: m, group: n - m });
      const dus = dusRecipe({ model: "a", modelB: "b", layers: n, drop: m });
      expect(idus.slices).toEqual(dus.slices);
    }
  });

  test("g not dividing n − m: the last pair of groups is shorter", () => {
    // n − m = 24 = 5·4 + 4: groups of 5, 5, 5, 5, then 4.
    const r = idusRecipe({ model: M, layers: 32, drop: 8, group: 5 });
    expect(r.slices.map((s) => s.sources[0].layerRange)).toEqual([
      [0, 5], [8, 13], [5, 10], [13, 18], [10, 15], [18, 23], [15, 20], [23, 28], [20, 24], [28, 32],
    ]);
    expect(recipeLayers(r)).toHaveLength(48);
  });

  test("bad --group: 0, negative, fractional, larger than n − m", () => {
    expectRecipeError(() => idusRecipe({ model: M, layers: 32, group: 0 }), "--group", /from 1 to n − m = 24, found 0/);
    expectRecipeError(() => idusRecipe({ model: M, layers: 32, group: -2 }), "--group", /found -2/);
    expectRecipeError(() => idusRecipe({ model: M, layers: 32, group: 1.5 }), "--group", /found 1.5/);
    expectRecipeError(() => idusRecipe({ model: M, layers: 32, group: 25 }), "--group", /found 25/);
  });
});

describe("expand (LLaMA-Pro)", () => {
  test("--blocks 8 on 32 layers: a copy of layer 4j+3 after each group of 4, o_proj/down_proj scaled by 0", () => {
    const r = expandRecipe({ model: M, layers: 32, blocks: 8 });
    const expected: number[] = [];
    for (let j = 0; j < 8; j++) expected.push(...range(4 * j, 4 * j + 4), 4 * j + 3);
    expect(layerIds(r)).toEqual(expected);
    expect(r.slices).toHaveLength(16);
    // The copy (slice 1 = layer 3 again) starts as the identity; its other tensors are kept.
    expect(resolveScale(r, 1, 0, "model.layers.3.self_attn.o_proj.weight")).toBe(0);
    expect(resolveScale(r, 1, 0, "model.layers.3.mlp.down_proj.weight")).toBe(0);
    expect(resolveScale(r, 1, 0, "model.layers.3.self_attn.q_proj.weight")).toBe(1);
    expect(resolveScale(r, 1, 0, "model.layers.3.mlp.up_proj.weight")).toBe(1);
    // The original layer 3 (slice 0, index 3) is untouched.
    expect(resolveScale(r, 0, 3, "model.layers.3.self_attn.o_proj.weight")).toBe(1);
  });

  test("--every 4 equals --blocks 8 for n = 32; default is blocks = n/4", () => {
    const every = expandRecipe({ model: M, layers: 32, every: 4 });
    expect(every.slices).toEqual(expandRecipe({ model: M, layers: 32, blocks: 8 }).slices);
    expect(expandRecipe({ model: M, layers: 32 }).slices).toEqual(every.slices);
  });

  test("--every 3 on 8 layers: copies after 3 and 6, the 2-layer tail gets none", () => {
    expect(layerIds(expandRecipe({ model: M, layers: 8, every: 3 }))).toEqual([0, 1, 2, 2, 3, 4, 5, 5, 6, 7]);
  });

  test("--blocks 3 on 10 layers: evenly spaced group ends ⌊10/3⌋ = 3, 6, 10", () => {
    expect(layerIds(expandRecipe({ model: M, layers: 10, blocks: 3 }))).toEqual([0, 1, 2, 2, 3, 4, 5, 5, 6, 7, 8, 9, 9]);
  });

  test("--scale 0.5: attenuated duplicates", () => {
    const r = expandRecipe({ model: M, layers: 8, every: 4, scale: 0.5 });
    expect(resolveScale(r, 1, 0, "model.layers.3.mlp.down_proj.weight")).toBe(0.5);
    expect(resolveScale(r, 3, 0, "model.layers.7.self_attn.o_proj.weight")).toBe(0.5);
  });

  test("post-norm families: the copies' post norms are scaled, not their projections", () => {
    const r = expandRecipe({ model: M, layers: 8, every: 4, target: "post-norms" });
    expect(resolveScale(r, 1, 0, "model.layers.3.post_attention_layernorm.weight")).toBe(0);
    expect(resolveScale(r, 1, 0, "model.layers.3.post_feedforward_layernorm.weight")).toBe(0);
    expect(resolveScale(r, 1, 0, "model.layers.3.pre_feedforward_layernorm.weight")).toBe(1);
    expect(resolveScale(r, 1, 0, "model.layers.3.self_attn.o_proj.weight")).toBe(1);
    expect(r.origin).toMatchObject({ options: { target: "post-norms" } });
  });

  test("bad options", () => {
    expectRecipeError(() => expandRecipe({ model: M, layers: 32, every: 0 }), "--every", /found 0/);
    expectRecipeError(() => expandRecipe({ model: M, layers: 32, blocks: 33 }), "--blocks", /from 1 to 32, found 33/);
    expectRecipeError(() => expandRecipe({ model: M, layers: 32, every: 4, blocks: 8 }), "--every", /both given/);
    expectRecipeError(() => expandRecipe({ model: M, layers: 32, scale: Number.NaN }), "--scale", /finite/);
  });
});

describe("prune", () => {
  test("--drop-range 24:28 removes layers 24..27", () => {
    const r = pruneRecipe({ model: M, layers: 32, dropRange: "24:28" });
    expect(layerIds(r)).toEqual([...range(0, 24), ...range(28, 32)]);
    expect(r.slices).toHaveLength(2);
  });

  test("a range at either end leaves one slice", () => {
    expect(pruneRecipe({ model: M, layers: 32, dropRange: [0, 4] }).slices.map((s) => s.sources[0].layerRange)).toEqual([[4, 32]]);
    expect(pruneRecipe({ model: M, layers: 32, dropRange: [28, 32] }).slices.map((s) => s.sources[0].layerRange)).toEqual([[0, 28]]);
  });

  test("bad ranges", () => {
    expectRecipeError(() => parseDropRange("24-28"), "--drop-range", /a:b/);
    expectRecipeError(() => pruneRecipe({ model: M, layers: 32, dropRange: "-1:4" }), "--drop-range", /a:b/);
    expectRecipeError(() => pruneRecipe({ model: M, layers: 32, dropRange: "28:24" }), "--drop-range", /0 ≤ a < b ≤ 32, found 28:24/);
    expectRecipeError(() => pruneRecipe({ model: M, layers: 32, dropRange: "4:4" }), "--drop-range", /found 4:4/);
    expectRecipeError(() => pruneRecipe({ model: M, layers: 32, dropRange: "30:33" }), "--drop-range", /found 30:33/);
    expectRecipeError(() => pruneRecipe({ model: M, layers: 32, dropRange: "0:32" }), "--drop-range", /removes every layer/);
  });
});
