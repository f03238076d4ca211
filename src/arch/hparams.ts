// Model hyperparameters of a Llama-family checkpoint, read from an HF config.json or from GGUF
// metadata, with every value checked: the converter and the engine both start from these.

import { FormatError } from "../errors.js";
import { ggufGetNumber, ggufGetString, type GgufKv } from "../formats/gguf-value.js";
import type { Architecture } from "./architecture.js";
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
}

/**
 * HF `rope_scaling` (or transformers 5's `rope_parameters`) as llama.cpp's converter reads it.
 * llama3 never becomes a GGUF scaling type: it is the `rope_freqs.weight` tensor instead.
 */
export interface RopeScalingParams {
  type: "linear" | "yarn" | "llama3";
  factor: number;
  /** original_max_position_embeddings (llama3 default 8192, as the converter) */
  originalContext?: number;
  /** llama3 (defaults 1 and 4) */
  lowFreqFactor?: number;
  highFreqFactor?: number;
  /** yarn, written only when the config has them */
  attentionFactor?: number;
  betaFast?: number;
  betaSlow?: number;
  extrapolationFactor?: number;
}

export function readHParams(arch: Architecture, config: Record<string, unknown>, file: string): HParams {
  const int = (key: string, fallback?: number): number => {
    const v = config[key] ?? fallback;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      throw new FormatError("config.field", `config field ${key} must be a positive integer`, { file, field: key, expected: "a positive integer", actual: JSON.stringify(v) ?? "missing" });
    }
    return v;
  };
  const float = (key: string, fallback: number): number => {
    const v = config[key] ?? fallback;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
      throw new FormatError("config.field", `config field ${key} must be a positive number`, { file, field: key, expected: "a positive number", actual: JSON.stringify(v) });
    }
    return v;
  };
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
    tied: typeof config[arch.tied?.hfConfigKey ?? ""] === "boolean" ? (config[arch.tied!.hfConfigKey] as boolean) : (arch.tied?.defaultTied ?? false),
  };
  const rope = readRopeScaling(config, file);
  if (rope.theta !== undefined) hp.ropeTheta = rope.theta;
  if (rope.scaling) hp.ropeScaling = rope.scaling;
  if (rope.scaling?.type === "llama3") {
    const s = rope.scaling;
    hp.ropeFreqFactors = llama3RopeFactors(hp.headDim, hp.ropeTheta, { factor: s.factor, lowFreqFactor: s.lowFreqFactor!, highFreqFactor: s.highFreqFactor!, originalContext: s.originalContext! });
  }
  if (typeof config.head_dim === "number") hp.headDimInConfig = true;
  return hp;
}

/** rope_parameters ?? rope_scaling, read as the converter's TextModel does (theta may live inside). */
function readRopeScaling(config: Record<string, unknown>, file: string): { theta?: number; scaling?: RopeScalingParams } {
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

/** The same from GGUF metadata (`<arch>.*` keys written by llama.cpp's converter or dusk). */
export function readGgufHParams(arch: Architecture, kv: GgufKv, file: string): HParams {
  const a = ggufGetString(kv, "general.architecture", file) ?? arch.ggufArchitectures[0]!;
  const num = (key: string, fallback?: number): number => {
    const v = ggufGetNumber(kv, `${a}.${key}`, file) ?? fallback;
    if (v === undefined || !Number.isFinite(v) || v <= 0) {
      throw new FormatError("gguf.hparam", `metadata ${a}.${key} must be a positive number`, { file, field: `${a}.${key}`, actual: String(v ?? "missing") });
    }
    return v;
  };
  const numHeads = num("attention.head_count");
  const hiddenSize = num("embedding_length");
  const tokens = kv.get("tokenizer.ggml.tokens");
  const hp: HParams = {
    vocabSize: ggufGetNumber(kv, `${a}.vocab_size`, file) ?? (tokens?.type === 9 ? tokens.items.length : num("vocab_size")),
    hiddenSize,
    intermediateSize: num("feed_forward_length"),
    numLayers: num("block_count"),
    numHeads,
    numKvHeads: num("attention.head_count_kv", numHeads),
    headDim: num("attention.key_length", hiddenSize / numHeads),
    contextLength: num("context_length", 4096),
    rmsNormEps: num("attention.layer_norm_rms_epsilon", 1e-5),
    ropeTheta: num("rope.freq_base", 10000),
    tied: false,
  };
  const scaling = ggufGetString(kv, `${a}.rope.scaling.type`, file);
  if (scaling === "linear" || scaling === "yarn") {
    const s: RopeScalingParams = { type: scaling, factor: num("rope.scaling.factor", 1) };
    const opt: [keyof RopeScalingParams, string][] = [
      ["originalContext", "rope.scaling.original_context_length"], ["attentionFactor", "rope.scaling.yarn_attn_factor"],
      ["betaFast", "rope.scaling.yarn_beta_fast"], ["betaSlow", "rope.scaling.yarn_beta_slow"], ["extrapolationFactor", "rope.scaling.yarn_ext_factor"],
    ];
    for (const [k, key] of opt) {
      const v = ggufGetNumber(kv, `${a}.${key}`, file);
      if (v !== undefined) (s as unknown as Record<string, number>)[k] = v;
    }
    hp.ropeScaling = s;
  } else if (scaling && scaling !== "none") {
    throw new FormatError("gguf.hparam", `unsupported rope scaling ${JSON.stringify(scaling)}`, { file, field: `${a}.rope.scaling.type`, expected: "none, linear or yarn", actual: scaling });
  }
  return hp;
}
