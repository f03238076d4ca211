// mergekit passthrough YAML → Recipe. Accepts what mergekit's config.py accepts for
// `merge_method: passthrough` with `slices`, and refuses with file:line:col, path and hint
// everything else: other merge methods, unknown keys, two sources in a slice, bad ranges.

import { isMap, isScalar, isSeq, type Node } from "yaml";
import { LIMITS } from "../limits.js";
import type { Recipe, RecipeSlice, RecipeSource, ScaleParam, ScaleValue } from "./recipe.js";
import { MERGEKIT_DTYPES, validateRecipe, zeroLengthSliceAllowed } from "./validate.js";
import { YamlRecipeReader, type UnsupportedKey } from "./yaml-reader.js";

const TOP_KEYS = ["merge_method", "slices", "base_model", "dtype", "out_dtype", "tokenizer_source", "parameters"] as const;
const SLICE_KEYS = ["sources", "parameters"] as const;
const SOURCE_KEYS = ["model", "layer_range", "parameters"] as const;
const PARAMETER_KEYS = ["scale"] as const;
const CONDITION_KEYS = ["filter", "value"] as const;

const SLICES_EXAMPLE = "slices:\n  - sources:\n      - model: org/model\n        layer_range: [0, 24]";

const TOP_UNSUPPORTED: Record<string, UnsupportedKey> = {
  models: {
    why: "the `models:` form merges whole models; passthrough accepts only one model there, and dusk works from explicit layer ranges",
    hint: `write one slice per model instead:\n${SLICES_EXAMPLE}`,
  },
  modules: { why: "dusk builds single-module decoder models only", hint: "describe the decoder with top-level `slices:`" },
  tokenizer: {
    why: "dusk does not build or merge vocabularies; the tokenizer files are copied from base_model (or the first model)",
    hint: "remove `tokenizer:`; all sources must share one tokenizer",
  },
  chat_template: {
    why: "dusk copies the chat template with the tokenizer files and does not override it from a recipe",
    hint: "remove `chat_template:` and edit tokenizer_config.json of the output if needed",
  },
};
const SLICE_UNSUPPORTED: Record<string, UnsupportedKey> = {
  base_model: { why: "a per-slice base_model only matters to weight-blending merge methods", hint: "remove it; passthrough copies each slice's one source" },
  residual_weight: { why: "residual_weight is not used by passthrough", hint: "remove it; use `parameters: {scale: …}` to scale a slice" },
};
const PASSTHROUGH_PARAMETER_HINT = "passthrough uses only `scale` (weight, density, t, … belong to other merge methods)";

/** Parses a mergekit passthrough config. `file` only labels error messages. */
export function parseMergekitYaml(text: string, file?: string): Recipe {
  const r: YamlRecipeReader = new YamlRecipeReader(text, file);
  const root = r.resolve(r.doc.contents, "");
  if (r.isNull(root)) r.fail("RECIPE_EMPTY", "the recipe is empty", "", root, `a passthrough recipe starts with\nmerge_method: passthrough\n${SLICES_EXAMPLE}`);
  const top = r.mapping(root, "", TOP_KEYS, TOP_UNSUPPORTED);

  const method = top.get("merge_method");
  if (method === undefined) r.fail("RECIPE_MERGE_METHOD", "missing `merge_method`", "merge_method", root, "add `merge_method: passthrough`");
  const methodName = r.string(method.value, "merge_method");
  if (methodName !== "passthrough") {
    r.fail(
      "RECIPE_MERGE_METHOD",
      `merge_method is "${methodName}", but dusk only does passthrough layer stacking`,
      "merge_method",
      method.value,
      methodName.toLowerCase() === "passthrough"
        ? "write it in lower case: `merge_method: passthrough`"
        : "weight-blending methods (linear, slerp, ties, dare, …) need mergekit itself; dusk reads and builds passthrough configs",
    );
  }

  // Settings first, then the stack: most files put the settings at the top, so the first
  // error reported is usually the first one in the file.
  const settings: Omit<Recipe, "slices" | "origin"> = {};
  const baseModel = optional(r, top.get("base_model"));
  if (baseModel !== undefined) settings.baseModel = readModel(r, baseModel, "base_model");
  for (const [key, field] of [["dtype", "dtype"], ["out_dtype", "outDtype"]] as const) {
    const node = optional(r, top.get(key));
    if (node !== undefined) settings[field] = readDtype(r, node, key);
  }
  const tokenizerSource = optional(r, top.get("tokenizer_source"));
  if (tokenizerSource !== undefined) {
    const value = r.string(tokenizerSource, "tokenizer_source");
    if (value !== "base") {
      r.fail("RECIPE_UNSUPPORTED", `tokenizer_source "${value}" is not supported: dusk does not merge vocabularies`, "tokenizer_source", tokenizerSource, "use `tokenizer_source: base` or remove it; the tokenizer is copied from base_model (or the first model)");
    }
    settings.tokenizerSource = "base";
  }
  const parameters = readParameters(r, top.get("parameters"), "parameters");
  if (parameters !== undefined) settings.parameters = parameters;
  const slicesEntry = top.get("slices");
  if (slicesEntry === undefined) r.fail("RECIPE_MISSING_KEY", "missing `slices`", "slices", root, `add the layer stack:\n${SLICES_EXAMPLE}`);
  const sliceNodes = r.sequence(slicesEntry.value, "slices", "one entry per run of layers");
  if (sliceNodes.length === 0) {
    r.fail("RECIPE_EMPTY", "`slices` is empty, so the output would have no layers", "slices", slicesEntry.value ?? slicesEntry.keyNode, "add at least one slice");
  }
  let total = 0;
  const slices = sliceNodes.map((node, i) => {
    const slice = readSlice(r, node, `slices[${i}]`, i, sliceNodes.length);
    const [start, end] = slice.sources[0].layerRange;
    total += end - start;
    return slice;
  });
  if (total === 0) r.fail("RECIPE_EMPTY", "every slice is zero-length, so the output would have no layers", "slices", slicesEntry.keyNode, "give a slice a layer_range [start, end) with end > start");
  if (total > LIMITS.layerCount) r.fail("RECIPE_TOO_LARGE", `the slices stack ${total} layers, more than the limit of ${LIMITS.layerCount}`, "slices", slicesEntry.keyNode);

  const recipe: Recipe = { slices, ...settings, origin: file === undefined ? { kind: "mergekit" } : { kind: "mergekit", file } };
  validateRecipe(recipe); // a safety net: the checks above already carry positions
  return recipe;
}

