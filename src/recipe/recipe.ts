// The Recipe: what the user asked for, before any checkpoint is read. Presets and mergekit YAML
// both produce one; the planner turns it plus source headers into a Plan. It holds the whole of
// mergekit's single-module config (mergekit/config.py MergeConfiguration): `slices:` or `models:`,
// the merge method, parameters at every level, dtypes and the tokenizer section.
// Semantics follow mergekit (docs/merge.md): layer_range is [start, end), embeddings come from the
// first slice's sources, norm/lm_head from the last slice's.

/** A parameter's value: a number or a boolean, or a gradient (numbers interpolated over a slice's layers). */
export type ParamScalar = number | boolean;
export type ParamValue = ParamScalar | number[];
/** One entry of a conditional list: applies when `filter` is absent, `*`, or a substring of the tensor name. */
export interface ParamCondition {
  filter?: string;
  value: ParamValue;
}
/** A parameter setting as mergekit's evaluate_setting reads it. */
export type ParameterSetting = ParamValue | ParamCondition[];
/** Parameters by name (`weight`, `density`, `t`, `scale`, …), at source, slice, model or global level. */
export type Parameters = Record<string, ParameterSetting>;

/** The passthrough `scale` parameter (kept as names for the presets and older callers). */
export type ScaleValue = number | number[];
export type ScaleParam = ScaleValue | { filter?: string; value: ScaleValue }[];

export interface RecipeSource {
  /** a path or Hub id, as written by the user */
  model: string;
  /** [start, end) in the model's layer indices */
  layerRange: [number, number];
  /** source-level parameters (highest precedence) */
  parameters?: Parameters;
}

export interface RecipeSlice {
  /** one source for passthrough; several (equal-length ranges) for a merge */
  sources: [RecipeSource, ...RecipeSource[]];
  /** the slice's base model (mergekit's per-slice base_model), over the global one */
  baseModel?: string;
  /** slice-level parameters */
  parameters?: Parameters;
}

/** An entry of mergekit's `models:` form: the whole model, every layer. */
export interface RecipeModel {
  model: string;
  parameters?: Parameters;
}

/** mergekit `tokenizer_source` / `tokenizer.source`: the output vocabulary. */
export type TokenizerSource = "base" | "union" | { model: string };

/** mergekit `tokenizer.tokens.<token>.source`: where a token's embedding row comes from. */
export type TokenEmbeddingSource =
  | { kind: "model"; model: string }
  | { kind: "model_token"; model: string; tokenId?: number; token?: string }
  | { kind: "zero" };

export interface TokenEmbedding {
  token: string;
  source?: TokenEmbeddingSource;
  /** use `source` even where a model has the token */
  force?: boolean;
}

/** mergekit's `tokenizer:` section. */
export interface TokenizerConfig {
  source: TokenizerSource;
  /** per-token embedding rules, in the order written */
  tokens?: TokenEmbedding[];
  padToMultipleOf?: number;
}

export interface Recipe {
  /** mergekit `merge_method`; absent means passthrough (presets and passthrough YAML leave it out) */
  mergeMethod?: string;
  /** the layer stack; empty when the recipe uses `models:` (the planner expands it from headers) */
  slices: RecipeSlice[];
  /** mergekit's `models:` form: every model whole, merged layer by layer */
  models?: RecipeModel[];
  /** config.json (and the tokenizer, for `base`) comes from here; merge methods subtract it */
  baseModel?: string;
  /** dtype the merge computes in (mergekit `dtype`) and writes (`out_dtype`, default `dtype`) */
  dtype?: string;
  outDtype?: string;
  /** mergekit `tokenizer_source`; absent: the tokenizer files of the config source are copied */
  tokenizerSource?: TokenizerSource;
  /** mergekit `tokenizer:` (exclusive with tokenizerSource) */
  tokenizer?: TokenizerConfig;
  /** mergekit `chat_template`: a template name (`chatml`, `auto`, …) or a Jinja template */
  chatTemplate?: string;
  /** mergekit-multi's `name`: the output model's name */
  name?: string;
  /** global parameters (lowest precedence) */
  parameters?: Parameters;
  /** where the recipe came from, for the model card and general.* keys */
  origin:
    | { kind: "preset"; preset: string; options: Record<string, number | string> }
    | { kind: "mergekit"; file?: string }
    | { kind: "layers"; spec?: string }
    | { kind: "experiment"; layout: string };
}

/** The recipe's merge method (passthrough when it names none). */
export function mergeMethodOf(recipe: Recipe): string {
  return recipe.mergeMethod ?? "passthrough";
}

/** Every model the recipe names, base first, each once (the order sources are opened in). */
export function recipeModels(recipe: Recipe): string[] {
  const refs: string[] = [];
  const add = (r: string): void => void (refs.includes(r) ? undefined : refs.push(r));
  if (recipe.baseModel !== undefined) add(recipe.baseModel);
  for (const m of recipe.models ?? []) add(m.model);
  for (const s of recipe.slices) {
    if (s.baseModel !== undefined) add(s.baseModel);
    for (const src of s.sources) add(src.model);
  }
  if (recipe.tokenizerSource !== undefined && typeof recipe.tokenizerSource === "object") add(recipe.tokenizerSource.model);
  if (recipe.tokenizer !== undefined && typeof recipe.tokenizer.source === "object") add(recipe.tokenizer.source.model);
  return refs;
}

/** One slice with one source: `model` layers [start, end). */
export function sliceOf(model: string, start: number, end: number, parameters?: Parameters): RecipeSlice {
  const source: RecipeSource = { model, layerRange: [start, end] };
  return parameters === undefined ? { sources: [source] } : { sources: [source], parameters };
}
