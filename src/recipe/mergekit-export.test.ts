import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { RecipeError } from "../errors.js";
import { layersRecipe } from "./layer-spec.js";
import { parseMergekitYaml } from "./mergekit-import.js";
import { recipeToMergekitYaml } from "./mergekit-export.js";
import { dusRecipe, expandRecipe, idusRecipe, pruneRecipe } from "./presets.js";
import type { Recipe } from "./recipe.js";

const M = "mistralai/Mistral-7B-v0.1";
const withoutOrigin = ({ origin: _origin, ...rest }: Recipe): Omit<Recipe, "origin"> => rest;

function roundTrip(recipe: Recipe): Recipe {
  const back = parseMergekitYaml(recipeToMergekitYaml(recipe), "exported.yml");
  expect(withoutOrigin(back)).toEqual(withoutOrigin(recipe));
  expect(back.origin).toEqual({ kind: "mergekit", file: "exported.yml" });
  return back;
}

describe("recipeToMergekitYaml", () => {
  test("DUS exports the config people write, with [start, end) in flow style", () => {
    const text = recipeToMergekitYaml({ ...dusRecipe({ model: M, layers: 32 }), dtype: "bfloat16" });
    expect(text).toBe(`# written by dusk from preset dus (layers=32, drop=8, model=${M})

merge_method: passthrough
dtype: bfloat16
slices:
  - sources:
      - model: ${M}
        layer_range: [0, 24]
  - sources:
      - model: ${M}
        layer_range: [8, 32]
`);
  });

  test("every preset round-trips; iDUS-1 is 48 slices of one layer", () => {
    const presets: Recipe[] = [
      dusRecipe({ model: M, layers: 32 }),
      dusRecipe({ model: "a/one", modelB: "b/two", layers: 32, drop: 4 }),
      idusRecipe({ model: M, layers: 32, group: 8 }),
      idusRecipe({ model: M, layers: 32, group: 5 }),
      expandRecipe({ model: M, layers: 32, blocks: 8 }),
      expandRecipe({ model: M, layers: 10, every: 3, scale: 0.125 }),
      pruneRecipe({ model: M, layers: 32, dropRange: "24:28" }),
      layersRecipe({ model: M, modelB: "other/model", layers: 32, spec: "a:0-3,b:4,a:5-31" }),
    ];
    for (const recipe of presets) roundTrip(recipe);
    const idus1 = idusRecipe({ model: M, layers: 32, group: 1 });
    const plain = parse(recipeToMergekitYaml(idus1)) as { slices: { sources: { layer_range: number[] }[] }[] };
    expect(plain.slices).toHaveLength(48);
    expect(plain.slices.slice(0, 3).map((s) => s.sources[0]?.layer_range)).toEqual([[0, 1], [8, 9], [1, 2]]);
    roundTrip(idus1);
  });

  test("the export has only keys mergekit's MergeConfiguration knows, and filter before value", () => {
    const text = recipeToMergekitYaml(expandRecipe({ model: M, layers: 8, every: 4 }));
    const plain = parse(text) as Record<string, unknown>;
    expect(Object.keys(plain)).toEqual(["merge_method", "slices"]);
    expect(text).toContain("        - filter: o_proj\n          value: 0\n");
  });

  test("settings and parameters at every level round-trip, odd model names are quoted", () => {
    const recipe: Recipe = {
      baseModel: "org/base model",
      dtype: "float32",
      outDtype: "bfloat16",
      tokenizerSource: "base",
      parameters: { scale: [{ filter: "lm_head", value: 1.5 }, { filter: "*", value: [0.1, 0.2] }, { value: 1 }] },
      slices: [
        { sources: [{ model: "./local: dir #1", layerRange: [0, 0] }] },
        { sources: [{ model: "org/a", layerRange: [0, 12], parameters: { scale: [1, 0.5, 0.25] } }], parameters: { scale: 0.75 } },
        { sources: [{ model: "- yes", layerRange: [12, 16] }], parameters: { scale: [{ filter: "true", value: 0 }] } },
      ],
      origin: { kind: "mergekit" },
    };
    roundTrip(recipe);
    roundTrip(parseMergekitYaml("merge_method: passthrough\nslices:\n  - sources:\n      - model: x\n        layer_range: [0, 4]\n        parameters: {scale: -0.5}\n"));
  });

  test("an invalid recipe built by hand is refused with a path", () => {
    const bad = (recipe: Recipe, path: string): void => {
      try {
        recipeToMergekitYaml(recipe);
      } catch (e) {
        expect(e).toBeInstanceOf(RecipeError);
        expect((e as RecipeError).path).toBe(path);
        return;
      }
      throw new Error("expected a RecipeError");
    };
    const origin = { kind: "layers" } as const;
    bad({ slices: [], origin }, "slices");
    bad({ slices: [{ sources: [{ model: "m", layerRange: [4, 2] }] }], origin }, "slices[0].sources[0].layer_range");
    bad({ slices: [{ sources: [{ model: "m", layerRange: [-1, 2] }] }], origin }, "slices[0].sources[0].layer_range");
    const two = [{ model: "a", layerRange: [0, 1] }, { model: "b", layerRange: [0, 1] }] as unknown as [{ model: string; layerRange: [number, number] }];
    bad({ slices: [{ sources: two }], origin }, "slices[0].sources");
    bad({ slices: [{ sources: [{ model: "m", layerRange: [0, 2] }], parameters: { scale: [] } }], origin }, "slices[0].parameters.scale");
    bad({ slices: [{ sources: [{ model: "m", layerRange: [0, 2] }] }], dtype: "fp8", origin }, "dtype");
  });
});
