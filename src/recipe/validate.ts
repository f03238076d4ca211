// Checks a typed Recipe (built by a preset, by hand, or read from YAML) before it is planned or
// exported: the stack's shape, layer ranges, the merge method and its parameters' names, types
// and ranges, dtypes. It cannot check ranges against a model's layer count (the planner does).

import { RecipeError } from "../errors.js";
import { LIMITS } from "../limits.js";
import { MERGE_METHOD_NAMES, methodParam, mergeMethodInfo, type MethodInfo } from "./merge-methods.js";
import { outOfRange } from "./mergekit-params.js";
import { mergeMethodOf, type ParameterSetting, type Parameters, type Recipe, type RecipeSource } from "./recipe.js";

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
  const methodName = mergeMethodOf(recipe);
  const method = mergeMethodInfo(methodName);
  if (method === undefined) {
    throw new RecipeError("RECIPE_MERGE_METHOD", `unknown merge_method "${methodName}"`, { path: "merge_method", hint: `mergekit's methods are ${MERGE_METHOD_NAMES.join(", ")}` });
  }
  if (recipe.models !== undefined) {
    if (recipe.slices.length > 0) throw new RecipeError("RECIPE_STACK", "a recipe has `slices` or `models`, not both", { path: "models" });
    if (recipe.models.length === 0) throw new RecipeError("RECIPE_EMPTY", "`models` is empty", { path: "models", hint: "add at least one model" });
    recipe.models.forEach((m, i) => {
      checkModelRef(m.model, `models[${i}].model`);
      validateParameters(m.parameters, `models[${i}].parameters`, method, true);
    });
  } else {
    validateSlices(recipe, method);
  }
  validateParameters(recipe.parameters, "parameters", method, false);
  for (const [key, value] of [["dtype", recipe.dtype], ["out_dtype", recipe.outDtype]] as const) {
    if (value !== undefined && !MERGEKIT_DTYPES.includes(value)) {
      throw new RecipeError("RECIPE_DTYPE", `unsupported ${key} "${value}"`, { path: key, hint: `use one of ${MERGEKIT_DTYPES.join(", ")}` });
    }
  }
  if (recipe.tokenizer !== undefined && recipe.tokenizerSource !== undefined) {
    throw new RecipeError("RECIPE_TOKENIZER", "both `tokenizer_source` and `tokenizer` are given", { path: "tokenizer", hint: "keep one" });
  }
}

