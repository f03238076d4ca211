// Model hyperparameters of a Llama-family checkpoint, read from an HF config.json or from GGUF
// metadata, with every value checked: the converter and the engine both start from these.

import { FormatError } from "../errors.js";
import { ggufGetNumber, ggufGetString, type GgufKv } from "../formats/gguf-value.js";
import type { Architecture } from "./architecture.js";

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
  ropeScaling?: { type: string; factor: number; originalContext?: number };
  tied: boolean;
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
  const rs = config.rope_scaling;
  if (rs !== null && rs !== undefined) {
    if (typeof rs !== "object" || Array.isArray(rs)) throw new FormatError("config.rope", "rope_scaling must be an object", { file, field: "rope_scaling" });
    const r = rs as Record<string, unknown>;
    const type = String(r.rope_type ?? r.type ?? "");
    const factor = Number(r.factor ?? 1);
    if (!["linear", "yarn", "llama3", "default"].includes(type) || !(factor > 0)) {
      throw new FormatError("config.rope", `unsupported rope scaling ${JSON.stringify(type)}`, {
        file, field: "rope_scaling.type", expected: "linear, yarn, llama3 or none", actual: type || "missing",
        hint: "dusk converts the rope scalings llama.cpp supports for this family",
      });
    }
    if (type !== "default") hp.ropeScaling = { type, factor, ...(typeof r.original_max_position_embeddings === "number" ? { originalContext: r.original_max_position_embeddings } : {}) };
  }
  return hp;
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
  if (scaling && scaling !== "none") hp.ropeScaling = { type: scaling, factor: num("rope.scaling.factor", 1) };
  return hp;
}
