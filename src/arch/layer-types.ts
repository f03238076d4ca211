// Which layers attend through a sliding window: the kind each layer was TRAINED with (from an HF
// config: `layer_types`, or the family's rule) and the kind llama.cpp computes at a POSITION of a
// GGUF (Gemma 2: period 2, Gemma 3: period 6; position i slides iff i % p < p − 1). A stack that
// moves a layer to a position of the other kind changes what that layer computes in llama.cpp.
// Pure functions over config values; no files.

import { FormatError } from "../errors.js";
import type { Architecture } from "./architecture.js";

export type LayerKind = "sliding_attention" | "full_attention";
export const LAYER_KINDS: readonly LayerKind[] = ["sliding_attention", "full_attention"];

/** Gemma's HF rule: layer i slides unless (i + 1) is a multiple of the period. */
export function periodKind(i: number, period: number): LayerKind {
  return period > 0 && (i + 1) % period === 0 ? "full_attention" : "sliding_attention";
}

/**
 * llama.cpp's rule (llama_hparams::set_swa_pattern): position il slides iff il % p < p − 1; p = 0
 * slides everywhere. For Gemma's periods this is the HF rule applied to positions.
 */
export function llamaCppKindAt(il: number, period: number): LayerKind {
  return period === 0 || il % period < period - 1 ? "sliding_attention" : "full_attention";
}

/**
 * The trained kind of every layer of an HF checkpoint, or undefined for families without sliding
 * layers. `cfg` is the (text) config with the family's defaults applied.
 */
export function hfLayerTypes(arch: Architecture, cfg: Record<string, unknown>, numLayers: number, file: string): LayerKind[] | undefined {
  const explicit = cfg.layer_types;
  if (explicit !== undefined && explicit !== null) {
    if (!Array.isArray(explicit) || explicit.length !== numLayers || explicit.some((k) => !LAYER_KINDS.includes(k as LayerKind))) {
      throw new FormatError("config.layer-types", "layer_types must list sliding_attention or full_attention for every layer", {
        file, field: "layer_types", expected: `${numLayers} entries of ${LAYER_KINDS.join(" | ")}`,
        actual: Array.isArray(explicit) ? `${explicit.length} entries (${[...new Set(explicit.map(String))].slice(0, 3).join(", ")})` : JSON.stringify(explicit),
      });
    }
    return [...explicit] as LayerKind[];
  }
  const scheme = arch.slidingWindow;
  if (!scheme) return undefined;
  const window = cfg.sliding_window;
  const hasWindow = typeof window === "number" && window > 0;
  const all = (k: LayerKind) => Array.from({ length: numLayers }, () => k);
  switch (scheme.hf) {
    case "period": {
      const p = scheme.periodKey !== undefined && cfg[scheme.periodKey] !== undefined && cfg[scheme.periodKey] !== null ? cfg[scheme.periodKey] : scheme.period;
      if (typeof p !== "number" || !Number.isSafeInteger(p) || p < 1) {
        throw new FormatError("config.field", `config field ${scheme.periodKey ?? "sliding_window_pattern"} must be a positive integer`, {
          file, field: scheme.periodKey ?? "sliding_window_pattern", expected: "a positive integer", actual: JSON.stringify(p),
        });
      }
      return Array.from({ length: numLayers }, (_, i) => periodKind(i, p));
    }
    case "maxWindowLayers": {
      if (cfg.use_sliding_window !== true || !hasWindow) return all("full_attention");
      const mwl = cfg.max_window_layers;
      const from = typeof mwl === "number" && Number.isSafeInteger(mwl) && mwl >= 0 ? mwl : numLayers;
      return Array.from({ length: numLayers }, (_, i) => (i >= from ? "sliding_attention" : "full_attention"));
    }
    case "all":
      return all(hasWindow ? "sliding_attention" : "full_attention");
  }
}

/**
 * What llama.cpp computes at each position of a GGUF with `numLayers` layers (undefined for
 * families without sliding layers). `period` is `<arch>.attention.sliding_window_pattern` when the
 * file has it as a number; `window` its `<arch>.attention.sliding_window`.
 */
export function ggufLayerTypes(arch: Architecture, numLayers: number, period: number | undefined, window: number | undefined): LayerKind[] | undefined {
  const scheme = arch.slidingWindow;
  if (!scheme) return undefined;
  const slides = scheme.ggufPeriod !== undefined && (!scheme.ggufNeedsWindowKey || (window ?? 0) > 0);
  if (!slides) return Array.from({ length: numLayers }, () => "full_attention");
  const p = period ?? scheme.ggufPeriod!;
  return Array.from({ length: numLayers }, (_, i) => llamaCppKindAt(i, p));
}

/** The smallest period p for which llama.cpp's position rule gives exactly these kinds, if any. */
export function llamaCppPeriodFor(kinds: readonly LayerKind[]): number | undefined {
  for (let p = 1; p <= kinds.length + 1; p++) if (kinds.every((k, i) => k === llamaCppKindAt(i, p))) return p;
  return undefined;
}

/** The smallest HF `sliding_window_pattern` whose rule gives exactly these kinds, if any. */
export function hfPeriodFor(kinds: readonly LayerKind[]): number | undefined {
  for (let p = 1; p <= kinds.length + 1; p++) if (kinds.every((k, i) => k === periodKind(i, p))) return p;
  return undefined;
}

/** One output position: the kind its layer was trained with and the kind llama.cpp gives the position. */
export interface PositionKind {
  position: number;
  trained: LayerKind;
  atPosition: LayerKind;
}

/**
 * The GGUF position rule over a stack: for each output position, the trained kind of the layer
 * placed there and the kind llama.cpp computes at that position. Undefined when llama.cpp has no
 * sliding layers for this family (nothing can break).
 */
export function positionKinds(arch: Architecture, trained: readonly LayerKind[], period?: number): PositionKind[] | undefined {
  const p = period ?? arch.slidingWindow?.ggufPeriod;
  if (p === undefined) return undefined;
  return trained.map((k, i) => ({ position: i, trained: k, atPosition: llamaCppKindAt(i, p) }));
}
