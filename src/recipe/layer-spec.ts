// The `layers` preset: an explicit layer list typed by a user, "0-23,8-31", "0,8,1,9" or
// "a:0-23,b:8-31" (two models). Ranges here are INCLUSIVE (0-23 is 24 layers), unlike
// mergekit's layer_range [start, end). It parses text into a Recipe; it reads no files.

import { RecipeError } from "../errors.js";
import { sliceOf, type Recipe, type RecipeSlice } from "./recipe.js";
import { checkLayerCount, checkModel } from "./presets.js";
import { validateRecipe } from "./validate.js";

/** One item of a layer spec: layers first..last (inclusive) of model `a` or `b`. */
export interface LayerSpecItem {
  source: "a" | "b";
  first: number;
  last: number;
}

const ITEM = /^(?:([abAB])\s*:\s*)?(\d+)(?:\s*(?:-|\.\.)\s*(\d+))?$/;

/**
 * Grammar: item ("," item)*; item = [("a" | "b") ":"] index [("-" | "..") index].
 * `..` is accepted so describeLayout() output can be pasted back. Each index must be < n;
 * descending ranges are refused (write the layers one by one instead).
 */
export function parseLayerSpec(spec: string, layers: number): LayerSpecItem[] {
  const n = checkLayerCount(layers);
  const items: LayerSpecItem[] = [];
  let offset = 0;
  for (const raw of spec.split(",")) {
    const text = raw.trim();
    const where = `item ${items.length + 1} ("${text}") at character ${offset + 1}`;
    offset += raw.length + 1;
    const match = ITEM.exec(text);
    if (match === null) {
      throw new RecipeError("RECIPE_OPTION", `--layers ${where} is not a layer or an inclusive range`, {
        path: "--layers",
        hint: 'write e.g. "0-23,8-31", "0,8,1,9" or "a:0-23,b:8-31" (ranges include both ends)',
      });
    }
    const first = Number(match[2]);
    const last = match[3] === undefined ? first : Number(match[3]);
    if (last < first) {
      throw new RecipeError("RECIPE_OPTION", `--layers ${where} runs backwards`, {
        path: "--layers",
        hint: `a range goes up; to reverse layers list them one by one (${first},${first - 1},…)`,
      });
    }
    if (last >= n) {
      throw new RecipeError("RECIPE_OPTION", `--layers ${where} reaches layer ${last}, but the model has layers 0..${n - 1}`, {
        path: "--layers",
        hint: "ranges are inclusive: the last layer of a 32-layer model is 31",
      });
    }
    items.push({ source: (match[1]?.toLowerCase() ?? "a") as "a" | "b", first, last });
  }
  return items;
}

/**
 * Builds the recipe: consecutive items from the same source whose layers continue each other
 * (0-7 then 8-15) share a slice; anything else starts a new one (so "0,8,1,9" is 4 slices).
 * `b:` means modelB (default: model).
 */
export function layersRecipe(options: { model: string; modelB?: string; layers: number; spec: string }): Recipe {
  const a = checkModel(options.model, "model");
  const b = options.modelB === undefined ? a : checkModel(options.modelB, "model B");
  const items = parseLayerSpec(options.spec, options.layers);
  const runs: { source: "a" | "b"; start: number; end: number }[] = [];
  for (const item of items) {
    const last = runs[runs.length - 1];
    if (last !== undefined && last.source === item.source && last.end === item.first) last.end = item.last + 1;
    else runs.push({ source: item.source, start: item.first, end: item.last + 1 });
  }
  const slices: RecipeSlice[] = runs.map((r) => sliceOf(r.source === "a" ? a : b, r.start, r.end));
  const recipe: Recipe = { slices, origin: { kind: "layers", spec: options.spec } };
  validateRecipe(recipe);
  return recipe;
}
