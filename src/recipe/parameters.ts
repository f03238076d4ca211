// Evaluates mergekit parameters for one tensor, exactly as mergekit does (config.py
// evaluate_setting + ConfigReader.parameter, plan.py plan_slice/plan_module): gradients over a
// slice's layers, filters on tensor names, and the source > slice > global precedence.
// Pure lookups on a Recipe; it does not know tensor layouts or GGUF names (map to HF names first).

import { RecipeError } from "../errors.js";
import type { ParameterSetting, ParamScalar, Parameters, RecipeSlice } from "./recipe.js";

/**
 * A layer's position t ∈ [0, 1] within its slice, as mergekit's plan_slice computes it:
 * idx / (len − 1), and 1 for a one-layer slice (not 0: a single layer takes a gradient's END).
 * Tensors outside the layers (embeddings, final norm, head) take t = 0.
 */
export function gradientPosition(indexInSlice: number, sliceLength: number): number {
  return sliceLength > 1 ? indexInSlice / (sliceLength - 1) : 1;
}

/**
 * Evaluates one setting at position t for a tensor name.
 * - a number or boolean → itself;
 * - a number list → linear interpolation in double precision: s = t·(len−1), i0 = ⌊s⌋,
 *   i1 = min(len−1, i0+1), value = (1−f)·v[i0] + f·v[i1] with f = s − i0;
 * - a conditional list → the first entry whose filter is absent, `*`, or a substring of the
 *   name; `undefined` when none matches (the caller falls through to the next level).
 */
export function evaluateSetting(setting: ParameterSetting, t: number, tensorName: string): ParamScalar | undefined {
  if (typeof setting === "number" || typeof setting === "boolean") return setting;
  if (setting.length === 0) return undefined;
  if (typeof setting[0] === "number") return interpolateGradient(setting as number[], t);
  for (const entry of setting as { filter?: string; value: ParamScalar | number[] }[]) {
    if (entry.filter === undefined || entry.filter === "*" || (tensorName !== "" && tensorName.includes(entry.filter))) {
      return Array.isArray(entry.value) ? interpolateGradient(entry.value, t) : entry.value;
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
    throw new RecipeError("RECIPE_PARAMETER", `gradient position t=${t} is outside [0, 1]`, {
      hint: "this is a bug in the caller: t must come from gradientPosition()",
    });
  }
  return (1 - frac) * v0 + frac * v1;
}

/** What one lookup sees: the slice (and source) of the tensor, the global level, and t. */
export interface ParameterScope {
  slice: RecipeSlice;
  global: Parameters | undefined;
  t: number;
}

/**
 * mergekit's ConfigReader.parameter: the source's own parameters (when `source` is given: per-model
 * parameters), then the slice's, then the global ones; the first level whose setting yields a
 * value wins. `tensorName` is the input's name for per-model parameters and the output's for
 * per-tensor ones (as mergekit's plan_tensor passes them).
 */
export function lookupParameter(name: string, scope: ParameterScope, tensorName: string, source?: number): ParamScalar | undefined {
  const levels: (Parameters | undefined)[] = [
    source === undefined ? undefined : scope.slice.sources[source]?.parameters,
    scope.slice.parameters,
    scope.global,
  ];
  for (const level of levels) {
    if (level === undefined || !Object.hasOwn(level, name)) continue;
    const value = evaluateSetting(level[name]!, scope.t, tensorName);
    if (value !== undefined) return value;
  }
  return undefined;
}
