import { describe, expect, test } from "vitest";
import { RecipeError } from "../errors.js";
import { layersRecipe, parseLayerSpec } from "./layer-spec.js";
import { describeLayout, recipeLayers } from "./layout.js";
import { dusRecipe, idusRecipe } from "./presets.js";

const M = "mistralai/Mistral-7B-v0.1";

describe("layers preset", () => {
  test('"0-23,8-31" (inclusive ranges) is DUS', () => {
    const r = layersRecipe({ model: M, layers: 32, spec: "0-23,8-31" });
    expect(r.slices).toEqual(dusRecipe({ model: M, layers: 32 }).slices);
    expect(r.origin).toEqual({ kind: "layers", spec: "0-23,8-31" });
  });

  test('"0,8,1,9" is four one-layer slices; contiguous items merge', () => {
    expect(layersRecipe({ model: M, layers: 32, spec: "0,8,1,9" }).slices.map((s) => s.sources[0].layerRange)).toEqual([
      [0, 1], [8, 9], [1, 2], [9, 10],
    ]);
    expect(layersRecipe({ model: M, layers: 32, spec: "0-7, 8..15,16" }).slices.map((s) => s.sources[0].layerRange)).toEqual([[0, 17]]);
  });

  test('"a:0-23,b:8-31" takes B from modelB; without modelB, b is the same model but its own slice', () => {
    const two = layersRecipe({ model: "x/a", modelB: "y/b", layers: 32, spec: "a:0-23,B:8-31" });
    expect(two.slices.map((s) => s.sources[0].model)).toEqual(["x/a", "y/b"]);
    const one = layersRecipe({ model: M, layers: 32, spec: "a:0-7,b:8-15" });
    expect(one.slices.map((s) => s.sources[0].layerRange)).toEqual([[0, 8], [8, 16]]);
  });

  test("describeLayout output pastes back into --layers", () => {
    const idus8 = idusRecipe({ model: M, layers: 32, group: 8 });
    const text = describeLayout(recipeLayers(idus8));
    expect(text).toBe("0..7, 8..15, 8..15, 16..23, 16..23, 24..31");
    const pasted = layersRecipe({ model: M, layers: 32, spec: text });
    expect(recipeLayers(pasted).map((l) => l.layer)).toEqual(recipeLayers(idus8).map((l) => l.layer));
    // Contiguous runs of one source merge: 0..7 + 8..15, then 8..15 + 16..23, then 16..31.
    expect(pasted.slices.map((s) => s.sources[0].layerRange)).toEqual([[0, 16], [8, 24], [16, 32]]);
  });

  test("bad specs name the item and its position", () => {
    const cases: [string, RegExp][] = [
      ["0-23,x", /item 2 \("x"\) at character 6 is not a layer/],
      ["", /item 1 \(""\)/],
      ["0-23,,8-31", /item 2/],
      ["23-0", /runs backwards/],
      ["0-32", /reaches layer 32, but the model has layers 0..31/],
      ["-1", /not a layer/],
      ["c:0-3", /not a layer/],
    ];
    for (const [spec, message] of cases) {
      expect(() => parseLayerSpec(spec, 32), spec).toThrow(message);
      try {
        parseLayerSpec(spec, 32);
      } catch (e) {
        expect(e).toBeInstanceOf(RecipeError);
        expect((e as RecipeError).path).toBe("--layers");
        expect((e as RecipeError).hint).toBeTruthy();
      }
    }
  });
});

describe("recipeLayers / describeLayout", () => {
  test("each layer knows its slice and index in the slice", () => {
    const stack = recipeLayers(dusRecipe({ model: M, layers: 8, drop: 2 }));
    expect(stack[5]).toEqual({ model: M, layer: 5, slice: 0, indexInSlice: 5 });
    expect(stack[6]).toEqual({ model: M, layer: 2, slice: 1, indexInSlice: 0 });
    expect(stack[11]).toEqual({ model: M, layer: 7, slice: 1, indexInSlice: 5 });
    expect(stack).toHaveLength(12);
  });

  test("DUS reads 0..23, 8..31; iDUS-1 lists single layers; two models get letters", () => {
    expect(describeLayout(recipeLayers(dusRecipe({ model: M, layers: 32 })))).toBe("0..23, 8..31");
    const idus1 = describeLayout(recipeLayers(idusRecipe({ model: M, layers: 32, group: 1 })));
    expect(idus1.startsWith("0, 8, 1, 9, 2, 10,")).toBe(true);
    expect(idus1.endsWith("22, 30, 23, 31")).toBe(true);
    expect(describeLayout(recipeLayers(dusRecipe({ model: "x/a", modelB: "y/b", layers: 32 })))).toBe("a:0..23, b:8..31 (a=x/a, b=y/b)");
    expect(describeLayout([])).toBe("");
  });
});
