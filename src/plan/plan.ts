// The planner: a pure function from (recipe, source headers) to a Plan. Every check that can be
// made from headers is made here, so a bad layer range or a shape mismatch is reported before a
// single byte is read or written.

import { architectureByName, ggufToHfName, llamaCppPeriodFor, parseLayerTensorName, layerTensorName, type Architecture, type NameScheme } from "../arch/index.js";
import { PlanError, RecipeError } from "../errors.js";
import { tensorType } from "../formats/tensor-types.js";
import { LIMITS } from "../limits.js";
import { recipeLayers, resolveNonLayerScale, resolveScale } from "../recipe/index.js";
import type { Recipe } from "../recipe/recipe.js";
import { outputConfig, ggufUpdates, resolveOutputType } from "./plan-config.js";
import { layoutMetrics } from "./metrics.js";
import { attentionScaleWarning, planAttention, positionRuleWarning, sourceLayerKinds } from "./position-rule.js";
import type { Plan, PlannedLayer, PlanWarning, SourceHeader, TensorOp, TensorTransform } from "./types.js";

export interface PlanOptions {
  /** float type for float tensors: `F32` | `F16` | `BF16` (or torch names); default: keep */
  dtype?: string;
}

type HeaderTensor = SourceHeader["tensors"][number];

interface IndexedSource {
  header: SourceHeader;
  /** layer → template → tensor */
  layers: Map<number, Map<string, HeaderTensor>>;
  /** non-layer tensors by name */
  others: Map<string, HeaderTensor>;
}

