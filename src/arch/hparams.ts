// Model hyperparameters of a checkpoint of a known family, read from an HF config.json (the
// language model's part of it, with transformers' defaults for keys it leaves out), with every
// value checked: the converter, the planner and the engine start from these. GGUF metadata is
// read in hparams-gguf.ts.

import { FormatError } from "../errors.js";
import type { Architecture } from "./architecture.js";
import { hfLayerTypes, type LayerKind } from "./layer-types.js";
import { llama3RopeFactors } from "./rope-factors.js";

export interface HParams {
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  contextLength: number;
  rmsNormEps: number;
  ropeTheta: number;
  ropeScaling?: RopeScalingParams;
  /**
   * [headDim/2] divisors of the rotary frequencies (llama.cpp's `rope_freqs.weight`): computed for
   * llama3 scaling from config.json, or read from a GGUF that carries the tensor (set by its opener).
   */
  ropeFreqFactors?: Float32Array;
  tied: boolean;
  /** config.json names head_dim itself (the converter then writes key_length/value_length) */
  headDimInConfig?: boolean;
  /**
   * the TRAINED kind of each layer (config `layer_types`, else the family's rule); for a GGUF, the
   * kind llama.cpp computes at each position. Absent for families without sliding layers.
   */
  layerTypes?: LayerKind[];
  /** tokens a sliding layer sees (HF `sliding_window`; GGUF `attention.sliding_window`) */
  slidingWindow?: number;
  /** Gemma 2: logits of attention capped as c·tanh(x/c) */
  attnLogitSoftcap?: number;
  /** Gemma 2 (and Gemma 3 when set): output logits capped likewise */
  finalLogitSoftcap?: number;
  /** Gemma 2/3: the attention scale is queryPreAttnScalar^−0.5 (for a GGUF: what llama.cpp will use) */
  queryPreAttnScalar?: number;
  /** Gemma 3: the rope base of the sliding layers (`rope_local_base_freq`) */
  ropeLocalTheta?: number;
  /** partial rotary: dimensions of each head that rotate (Phi: partial_rotary_factor·hidden/heads); absent = headDim */
  rotaryDim?: number;
  /** Phi-3: the pre-extension context (`original_max_position_embeddings`), scaled or not */
  originalContextLength?: number;
}

/**
 * HF `rope_scaling` (or transformers 5's `rope_parameters`) as llama.cpp's converter reads it.
 * llama3 never becomes a GGUF scaling type: it is the `rope_freqs.weight` tensor instead.
 */
export interface RopeScalingParams {
  type: "linear" | "yarn" | "llama3" | "longrope";
  /** longrope: max_position_embeddings / original_max_position_embeddings */
  factor: number;
  /** original_max_position_embeddings (llama3 default 8192, as the converter) */
  originalContext?: number;
  /** llama3 (defaults 1 and 4) */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** yarn, written only when the config has them; longrope: √(1 + ln s / ln original) as the converter computes it */
  attentionFactor?: number;
  /** longrope: [rotaryDim/2] frequency divisors for contexts up to / beyond the original context */
  shortFactor?: number[];
  longFactor?: number[];
  betaFast?: number;
  betaSlow?: number;
  extrapolationFactor?: number;
}

/**
 * The language model's config as the converter sees it: a nested `text_config` moved to the root
 * (multimodal Gemma 3), over transformers' defaults for keys the file leaves out.
 */
export function hfTextConfig(arch: Architecture, config: Record<string, unknown>): Record<string, unknown> {
  const nested = arch.hfTextConfigKey === undefined ? undefined : config[arch.hfTextConfigKey];
  const text = nested !== null && typeof nested === "object" && !Array.isArray(nested) ? (nested as Record<string, unknown>) : {};
  if (arch.hfConfigDefaults === undefined && nested === undefined) return config;
  const out: Record<string, unknown> = { ...arch.hfConfigDefaults };
  for (const [k, v] of [...Object.entries(config), ...Object.entries(text)]) if (v !== undefined) out[k] = v;
  return out;
}

