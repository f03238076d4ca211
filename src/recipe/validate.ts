// Checks a typed Recipe (built by a preset, by hand, or read from YAML) before it is planned or
// exported: slice shapes, layer ranges, scale values, dtypes. It cannot check ranges against a
// model's layer count (the caller knows n; the planner checks that against the checkpoint).

import { RecipeError } from "../errors.js";
import { LIMITS } from "../limits.js";
import type { Recipe, ScaleParam } from "./recipe.js";

/** dtypes mergekit accepts (mergekit/common.py dtype_from_name, without the `torch.` prefix). */
export const MERGEKIT_DTYPES: readonly string[] = ["bfloat16", "float16", "float32"];

/**
 * A zero-length slice ([k, k)) adds no layer; mergekit users put one first or last to choose
 * where embeddings or norm/lm_head come from. Anywhere else it would do nothing, so it is refused.
 */
export function zeroLengthSliceAllowed(sliceIndex: number, sliceCount: number): boolean {
  return sliceIndex === 0 || sliceIndex === sliceCount - 1;
}

export function validateRecipe(recipe: Recipe): void {
  if (recipe.slices.length === 0) {
    throw new RecipeError("RECIPE_EMPTY", "the recipe has no slices, so the output would have no layers", {
      path: "slices",
      hint: "add at least one slice with a non-empty layer_range",
    });
  }
  let total = 0;
  recipe.slices.forEach((slice, i) => {
    const path = `slices[${i}].sources`;
    if (slice.sources.length !== 1) {
      throw new RecipeError("RECIPE_SOURCES", `passthrough takes exactly one source per slice, found ${slice.sources.length}`, { path });
    }
    const source = slice.sources[0];
    if (typeof source.model !== "string" || source.model.length === 0) {
      throw new RecipeError("RECIPE_TYPE", "model must be a non-empty string", { path: `${path}[0].model` });
    }
    const [start, end] = source.layerRange;
    const rangePath = `${path}[0].layer_range`;
    if (!isLayerIndex(start) || !isLayerIndex(end) || end < start) {
      throw new RecipeError("RECIPE_LAYER_RANGE", `layer_range must be [start, end) with 0 ≤ start ≤ end ≤ ${LIMITS.layerCount}, found [${start}, ${end}]`, {
        path: rangePath,
      });
    }
    if (end === start && !zeroLengthSliceAllowed(i, recipe.slices.length)) {
      throw new RecipeError("RECIPE_LAYER_RANGE", `zero-length layer_range [${start}, ${end}) in a middle slice adds nothing`, {
        path: rangePath,
        hint: "a zero-length slice only has an effect first or last (it picks the embeddings' or lm_head's model); remove it",
      });
    }
    total += end - start;
    if (source.parameters?.scale !== undefined) validateScale(source.parameters.scale, `${path}[0].parameters.scale`);
    if (slice.parameters?.scale !== undefined) validateScale(slice.parameters.scale, `slices[${i}].parameters.scale`);
  });
  if (total === 0) {
    throw new RecipeError("RECIPE_EMPTY", "every slice is zero-length, so the output would have no layers", {
      path: "slices",
      hint: "give at least one slice a layer_range [start, end) with end > start",
    });
  }
  if (total > LIMITS.layerCount) {
    throw new RecipeError("RECIPE_TOO_LARGE", `the recipe stacks ${total} layers, more than the limit of ${LIMITS.layerCount}`, { path: "slices" });
  }
  if (recipe.parameters?.scale !== undefined) validateScale(recipe.parameters.scale, "parameters.scale");
  for (const [key, value] of [["dtype", recipe.dtype], ["out_dtype", recipe.outDtype]] as const) {
    if (value !== undefined && !MERGEKIT_DTYPES.includes(value)) {
      throw new RecipeError("RECIPE_DTYPE", `unsupported ${key} "${value}"`, { path: key, hint: `use one of ${MERGEKIT_DTYPES.join(", ")}` });
    }
  }
}

function isLayerIndex(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0 && x <= LIMITS.layerCount;
}

function validateScale(scale: ScaleParam, path: string): void {
  const bad = (what: string): never => {
    throw new RecipeError("RECIPE_SCALE", what, {
      path,
      hint: "scale is a number, a non-empty list of numbers (a gradient), or a list of {filter, value}",
    });
  };
  const checkValue = (v: unknown, at: string): void => {
    if (typeof v === "number") {
      if (!Number.isFinite(v)) bad(`${at} must be a finite number, found ${v}`);
      return;
    }
    if (!Array.isArray(v) || v.length === 0) bad(`${at} must be a number or a non-empty list of numbers`);
    for (const x of v as unknown[]) if (typeof x !== "number" || !Number.isFinite(x)) bad(`${at} has a non-number entry ${String(x)}`);
  };
  if (typeof scale === "number" || (Array.isArray(scale) && scale.every((x) => typeof x === "number"))) {
    checkValue(scale, "scale");
    return;
  }
  if (scale.length === 0) bad("scale is an empty list");
  (scale as unknown[]).forEach((entry, j) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) bad(`scale[${j}] must be {filter?, value}`);
    const e = entry as { filter?: unknown; value?: unknown };
    if (e.filter !== undefined && typeof e.filter !== "string") bad(`scale[${j}].filter must be a string`);
    checkValue(e.value, `scale[${j}].value`);
  });
}