export function makePlan(recipe: Recipe, headers: readonly SourceHeader[], options: PlanOptions = {}): Plan {
  const refs = uniqueRefs(recipe);
  const sources = refs.map((ref) => {
    const header = headers.find((h) => h.ref === ref);
    if (!header) throw new PlanError("plan.missing-source", `no header was given for source ${ref}`);
    return indexSource(header);
  });
  const base = sources[0]!.header;
  const arch = architectureByName(base.arch);
  if (!arch) throw new PlanError("plan.unknown-arch", `unknown architecture ${base.arch}`);
  for (const s of sources) {
    if (s.header.arch !== base.arch) {
      throw new PlanError("plan.arch-mismatch", `sources differ in architecture: ${base.ref} is ${base.arch}, ${s.header.ref} is ${s.header.arch}`, {
        hint: "layers can only be stacked from models of one family and shape",
      });
    }
    if (s.header.format !== base.format) {
      throw new PlanError("plan.format-mismatch", `sources differ in format: ${base.ref} is ${base.format}, ${s.header.ref} is ${s.header.format}`, {
        hint: "convert one of them first (dusk convert) so all sources share a format",
      });
    }
  }
  const scheme: NameScheme = base.format === "gguf" ? "gguf" : "hf";
  const sourceIndex = (ref: string) => refs.indexOf(ref);

  const stack = recipeLayers(recipe);
  recipe.slices.forEach((slice, i) => {
    const src = sources[sourceIndex(slice.sources[0].model)]!.header;
    const [start, end] = slice.sources[0].layerRange;
    if (!(Number.isInteger(start) && Number.isInteger(end) && start >= 0 && end >= start && end <= src.numLayers)) {
      throw new RecipeError("recipe.layer-range", `layer_range [${start}, ${end}) is outside ${src.ref}, which has ${src.numLayers} layers (0..${src.numLayers - 1})`, {
        path: `slices[${i}].sources[0].layer_range`,
        // The recipe's YAML file, when it came from one (positions are not kept past parsing).
        ...(recipe.origin.kind === "mergekit" && recipe.origin.file !== undefined ? { file: recipe.origin.file } : {}),
        hint: `layer_range is [start, end) with 0 <= start <= end <= ${src.numLayers}`,
      });
    }
  });
  if (stack.length === 0) {
    throw new RecipeError("recipe.empty", "the recipe selects no layers, so there is nothing to build", {
      path: "slices",
      hint: "give at least one slice with a non-empty layer_range",
    });
  }
  if (stack.length > LIMITS.layerCount) throw new RecipeError("recipe.too-many-layers", `the recipe selects ${stack.length} layers (limit ${LIMITS.layerCount})`);

  const layers: PlannedLayer[] = stack.map((l) => ({ source: sourceIndex(l.model), layer: l.layer, slice: l.slice }));
  const outType = resolveOutputType(recipe, options.dtype);
  const tensors: TensorOp[] = [];
  const baseLayer0 = sources[0]!.layers.get(0) ?? new Map<string, HeaderTensor>();

  const op = (name: string, source: number, t: HeaderTensor, factor: number, layer?: { out: number; base: number; template: string }): TensorOp => {
    const type = chooseType(scheme, t, outType);
    const transform = chooseTransform(t, type, factor, sources[source]!.header.ref, gainOffset(arch, scheme, layer ? layer.template : name));
    const info = tensorType(type)!;
    const byteLength = type === t.type ? t.byteLength : (t.byteLength / tensorType(t.type)!.blockBytes) * info.blockBytes;
    return {
      name,
      source,
      from: t.name,
      fromType: t.type,
      type,
      shape: [...t.shape],
      byteLength,
      transform,
      ...(layer ? { layer: layer.out, baseLayer: layer.base } : {}),
    };
  };
  const hfName = (name: string) => (scheme === "hf" ? name : (ggufToHfName(arch, name) ?? name));

  // Embeddings (and any other pre-layer tensor) from the first slice's model.
  const embedSource = sourceIndex(recipe.slices[0]!.sources[0].model);
  const headSlice = recipe.slices.length - 1;
  const headSource = sourceIndex(recipe.slices[headSlice]!.sources[0].model);
  const preNames = new Set(arch.preLayer.map((r) => (scheme === "hf" ? r.hf : r.gguf)));
  const postNames = new Set(arch.postLayer.map((r) => (scheme === "hf" ? r.hf : r.gguf)));
  for (const [name, t] of sources[embedSource]!.others) {
    if (preNames.has(name)) tensors.push(op(name, embedSource, t, resolveNonLayerScale(recipe, "first", hfName(name))));
  }

  layers.forEach((l, out) => {
    const src = sources[l.source]!;
    const tensorsOfLayer = src.layers.get(l.layer);
    const indexInSlice = stack[out]!.indexInSlice;
    for (const [template, ref] of baseLayer0) {
      const t = tensorsOfLayer?.get(template);
      const name = layerTensorName(template, l.layer);
      if (!t) {
        throw new PlanError("plan.missing-tensor", `${src.header.ref} has no tensor ${name}, which every layer of ${base.ref} has`, {
          hint: "the sources must be checkpoints of one shape; check the layer ranges",
        });
      }
      checkSameShape(ref, t, base.ref, src.header.ref);
      const outName = layerTensorName(template, out);
      tensors.push(op(outName, l.source, t, resolveScale(recipe, l.slice, indexInSlice, hfName(name)), { out, base: l.layer, template }));
    }
    if (tensorsOfLayer) {
      for (const template of tensorsOfLayer.keys()) {
        if (!baseLayer0.has(template)) {
          throw new PlanError("plan.extra-tensor", `${src.header.ref} has ${layerTensorName(template, l.layer)}, which layer 0 of ${base.ref} lacks`, {
            hint: "the sources must be checkpoints of one shape",
          });
        }
      }
    }
  });

  // Final norm and head from the last slice's model (a zero-length last slice chooses it).
  const head = sources[headSource]!;
  for (const [name, t] of head.others) {
    if (postNames.has(name)) tensors.push(op(name, headSource, t, resolveNonLayerScale(recipe, "last", hfName(name))));
  }
  const untie = tiedHeadFix(arch, scheme, sources, embedSource, headSource);
  if (untie) tensors.push(op(untie.headName, headSource, untie.embedding, 1));
  // Anything else outside the layers (rotary caches, extra buffers) comes with the config source.
  for (const [name, t] of sources[0]!.others) {
    if (!preNames.has(name) && !postNames.has(name)) tensors.push(op(name, 0, t, 1));
  }
  checkUniqueNames(tensors);

  for (const s of sources.slice(1)) {
    for (const name of preNames) checkOptionalShape(sources[0]!.others.get(name), s.others.get(name), base.ref, s.header.ref);
    for (const name of postNames) checkOptionalShape(sources[0]!.others.get(name), s.others.get(name), base.ref, s.header.ref);
  }

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
  // sliding vs full attention: each layer's trained kind, and what llama.cpp computes by position
  const kinds = sources.map((s) => sourceLayerKinds(arch, s.header));
  const trained = kinds.every((k) => k !== undefined) ? layers.map((l) => kinds[l.source]![l.layer]!) : undefined;
  const warnings: PlanWarning[] = [];
  let ggufPeriod = arch.slidingWindow?.ggufPeriod;
  if (base.format === "safetensors") {
    const out = outputConfig(arch, base, layers, outType, untie !== undefined, trained, sources.map((s) => s.header));
    plan.config = out.config;
    warnings.push(...out.warnings);
    // dusk convert writes a period that reproduces the trained kinds, when one does
    if (trained && ggufPeriod !== undefined) ggufPeriod = llamaCppPeriodFor(trained) ?? ggufPeriod;
  } else {
    const out = ggufUpdates(arch, base, layers.length, outType, trained);
    plan.ggufUpdates = out.updates;
    ggufPeriod = out.period;
  }
  const attention = planAttention(arch, layers, kinds, ggufPeriod);
  if (attention) {
    plan.attention = attention;
    const w = positionRuleWarning(arch, attention, recipe, kinds, refs, base.format === "gguf");
    if (w) warnings.push(w);
  }
  const scale = attentionScaleWarning(arch, base, layers.length);
  if (scale) warnings.push(scale);
  if (warnings.length > 0) plan.warnings = warnings;
  return plan;
}

