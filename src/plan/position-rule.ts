// The GGUF position rule and the Gemma 27B attention scale, as plan facts and warnings: llama.cpp
// picks sliding vs full attention by a layer's POSITION (Gemma 2: period 2, Gemma 3: period 6) and
// Gemma 2/3's attention scale by the LAYER COUNT (46 / 62 layers: the 27B's), so a stack can make
// a layer compute something other than what it was trained with. For dus/idus presets the nearest
// layout that keeps every layer's kind is offered. Pure: headers and recipes in, facts out.

import { hfLayerTypes, hfTextConfig, llamaCppKindAt, llamaCppQueryPreAttnScalar, type Architecture, type LayerKind } from "../arch/index.js";
import { dusRecipe, idusRecipe, recipeLayers } from "../recipe/index.js";
import type { Recipe } from "../recipe/recipe.js";
import type { PlanAttention, PlannedLayer, PlanWarning, SourceHeader } from "./types.js";

/** The trained kind of each layer of a source (a GGUF's: what llama.cpp computed at its positions). */
export function sourceLayerKinds(arch: Architecture, h: SourceHeader): LayerKind[] | undefined {
  const scheme = arch.slidingWindow;
  if (!scheme) return undefined;
  if (h.format === "safetensors") return hfLayerTypes(arch, hfTextConfig(arch, h.config ?? {}), h.numLayers, `${h.ref}/config.json`);
  const g = h.gguf ?? {};
  const a = typeof g["general.architecture"] === "string" ? g["general.architecture"] : arch.ggufArchitectures[0]!;
  if (scheme.ggufPeriod === undefined) return Array.from({ length: h.numLayers }, () => "full_attention");
  const window = g[`${a}.attention.sliding_window`];
  if (scheme.ggufNeedsWindowKey && !(typeof window === "number" && window > 0)) return Array.from({ length: h.numLayers }, () => "full_attention");
  const p = ggufPeriodOf(arch, h);
  return Array.from({ length: h.numLayers }, (_, i) => llamaCppKindAt(i, p));
}

/** The period llama.cpp uses for a GGUF source: its number-valued pattern key, else the family's. */
export function ggufPeriodOf(arch: Architecture, h: SourceHeader): number {
  const a = typeof h.gguf?.["general.architecture"] === "string" ? (h.gguf["general.architecture"] as string) : arch.ggufArchitectures[0]!;
  const p = h.gguf?.[`${a}.attention.sliding_window_pattern`];
  return typeof p === "number" ? p : arch.slidingWindow!.ggufPeriod!;
}

/**
 * Each output layer's trained kind and the kind llama.cpp computes at its position. `ggufPeriod`:
 * the period a GGUF of this stack is written with (a GGUF output may set a period that fits).
 */
export function planAttention(arch: Architecture, layers: readonly PlannedLayer[], kinds: readonly (LayerKind[] | undefined)[], ggufPeriod: number | undefined): PlanAttention | undefined {
  if (kinds.some((k) => k === undefined)) return undefined;
  const trained = layers.map((l) => kinds[l.source]![l.layer]!);
  if (ggufPeriod === undefined) return { trained };
  return { trained, period: ggufPeriod, gguf: trained.map((_, i) => llamaCppKindAt(i, ggufPeriod)) };
}

const short = (k: LayerKind) => (k === "sliding_attention" ? "sliding" : "full");

/** The position-rule warning, with the nearest aligned dus/idus layout when the recipe is one. */
export function positionRuleWarning(arch: Architecture, attention: PlanAttention, recipe: Recipe, kinds: readonly (LayerKind[] | undefined)[], refs: readonly string[], ggufOutput: boolean): PlanWarning | undefined {
  if (!attention.gguf) return undefined;
  const broken = attention.trained.flatMap((k, i) => (k !== attention.gguf![i] ? [i] : []));
  if (broken.length === 0) return undefined;
  const list = broken.slice(0, 12).map((i) => `${i} (${short(attention.trained[i]!)}→${short(attention.gguf![i]!)})`).join(", ") + (broken.length > 12 ? ", …" : "");
  const suggestion = alignedSuggestion(recipe, attention.period!, kinds, refs);
  return {
    code: "position-rule",
    message: `${broken.length} of ${attention.trained.length} layers land where llama.cpp computes the other attention kind: ${arch.name} in GGUF slides by position (period ${attention.period}), not by the layer's training; positions ${list}`,
    hint: [
      ggufOutput ? "no period fits this stack, so the GGUF cannot say otherwise" : "the HF output's layer_types keeps each layer's trained kind; llama.cpp (dusk convert, run, eval) will not",
      suggestion ?? "keep every layer at a position of its own kind: move slices by multiples of the period",
    ].join("; "),
  };
}

