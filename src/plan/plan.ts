// The planner: a pure function from (recipe, source headers) to a Plan. Every check that can be
// made from headers is made here, so a bad layer range, a shape mismatch or a missing parameter is
// reported before a single byte is read or written. Passthrough slices become copy/scale/zero/
// convert operations; merged slices become `merge` operations naming every input and the
// evaluated parameters (which inputs and parameters: merge-inputs.ts, mergekit's planner).

import { architectureByName, llamaCppPeriodFor, parseLayerTensorName, layerTensorName, type Architecture, type NameScheme } from "../arch/index.js";
import { PlanError, RecipeError } from "../errors.js";
import { LIMITS } from "../limits.js";
import { mergeMethodOf, recipeModels, type Recipe } from "../recipe/index.js";
import { evaluateParams, fileOf, layerPosition, normalizeSlices, type GatheredInput, type NormalizedSlice } from "./merge-inputs.js";
import { planMergeOp, planTensorOp, type TensorPlanContext } from "./plan-tensor.js";
import { outputConfig, ggufUpdates, resolveOutputType } from "./plan-config.js";
import { layoutMetrics } from "./metrics.js";
import { attentionScaleWarning, planAttention, positionRuleWarning, sourceLayerKinds } from "./position-rule.js";
import type { Plan, PlannedLayer, PlanWarning, SourceHeader, TensorOp } from "./types.js";
import { planVocabulary, type SourceVocabulary } from "./vocabulary.js";

export interface PlanOptions {
  /** float type for float tensors: `F32` | `F16` | `BF16` (or torch names); default: keep */
  dtype?: string;
  /** GGUF output: the type of merged matrices (F32, F16, BF16, Q8_0, Q4_0); default: the inputs' */
  ggufType?: string;
  /** the sources' vocabularies, for a recipe with a tokenizer source (src/merge/vocabulary.ts reads them) */
  vocabularies?: SourceVocabulary[];
}

export type HeaderTensor = SourceHeader["tensors"][number];

export interface IndexedSource {
  header: SourceHeader;
  /** layer → template → tensor */
  layers: Map<number, Map<string, HeaderTensor>>;
  /** non-layer tensors by name */
  others: Map<string, HeaderTensor>;
}

