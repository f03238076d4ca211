// The model hyperparameter keys llama.cpp's converter writes for Llama-family models, read from
// HParams: `<arch>.block_count`, dims, heads, rope and norm settings, file type.

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

/** The architecture keys, in the order llama.cpp's converter writes them. */
export function hparamsKv(ggufArch: string, hp: HParams, name: string, outType: ConvertType): GgufKv {
  const a = ggufArch;
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
  kv.set(`${a}.rope.freq_base`, ggufValue.f32(hp.ropeTheta));
  kv.set(`${a}.attention.layer_norm_rms_epsilon`, ggufValue.f32(hp.rmsNormEps));
  if (hp.headDim !== hp.hiddenSize / hp.numHeads) {
    kv.set(`${a}.attention.key_length`, ggufValue.u32(hp.headDim));
    kv.set(`${a}.attention.value_length`, ggufValue.u32(hp.headDim));
  }
  kv.set(`${a}.rope.dimension_count`, ggufValue.u32(hp.headDim));
  if (hp.ropeScaling) {
    kv.set(`${a}.rope.scaling.type`, ggufValue.string(hp.ropeScaling.type === "llama3" ? "none" : hp.ropeScaling.type));
    if (hp.ropeScaling.type !== "llama3") kv.set(`${a}.rope.scaling.factor`, ggufValue.f32(hp.ropeScaling.factor));
    if (hp.ropeScaling.originalContext !== undefined) kv.set(`${a}.rope.scaling.original_context_length`, ggufValue.u32(hp.ropeScaling.originalContext));
  }
  kv.set("general.file_type", ggufValue.u32(GGUF_FILE_TYPE[outType]));
  kv.set(`${a}.vocab_size`, ggufValue.u32(hp.vocabSize));
  if (outType === "q8_0" || outType === "q4_0") kv.set("general.quantization_version", ggufValue.u32(2));
  return kv;
}