/**
 * For dus/idus presets: the nearest (drop, group) whose stack puts every layer at a position of
 * its trained kind, as command-line flags ("--drop 6 --group 6"); undefined when none is near.
 */
export function alignedSuggestion(recipe: Recipe, period: number, kinds: readonly (LayerKind[] | undefined)[], refs: readonly string[]): string | undefined {
  const o = recipe.origin;
  if (o.kind !== "preset" || (o.preset !== "dus" && o.preset !== "idus")) return undefined;
  const n = Number(o.options.layers);
  const m = Number(o.options.drop);
  const g = o.preset === "idus" ? Number(o.options.group) : undefined;
  const model = String(o.options.model);
  const modelB = o.options.modelB === undefined ? undefined : String(o.options.modelB);
  const aligned = (r: Recipe) =>
    recipeLayers(r).every((l, i) => {
      const k = kinds[refs.indexOf(l.model)];
      return k !== undefined && k[l.layer] === llamaCppKindAt(i, period);
    });
  let best: { cost: number; flags: string } | undefined;
  for (let m2 = 0; m2 < n; m2++) {
    const groups = g === undefined ? [undefined] : Array.from({ length: n - m2 }, (_, i) => i + 1);
    for (const g2 of groups) {
      const cost = Math.abs(m2 - m) + (g === undefined ? 0 : Math.abs(g2! - g));
      if (best !== undefined && cost >= best.cost) continue;
      const base = { model, layers: n, drop: m2, ...(modelB === undefined ? {} : { modelB }) };
      const r = g2 === undefined ? dusRecipe(base) : idusRecipe({ ...base, group: g2 });
      if (aligned(r)) best = { cost, flags: g2 === undefined ? `--drop ${m2}` : `--drop ${m2} --group ${g2}` };
    }
  }
  return best && `the nearest layout that keeps every layer's kind: ${o.preset} ${best.flags}`;
}

/**
 * llama.cpp's Gemma 2/3 attention scale depends on the layer count; warn when the stack's count
 * gives another scale than the one its layers were trained with (query_pre_attn_scalar^−0.5).
 */
export function attentionScaleWarning(arch: Architecture, base: SourceHeader, numLayers: number): PlanWarning | undefined {
  const count = arch.llamaCppScaleLayerCount;
  if (count === undefined) return undefined;
  const cfg = base.format === "safetensors" ? hfTextConfig(arch, base.config ?? {}) : undefined;
  const g = base.gguf ?? {};
  const a = typeof g["general.architecture"] === "string" ? g["general.architecture"] : arch.ggufArchitectures[0]!;
  const num = (hf: string, gguf: string) => Number(cfg ? cfg[hf] : g[`${a}.${gguf}`]);
  const hidden = num("hidden_size", "embedding_length");
  const heads = num("num_attention_heads", "attention.head_count");
  const headDim = cfg ? Number(cfg.head_dim ?? hidden / heads) : Number(g[`${a}.attention.key_length`] ?? hidden / heads);
  if (![hidden, heads, headDim].every(Number.isFinite)) return undefined;
  const trained = cfg && typeof cfg.query_pre_attn_scalar === "number"
    ? cfg.query_pre_attn_scalar
    : llamaCppQueryPreAttnScalar(arch, { numLayers: base.numLayers, hiddenSize: hidden, numHeads: heads, headDim });
  const atCount = llamaCppQueryPreAttnScalar(arch, { numLayers, hiddenSize: hidden, numHeads: heads, headDim });
  if (trained === atCount) return undefined;
  return {
    code: "attention-scale",
    message: `llama.cpp scales ${arch.name}'s attention by the layer count: 1/√(hidden/heads) at exactly ${count} layers (the 27B), 1/√head_dim otherwise; at ${numLayers} layers it will use 1/√${atCount}, but these layers were trained with 1/√${trained}`,
    hint: `no GGUF key overrides it (src/models/${arch.ggufArchitectures[0]}.cpp); the HF output keeps query_pre_attn_scalar ${trained}, so HF runtimes are unaffected — in llama.cpp, expect a model that behaves differently until healed`,
  };
}