export function makePlan(recipe: Recipe, headers: readonly SourceHeader[], options: PlanOptions = {}): Plan {
  const refs = recipeModels(recipe);
  const sources = refs.map((ref) => {
    const header = headers.find((h) => h.ref === ref);
    if (!header) throw new PlanError("plan.missing-source", `no header was given for source ${ref}`);
    return indexSource(header);
  });
  const base = sources[0]!.header;
  const arch = architectureByName(base.arch);
  if (!arch) throw new PlanError("plan.unknown-arch", `unknown architecture ${base.arch}`);
  checkFamilies(sources);
  const scheme: NameScheme = base.format === "gguf" ? "gguf" : "hf";
  const sourceIndex = (ref: string): number => refs.indexOf(ref);
  const slices = normalizeSlices(recipe, (ref) => sources[sourceIndex(ref)]!.header.numLayers);
  checkRanges(recipe, slices, sources, sourceIndex);

  const layers: PlannedLayer[] = [];
  for (const ns of slices) {
    const first = ns.slice.sources[0];
    for (let k = 0; k < ns.length; k++) layers.push({ source: sourceIndex(first.model), layer: first.layerRange[0] + k, slice: ns.index });
  }
  if (layers.length === 0) {
    throw new RecipeError("recipe.empty", "the recipe selects no layers, so there is nothing to build", { path: "slices", hint: "give at least one slice with a non-empty layer_range" });
  }
  if (layers.length > LIMITS.layerCount) throw new RecipeError("recipe.too-many-layers", `the recipe selects ${layers.length} layers (limit ${LIMITS.layerCount})`);

  const warnings: string[] = [];
  const vocabulary = planVocabulary(recipe, refs, options.vocabularies, warnings);
  if (vocabulary && base.format === "gguf") {
    throw new PlanError("plan.gguf-vocabulary", "this recipe's tokenizer source changes the vocabulary or the tokenizer, which dusk does for HF safetensors merges only", {
      hint: "merge the HF checkpoints and convert the result (dusk build … -o out.gguf), or drop tokenizer_source when the models share one vocabulary",
    });
  }
  const ctx: TensorPlanContext = {
    recipe, arch, scheme, sources, warnings,
    outType: resolveOutputType(recipe, options.dtype),
    ...(options.ggufType !== undefined ? { ggufType: options.ggufType } : {}),
    method: mergeMethodOf(recipe),
    ...(vocabulary ? { vocabulary } : {}),
  };
  const tensors: TensorOp[] = [];
  const baseLayer0 = sources[0]!.layers.get(0) ?? new Map<string, HeaderTensor>();
  for (const ns of slices) {
    const models = ns.slice.sources.map((s) => s.model);
    const twice = models.find((m, i) => models.indexOf(m) !== i);
    if (twice !== undefined) {
      warnings.push(`slices[${ns.index}] merges two layer ranges of ${twice}: mergekit keys a slice's inputs by model and would keep only its last source there; dusk merges every source as written (to run this recipe in mergekit, name the model under two paths)`);
    }
  }

  // Embeddings (and any other pre-layer tensor) from the first slice's sources, at t = 0.
  const firstSlice = slices[0]!;
  for (const role of arch.preLayer) {
    const name = scheme === "hf" ? role.hf : role.gguf;
    const inputs = gather(ctx, firstSlice, firstSlice.slice.sources.map((s, k) => ({ k, model: s.model })), () => name, sourceIndex);
    if (inputs.length > 0) tensors.push(planOne(ctx, firstSlice, 0, name, role.hf, inputs));
  }

  let out = 0;
  for (const ns of slices) {
    for (let offset = 0; offset < ns.length; offset++, out++) {
      const first = ns.slice.sources[0];
      const firstSource = sources[sourceIndex(first.model)]!;
      for (const [template, ref] of baseLayer0) {
        const inputs = ns.slice.sources.map((s, k) => {
          const src = sources[sourceIndex(s.model)]!;
          const layer = s.layerRange[0] + offset;
          const t = src.layers.get(layer)?.get(template);
          if (!t) {
            throw new PlanError("plan.missing-tensor", `${src.header.ref} has no tensor ${layerTensorName(template, layer)}, which every layer of ${base.ref} has`, {
              hint: "the sources must be checkpoints of one shape; check the layer ranges",
            });
          }
          checkSameShape(ref, t, base.ref, src.header.ref);
          return { k, model: s.model, source: sourceIndex(s.model), tensor: t, hfName: hfLayerName(arch, scheme, template, layer) };
        });
        const outName = layerTensorName(template, out);
        tensors.push(planOne(ctx, ns, layerPosition(offset, ns.length), outName, hfLayerName(arch, scheme, template, out), inputs, { out, base: first.layerRange[0] + offset, template }));
      }
      const own = firstSource.layers.get(first.layerRange[0] + offset);
      for (const template of own?.keys() ?? []) {
        if (!baseLayer0.has(template)) {
          throw new PlanError("plan.extra-tensor", `${firstSource.header.ref} has ${layerTensorName(template, first.layerRange[0] + offset)}, which layer 0 of ${base.ref} lacks`, {
            hint: "the sources must be checkpoints of one shape",
          });
        }
      }
    }
  }

  // Final norm and head from the last slice's sources, at t = 0. mergekit pairs them with as many
  // inputs as the FIRST slice has sources (zip), so a last slice with more sources loses some.
  const lastSlice = slices[slices.length - 1]!;
  const headCount = Math.min(firstSlice.slice.sources.length, lastSlice.slice.sources.length);
  if (lastSlice.slice.sources.length > headCount) {
    warnings.push(`norm and head merge only the first ${headCount} of the last slice's ${lastSlice.slice.sources.length} sources: mergekit pairs them with the first slice's source count`);
  }
  const headModels = lastSlice.slice.sources.slice(0, headCount).map((s, k) => ({ k, model: s.model }));
  for (const role of arch.postLayer) {
    const name = scheme === "hf" ? role.hf : role.gguf;
    const tiedTo = arch.tied && role.role === arch.tied.head ? arch.preLayer.find((r) => r.role === arch.tied!.embedding) : undefined;
    const tiedName = tiedTo === undefined ? undefined : scheme === "hf" ? tiedTo.hf : tiedTo.gguf;
    // mergekit plans an optional weight only when some input has it; the others load the tied
    // name. When no head model has one but the embeddings come from other models, the head is
    // written from the head models' own embeddings (mergekit would tie it to the wrong matrix).
    const anyHead = headModels.some((m) => sources[sourceIndex(m.model)]!.others.has(name));
    const sameModels = headModels.map((m) => m.model).join("\n") === firstSlice.slice.sources.slice(0, headCount).map((s) => s.model).join("\n");
    if (role.optional && !anyHead && (tiedName === undefined || sameModels)) continue;
    const inputs = gather(ctx, lastSlice, headModels, (src) => (src.others.has(name) || tiedName === undefined ? name : tiedName), sourceIndex);
    if (inputs.length > 0) tensors.push(planOne(ctx, lastSlice, 0, name, role.hf, inputs));
  }
  // Anything else outside the layers (rotary caches, extra buffers) comes with the config source.
  const known = new Set([...arch.preLayer, ...arch.postLayer].map((r) => (scheme === "hf" ? r.hf : r.gguf)));
  for (const [name, t] of sources[0]!.others) {
    if (!known.has(name)) tensors.push(planTensorOp(ctx, name, 0, t, 1));
  }
  checkUniqueNames(tensors);
  if (ctx.method === "passthrough" && !vocabulary) checkStackShapes(arch, scheme, sources);

  const count = (ts: readonly { shape: number[] }[]) => ts.reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
  const metrics = layoutMetrics(layers, (a, b) => refs[a] === refs[b], {
    parameterCount: count(tensors),
    baseParameterCount: count(base.tensors),
    outputBytes: tensors.reduce((n, t) => n + t.byteLength, 0),
  });
  const plan: Plan = {
    version: 1,
    arch: arch.name,
    format: base.format,
    sources: sources.map((s) => ({ ref: s.header.ref, format: s.header.format, numLayers: s.header.numLayers })),
    layers,
    tensors,
    configSource: 0,
    metrics,
    recipe,
  };
  const headRole = arch.tied ? arch.postLayer.find((r) => r.role === arch.tied!.head) : undefined;
  const headName = headRole === undefined ? undefined : scheme === "hf" ? headRole.hf : headRole.gguf;
  const untied = headName !== undefined && !sources[0]!.others.has(headName) && tensors.some((t) => t.name === headName);
  const configType = ctx.outType ?? (tensors.some((t) => t.merge) ? dominantMergeType(tensors) : undefined);
  // sliding vs full attention: each layer's trained kind, and what llama.cpp computes by position
  const kinds = sources.map((s) => sourceLayerKinds(arch, s.header));
  const trained = kinds.every((k) => k !== undefined) ? layers.map((l) => kinds[l.source]![l.layer]!) : undefined;
  const planWarnings: PlanWarning[] = warnings.map((message) => ({ code: "merge-quirk", message }));
  let ggufPeriod = arch.slidingWindow?.ggufPeriod;
  if (base.format === "safetensors") {
    const out = outputConfig(arch, base, layers, configType, untied, trained, sources.map((s) => s.header));
    plan.config = out.config;
    planWarnings.push(...out.warnings);
    // dusk convert writes a period that reproduces the trained kinds, when one does
    if (trained && ggufPeriod !== undefined) ggufPeriod = llamaCppPeriodFor(trained) ?? ggufPeriod;
  } else {
    const out = ggufUpdates(arch, base, layers.length, ctx.outType, trained);
    plan.ggufUpdates = out.updates;
    ggufPeriod = out.period;
  }
  const attention = planAttention(arch, layers, kinds, ggufPeriod);
  if (attention) {
    plan.attention = attention;
    const w = positionRuleWarning(arch, attention, recipe, kinds, refs, base.format === "gguf");
    if (w) planWarnings.push(w);
  }
  const scale = attentionScaleWarning(arch, base, layers.length);
  if (scale) planWarnings.push(scale);
  if (planWarnings.length > 0) plan.warnings = planWarnings;
  if (vocabulary) {
    plan.vocabulary = vocabulary;
    if (plan.config) plan.config.vocab_size = vocabulary.rows;
  }
  return plan;
}

