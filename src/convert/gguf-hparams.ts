// The model hyperparameter keys llama.cpp's converter writes, family by family in its classes'
// order (the family table lists them), read from HParams: dims, heads, rope, norms, windows, caps.

import type { Architecture } from "../arch/architecture.js";
import type { HParams } from "../arch/hparams.js";
import { ggufLayerTypes, llamaCppPeriodFor } from "../arch/layer-types.js";
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
 * The model keys of `arch.converter.keys`, in that order (docs/convert.md lists each and where
 * dusk differs), then general.quantization_version. `cfg` is the (text) config, for the two keys
 * the converter reads raw: Gemma 3's sliding_window (skipped when sliding_window_pattern is 1) and
 * Phi-3's (0 when null). llama3 rope scaling writes no key: it is the rope_freqs tensor.
 */
export function hparamsKv(arch: Architecture, hp: HParams, name: string, outType: ConvertType, cfg: Record<string, unknown> = {}): GgufKv {
  const a = arch.ggufArchitectures[0]!;
  const kv: GgufKv = new Map();
  const u32 = (key: string, v: number | undefined) => v !== undefined && kv.set(`${a}.${key}`, ggufValue.u32(v));
  const f32 = (key: string, v: number | undefined) => v !== undefined && kv.set(`${a}.${key}`, ggufValue.f32(v));
  const window = typeof cfg.sliding_window === "number" && cfg.sliding_window > 0 ? cfg.sliding_window : undefined;
  kv.set("general.architecture", ggufValue.string(a));
  for (const key of arch.converter.keys) {
    switch (key) {
      case "general":
        kv.set("general.type", ggufValue.string("model"));
        kv.set("general.name", ggufValue.string(name));
        break;
      case "block_count": u32(key, hp.numLayers); break;
      case "context_length": u32(key, hp.contextLength); break;
      case "embedding_length": u32(key, hp.hiddenSize); break;
      case "feed_forward_length": u32(key, hp.intermediateSize); break;
      case "attention.head_count": u32(key, hp.numHeads); break;
      case "attention.head_count_kv": u32(key, hp.numKvHeads); break;
      case "rope.scaling": ropeScalingKeys(kv, a, hp); break;
      case "rope.freq_base": f32(key, hp.ropeTheta); break;
      case "rope.freq_base_swa": f32(key, hp.ropeLocalTheta); break;
      case "attention.layer_norm_rms_epsilon": f32(key, hp.rmsNormEps); break;
      case "attention.key_value_length":
        if (hp.headDimInConfig || hp.headDim !== hp.hiddenSize / hp.numHeads) {
          u32("attention.key_length", hp.headDim);
          u32("attention.value_length", hp.headDim);
        }
        break;
      case "file_type": kv.set("general.file_type", ggufValue.u32(convertFileType(outType))); break;
      case "vocab_size": u32(key, hp.vocabSize); break;
      case "rope.dimension_count": u32(key, hp.rotaryDim ?? hp.headDim); break;
      case "attn_logit_softcapping": f32(key, hp.attnLogitSoftcap); break;
      case "final_logit_softcapping": f32(key, hp.finalLogitSoftcap); break;
      case "attention.sliding_window": if (cfg.sliding_window_pattern !== 1) u32(key, window); break;
      case "attention.sliding_window_or_0": u32("attention.sliding_window", window ?? 0); break;
      case "rope.scaling.original_context_length": u32(key, hp.originalContextLength); break;
      case "rope.scaling.attn_factor": if (hp.ropeScaling?.type === "longrope") f32(key, hp.ropeScaling.attentionFactor); break;
    }
  }
  stackPeriodKey(kv, a, arch, hp);
  // the converter writes it for every output type, quantized or not
  kv.set("general.quantization_version", ggufValue.u32(2));
  return kv;
}

/**
 * dusk's addition for stacks: llama.cpp slides by position, so when the layers' trained kinds
 * (config layer_types) differ from what the family's period gives but follow another period, that
 * period is written (`<arch>.attention.sliding_window_pattern`) and llama.cpp computes the trained
 * kinds. An unstacked checkpoint's kinds follow the default: nothing is written, as the reference.
 */
function stackPeriodKey(kv: GgufKv, a: string, arch: Architecture, hp: HParams): void {
  if (arch.slidingWindow?.ggufPeriod === undefined || !hp.layerTypes) return;
  const window = kv.get(`${a}.attention.sliding_window`);
  const computed = ggufLayerTypes(arch, hp.numLayers, undefined, window?.type === 4 ? window.value : undefined);
  if (!computed || computed.every((k, i) => k === hp.layerTypes![i])) return;
  const p = llamaCppPeriodFor(hp.layerTypes);
  if (p !== undefined) kv.set(`${a}.attention.sliding_window_pattern`, ggufValue.u32(p));
}

/** TextModel's rope scaling keys: type and factor for linear and yarn, yarn's extras when set. */
function ropeScalingKeys(kv: GgufKv, a: string, hp: HParams): void {
  const rs = hp.ropeScaling;
  if (!rs || (rs.type !== "linear" && rs.type !== "yarn")) return;
  kv.set(`${a}.rope.scaling.type`, ggufValue.string(rs.type));
  kv.set(`${a}.rope.scaling.factor`, ggufValue.f32(rs.factor));
  if (rs.type !== "yarn") return;
  kv.set(`${a}.rope.scaling.original_context_length`, ggufValue.u32(rs.originalContext!));
  if (rs.extrapolationFactor !== undefined) kv.set(`${a}.rope.scaling.yarn_ext_factor`, ggufValue.f32(rs.extrapolationFactor));
  if (rs.attentionFactor !== undefined) kv.set(`${a}.rope.scaling.yarn_attn_factor`, ggufValue.f32(rs.attentionFactor));
  if (rs.betaFast !== undefined) kv.set(`${a}.rope.scaling.yarn_beta_fast`, ggufValue.f32(rs.betaFast));
  if (rs.betaSlow !== undefined) kv.set(`${a}.rope.scaling.yarn_beta_slow`, ggufValue.f32(rs.betaSlow));
}