function readSlice(r: YamlRecipeReader, node: Node | null, path: string, index: number, count: number): RecipeSlice {
  const keys = r.mapping(node, path, SLICE_KEYS, SLICE_UNSUPPORTED);
  const sourcesEntry = keys.get("sources");
  if (sourcesEntry === undefined) r.fail("RECIPE_MISSING_KEY", "missing `sources`", `${path}.sources`, node, `each slice is\n  - sources:\n      - model: org/model\n        layer_range: [0, 24]`);
  const sourceNodes = r.sequence(sourcesEntry.value, `${path}.sources`, "exactly one {model, layer_range}");
  if (sourceNodes.length !== 1) {
    r.fail(
      "RECIPE_SOURCES",
      `passthrough takes exactly one source per slice, found ${sourceNodes.length}`,
      `${path}.sources`,
      sourceNodes[1] ?? sourcesEntry.value ?? sourcesEntry.keyNode,
      sourceNodes.length > 1 ? "to stack layers from several models, give each its own slice (mergekit fails on this too)" : "add one `- model: …, layer_range: [start, end]` entry",
    );
  }
  const source = readSource(r, sourceNodes[0] ?? null, `${path}.sources[0]`, index, count);
  const slice: RecipeSlice = { sources: [source] };
  const parameters = readParameters(r, keys.get("parameters"), `${path}.parameters`);
  if (parameters !== undefined) slice.parameters = parameters;
  return slice;
}

function readSource(r: YamlRecipeReader, node: Node | null, path: string, sliceIndex: number, sliceCount: number): RecipeSource {
  const keys = r.mapping(node, path, SOURCE_KEYS);
  const model = keys.get("model");
  if (model === undefined) r.fail("RECIPE_MISSING_KEY", "missing `model`", `${path}.model`, node, "add `model: org/name` (a Hub id or a local path)");
  const range = keys.get("layer_range");
  if (range === undefined) r.fail("RECIPE_MISSING_KEY", "missing `layer_range`", `${path}.layer_range`, node, "add `layer_range: [start, end]` (end exclusive)");
  const source: RecipeSource = {
    model: readModel(r, model.value, `${path}.model`),
    layerRange: readLayerRange(r, range.value ?? range.keyNode, `${path}.layer_range`, sliceIndex, sliceCount),
  };
  const parameters = readParameters(r, keys.get("parameters"), `${path}.parameters`);
  if (parameters !== undefined) source.parameters = parameters;
  return source;
}

function readModel(r: YamlRecipeReader, node: Node | null, path: string): string {
  if (isMap(node)) r.fail("RECIPE_UNSUPPORTED", "a model given as a mapping (path/revision/lora) is not supported", path, node, "write the model as a string: `org/name`, `org/name@revision` or a local path");
  const model = r.string(node, path, "a Hub id such as mistralai/Mistral-7B-v0.1, or a local path");
  if (model.includes("+")) {
    r.fail("RECIPE_UNSUPPORTED", `"${model}" names a LoRA adapter (model+lora), which dusk does not apply`, path, node, "merge the adapter into the model first and give that model's path");
  }
  return model;
}