export function readHParams(arch: Architecture, config: Record<string, unknown>, file: string): HParams {
  const cfg = hfTextConfig(arch, config);
  const field = (key: string) => (arch.hfTextConfigKey !== undefined && isObject(config[arch.hfTextConfigKey]) ? `${arch.hfTextConfigKey}.${key}` : key);
  const int = (key: string, fallback?: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      throw new FormatError("config.field", `config field ${field(key)} must be a positive integer`, { file, field: field(key), expected: "a positive integer", actual: JSON.stringify(v) ?? "missing" });
    }
    return v;
  };
  const float = (key: string, fallback: number): number => {
    const v = cfg[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new FormatError("config.field", `config field ${field(key)} must be a positive number`, { file, field: field(key), expected: "a positive number", actual: JSON.stringify(v) });
    }
    return v;
  };
  /** a positive number, or undefined when the key is absent or null */
  const optional = (key: string): number | undefined => (cfg[key] === undefined || cfg[key] === null ? undefined : float(key, 0));
  const numHeads = int("num_attention_heads");
  const hiddenSize = int("hidden_size");
  const hp: HParams = {
    vocabSize: int("vocab_size"),
    hiddenSize,
    intermediateSize: int("intermediate_size"),
    numLayers: int(arch.hfLayerCountKey),
    numHeads,
    numKvHeads: int("num_key_value_heads", numHeads),
    headDim: int("head_dim", hiddenSize / numHeads),
    contextLength: int("max_position_embeddings", 4096),
    rmsNormEps: float("rms_norm_eps", 1e-6),
    ropeTheta: float("rope_theta", 10000),
    tied: typeof cfg[arch.tied?.hfConfigKey ?? ""] === "boolean" ? (cfg[arch.tied!.hfConfigKey] as boolean) : (arch.tied?.defaultTied ?? false),
  };
  const rotaryFactor = partialRotaryFactor(cfg, file);
  if (rotaryFactor !== undefined) {
    // the converter's Phi-3 formula: int(factor · hidden) // heads (not factor · head_dim)
    const dims = Math.floor(Math.floor(rotaryFactor * hiddenSize) / numHeads);
    if (dims !== hp.headDim) hp.rotaryDim = dims;
  }
  if (arch.longRope) hp.originalContextLength = int("original_max_position_embeddings", 4096);
  const rope = readRopeScaling(arch, cfg, file, hp);
  if (rope.theta !== undefined) hp.ropeTheta = rope.theta;
  if (rope.scaling) hp.ropeScaling = rope.scaling;
  if (rope.scaling?.type === "llama3") {
    const s = rope.scaling;
    hp.ropeFreqFactors = llama3RopeFactors(hp.headDim, hp.ropeTheta, { factor: s.factor, lowFreqFactor: s.lowFreqFactor!, highFreqFactor: s.highFreqFactor!, originalContext: s.originalContext! });
  }
  if (typeof cfg.head_dim === "number") hp.headDimInConfig = true;
  const layerTypes = hfLayerTypes(arch, cfg, hp.numLayers, file);
  if (layerTypes) hp.layerTypes = layerTypes;
  if (arch.slidingWindow && layerTypes?.includes("sliding_attention")) hp.slidingWindow = int("sliding_window");
  const extras: [keyof HParams, string][] = [
    ["attnLogitSoftcap", "attn_logit_softcapping"], ["finalLogitSoftcap", "final_logit_softcapping"],
    ["queryPreAttnScalar", "query_pre_attn_scalar"], ["ropeLocalTheta", "rope_local_base_freq"],
  ];
  for (const [k, key] of extras) {
    const v = optional(key);
    if (v !== undefined) (hp as unknown as Record<string, number>)[k] = v;
  }
  return hp;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** partial_rotary_factor at the top level or inside rope_parameters/rope_scaling, in (0, 1]. */
function partialRotaryFactor(cfg: Record<string, unknown>, file: string): number | undefined {
  const rope = isObject(cfg.rope_parameters) ? cfg.rope_parameters : isObject(cfg.rope_scaling) ? cfg.rope_scaling : {};
  const v = rope.partial_rotary_factor ?? cfg.partial_rotary_factor;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !(v > 0 && v <= 1)) {
    throw new FormatError("config.field", "partial_rotary_factor must be a number in (0, 1]", { file, field: "partial_rotary_factor", expected: "a number in (0, 1]", actual: JSON.stringify(v) });
  }
  return v;
}

