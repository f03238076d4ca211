// One output tensor of a plan: a copy/scale/zero/convert of one source tensor, or a merge of
// several with the method's evaluated parameters. Here live the header-time checks of a merge
// (shapes, the working and output types, weights that sum to zero, DELLA's density ± epsilon)
// and the warnings for mergekit quirks that fire (breadcrumbs zeroing a task vector, …).

import type { Architecture, NameScheme } from "../arch/index.js";
import { PlanError, RecipeError } from "../errors.js";
import { tensorType } from "../formats/tensor-types.js";
import { canDequantize, DEQUANTIZABLE_TYPES } from "../quant/dequantize.js";
import { QUANTIZABLE_TYPES } from "../quant/quantize.js";
import { TASK_ARITHMETIC_VARIANTS, type Recipe } from "../recipe/index.js";
import { fileOf, type EvaluatedParams } from "./merge-inputs.js";
import type { HeaderTensor, IndexedSource, PlanInput } from "./plan.js";
import type { MergeSpec, TensorOp, TensorTransform } from "./types.js";
import type { VocabularyPlan } from "./vocabulary.js";

export interface TensorPlanContext {
  recipe: Recipe;
  arch: Architecture;
  scheme: NameScheme;
  sources: IndexedSource[];
  method: string;
  /** F32/F16/BF16 asked by --dtype, out_dtype or dtype */
  outType: string | undefined;
  /** GGUF: the type of merged matrices */
  ggufType?: string;
  /** a tokenizer source's vocabulary plan */
  vocabulary?: VocabularyPlan;
  warnings: string[];
}

/** Types dusk writes into a GGUF for a merged matrix: the float types and src/quant's quantizers. */
export const GGUF_MERGE_TYPES: readonly string[] = QUANTIZABLE_TYPES;
const WORK_TYPES: Record<string, MergeSpec["dtype"]> = { float32: "F32", float16: "F16", bfloat16: "BF16" };

/** A tensor made from one source tensor: copied, scaled, zeroed or converted. */
export function planTensorOp(ctx: TensorPlanContext, name: string, source: number, t: HeaderTensor, factor: number, layer?: { out: number; base: number; template: string }): TensorOp {
  const type = chooseType(ctx.scheme, t, ctx.outType);
  const transform = chooseTransform(t, type, factor, ctx.sources[source]!.header.ref, gainOffset(ctx.arch, ctx.scheme, layer ? layer.template : name));
  return {
    name,
    source,
    from: t.name,
    fromType: t.type,
    type,
    shape: [...t.shape],
    byteLength: byteLengthOf(type, t.shape),
    transform,
    ...(layer ? { layer: layer.out, baseLayer: layer.base } : {}),
  };
}

/** A tensor merged from several inputs. */
export function planMergeOp(ctx: TensorPlanContext, name: string, hfName: string, inputs: PlanInput[], params: EvaluatedParams, layer?: { out: number; base: number }): TensorOp {
  const method = params.method;
  const role = findRole(ctx, name);
  const embed = role !== undefined && (role.role === "embed_tokens" || role.role === "lm_head");
  const vocab = embed && ctx.vocabulary !== undefined && Object.keys(ctx.vocabulary.rowsOf).length > 0 ? ctx.vocabulary : undefined;
  const shape = vocab ? [vocab.rows, inputs[0]!.tensor.shape[1]!] : mergedShape(ctx, hfName, inputs, params, embed);
  for (const i of inputs) {
    if (!tensorType(i.tensor.type)?.float && !canDequantize(i.tensor.type)) {
      throw new PlanError("plan.merge-type", `${ctx.sources[i.source]!.header.ref}: ${i.tensor.name} is ${i.tensor.type}, which dusk cannot dequantize to merge`, {
        hint: `dusk merges ${DEQUANTIZABLE_TYPES.join(", ")} tensors`,
      });
    }
  }
  checkParams(ctx, hfName, shape, inputs, params);
  const dtype = workingType(ctx.recipe, inputs);
  const type = mergedOutputType(ctx, shape, inputs, dtype);
  const spec: MergeSpec = {
    method: method.name,
    inputs: inputs.map((i, k) => ({ source: i.source, from: i.tensor.name, fromType: i.tensor.type, shape: [...i.tensor.shape], params: params.perInput[k]! })),
    params: params.global,
    dtype,
    key: hfName,
  };
  if (params.base !== undefined) spec.base = params.base;
  if (embed) spec.embed = true;
  if (vocab) spec.vocab = vocab;
  if (ctx.scheme === "gguf" && role?.qkPermute) spec.qkHeads = ggufHeads(ctx, role.qkPermute);
  const first = inputs[params.base ?? 0]!;
  return {
    name,
    source: first.source,
    from: first.tensor.name,
    fromType: first.tensor.type,
    type,
    shape,
    byteLength: byteLengthOf(type, shape),
    transform: { kind: "merge" },
    ...(layer ? { layer: layer.out, baseLayer: layer.base } : {}),
    merge: spec,
  };
}

