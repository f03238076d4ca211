// The part of mergekit's MergePlanner that decides, for each output tensor, which source tensors
// it is made of and with which parameters (plan.py normalize_config, plan_module, plan_slice,
// plan_tensor): `models:` becomes one slice of whole models (the base added when missing),
// embeddings come from the first slice's sources, norm and head from the last slice's, each
// evaluated at t = 0, layers at t = idx/(n−1). Pure; no bytes, no formats.

import { PlanError, RecipeError } from "../errors.js";
import { lookupParameter, mergeMethodInfo, mergeMethodOf, type MethodInfo, type ParamScalar, type Recipe, type RecipeSlice } from "../recipe/index.js";
import { gradientPosition } from "../recipe/parameters.js";

/** A slice after `models:` is expanded: the sources, and the base model that applies to it. */
export interface NormalizedSlice {
  slice: RecipeSlice;
  /** index of the recipe slice (0 for the `models:` form) */
  index: number;
  base: string | undefined;
  length: number;
}

/** mergekit's normalize_config: `models:` → one slice of every model's whole range. */
export function normalizeSlices(recipe: Recipe, numLayers: (ref: string) => number): NormalizedSlice[] {
  if (recipe.models === undefined) {
    return recipe.slices.map((slice, index) => ({
      slice,
      index,
      base: slice.baseModel ?? recipe.baseModel,
      length: slice.sources[0].layerRange[1] - slice.sources[0].layerRange[0],
    }));
  }
  const models = [...recipe.models];
  if (recipe.baseModel !== undefined && !models.some((m) => m.model === recipe.baseModel)) models.push({ model: recipe.baseModel });
  const sources = models.map((m) => ({ model: m.model, layerRange: [0, numLayers(m.model)] as [number, number], ...(m.parameters ? { parameters: m.parameters } : {}) }));
  const length = sources[0]!.layerRange[1];
  const odd = sources.find((s) => s.layerRange[1] !== length);
  if (odd !== undefined) {
    throw new RecipeError("recipe.layer-count", `models: ${sources[0]!.model} has ${length} layers but ${odd.model} has ${odd.layerRange[1]}`, {
      path: "models",
      hint: "`models:` merges whole models layer by layer, so they need equal depths; use `slices:` with equal layer_range lengths instead",
      ...fileOf(recipe),
    });
  }
  return [{ slice: { sources: sources as RecipeSlice["sources"] }, index: 0, base: recipe.baseModel, length }];
}

export function fileOf(recipe: Recipe): { file?: string } {
  return recipe.origin.kind === "mergekit" && recipe.origin.file !== undefined ? { file: recipe.origin.file } : {};
}

/** One input as the planner gathers it: which slice source, and its tensor name in HF naming. */
export interface GatheredInput {
  /** index into the slice's sources */
  sourceIndex: number;
  model: string;
  /** the input tensor's HF name (per-model filters match it) */
  hfName: string;
}

export interface EvaluatedParams {
  method: MethodInfo;
  global: Record<string, number | boolean>;
  perInput: Record<string, number | boolean>[];
  /** index into the inputs of the base model's tensor */
  base: number | undefined;
}

/**
 * mergekit's plan_tensor parameter reads for one output tensor: per-tensor parameters with the
 * OUTPUT name, per-model ones with each input's name; defaults filled, required ones enforced
 * (except per-model ones of the base, as mergekit exempts it).
 */
export function evaluateParams(recipe: Recipe, ns: NormalizedSlice, t: number, outHfName: string, inputs: readonly GatheredInput[]): EvaluatedParams {
  const method = mergeMethodInfo(mergeMethodOf(recipe))!;
  const scope = { slice: ns.slice, global: recipe.parameters, t };
  // Two sources of the base model in one slice: the first is the base (mergekit keys inputs by model).
  const baseIndex = ns.base === undefined ? -1 : inputs.findIndex((i) => i.model === ns.base);
  const global: Record<string, number | boolean> = {};
  for (const p of method.global) {
    const v = lookupParameter(p.name, scope, outHfName);
    global[p.name] = required(v, p.name, p.default, p.required === true, outHfName, recipe);
  }
  const perInput = inputs.map((input, k) => {
    const params: Record<string, number | boolean> = {};
    for (const p of method.tensor) {
      const v = lookupParameter(p.name, scope, input.hfName, input.sourceIndex);
      const exempt = k === baseIndex && method.base !== "input";
      if (v === undefined && p.default === undefined && !p.required) continue; // passthrough scale
      if (v === undefined && p.required && exempt) continue;
      params[p.name] = required(v, p.name, p.default, p.required === true, `${input.model}: ${input.hfName}`, recipe);
    }
    return params;
  });
  return { method, global, perInput, base: baseIndex < 0 ? undefined : baseIndex };
}

function required(v: ParamScalar | undefined, name: string, def: number | boolean | undefined, isRequired: boolean, where: string, recipe: Recipe): number | boolean {
  if (v !== undefined) return v;
  if (def !== undefined) return def;
  if (isRequired) {
    throw new RecipeError("recipe.missing-parameter", `no value of \`${name}\` applies to ${where}`, {
      path: "parameters",
      hint: `every filter list for ${name} needs an entry that matches this tensor; add a default entry without a filter (\`- value: …\`)`,
      ...fileOf(recipe),
    });
  }
  throw new PlanError("plan.parameter", `parameter ${name} has no value and no default`);
}

/** t for output layer `offset` of a slice of `length` layers (mergekit plan_slice). */
export function layerPosition(offset: number, length: number): number {
  return gradientPosition(offset, length);
}
