// mergekit YAML → Recipe. Accepts what mergekit's config.py accepts for a single-module model —
// `slices:` or `models:`, every registered merge method, parameters at every level, dtypes, the
// tokenizer section, chat_template and name — and refuses with file:line:col, path and hint
// everything mergekit would fail on later (or silently ignore): unknown keys and parameters,
// unequal ranges, a missing base model, parameter types and ranges.

import { isMap, isScalar, isSeq, type Node } from "yaml";
import { LIMITS } from "../limits.js";
import type { Parameters, Recipe, RecipeModel, RecipeSlice, RecipeSource } from "./recipe.js";
import { MERGE_METHOD_NAMES, mergeMethodInfo, type MethodInfo } from "./merge-methods.js";
import { optional, readParameters } from "./mergekit-params.js";
import { readTokenizerConfig, readTokenizerSource } from "./mergekit-tokenizer.js";
import { MERGEKIT_DTYPES, validateRecipe, zeroLengthSliceAllowed } from "./validate.js";
import { YamlRecipeReader, type UnsupportedKey } from "./yaml-reader.js";

const TOP_KEYS = ["merge_method", "slices", "models", "base_model", "dtype", "out_dtype", "tokenizer_source", "tokenizer", "chat_template", "name", "parameters"] as const;
const SLICE_KEYS = ["sources", "base_model", "parameters"] as const;
const SOURCE_KEYS = ["model", "layer_range", "parameters"] as const;
const MODEL_KEYS = ["model", "parameters"] as const;

const SLICES_EXAMPLE = "slices:\n  - sources:\n      - model: org/model\n        layer_range: [0, 24]";

const TOP_UNSUPPORTED: Record<string, UnsupportedKey> = {
  modules: { why: "dusk builds single-module decoder models only", hint: "describe the decoder with top-level `slices:` or `models:`" },
};
const SLICE_UNSUPPORTED: Record<string, UnsupportedKey> = {
  residual_weight: { why: "mergekit reads residual_weight but no merge method uses it", hint: "remove it; use `parameters:` (weight, scale, …) instead" },
};

/** Parses a mergekit config. `file` only labels error messages. */
export function parseMergekitYaml(text: string, file?: string): Recipe {
  const r: YamlRecipeReader = new YamlRecipeReader(text, file);
  const root = r.resolve(r.doc.contents, "");
  if (r.isNull(root)) r.fail("RECIPE_EMPTY", "the recipe is empty", "", root, `a recipe starts with\nmerge_method: passthrough\n${SLICES_EXAMPLE}`);
  const top = r.mapping(root, "", TOP_KEYS, TOP_UNSUPPORTED);

  const methodEntry = top.get("merge_method");
  if (methodEntry === undefined) r.fail("RECIPE_MERGE_METHOD", "missing `merge_method`", "merge_method", root, `add \`merge_method: passthrough\` (layer stacking) or a merge method: ${MERGE_METHOD_NAMES.join(", ")}`);
  const method = readMethod(r, methodEntry.value);

  // Settings first, then the stack: most files put the settings at the top, so the first
  // error reported is usually the first one in the file.
  const settings: Omit<Recipe, "slices" | "origin"> = {};
  if (method.name !== "passthrough") settings.mergeMethod = method.name;
  const baseNode = optional(r, top.get("base_model"));
  if (baseNode !== undefined) settings.baseModel = readModel(r, baseNode, "base_model");
  for (const [key, field] of [["dtype", "dtype"], ["out_dtype", "outDtype"]] as const) {
    const node = optional(r, top.get(key));
    if (node !== undefined) settings[field] = readDtype(r, node, key);
  }
  const tokenizerSource = optional(r, top.get("tokenizer_source"));
  const tokenizer = optional(r, top.get("tokenizer"));
  if (tokenizerSource !== undefined && tokenizer !== undefined) {
    r.fail("RECIPE_TOKENIZER", "both `tokenizer_source` and `tokenizer` are given", "tokenizer", top.get("tokenizer")!.keyNode, "keep one: `tokenizer: {source: …}` holds everything tokenizer_source does");
  }
  const model = (n: Node | null, p: string): string => readModel(r, n, p);
  if (tokenizerSource !== undefined) settings.tokenizerSource = readTokenizerSource(r, tokenizerSource, "tokenizer_source", model);
  if (tokenizer !== undefined) settings.tokenizer = readTokenizerConfig(r, tokenizer, "tokenizer", model);
  const template = optional(r, top.get("chat_template"));
  if (template !== undefined) settings.chatTemplate = r.string(template, "chat_template", "a template name (chatml, llama3, mistral, alpaca, exaone), `auto`, or a Jinja template");
  const name = optional(r, top.get("name"));
  if (name !== undefined) settings.name = r.string(name, "name", "the output model's name");
  const parameters = readParameters(r, top.get("parameters"), "parameters", method, "global");
  if (parameters !== undefined) settings.parameters = parameters;

  const slicesEntry = top.get("slices");
  const modelsEntry = top.get("models");
  const slicesNode = optional(r, slicesEntry);
  const modelsNode = optional(r, modelsEntry);
  if ((slicesNode === undefined) === (modelsNode === undefined)) {
    r.fail(
      slicesNode === undefined ? "RECIPE_MISSING_KEY" : "RECIPE_STACK",
      slicesNode === undefined ? "missing `slices` or `models`" : "both `slices` and `models` are given",
      slicesNode === undefined ? "slices" : "models",
      slicesNode === undefined ? root : modelsEntry!.keyNode,
      slicesNode === undefined ? `add the layer stack:\n${SLICES_EXAMPLE}\nor the models to merge whole:\nmodels:\n  - model: org/a\n  - model: org/b` : "mergekit takes exactly one of them: `models:` merges whole models, `slices:` picks layer ranges",
    );
  }
  const recipe: Recipe = { slices: [], ...settings, origin: file === undefined ? { kind: "mergekit" } : { kind: "mergekit", file } };
  if (modelsNode !== undefined) recipe.models = readModels(r, modelsNode, method, recipe.baseModel);
  else recipe.slices = readSlices(r, slicesNode!, slicesEntry!.keyNode, method, recipe.baseModel);
  checkRequiredParameters(r, recipe, method, root);
  validateRecipe(recipe); // a safety net: the checks above already carry positions
  return recipe;
}