function findRole(ctx: TensorPlanContext, name: string) {
  const all = [...ctx.arch.preLayer, ...ctx.arch.postLayer];
  const other = all.find((r) => (ctx.scheme === "hf" ? r.hf : r.gguf) === name);
  if (other) return other;
  const m = /^(.*?)\.(\d+)\.(.*)$/.exec(name);
  if (!m) return undefined;
  const template = `${m[1]}.{L}.${m[3]}`;
  return ctx.arch.layer.find((r) => (ctx.scheme === "hf" ? r.hf : r.gguf) === template);
}

/** The merged shape; embeddings of different vocabularies follow mergekit's rectify rules. */
function mergedShape(ctx: TensorPlanContext, hfName: string, inputs: PlanInput[], params: EvaluatedParams, embed: boolean): number[] {
  const shapes = inputs.map((i) => i.tensor.shape);
  const same = shapes.every((s) => s.length === shapes[0]!.length && s.every((d, k) => d === shapes[0]![k]));
  if (same) return [...shapes[0]!];
  const where = shapes.map((s, k) => `${inputs[k]!.model} [${s.join(", ")}]`).join(", ");
  if (!embed || shapes.some((s) => s.length !== 2)) {
    throw new PlanError("plan.shape-mismatch", `${hfName} has different shapes in the merged models: ${where}`, { hint: "merged models must share hidden sizes and heads" });
  }
  const m = params.method.name;
  if (m in TASK_ARITHMETIC_VARIANTS) {
    // get_task_vectors cuts every model to the base's rows and columns
    const base = shapes[params.base ?? 0]!;
    if (shapes.some((s) => s[0]! < base[0]! || s[1]! < base[1]!)) {
      throw new PlanError("plan.vocabulary", `${hfName}: a model's vocabulary is smaller than the base's (${where})`, { hint: "add `tokenizer_source: union` (or base) so the rows are matched by token" });
    }
    ctx.warnings.push(`${hfName}: vocabularies differ (${where}); every model is cut to the base's rows, as mergekit does`);
    return [...base];
  }
  if (["sce", "ram", "ramplus_tl", "nearswap", "multislerp"].includes(m)) {
    throw new PlanError("plan.vocabulary", `${hfName}: vocabularies differ (${where}), and ${m} stacks its inputs without cutting them`, { hint: "add `tokenizer_source: union` (or base) so the rows are matched by token" });
  }
  const rows = Math.min(...shapes.map((s) => s[0]!));
  const cols = Math.min(...shapes.map((s) => s[1]!));
  ctx.warnings.push(`${hfName}: vocabularies differ (${where}); the merge uses the common [${rows}, ${cols}] submatrix, as mergekit does`);
  return [rows, cols];
}

function checkParams(ctx: TensorPlanContext, hfName: string, shape: number[], inputs: PlanInput[], p: EvaluatedParams): void {
  const fail = (what: string, hint: string): never => {
    throw new RecipeError("recipe.parameter", `${hfName}: ${what}`, { path: "parameters", hint, ...fileOf(ctx.recipe) });
  };
  const name = p.method.name;
  const weights = p.perInput.map((x) => x.weight).filter((w): w is number => typeof w === "number");
  const sum = weights.reduce((a, b) => a + b, 0);
  if ((name === "linear" && p.global.normalize === true) || (name === "multislerp" && p.global.normalize_weights === true)) {
    if (sum === 0) fail(`the weights sum to 0 (${weights.join(", ")}), and ${name} divides by their sum`, "give weights whose sum is not 0, or set `normalize: false`");
  }
  if (name === "nuslerp" && Math.abs(sum) < 1e-6) ctx.warnings.push(`${hfName}: nuslerp weights sum to ~0; mergekit then uses t = 0.5`);
  if (name === "model_stock" && inputs.length < 3) fail(`model_stock needs the base plus two models, found ${inputs.length} inputs`, "add models");
  const variant = TASK_ARITHMETIC_VARIANTS[name];
  if (variant === undefined) return;
  const n = shape.reduce((a, b) => a * b, 1);
  p.perInput.forEach((x, k) => {
    if (k === p.base) return;
    const density = Number(x.density);
    if (density >= 1) return;
    if (variant.sparsify === "magnitude" && Math.trunc(density * n) === 0) {
      fail(`density ${density} keeps no entry of a ${n}-element tensor for ${inputs[k]!.model} (mergekit asserts here)`, "raise density so that density × elements ≥ 1");
    }
    if (variant.sparsify === "della_magprune") {
      const eps = Number(x.epsilon);
      if (density + eps >= 1 || density - eps <= 0) fail(`density ${density} ± epsilon ${eps} leaves (0, 1) for ${inputs[k]!.model}`, "choose epsilon smaller than both density and 1 − density (mergekit raises the same)");
    }
    if (variant.sparsify === "magnitude_outliers" && breadcrumbsTop(n, density, Number(x.gamma)) === 0) {
      ctx.warnings.push(`${hfName}: breadcrumbs removes int(gamma·N) = 0 of the largest entries, and mergekit's mask (indices[n_bot:-0]) is then empty: ${inputs[k]!.model}'s task vector is zeroed`);
    }
  });
}

