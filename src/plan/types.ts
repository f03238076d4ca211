// The Plan: a serialisable value saying exactly which bytes go where. `dusk plan` prints it,
// `dusk build` executes it, tests compare it. It is a flat list of tensor operations, not a
// scheduler; everything in it was validated from checkpoint headers alone.

import type { LayerKind } from "../arch/layer-types.js";
import type { Recipe } from "../recipe/recipe.js";
import type { VocabularyPlan } from "./vocabulary.js";

export type CheckpointFormat = "safetensors" | "gguf";

/** What the planner knows of one source checkpoint: headers only, no bytes. */
export interface SourceHeader {
  /** the reference as the recipe names it (path or Hub id) */
  ref: string;
  format: CheckpointFormat;
  /** dusk family name (`llama`, `qwen2`, `gemma`) */
  arch: string;
  numLayers: number;
  tensors: { name: string; type: string; shape: number[]; byteLength: number }[];
  /** HF `config.json` (safetensors sources) */
  config?: Record<string, unknown>;
  /** GGUF metadata as plain values (gguf sources); tokenizer arrays may be left out */
  gguf?: Record<string, unknown>;
}

/** How the bytes of one output tensor are made from one source tensor. */
export type TensorTransform =
  /** byte-for-byte (any type, quantized included) */
  | { kind: "copy" }
  /**
   * element-wise multiply (float types only), then store as `type`. With `offset` (an RMSNorm gain
   * stored as g − offset, HF Gemma's (1 + w)), the gain is scaled: v ← (v + offset)·factor − offset.
   */
  | { kind: "scale"; factor: number; offset?: number }
  /** all-zero bytes: zero in every ggml and float type */
  | { kind: "zero" }
  /** float type change only */
  | { kind: "convert" }
  /** several source tensors merged by a method (TensorOp.merge says how) */
  | { kind: "merge" };

/** One input of a merge: a source tensor and its evaluated per-model parameters. */
export interface MergeInput {
  /** index into Plan.sources */
  source: number;
  /** source tensor name (in the source's naming) */
  from: string;
  fromType: string;
  /** outermost first; embeddings may differ in rows (the merge takes the common submatrix) */
  shape: number[];
  /** mergekit's tensor parameters for this model (weight, density, …), evaluated for this tensor */
  params: Record<string, number | boolean>;
}

/** How a merged tensor is computed: mergekit's make_task for one output weight, as data. */
export interface MergeSpec {
  /** a registered merge method (src/recipe/merge-methods.ts) */
  method: string;
  /** in slice order; the base model's tensor is one of them */
  inputs: MergeInput[];
  /** index into `inputs` of the base model's tensor */
  base?: number;
  /** mergekit's per-tensor parameters (t, normalize, lambda, …), evaluated for this tensor */
  params: Record<string, number | boolean>;
  /** the type the inputs are cast to and the math rounds to: mergekit `dtype`, else the inputs' common float type */
  dtype: "F32" | "F16" | "BF16";
  /** the output tensor's HF name: filters matched it, and random methods key their generator on it */
  key: string;
  /** an embedding or head matrix (mergekit's is_embed): rows may differ, vocabularies may be permuted */
  embed?: boolean;
  /** GGUF Q/K rows are stored permuted for llama.cpp's rotary layout: merged in HF order (heads) */
  qkHeads?: number;
  /** embeddings of a merge with a tokenizer source: each input's rows rearranged by token first */
  vocab?: VocabularyPlan;
}

export interface TensorOp {
  /** output tensor name (in the output format's naming) */
  name: string;
  /** index into Plan.sources */
  source: number;
  /** source tensor name */
  from: string;
  /** source element type name (`BF16`, `Q4_K`, …) */
  fromType: string;
  /** output element type name */
  type: string;
  /** outermost first */
  shape: number[];
  byteLength: number;
  transform: TensorTransform;
  /** output layer index, for layer tensors */
  layer?: number;
  /** the source layer it came from */
  baseLayer?: number;
  /** transform `merge`: the inputs, method and parameters (source/from/fromType name the first input) */
  merge?: MergeSpec;
}

export interface PlannedLayer {
  /** index into Plan.sources */
  source: number;
  /** layer index in that source */
  layer: number;
  /** recipe slice it came from */
  slice: number;
}

export interface Plan {
  version: 1;
  arch: string;
  format: CheckpointFormat;
  sources: { ref: string; format: CheckpointFormat; numLayers: number }[];
  /** the output stack, in order */
  layers: PlannedLayer[];
  /** in output order: pre-layer tensors, then each layer's, then post-layer tensors */
  tensors: TensorOp[];
  /** source index whose config/metadata (and tokenizer) the output inherits */
  configSource: number;
  /** HF output: the complete new config.json */
  config?: Record<string, unknown>;
  /** GGUF output: keys to set on top of the config source's metadata */
  ggufUpdates?: Record<string, { type: "u32" | "string"; value: number | string }>;
  metrics: LayoutMetrics;
  recipe: Recipe;
  /** families with sliding-window layers: each output layer's trained kind, and llama.cpp's at its position */
  attention?: PlanAttention;
  /** a tokenizer source that changes the vocabulary or the tokenizer files (absent: the base's, unchanged) */
  vocabulary?: VocabularyPlan;
  /** what the stack changes that the user must know (the GGUF position rule, Gemma's 27B scale) */
  warnings?: PlanWarning[];
}

export interface PlanAttention {
  /** the kind each output layer was trained with (its source layer's) */
  trained: LayerKind[];
  /** the kind llama.cpp computes at each output position of a GGUF; absent when it has no sliding layers for the family */
  gguf?: LayerKind[];
  /** the period behind `gguf` (the family's, or the one a GGUF output is written with) */
  period?: number;
}

export interface PlanWarning {
  /** merge-quirk: a mergekit behaviour dusk follows fired (docs/merge.md) */
  code: "position-rule" | "attention-scale" | "layer-types-compat" | "merge-quirk";
  message: string;
  hint?: string;
}

export interface LayerJump {
  /** output position of the upper layer of the pair */
  at: number;
  from: { source: number; layer: number };
  to: { source: number; layer: number };
  /** to.layer − from.layer: +1 is a seamless continuation */
  jump: number;
}

export interface LayoutMetrics {
  numLayers: number;
  /** one per adjacent pair */
  jumps: LayerJump[];
  /** pairs that are not a +1 continuation within one model */
  seams: number;
  /** the largest backward step (0 when none) */
  largestBackwardJump: number;
  largestForwardJump: number;
  meanAbsJump: number;
  /** base layers appearing more than once in the stack */
  reusedLayers: { source: number; layer: number; count: number }[];
  parameterCount: number;
  /** the parameters of the config source, for the ratio */
  baseParameterCount: number;
  outputBytes: number;
}
