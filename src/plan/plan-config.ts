// What the output's config says: the new layer count, dtype, tied-head flag and the per-layer
// config arrays resized with the stack (HF config.json or GGUF metadata updates).

import type { Architecture } from "../arch/index.js";
import { RecipeError } from "../errors.js";
import type { Recipe } from "../recipe/recipe.js";
import type { PlannedLayer, SourceHeader } from "./types.js";

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

export function outputConfig(
  arch: Architecture,
  base: SourceHeader,
  layers: readonly PlannedLayer[],
  outType: string | undefined,
  untied: boolean,
): Record<string, unknown> {
  const config: Record<string, unknown> = structuredClone(base.config ?? {});
  config[arch.hfLayerCountKey] = layers.length;
  if (outType) config.torch_dtype = TORCH_NAMES[outType];
  if (untied && arch.tied) config[arch.tied.hfConfigKey] = false;
  for (const key of arch.perLayerConfigKeys) {
    const v = config[key];
    if (Array.isArray(v) && v.length === base.numLayers) config[key] = layers.map((l) => v[l.layer]);
  }
  return config;
}

export function ggufUpdates(
  arch: Architecture,
  base: SourceHeader,
  numLayers: number,
  outType: string | undefined,
): Record<string, { type: "u32" | "string"; value: number | string }> {
  const ggufArch = typeof base.gguf?.["general.architecture"] === "string" ? (base.gguf["general.architecture"] as string) : arch.ggufArchitectures[0]!;
  const updates: Record<string, { type: "u32" | "string"; value: number | string }> = {
    [`${ggufArch}.block_count`]: { type: "u32", value: numLayers },
  };
  if (outType) updates["general.file_type"] = { type: "u32", value: GGUF_FILE_TYPES[outType]! };
  return updates;
}
