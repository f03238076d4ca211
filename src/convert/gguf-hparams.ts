// The model hyperparameter keys llama.cpp's converter writes for Llama-family models, read from
// HParams: `<arch>.block_count`, dims, heads, rope and norm settings, file type.

import type { Architecture } from "../arch/architecture.js";
import type { HParams } from "../arch/hparams.js";
import { RecipeError } from "../errors.js";
import { ggufValue, type GgufKv } from "../formats/gguf-value.js";

/** llama.cpp LLAMA_FTYPE_* for whole-model output types */
export const GGUF_FILE_TYPE: Record<ConvertType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };
export type ConvertType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0";
export const CONVERT_TYPES: readonly ConvertType[] = ["f32", "f16", "bf16", "q8_0", "q4_0"];

export function parseConvertType(s: string): ConvertType {
  const t = s.toLowerCase() as ConvertType;
  if (!CONVERT_TYPES.includes(t)) {
    throw new RecipeError("convert.type", `unknown GGUF output type ${JSON.stringify(s)}`, { path: "--type", hint: `use one of ${CONVERT_TYPES.join(", ")}` });
  }
  return t;
}

/**
 * The architecture keys, in the order llama.cpp's converter writes them (docs/convert.md lists
 * each and where dusk differs). llama3 rope scaling writes no key: it is the rope_freqs tensor.
 */
export function hparamsKv(arch: Architecture, hp: HParams, name: string, outType: ConvertType): GgufKv {
  const a = arch.ggufArchitectures[0]!;
  const kv: GgufKv = new Map();
  kv.set("general.architecture", ggufValue.string(a));
  kv.set("general.type", ggufValue.string("model"));
  kv.set("general.name", ggufValue.string(name));
  kv.set(`${a}.block_count`, ggufValue.u32(hp.numLayers));
  kv.set(`${a}.context_length`, ggufValue.u32(hp.contextLength));
  kv.set(`${a}.embedding_length`, ggufValue.u32(hp.hiddenSize));
  kv.set(`${a}.feed_forward_length`, ggufValue.u32(hp.intermediateSize));
  kv.set(`${a}.attention.head_count`, ggufValue.u32(hp.numHeads));
  kv.set(`${a}.attention.head_count_kv`, ggufValue.u32(hp.numKvHeads));
  const rs = hp.ropeScaling;
  if (rs && rs.type !== "llama3") {
    kv.set(`${a}.rope.scaling.type`, ggufValue.string(rs.type));
    kv.set(`${a}.rope.scaling.factor`, ggufValue.f32(rs.factor));
    if (rs.type === "yarn") {
      kv.set(`${a}.rope.scaling.original_context_length`, ggufValue.u32(rs.originalContext!));
      if (rs.extrapolationFactor !== undefined) kv.set(`${a}.rope.scaling.yarn_ext_factor`, ggufValue.f32(rs.extrapolationFactor));
      if (rs.attentionFactor !== undefined) kv.set(`${a}.rope.scaling.yarn_attn_factor`, ggufValue.f32(rs.attentionFactor));
      if (rs.betaFast !== undefined) kv.set(`${a}.rope.scaling.yarn_beta_fast`, ggufValue.f32(rs.betaFast));
      if (rs.betaSlow !== undefined) kv.set(`${a}.rope.scaling.yarn_beta_slow`, ggufValue.f32(rs.betaSlow));
    }
  }
  kv.set(`${a}.rope.freq_base`, ggufValue.f32(hp.ropeTheta));
  kv.set(`${a}.attention.layer_norm_rms_epsilon`, ggufValue.f32(hp.rmsNormEps));
  if (hp.headDimInConfig || hp.headDim !== hp.hiddenSize / hp.numHeads) {
    kv.set(`${a}.attention.key_length`, ggufValue.u32(hp.headDim));
    kv.set(`${a}.attention.value_length`, ggufValue.u32(hp.headDim));
  }
  kv.set("general.file_type", ggufValue.u32(GGUF_FILE_TYPE[outType]));
  if (arch.converter?.vocabAndRopeDimKeys) {
    kv.set(`${a}.vocab_size`, ggufValue.u32(hp.vocabSize));
    kv.set(`${a}.rope.dimension_count`, ggufValue.u32(hp.headDim));
  }
  // the converter writes it for every output type, quantized or not
  kv.set("general.quantization_version", ggufValue.u32(2));
  return kv;
}