/** mergekit's magnitude_outliers n_top after its n_bot adjustment. */
export function breadcrumbsTop(n: number, density: number, gamma: number): number {
  let top = Math.trunc(gamma * n);
  const bot = n - Math.trunc(density * n) - top;
  if (bot < 0) top += bot;
  return top;
}

/** mergekit `dtype`; without it, the inputs' common float type (F32 for quantized or mixed inputs). */
function workingType(recipe: Recipe, inputs: PlanInput[]): MergeSpec["dtype"] {
  if (recipe.dtype !== undefined) return WORK_TYPES[recipe.dtype] ?? "F32";
  const types = new Set(inputs.map((i) => i.tensor.type));
  const only = [...types][0]!;
  return types.size === 1 && (only === "F16" || only === "BF16") ? only : "F32";
}

function mergedOutputType(ctx: TensorPlanContext, shape: number[], inputs: PlanInput[], dtype: MergeSpec["dtype"]): string {
  if (ctx.scheme === "hf") return ctx.outType ?? dtype;
  if (shape.length === 1) return "F32"; // llama.cpp keeps 1-D tensors in F32
  const asked = ctx.ggufType ?? ctx.outType;
  if (asked !== undefined) {
    if (!GGUF_MERGE_TYPES.includes(asked)) throw new PlanError("plan.gguf-type", `dusk cannot write merged tensors as ${asked}`, { hint: `use one of ${GGUF_MERGE_TYPES.join(", ")}` });
    checkBlocks(asked, shape);
    return asked;
  }
  const types = new Set(inputs.map((i) => i.tensor.type));
  const only = [...types][0]!;
  if (types.size === 1 && GGUF_MERGE_TYPES.includes(only)) {
    checkBlocks(only, shape);
    return only;
  }
  return "F16";
}

function checkBlocks(type: string, shape: number[]): void {
  const block = tensorType(type)!.blockElems;
  if (shape[shape.length - 1]! % block !== 0) {
    throw new PlanError("plan.gguf-type", `a row of ${shape[shape.length - 1]} elements does not divide into ${type} blocks of ${block}`, { hint: "write this model as F16 or F32 (--type f16)" });
  }
}

function ggufHeads(ctx: TensorPlanContext, which: "heads" | "kvHeads"): number {
  const kv = ctx.sources[0]!.header.gguf ?? {};
  const arch = typeof kv["general.architecture"] === "string" ? kv["general.architecture"] : ctx.arch.ggufArchitectures[0];
  const heads = kv[`${arch}.attention.head_count`];
  const kvHeads = kv[`${arch}.attention.head_count_kv`] ?? heads;
  const n = which === "heads" ? heads : kvHeads;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new PlanError("plan.gguf-heads", `${ctx.sources[0]!.header.ref} has no usable ${arch}.attention.head_count${which === "kvHeads" ? "_kv" : ""}`, { hint: "the GGUF's metadata is incomplete" });
  }
  return n;
}

export function byteLengthOf(type: string, shape: readonly number[]): number {
  const info = tensorType(type)!;
  return (shape.reduce((a, b) => a * b, 1) / info.blockElems) * info.blockBytes;
}

function chooseType(scheme: NameScheme, t: HeaderTensor, outType: string | undefined): string {
  const from = tensorType(t.type);
  if (!outType || !from?.float) return t.type;
  // GGUF keeps 1-D tensors (norms, biases) in F32, as llama.cpp's converter does.
  if (scheme === "gguf" && t.shape.length === 1) return t.type;
  return outType;
}

/**
 * 1 for an RMSNorm gain stored as g − 1 (an HF checkpoint of a (1 + w) family: Gemma): a scale
 * applies to the gain, so LLaMA-Pro's zeroed post norm is stored as −1; 0 otherwise (a GGUF
 * stores the gain itself).
 */
function gainOffset(arch: Architecture, scheme: NameScheme, nameOrTemplate: string): number {
  if (scheme !== "hf" || arch.forward.normWeightOffset !== 1) return 0;
  const role = [...arch.preLayer, ...arch.layer, ...arch.postLayer].find((r) => r.hf === nameOrTemplate);
  return role?.norm ? 1 : 0;
}

function chooseTransform(t: HeaderTensor, type: string, factor: number, ref: string, offset = 0): TensorTransform {
  if (factor === 0 && offset === 0) return { kind: "zero" };
  if (factor !== 1) {
    if (!tensorType(t.type)?.float) {
      throw new PlanError("plan.scale-quantized", `${ref}: cannot scale ${t.name} by ${factor}: it is stored as ${t.type}`, {
        hint: "scaling needs a float tensor (F32/F16/BF16); scale 0 (zeroing) works on every type",
      });
    }
    return offset === 0 ? { kind: "scale", factor } : { kind: "scale", factor, offset };
  }
  return type === t.type ? { kind: "copy" } : { kind: "convert" };
}