function readMethod(r: YamlRecipeReader, node: Node | null): MethodInfo {
  const name = r.string(node, "merge_method");
  const info = mergeMethodInfo(name);
  if (info !== undefined) return info;
  const lower = mergeMethodInfo(name.toLowerCase());
  r.fail(
    "RECIPE_MERGE_METHOD",
    `unknown merge_method "${name}"`,
    "merge_method",
    node,
    lower !== undefined ? `write it in lower case: \`merge_method: ${lower.name}\`` : `mergekit's methods are ${MERGE_METHOD_NAMES.join(", ")}`,
  );
}

function readSlices(r: YamlRecipeReader, node: Node, keyNode: Node, method: MethodInfo, globalBase: string | undefined): RecipeSlice[] {
  const sliceNodes = r.sequence(node, "slices", "one entry per run of layers");
  if (sliceNodes.length === 0) r.fail("RECIPE_EMPTY", "`slices` is empty, so the output would have no layers", "slices", node, "add at least one slice");
  let total = 0;
  const slices = sliceNodes.map((sliceNode, i) => {
    const slice = readSlice(r, sliceNode, `slices[${i}]`, i, sliceNodes.length, method, globalBase);
    const [start, end] = slice.sources[0].layerRange;
    total += end - start;
    return slice;
  });
  if (total === 0) r.fail("RECIPE_EMPTY", "every slice is zero-length, so the output would have no layers", "slices", keyNode, "give a slice a layer_range [start, end) with end > start");
  if (total > LIMITS.layerCount) r.fail("RECIPE_TOO_LARGE", `the slices stack ${total} layers, more than the limit of ${LIMITS.layerCount}`, "slices", keyNode);
  return slices;
}