/** The inputs of a non-layer tensor: each model's tensor `nameIn(source)`, skipping models without it when optional. */
function gather(
  ctx: TensorPlanContext,
  ns: NormalizedSlice,
  models: { k: number; model: string }[],
  nameIn: (src: IndexedSource) => string,
  sourceIndex: (ref: string) => number,
): PlanInput[] {
  const inputs: PlanInput[] = [];
  for (const { k, model } of models) {
    const source = sourceIndex(model);
    const src = ctx.sources[source]!;
    const name = nameIn(src);
    const t = src.others.get(name);
    if (!t) {
      if (k === 0 || inputs.length === 0) continue; // the first model decides whether the tensor exists
      throw new PlanError("plan.missing-tensor", `${src.header.ref} has no tensor ${name}, which ${ctx.sources[inputs[0]!.source]!.header.ref} has`, {
        hint: "merged models must have the same tensors",
      });
    }
    inputs.push({ k, model, source, tensor: t, hfName: ctx.scheme === "hf" ? name : hfOtherName(ctx.arch, name) });
  }
  void ns;
  return inputs;
}

export interface PlanInput extends Omit<GatheredInput, "sourceIndex"> {
  /** index into the slice's sources */
  k: number;
  /** index into Plan.sources */
  source: number;
  tensor: HeaderTensor;
}

