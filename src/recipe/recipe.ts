// The Recipe: what the user asked for, before any checkpoint is read. Presets and mergekit
// passthrough YAML both produce one; the planner turns it plus source headers into a Plan.
// Semantics follow mergekit passthrough (docs/REFERENCE.md): one source per slice,
// layer_range is [start, end), embeddings from the first slice's model, norm/lm_head from the last.

/**
 * A `scale` parameter as mergekit writes it:
 * - a number;
 * - a list of numbers: a gradient interpolated across the slice's layers;
 * - a list of `{filter?, value}`: the first entry whose filter is a substring of the tensor
 *   name wins; an entry without a filter is the default.
 */
export type ScaleValue = number | number[];
export type ScaleParam = ScaleValue | { filter?: string; value: ScaleValue }[];

export interface RecipeSource {
  /** a path or Hub id, as written by the user */
  model: string;
  /** [start, end) in the model's layer indices */
  layerRange: [number, number];
  /** source-level parameters (highest precedence) */
  parameters?: { scale?: ScaleParam };
}

export interface RecipeSlice {
  sources: [RecipeSource];
  /** slice-level parameters */
  parameters?: { scale?: ScaleParam };
}

export interface Recipe {
  slices: RecipeSlice[];
  /** config.json comes from here; default: the first slice's model */
  baseModel?: string;
  /** dtype the merge computes in (mergekit `dtype`) and writes (`out_dtype`, default `dtype`) */
  dtype?: string;
  outDtype?: string;
  /**
   * mergekit `tokenizer_source`; dusk only supports `base`: the tokenizer files come from
   * `baseModel` (else the first slice's model), which is also what happens when it is absent.
   */
  tokenizerSource?: "base";
  /** global parameters (lowest precedence) */
  parameters?: { scale?: ScaleParam };
  /** where the recipe came from, for the model card and general.* keys */
  origin:
    | { kind: "preset"; preset: string; options: Record<string, number | string> }
    | { kind: "mergekit"; file?: string }
    | { kind: "layers"; spec?: string };
}

/** One slice with one source: `model` layers [start, end). */
export function sliceOf(model: string, start: number, end: number, parameters?: { scale?: ScaleParam }): RecipeSlice {
  const source: RecipeSource = { model, layerRange: [start, end] };
  return parameters === undefined ? { sources: [source] } : { sources: [source], parameters };
}