function readSlice(r: YamlRecipeReader, node: Node | null, path: string, index: number, count: number, method: MethodInfo, globalBase: string | undefined): RecipeSlice {
  const keys = r.mapping(node, path, SLICE_KEYS, SLICE_UNSUPPORTED);
  const sourcesEntry = keys.get("sources");
  if (sourcesEntry === undefined) r.fail("RECIPE_MISSING_KEY", "missing `sources`", `${path}.sources`, node, `each slice is\n  - sources:\n      - model: org/model\n        layer_range: [0, 24]`);
  const sourceNodes = r.sequence(sourcesEntry.value, `${path}.sources`, "{model, layer_range} entries");
  if (sourceNodes.length === 0) r.fail("RECIPE_SOURCES", "`sources` is empty", `${path}.sources`, sourcesEntry.value ?? sourcesEntry.keyNode, "add a `- model: …, layer_range: [start, end]` entry");
  if (method.name === "passthrough" && sourceNodes.length !== 1) {
    r.fail(
      "RECIPE_SOURCES",
      `passthrough takes exactly one source per slice, found ${sourceNodes.length}`,
      `${path}.sources`,
      sourceNodes[1] ?? sourcesEntry.value,
      "to stack layers from several models, give each its own slice (mergekit fails on this too); to blend them, pick a merge method such as slerp or linear",
    );
  }
  const sources = sourceNodes.map((s, k) => readSource(r, s, `${path}.sources[${k}]`, index, count, method)) as RecipeSlice["sources"];
  const length = sources[0].layerRange[1] - sources[0].layerRange[0];
  sources.forEach((s, k) => {
    const n = s.layerRange[1] - s.layerRange[0];
    if (n !== length) {
      r.fail("RECIPE_LAYER_RANGE", `the sources of a slice must have equal lengths: sources[0] has ${length} layers, sources[${k}] has ${n}`, `${path}.sources[${k}].layer_range`, sourceNodes[k] ?? null, "each output layer merges one layer of every source, so every layer_range spans the same count");
    }
  });
  const slice: RecipeSlice = { sources };
  const baseNode = optional(r, keys.get("base_model"));
  if (baseNode !== undefined) slice.baseModel = readModel(r, baseNode, `${path}.base_model`);
  const parameters = readParameters(r, keys.get("parameters"), `${path}.parameters`, method, "slice");
  if (parameters !== undefined) slice.parameters = parameters;
  checkInputs(r, method, sources.map((s) => s.model), slice.baseModel ?? globalBase, path, baseNode ?? node, false);
  return slice;
}

function readSource(r: YamlRecipeReader, node: Node | null, path: string, sliceIndex: number, sliceCount: number, method: MethodInfo): RecipeSource {
  const keys = r.mapping(node, path, SOURCE_KEYS);
  const model = keys.get("model");
  if (model === undefined) r.fail("RECIPE_MISSING_KEY", "missing `model`", `${path}.model`, node, "add `model: org/name` (a Hub id or a local path)");
  const range = keys.get("layer_range");
  if (range === undefined) r.fail("RECIPE_MISSING_KEY", "missing `layer_range`", `${path}.layer_range`, node, "add `layer_range: [start, end]` (end exclusive)");
  const source: RecipeSource = {
    model: readModel(r, model.value, `${path}.model`),
    layerRange: readLayerRange(r, range.value ?? range.keyNode, `${path}.layer_range`, sliceIndex, sliceCount),
  };
  const parameters = readParameters(r, keys.get("parameters"), `${path}.parameters`, method, "source");
  if (parameters !== undefined) source.parameters = parameters;
  return source;
}

function readModels(r: YamlRecipeReader, node: Node, method: MethodInfo, base: string | undefined): RecipeModel[] {
  const items = r.sequence(node, "models", "one `- model: …` entry per model");
  if (items.length === 0) r.fail("RECIPE_EMPTY", "`models` is empty", "models", node, "add `- model: org/name` entries");
  const models = items.map((item, i): RecipeModel => {
    const path = `models[${i}]`;
    const keys = r.mapping(item, path, MODEL_KEYS);
    const model = keys.get("model");
    if (model === undefined) r.fail("RECIPE_MISSING_KEY", "missing `model`", `${path}.model`, item, "add `model: org/name` (a Hub id or a local path)");
    const out: RecipeModel = { model: readModel(r, model.value, `${path}.model`) };
    const parameters = readParameters(r, keys.get("parameters"), `${path}.parameters`, method, "model");
    if (parameters !== undefined) out.parameters = parameters;
    return out;
  });
  checkInputs(r, method, models.map((m) => m.model), base, "models", node, true);
  return models;
}

/**
 * The inputs a method gets for one slice: every source, plus (for `models:`) the base model when
 * it is not among them, as mergekit's normalize_config adds it. Checks the base and the count.
 */