/** [start, end): two non-negative integers with start ≤ end (start = end only first or last). */
function readLayerRange(r: YamlRecipeReader, node: Node | null, path: string, sliceIndex: number, sliceCount: number): [number, number] {
  const hint = "layer_range is [start, end) with integers 0 ≤ start < end, e.g. [0, 24] for layers 0..23";
  if (!isSeq(node) || node.items.length !== 2) r.fail("RECIPE_LAYER_RANGE", `layer_range must be a list of two integers, found ${r.describe(node)}`, path, node, hint);
  const [start, end] = r.sequence(node, path, "[start, end]").map((item, k) => {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0 || v > LIMITS.layerCount) {
      r.fail("RECIPE_LAYER_RANGE", `layer_range[${k}] must be an integer from 0 to ${LIMITS.layerCount}, found ${r.describe(item)}`, path, item ?? node, hint);
    }
    return v;
  }) as [number, number];
  if (end < start) r.fail("RECIPE_LAYER_RANGE", `layer_range [${start}, ${end}] ends before it starts`, path, node, hint);
  if (end === start && !zeroLengthSliceAllowed(sliceIndex, sliceCount)) {
    r.fail("RECIPE_LAYER_RANGE", `layer_range [${start}, ${end}] is empty (end is exclusive)`, path, node, `${hint}; an empty slice only has an effect first or last, where it picks the embeddings' or lm_head's model`);
  }
  return [start, end];
}

function readDtype(r: YamlRecipeReader, node: Node, path: string): string {
  const raw = r.string(node, path);
  const name = raw.startsWith("torch.") ? raw.slice("torch.".length) : raw;
  if (!MERGEKIT_DTYPES.includes(name)) r.fail("RECIPE_DTYPE", `unsupported ${path} "${raw}"`, path, node, `use one of ${MERGEKIT_DTYPES.join(", ")}`);
  return name;
}

function readParameters(r: YamlRecipeReader, entry: { value: Node | null } | undefined, path: string): { scale?: ScaleParam } | undefined {
  const node = optional(r, entry);
  if (node === undefined) return undefined;
  const keys = r.mapping(node, path, PARAMETER_KEYS, {}, PASSTHROUGH_PARAMETER_HINT);
  const scale = keys.get("scale");
  if (keys.size === 0 || scale === undefined) return undefined;
  return { scale: readScale(r, scale.value ?? scale.keyNode, `${path}.scale`) };
}

/** A number, a gradient (non-empty number list), or a list of {filter?, value}. */
function readScale(r: YamlRecipeReader, node: Node | null, path: string): ScaleParam {
  const hint = "scale is a number, a list of numbers (a gradient across the slice), or a list of `- filter: o_proj` / `value: 0` entries";
  if (isScalar(node)) return r.finiteNumber(node, path, hint);
  if (isMap(node)) {
    r.fail("RECIPE_SCALE", "a single {filter, value} mapping must be a list item", path, node, "put a `- ` before `filter:` (mergekit accepts the mapping here but fails on it at merge time)");
  }
  const items = r.sequence(node, path, "numbers or {filter, value} entries");
  if (items.length === 0) r.fail("RECIPE_SCALE", "scale is an empty list", path, node, hint);
  if (items.every((item) => isScalar(item))) return items.map((item, k) => r.finiteNumber(item, `${path}[${k}]`, hint));
  if (!items.every((item) => isMap(item))) r.fail("RECIPE_SCALE", "scale mixes numbers and {filter, value} entries", path, node, hint);
  return items.map((item, k) => {
    const entryPath = `${path}[${k}]`;
    const keys = r.mapping(item, entryPath, CONDITION_KEYS);
    const value = keys.get("value");
    if (value === undefined) r.fail("RECIPE_MISSING_KEY", "missing `value`", `${entryPath}.value`, item, "each entry is `- filter: o_proj` then `value: 0`");
    const condition: { filter?: string; value: ScaleValue } = { value: readScaleValue(r, value.value ?? value.keyNode, `${entryPath}.value`, hint) };
    const filter = optional(r, keys.get("filter"));
    if (filter !== undefined) condition.filter = r.string(filter, `${entryPath}.filter`, "a substring of the tensor name, e.g. self_attn or mlp.down_proj");
    return condition;
  });
}

function readScaleValue(r: YamlRecipeReader, node: Node | null, path: string, hint: string): ScaleValue {
  if (!isSeq(node)) return r.finiteNumber(node, path, hint);
  const items = r.sequence(node, path, "numbers");
  if (items.length === 0) r.fail("RECIPE_SCALE", "a gradient needs at least one number", path, node, hint);
  return items.map((item, k) => r.finiteNumber(item, `${path}[${k}]`, hint));
}

/** An optional key whose value may be null (mergekit treats `key:` with no value as absent). */
function optional(r: YamlRecipeReader, entry: { value: Node | null } | undefined): Node | undefined {
  if (entry === undefined || r.isNull(entry.value)) return undefined;
  return entry.value ?? undefined;
}

/** The mergekit keys dusk reads, for docs and the CLI's `--help`. */
export const MERGEKIT_KEYS = { top: TOP_KEYS, slice: SLICE_KEYS, source: SOURCE_KEYS, parameters: PARAMETER_KEYS, condition: CONDITION_KEYS } as const;
