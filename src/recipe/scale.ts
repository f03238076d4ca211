// Resolves mergekit's passthrough `scale` parameter for one tensor, exactly as mergekit does
// (config.py evaluate_setting + ConfigReader.parameter, plan.py plan_slice). Pure lookups on a
// Recipe; it does not know tensor layouts or GGUF names (map GGUF names to HF names first).

import { RecipeError } from "../errors.js";
import type { Recipe, ScaleParam } from "./recipe.js";

/**
 * A layer's position t ∈ [0, 1] within its slice, as mergekit's plan_slice computes it:
 * idx / (len − 1), and 1 for a one-layer slice (not 0: a single layer takes a gradient's END).
 */
export function gradientPosition(indexInSlice: number, sliceLength: number): number {
  return sliceLength > 1 ? indexInSlice / (sliceLength - 1) : 1;
}

/**
 * Evaluates one parameter setting at position t for a tensor name.
 * - number → itself;
 * - number list → linear interpolation: s = t·(len−1), i0 = ⌊s⌋, i1 = min(len−1, i0+1),
 *   value = (1−f)·v[i0] + f·v[i1] with f = s − i0;
 * - conditional list → the first entry whose filter is absent, `*`, or a substring of the
 *   name; `undefined` when none matches (the caller falls through to the next level).
 */
export function evaluateScaleSetting(setting: ScaleParam, t: number, tensorName: string): number | undefined {
  if (typeof setting === "number") return setting;
  if (setting.length === 0) return undefined;
  if (typeof setting[0] === "number") return interpolateGradient(setting as number[], t);
  for (const entry of setting as { filter?: string; value: number | number[] }[]) {
    if (entry.filter === undefined || entry.filter === "*" || tensorName.includes(entry.filter)) {
      return typeof entry.value === "number" ? entry.value : interpolateGradient(entry.value, t);
    }
  }
  return undefined;
}

function interpolateGradient(values: number[], t: number): number {
  const scaled = t * (values.length - 1);
  const i0 = Math.trunc(scaled);
  const i1 = Math.min(values.length - 1, i0 + 1);
  const frac = scaled - i0;
  const v0 = values[i0];
  const v1 = values[i1];
  if (v0 === undefined || v1 === undefined) {
    throw new RecipeError("RECIPE_SCALE", `gradient position t=${t} is outside [0, 1]`, {
      hint: "this is a bug in the caller: t must come from gradientPosition()",
    });
  }
  return (1 - frac) * v0 + frac * v1;
}

/** Source > slice > global; the first level that yields a value wins; 1 when none does. */
export function resolveScaleAt(recipe: Recipe, sliceIndex: number, t: number, tensorName: string): number {
  const slice = recipe.slices[sliceIndex];
  if (slice === undefined) {
    throw new RecipeError("RECIPE_SLICE_INDEX", `slice ${sliceIndex} does not exist (the recipe has ${recipe.slices.length})`, {
      path: `slices[${sliceIndex}]`,
    });
  }
  const levels = [slice.sources[0].parameters?.scale, slice.parameters?.scale, recipe.parameters?.scale];
  for (const setting of levels) {
    if (setting === undefined) continue;
    const value = evaluateScaleSetting(setting, t, tensorName);
    if (value !== undefined) return value;
  }
  return 1;
}

/**
 * The scale for a tensor of layer `layerIndexInSlice` of slice `sliceIndex`.
 * `tensorName` is the HF name IN THE SOURCE checkpoint (e.g. `model.layers.8.mlp.down_proj.weight`
 * for source layer 8), because mergekit matches filters against the input tensor's name.
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
 * Scales of the tensors outside the decoder layers, as mergekit evaluates them: embeddings
 * (`first`) with the first slice's parameters at t = 0, final norm and lm_head (`last`) with the
 * last slice's at t = 1. A bare global `scale: 0.5` therefore scales embeddings and lm_head too.
 */
export function resolveNonLayerScale(recipe: Recipe, position: "first" | "last", tensorName: string): number {
  const index = position === "first" ? 0 : recipe.slices.length - 1;
  return resolveScaleAt(recipe, index, position === "first" ? 0 : 1, tensorName);
}