function checkInputs(r: YamlRecipeReader, method: MethodInfo, models: string[], base: string | undefined, path: string, node: Node | null, addsBase: boolean): void {
  const hasBase = base !== undefined && models.includes(base);
  const lone = !addsBase && models.length === 1 && method.alone !== "compute";
  if (lone && method.alone === "base" && !hasBase) {
    r.fail("RECIPE_BASE_MODEL", `${path} has one source, and ${method.name} passes a lone tensor through only when it is the base model's`, path, node, base === undefined ? "add `base_model:` naming this slice's model, or give the slice the base as a second source" : `make it a source of ${base}, or add ${base} as a second source`);
  }
  if (lone) {
    if (method.base === "required" && base === undefined) r.fail("RECIPE_BASE_MODEL", `${method.name} needs a base model, and ${path} has none`, path, node, "add `base_model: org/base` (top level or in the slice); mergekit asks for it even where a slice has one source");
    return;
  }
  if (method.base === "required" && base === undefined) {
    r.fail("RECIPE_BASE_MODEL", `${method.name} needs a base model, and ${path} has none`, path, node, `add \`base_model: org/base\` (top level${addsBase ? "" : " or in the slice"}); ${method.pretty} ${method.name === "slerp" || method.name === "nearswap" ? "interpolates from it" : "subtracts it from every model"}`);
  }
  if (base !== undefined && !hasBase && !addsBase && method.base !== "input") {
    r.fail("RECIPE_BASE_MODEL", `base_model ${base} is not among the sources of ${path}`, path, node, `add a source \`- model: ${base}\` with the same layer_range length; mergekit only merges tensors of a slice's sources`);
  }
  const inputs = models.length + (addsBase && base !== undefined && !hasBase ? 1 : 0);
  const others = method.base === "input" || base === undefined ? inputs : inputs - 1;
  const want = method.models;
  if (want !== undefined && (others < want.min || (want.max !== undefined && others > want.max))) {
    const count = want.max === want.min ? `${want.min}` : want.max === undefined ? `at least ${want.min}` : `${want.min} to ${want.max}`;
    const what = `${method.base === "input" ? "input model" : "model"}${want.max === 1 ? "" : "s"}${method.base === "input" ? "" : " besides the base"}`;
    r.fail("RECIPE_SOURCES", `${method.name} takes ${count} ${what}, found ${others}`, path, node, methodCountHint(method));
  }
  if (method.base === "input" && addsBase && base !== undefined && !hasBase && method.tensor.some((p) => p.required)) {
    r.fail("RECIPE_BASE_MODEL", `base_model ${base} is not among the models, so mergekit adds it as an input without a ${method.tensor.find((p) => p.required)!.name}`, path, node, `${method.name} does not use a base model: remove base_model, or list it under models with its parameters`);
  }
}

function methodCountHint(m: MethodInfo): string {
  switch (m.name) {
    case "slerp": return "slerp blends two models: base_model and one other (t = 0 gives the base)";
    case "nearswap": return "nearswap takes base_model and one other model";
    case "arcee_fusion": return "arcee_fusion takes base_model and one other model";
    case "nuslerp": return "nuslerp blends exactly two models, plus an optional base_model whose task vectors it blends";
    case "model_stock": return "model_stock needs the base plus at least two fine-tuned models";
    default: return `see docs/merge.md for what ${m.name} takes`;
  }
}

/** Every required parameter must be given somewhere (per tensor they are checked when planning). */
function checkRequiredParameters(r: YamlRecipeReader, recipe: Recipe, method: MethodInfo, root: Node | null): void {
  const levels: (Parameters | undefined)[] = [recipe.parameters, ...recipe.slices.map((s) => s.parameters)];
  for (const p of method.global) {
    if (p.required && !levels.some((l) => l !== undefined && p.name in l)) {
      r.fail("RECIPE_PARAMETER", `${method.name} needs \`${p.name}\`, and the recipe gives it nowhere`, "parameters", root, `add it to the top-level parameters, e.g.\nparameters:\n  ${p.name}: 0.5`);
    }
  }
  const perModel: (Parameters | undefined)[] = [...(recipe.models ?? []).map((m) => m.parameters), ...recipe.slices.flatMap((s) => s.sources.map((x) => x.parameters))];
  for (const p of method.tensor) {
    if (p.required && ![...levels, ...perModel].some((l) => l !== undefined && p.name in l)) {
      r.fail("RECIPE_PARAMETER", `${method.name} needs \`${p.name}\` for every model, and the recipe gives it nowhere`, recipe.models ? "models" : "slices", root, `give each model its ${p.name}, e.g.\n  - model: org/a\n    parameters:\n      ${p.name}: 0.5`);
    }
  }
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

/** The mergekit keys dusk reads, for docs and the CLI's `--help`. */
export const MERGEKIT_KEYS = { top: TOP_KEYS, slice: SLICE_KEYS, source: SOURCE_KEYS, model: MODEL_KEYS } as const;
