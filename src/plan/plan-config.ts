// What the output's config says: the new layer count, dtype, tied-head flag and the per-layer
// config rewritten with the stack (HF config.json — inside `text_config` for multimodal Gemma 3 —
// or GGUF metadata updates): `layer_types` from the source layers, Gemma 3's
// `sliding_window_pattern`, Qwen's `max_window_layers`.

import { hfPeriodFor, llamaCppPeriodFor, type Architecture, type LayerKind } from "../arch/index.js";
import { RecipeError } from "../errors.js";
import type { Recipe } from "../recipe/recipe.js";
import type { PlannedLayer, PlanWarning, SourceHeader } from "./types.js";

const DTYPE_ALIASES: Record<string, string> = {
  float32: "F32", f32: "F32", fp32: "F32",
  float16: "F16", f16: "F16", fp16: "F16", half: "F16",
  bfloat16: "BF16", bf16: "BF16",
};
const TORCH_NAMES: Record<string, string> = { F32: "float32", F16: "float16", BF16: "bfloat16" };
/** llama.cpp's `general.file_type` (LLAMA_FTYPE_*) for whole-model float types */
const GGUF_FILE_TYPES: Record<string, number> = { F32: 0, F16: 1, BF16: 32 };

/** `float16`, `F16`, `bf16` … → the tensor type name, or undefined when no dtype is asked. */
export function resolveOutputType(recipe: Recipe, cliDtype: string | undefined): string | undefined {
  const asked = cliDtype ?? recipe.outDtype ?? recipe.dtype;
  if (asked === undefined) return undefined;
  const t = DTYPE_ALIASES[asked.toLowerCase()];
  if (!t) {
    throw new RecipeError("recipe.dtype", `unknown dtype ${asked}`, {
      path: cliDtype !== undefined ? "--dtype" : recipe.outDtype !== undefined ? "out_dtype" : "dtype",
      hint: "use float32, float16 or bfloat16",
    });
  }
  return t;
}

/**
 * The output's config.json. `trained`: each output layer's trained kind (families with sliding
 * layers); written as an explicit `layer_types` whenever a layer slides or the source had one.
 */
export function outputConfig(
  arch: Architecture,
  base: SourceHeader,
  layers: readonly PlannedLayer[],
  outType: string | undefined,
  untied: boolean,
  trained?: readonly LayerKind[],
  sources: readonly SourceHeader[] = [base],
): { config: Record<string, unknown>; warnings: PlanWarning[] } {
  const config: Record<string, unknown> = structuredClone(base.config ?? {});
  const nested = arch.hfTextConfigKey === undefined ? undefined : config[arch.hfTextConfigKey];
  // the language model's keys: at the root, or in text_config (multimodal Gemma 3)
  const text = nested !== null && typeof nested === "object" && !Array.isArray(nested) ? (nested as Record<string, unknown>) : config;
  const warnings: PlanWarning[] = [];
  text[arch.hfLayerCountKey] = layers.length;
  if (outType) config.torch_dtype = TORCH_NAMES[outType];
  if (untied && arch.tied) text[arch.tied.hfConfigKey] = false;
  for (const key of arch.perLayerConfigKeys) {
    const v = text[key];
    if (Array.isArray(v) && v.length === base.numLayers) text[key] = layers.map((l) => v[l.layer]);
  }
  if (trained && (Array.isArray(text.layer_types) || trained.includes("sliding_attention"))) text.layer_types = [...trained];
  const periodKey = arch.slidingWindow?.periodKey;
  if (trained && periodKey !== undefined) {
    // transformers before 4.53 ignores layer_types and applies the period to positions
    const p = hfPeriodFor(trained);
    if (p !== undefined) text[periodKey] = p;
    else {
      warnings.push({
        code: "layer-types-compat",
        message: `no ${periodKey} reproduces this stack's layer kinds; the output's layer_types does`,
        hint: `transformers ≥ 4.53 reads layer_types; older versions apply ${periodKey} (kept at ${JSON.stringify(text[periodKey] ?? arch.slidingWindow?.period)}) to positions`,
      });
    }
  }
  if (typeof text.max_window_layers === "number") {
    // Qwen: layers i < max_window_layers attend fully. Output layer i keeps its source layer's side;
    // a single number holds only a prefix of full layers (layer_types, when written, holds the rest).
    const full = layers.map((l) => {
      const mwl = sourceText(arch, sources[l.source] ?? base).max_window_layers;
      return typeof mwl !== "number" || l.layer < mwl;
    });
    const prefix = full.indexOf(false) === -1 ? full.length : full.indexOf(false);
    text.max_window_layers = prefix;
  }
  return { config, warnings };
}

function sourceText(arch: Architecture, h: SourceHeader): Record<string, unknown> {
  const c = h.config ?? {};
  const nested = arch.hfTextConfigKey === undefined ? undefined : c[arch.hfTextConfigKey];
  return nested !== null && typeof nested === "object" && !Array.isArray(nested) ? (nested as Record<string, unknown>) : c;
}

/**
 * Metadata keys a GGUF output overrides: the block count, the file type, and — when the stack's
 * trained kinds follow some period but not the family's default — the sliding-window period.
 */
export function ggufUpdates(
  arch: Architecture,
  base: SourceHeader,
  numLayers: number,
  outType: string | undefined,
  trained?: readonly LayerKind[],
): { updates: Record<string, { type: "u32" | "string"; value: number | string }>; period?: number } {
  const ggufArch = typeof base.gguf?.["general.architecture"] === "string" ? (base.gguf["general.architecture"] as string) : arch.ggufArchitectures[0]!;
  const updates: Record<string, { type: "u32" | "string"; value: number | string }> = {
    [`${ggufArch}.block_count`]: { type: "u32", value: numLayers },
  };
  if (outType) updates["general.file_type"] = { type: "u32", value: GGUF_FILE_TYPES[outType]! };
  const key = `${ggufArch}.attention.sliding_window_pattern`;
  const current = typeof base.gguf?.[key] === "number" ? (base.gguf[key] as number) : arch.slidingWindow?.ggufPeriod;
  if (trained === undefined || current === undefined) return { updates };
  const p = llamaCppPeriodFor(trained);
  if (p === undefined || p === current) return { updates, period: current };
  updates[key] = { type: "u32", value: p };
  return { updates, period: p };
}