/** rope_parameters ?? rope_scaling, read as the converter's TextModel does (theta may live inside). */
function readRopeScaling(arch: Architecture, config: Record<string, unknown>, file: string, hp: HParams): { theta?: number; scaling?: RopeScalingParams } {
  const raw = config.rope_parameters ?? config.rope_scaling;
  if (raw === null || raw === undefined) return {};
  const field = config.rope_parameters !== undefined && config.rope_parameters !== null ? "rope_parameters" : "rope_scaling";
  if (typeof raw !== "object" || Array.isArray(raw)) throw new FormatError("config.rope", `${field} must be an object`, { file, field, expected: "an object", actual: JSON.stringify(raw) });
  const r = raw as Record<string, unknown>;
  const num = (key: string, fallback?: number): number | undefined => {
    const v = r[key] ?? fallback;
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new FormatError("config.rope", `${field}.${key} must be a positive number`, { file, field: `${field}.${key}`, expected: "a positive number", actual: JSON.stringify(v) });
    }
    return v;
  };
  const theta = num("rope_theta");
  const type = String(r.rope_type ?? r.type ?? "default");
  const base = theta === undefined ? {} : { theta };
  if (type === "default") return base;
  if (arch.longRope) {
    if (type !== "longrope" && type !== "su") {
      throw new FormatError("config.rope", `unsupported rope scaling ${JSON.stringify(type)}`, {
        file, field: `${field}.rope_type`, expected: "longrope, su or default", actual: type, hint: `llama.cpp's converter writes only LongRoPE scaling for ${arch.name}`,
      });
    }
    return { ...base, ...longRope(r, field, file, hp) };
  }
  if (type.toLowerCase() === "llama3") {
    const scaling: RopeScalingParams = {
      type: "llama3", factor: num("factor", 8)!, lowFreqFactor: num("low_freq_factor", 1)!, highFreqFactor: num("high_freq_factor", 4)!,
      originalContext: num("original_max_position_embeddings", typeof config.original_max_position_embeddings === "number" ? config.original_max_position_embeddings : 8192)!,
    };
    return { ...base, scaling };
  }
  if (type === "linear" || type === "yarn") {
    const scaling: RopeScalingParams = { type, factor: num("factor", 1)! };
    const orig = num("original_max_position_embeddings", typeof config.original_max_position_embeddings === "number" ? config.original_max_position_embeddings : undefined);
    if (orig !== undefined) scaling.originalContext = orig;
    if (type === "yarn") {
      if (orig === undefined) {
        throw new FormatError("config.rope", "yarn scaling needs original_max_position_embeddings", { file, field: `${field}.original_max_position_embeddings`, expected: "a positive integer", actual: "missing" });
      }
      const extra: [keyof RopeScalingParams, number | undefined][] = [
        ["attentionFactor", num("attention_factor") ?? num("attn_factor")], ["betaFast", num("beta_fast")], ["betaSlow", num("beta_slow")], ["extrapolationFactor", num("extrapolation_factor")],
      ];
      for (const [k, v] of extra) if (v !== undefined) (scaling as unknown as Record<string, number>)[k] = v;
    }
    return { ...base, scaling };
  }
  throw new FormatError("config.rope", `unsupported rope scaling ${JSON.stringify(type)}`, {
    file, field: `${field}.rope_type`, expected: "linear, yarn, llama3 or default", actual: type,
    hint: "dusk converts the rope scalings llama.cpp supports for this family",
  });
}

/**
 * LongRoPE (Phi-3 128k): short/long factor lists of rotaryDim/2 entries each, and the attention
 * factor the converter writes: √(1 + ln s / ln original) for s = context / original > 1, else 1.
 * Without long_factor the converter writes nothing, and neither does dusk.
 */
function longRope(r: Record<string, unknown>, field: string, file: string, hp: HParams): { scaling?: RopeScalingParams } {
  const list = (key: string): number[] | undefined => {
    const v = r[key];
    if (v === undefined || v === null) return undefined;
    const half = (hp.rotaryDim ?? hp.headDim) / 2;
    if (!Array.isArray(v) || v.length !== half || v.some((x) => typeof x !== "number" || !Number.isFinite(x) || x <= 0)) {
      throw new FormatError("config.rope", `${field}.${key} must list ${half} positive factors (rotary dimensions / 2)`, {
        file, field: `${field}.${key}`, expected: `${half} positive numbers`, actual: Array.isArray(v) ? `${v.length} entries` : JSON.stringify(v),
      });
    }
    return v as number[];
  };
  const longFactor = list("long_factor");
  if (!longFactor || longFactor.length === 0) return {};
  const shortFactor = list("short_factor");
  if (!shortFactor) {
    throw new FormatError("config.rope", `${field} has long_factor but no short_factor`, { file, field: `${field}.short_factor`, expected: "a list of factors", actual: "missing" });
  }
  const orig = typeof r.original_max_position_embeddings === "number" ? r.original_max_position_embeddings : hp.originalContextLength!;
  const scale = hp.contextLength / orig;
  const attentionFactor = scale > 1 ? Math.sqrt(1 + Math.log(scale) / Math.log(orig)) : 1;
  return { scaling: { type: "longrope", factor: scale, originalContext: orig, attentionFactor, shortFactor, longFactor } };
}

export { readGgufHParams } from "./hparams-gguf.js";