function planOne(ctx: TensorPlanContext, ns: NormalizedSlice, t: number, outName: string, outHf: string, inputs: PlanInput[], layer?: { out: number; base: number; template: string }): TensorOp {
  const params = evaluateParams(ctx.recipe, ns, t, outHf, inputs.map((i) => ({ sourceIndex: i.k, model: i.model, hfName: i.hfName })));
  // embeddings rearranged by token are always merged (a lone input is rearranged too)
  const permuted = ctx.vocabulary !== undefined && Object.keys(ctx.vocabulary.rowsOf).length > 0 && isEmbedding(ctx.arch, outHf);
  if (permuted) return planMergeOp(ctx, outName, outHf, inputs, params, layer);
  if (ctx.method === "passthrough") {
    const only = inputs[0]!;
    const scale = params.perInput[0]!.scale;
    return planTensorOp(ctx, outName, only.source, only.tensor, typeof scale === "number" ? scale : 1, layer);
  }
  if (inputs.length === 1 && params.method.alone !== "compute") {
    const only = inputs[0]!;
    if (params.method.alone === "base" && params.base !== 0) {
      throw new RecipeError("recipe.lone-input", `${outHf} has one input (${only.model}), and ${params.method.name} passes a lone tensor through only when it is the base model's`, {
        hint: "give the slice the base model as a source", ...fileOf(ctx.recipe),
      });
    }
    return planTensorOp(ctx, outName, only.source, only.tensor, 1, layer);
  }
  return planMergeOp(ctx, outName, outHf, inputs, params, layer);
}

function isEmbedding(arch: Architecture, hfName: string): boolean {
  const role = [...arch.preLayer, ...arch.postLayer].find((r) => r.hf === hfName);
  return role?.role === "embed_tokens" || role?.role === "lm_head";
}

function hfLayerName(arch: Architecture, scheme: NameScheme, template: string, layer: number): string {
  if (scheme === "hf") return layerTensorName(template, layer);
  const role = arch.layer.find((r) => r.gguf === template);
  return role ? layerTensorName(role.hf, layer) : layerTensorName(template, layer);
}

