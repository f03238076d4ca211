// mergekit's passthrough `scale` for one tensor (a passthrough slice has one source), on top of
// the general parameter lookup in parameters.ts. Pure lookups on a Recipe with `slices`.

import { RecipeError } from "../errors.js";
import { evaluateSetting, gradientPosition, lookupParameter } from "./parameters.js";
import type { Recipe, ScaleParam } from "./recipe.js";

export { gradientPosition } from "./parameters.js";

/** evaluateSetting for a numeric `scale` (kept for callers that evaluate one setting). */
export function evaluateScaleSetting(setting: ScaleParam, t: number, tensorName: string): number | undefined {
  const v = evaluateSetting(setting, t, tensorName);
  return v === undefined ? undefined : Number(v);
}

/** Source > slice > global; the first level that yields a value wins; 1 when none does. */
export function resolveScaleAt(recipe: Recipe, sliceIndex: number, t: number, tensorName: string): number {
  const slice = recipe.slices[sliceIndex];
  if (slice === undefined) {
    throw new RecipeError("RECIPE_SLICE_INDEX", `slice ${sliceIndex} does not exist (the recipe has ${recipe.slices.length})`, {
      path: `slices[${sliceIndex}]`,
    });
  }
  const value = lookupParameter("scale", { slice, global: recipe.parameters, t }, tensorName, 0);
  return value === undefined ? 1 : Number(value);
}

/**
 * The scale for a tensor of layer `layerIndexInSlice` of slice `sliceIndex`.
 * `tensorName` is the HF name IN THE SOURCE checkpoint (e.g. `model.layers.8.mlp.down_proj.weight`
 * for source layer 8), because mergekit matches per-model filters against the input tensor's name.
 */
export function resolveScale(recipe: Recipe, sliceIndex: number, layerIndexInSlice: number, tensorName: string): number {
  const slice = recipe.slices[sliceIndex];
  if (slice === undefined) return resolveScaleAt(recipe, sliceIndex, 0, tensorName); // throws
  const [start, end] = slice.sources[0].layerRange;
  const length = end - start;
  if (!Number.isInteger(layerIndexInSlice) || layerIndexInSlice < 0 || layerIndexInSlice >= length) {
    throw new RecipeError("RECIPE_SLICE_INDEX", `layer ${layerIndexInSlice} is outside slice ${sliceIndex}, which has ${length} layers`, {
      path: `slices[${sliceIndex}]`,
    });
  }
  return resolveScaleAt(recipe, sliceIndex, gradientPosition(layerIndexInSlice, length), tensorName);
}

/**
 * Scales of the tensors outside the decoder layers, as mergekit's plan_module evaluates them:
 * embeddings (`first`) with the first slice's parameters, final norm and lm_head (`last`) with
 * the last slice's, both at t = 0. A bare global `scale: 0.5` therefore scales them too.
 */
export function resolveNonLayerScale(recipe: Recipe, position: "first" | "last", tensorName: string): number {
  const index = position === "first" ? 0 : recipe.slices.length - 1;
  return resolveScaleAt(recipe, index, 0, tensorName);
}