function validateSlices(recipe: Recipe, method: MethodInfo): void {
  if (recipe.slices.length === 0) {
    throw new RecipeError("RECIPE_EMPTY", "the recipe has no slices, so the output would have no layers", {
      path: "slices",
      hint: "add at least one slice with a non-empty layer_range",
    });
  }
  let total = 0;
  recipe.slices.forEach((slice, i) => {
    const path = `slices[${i}].sources`;
    if (slice.sources.length === 0 || (method.name === "passthrough" && slice.sources.length !== 1)) {
      throw new RecipeError("RECIPE_SOURCES", `passthrough takes exactly one source per slice, found ${slice.sources.length}`, { path });
    }
    const length = checkRange(slice.sources[0], `${path}[0]`, i, recipe.slices.length);
    slice.sources.forEach((source, k) => {
      checkModelRef(source.model, `${path}[${k}].model`);
      const n = checkRange(source, `${path}[${k}]`, i, recipe.slices.length);
      if (n !== length) {
        throw new RecipeError("RECIPE_LAYER_RANGE", `the sources of a slice must have equal lengths: sources[0] has ${length} layers, sources[${k}] has ${n}`, { path: `${path}[${k}].layer_range` });
      }
      validateParameters(source.parameters, `${path}[${k}].parameters`, method, true);
    });
    validateParameters(slice.parameters, `slices[${i}].parameters`, method, false);
    total += length;
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
}

function checkModelRef(model: unknown, path: string): void {
  if (typeof model !== "string" || model.length === 0) throw new RecipeError("RECIPE_TYPE", "model must be a non-empty string", { path });
}

function checkRange(source: RecipeSource, path: string, sliceIndex: number, sliceCount: number): number {
  const [start, end] = source.layerRange;
  const rangePath = `${path}.layer_range`;
  if (!isLayerIndex(start) || !isLayerIndex(end) || end < start) {
    throw new RecipeError("RECIPE_LAYER_RANGE", `layer_range must be [start, end) with 0 ≤ start ≤ end ≤ ${LIMITS.layerCount}, found [${start}, ${end}]`, {
      path: rangePath,
    });
  }
  if (end === start && !zeroLengthSliceAllowed(sliceIndex, sliceCount)) {
    throw new RecipeError("RECIPE_LAYER_RANGE", `zero-length layer_range [${start}, ${end}) in a middle slice adds nothing`, {
      path: rangePath,
      hint: "a zero-length slice only has an effect first or last (it picks the embeddings' or lm_head's model); remove it",
    });
  }
  return end - start;
}

function isLayerIndex(x: number): boolean {
  return Number.isSafeInteger(x) && x >= 0 && x <= LIMITS.layerCount;
}

function validateParameters(parameters: Parameters | undefined, path: string, method: MethodInfo, perModel: boolean): void {
  if (parameters === undefined) return;
  for (const [name, setting] of Object.entries(parameters)) {
    const p = methodParam(method, name);
    if (p === undefined) {
      throw new RecipeError("RECIPE_UNKNOWN_KEY", `unknown parameter \`${name}\` for ${method.name}`, { path: `${path}.${name}`, hint: `${method.name} reads ${[...method.global, ...method.tensor].map((x) => x.name).join(", ") || "no parameters"}` });
    }
    if (perModel && method.global.includes(p)) {
      throw new RecipeError("RECIPE_PARAMETER_LEVEL", `\`${name}\` is read once per tensor, not per model`, { path: `${path}.${name}`, hint: "put it in the slice's or the top-level parameters" });
    }
    validateSetting(setting, `${path}.${name}`, (v, at) => {
      const bad = (what: string): never => {
        throw new RecipeError("RECIPE_PARAMETER", `${at} ${what}`, { path: at, hint: p.range?.why ?? `see docs/merge.md for ${name}` });
      };
      if (p.kind === "boolean" ? typeof v !== "boolean" : typeof v !== "number" || !Number.isFinite(v)) bad(`must be ${p.kind === "boolean" ? "true or false" : "a finite number"}, found ${String(v)}`);
      if (p.kind === "integer" && !Number.isSafeInteger(v)) bad(`must be a whole number, found ${String(v)}`);
      if (typeof v === "number") {
        const problem = outOfRange(p, v);
        if (problem !== undefined) throw new RecipeError("RECIPE_PARAMETER_RANGE", `${at} is ${v}: ${problem}`, { path: at, hint: p.range!.why });
      }
    });
  }
}

/** Walks a setting's leaf values: scalars, gradient entries, condition values. */
function validateSetting(setting: ParameterSetting, path: string, check: (v: unknown, at: string) => void): void {
  const bad = (what: string): never => {
    throw new RecipeError("RECIPE_PARAMETER", `${path} ${what}`, { path, hint: "a parameter is a number, a boolean, a non-empty list of numbers (a gradient), or a list of {filter, value}" });
  };
  if (!Array.isArray(setting)) return check(setting, path);
  if (setting.length === 0) bad("is an empty list");
  if (setting.every((x) => typeof x === "number")) return setting.forEach((x, k) => check(x, `${path}[${k}]`));
  (setting as unknown[]).forEach((entry, j) => {
    if (typeof entry !== "object" || entry === null || Array.isArray(entry)) bad(`[${j}] must be {filter?, value}`);
    const e = entry as { filter?: unknown; value?: unknown };
    if (e.filter !== undefined && typeof e.filter !== "string") bad(`[${j}].filter must be a string`);
    if (Array.isArray(e.value)) {
      if (e.value.length === 0) bad(`[${j}].value is an empty list`);
      e.value.forEach((x, k) => check(x, `${path}[${j}].value[${k}]`));
    } else check(e.value, `${path}[${j}].value`);
  });
}