function hfOtherName(arch: Architecture, ggufName: string): string {
  return [...arch.preLayer, ...arch.postLayer].find((r) => r.gguf === ggufName)?.hf ?? ggufName;
}

function dominantMergeType(tensors: readonly TensorOp[]): string | undefined {
  const merged = tensors.filter((t) => t.merge && t.shape.length > 1);
  return merged[0]?.type;
}

function checkFamilies(sources: IndexedSource[]): void {
  const base = sources[0]!.header;
  for (const s of sources) {
    if (s.header.arch !== base.arch) {
      throw new PlanError("plan.arch-mismatch", `sources differ in architecture: ${base.ref} is ${base.arch}, ${s.header.ref} is ${s.header.arch}`, {
        hint: "layers can only be stacked or merged from models of one family and shape",
      });
    }
    if (s.header.format !== base.format) {
      throw new PlanError("plan.format-mismatch", `sources differ in format: ${base.ref} is ${base.format}, ${s.header.ref} is ${s.header.format}`, {
        hint: "convert one of them first (dusk convert) so all sources share a format",
      });
    }
  }
}

function checkRanges(recipe: Recipe, slices: NormalizedSlice[], sources: IndexedSource[], sourceIndex: (ref: string) => number): void {
  for (const ns of slices) {
    ns.slice.sources.forEach((s, k) => {
      const src = sources[sourceIndex(s.model)]!.header;
      const [start, end] = s.layerRange;
      if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end >= start && end <= src.numLayers)) {
        throw new RecipeError("recipe.layer-range", `layer_range [${start}, ${end}) is outside ${src.ref}, which has ${src.numLayers} layers (0..${src.numLayers - 1})`, {
          path: `slices[${ns.index}].sources[${k}].layer_range`,
          // The recipe's YAML file, when it came from one (positions are not kept past parsing).
          ...fileOf(recipe),
          hint: `layer_range is [start, end) with 0 <= start <= end <= ${src.numLayers}`,
        });
      }
    });
  }
}

function indexSource(header: SourceHeader): IndexedSource {
  const scheme: NameScheme = header.format === "gguf" ? "gguf" : "hf";
  const arch = architectureByName(header.arch);
  const layers = new Map<number, Map<string, HeaderTensor>>();
  const others = new Map<string, HeaderTensor>();
  for (const t of header.tensors) {
    const parsed = parseLayerTensorName(t.name, scheme, arch);
    if (!parsed) {
      others.set(t.name, t);
      continue;
    }
    let m = layers.get(parsed.layer);
    if (!m) layers.set(parsed.layer, (m = new Map()));
    m.set(parsed.template, t);
  }
  return { header, layers, others };
}

export function checkSameShape(ref: HeaderTensor, t: HeaderTensor, refName: string, srcName: string): void {
  if (ref.shape.length !== t.shape.length || ref.shape.some((d, i) => d !== t.shape[i])) {
    throw new PlanError("plan.shape-mismatch", `${srcName}: ${t.name} has shape [${t.shape.join(", ")}], but ${refName} has [${ref.shape.join(", ")}] for the same tensor`, {
      hint: "stacked or merged sources must have the same hidden sizes, heads and vocabulary",
    });
  }
}

/** Stacked layers from several models share the embeddings' and head's shapes (no merge rectifies them). */
function checkStackShapes(arch: Architecture, scheme: NameScheme, sources: IndexedSource[]): void {
  for (const role of [...arch.preLayer, ...arch.postLayer]) {
    const name = scheme === "hf" ? role.hf : role.gguf;
    const first = sources[0]!.others.get(name);
    for (const s of sources.slice(1)) {
      const t = s.others.get(name);
      if (first && t) checkSameShape(first, t, sources[0]!.header.ref, s.header.ref);
    }
  }
}

function checkUniqueNames(ops: TensorOp[]): void {
  const seen = new Set<string>();
  for (const o of ops) {
    if (seen.has(o.name)) throw new PlanError("plan.duplicate-output", `two operations write ${o.name}`);
    seen.add(o.name);
  }
}