function uniqueRefs(recipe: Recipe): string[] {
  const refs: string[] = [];
  const add = (r: string) => { if (!refs.includes(r)) refs.push(r); };
  if (recipe.baseModel !== undefined) add(recipe.baseModel);
  for (const s of recipe.slices) add(s.sources[0].model);
  return refs;
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

function checkSameShape(ref: HeaderTensor, t: HeaderTensor, refName: string, srcName: string): void {
  if (ref.shape.length !== t.shape.length || ref.shape.some((d, i) => d !== t.shape[i])) {
    throw new PlanError("plan.shape-mismatch", `${srcName}: ${t.name} has shape [${t.shape.join(", ")}], but ${refName} has [${ref.shape.join(", ")}] for the same tensor`, {
      hint: "stacked sources must have the same hidden sizes, heads and vocabulary",
    });
  }
}

function checkOptionalShape(a: HeaderTensor | undefined, b: HeaderTensor | undefined, aRef: string, bRef: string): void {
  if (a && b) checkSameShape(a, b, aRef, bRef);
}

/**
 * mergekit's tied-head bug: when the head comes from a model whose head is tied to its own
 * embedding, but the embedding comes from another model, the output must carry that head
 * explicitly. Returns the tensor to add, or undefined when nothing is needed.
 */
function tiedHeadFix(arch: Architecture, scheme: NameScheme, sources: IndexedSource[], embedSource: number, headSource: number) {
  if (!arch.tied || embedSource === headSource || sources[embedSource]!.header.ref === sources[headSource]!.header.ref) return undefined;
  const headRole = arch.postLayer.find((r) => r.role === arch.tied!.head);
  const embedRole = arch.preLayer.find((r) => r.role === arch.tied!.embedding);
  if (!headRole || !embedRole) return undefined;
  const headName = scheme === "hf" ? headRole.hf : headRole.gguf;
  const embedName = scheme === "hf" ? embedRole.hf : embedRole.gguf;
  const head = sources[headSource]!;
  if (head.others.has(headName)) return undefined;
  const embedding = head.others.get(embedName);
  return embedding ? { headName, embedding } : undefined;
}

function checkUniqueNames(ops: TensorOp[]): void {
  const seen = new Set<string>();
  for (const o of ops) {
    if (seen.has(o.name)) throw new PlanError("plan.duplicate-output", `two operations write ${o.name}`);
    seen.add(o.name);
  }
}
