// The model hyperparameter keys llama.cpp's converter writes for Llama-family models, read from
// HParams: `<arch>.block_count`, dims, heads, rope and norm settings, file type.

import type { Architecture } from "../arch/architecture.js";
import type { HParams } from "../arch/hparams.js";
import { RecipeError } from "../errors.js";
import { ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { parseQuantFtype, QUANT_FTYPES } from "../quant/ftypes.js";

/** The converter's own output types (convert_hf_to_gguf.py's --outtype), every 2-D weight alike. */
export type ConverterType = "f32" | "f16" | "bf16" | "q8_0" | "q4_0";
/**
 * Output types: the converter's, or one of llama-quantize's mixes (q4_k_m, q6_k, iq4_xs, …),
 * which convert through f32 and quantize each tensor with the type llama.cpp's mix gives it.
 */
export type ConvertType = ConverterType | `mix:${string}`;
const CONVERTER_TYPES: readonly ConverterType[] = ["f32", "f16", "bf16", "q8_0", "q4_0"];
/** What --type accepts: the converter's types, then llama-quantize's mixes (lower case). */
export const CONVERT_TYPES: readonly string[] = [...CONVERTER_TYPES, ...QUANT_FTYPES.map((f) => f.name.toLowerCase()).filter((n) => !(CONVERTER_TYPES as readonly string[]).includes(n))];

/** llama.cpp LLAMA_FTYPE_* for the converter's output types */
const CONVERTER_FILE_TYPE: Record<ConverterType, number> = { f32: 0, f16: 1, q4_0: 2, q8_0: 7, bf16: 32 };

export function convertFileType(t: ConvertType): number {
  return isMixType(t) ? parseQuantFtype(t.slice(4)).id : CONVERTER_FILE_TYPE[t];
}

export function isMixType(t: ConvertType): t is `mix:${string}` {
  return t.startsWith("mix:");
}

export function parseConvertType(s: string): ConvertType {
  const t = s.toLowerCase();
  if ((CONVERTER_TYPES as readonly string[]).includes(t)) return t as ConverterType;
  try {
    return `mix:${parseQuantFtype(t).name}`;
  } catch {
    throw new RecipeError("convert.type", `unknown GGUF output type ${JSON.stringify(s)}`, { path: "--type", hint: `use one of ${CONVERT_TYPES.join(", ")}` });
  }
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
  kv.set("general.file_type", ggufValue.u32(convertFileType(outType)));
  if (arch.converter?.vocabAndRopeDimKeys) {
    kv.set(`${a}.vocab_size`, ggufValue.u32(hp.vocabSize));
    kv.set(`${a}.rope.dimension_count`, ggufValue.u32(hp.headDim));
  }
  // the converter writes it for every output type, quantized or not
  kv.set("general.quantization_version", ggufValue.u32(2));
  return kv;
}
