// HParams from GGUF metadata (`<arch>.*` keys written by llama.cpp's converter or dusk), read as
// llama.cpp reads them: its defaults for absent keys, and for the per-layer facts (which layers
// slide, the Gemma attention scale) what llama.cpp will compute, not what the model was trained
// with. Tensors that carry hyperparameters (rope_freqs, rope_factors_*) are read by the opener.

import { FormatError } from "../errors.js";
import { ggufGetNumber, ggufGetString, type GgufKv } from "../formats/gguf-value.js";
import type { Architecture } from "./architecture.js";
import type { HParams, RopeScalingParams } from "./hparams.js";
import { ggufLayerTypes } from "./layer-types.js";

export function readGgufHParams(arch: Architecture, kv: GgufKv, file: string): HParams {
  const a = ggufGetString(kv, "general.architecture", file) ?? arch.ggufArchitectures[0]!;
  const num = (key: string, fallback?: number): number => {
    const v = ggufGetNumber(kv, `${a}.${key}`, file) ?? fallback;
    if (v === undefined || !Number.isFinite(v) || v <= 0) {
      throw new FormatError("gguf.hparam", `metadata ${a}.${key} must be a positive number`, { file, field: `${a}.${key}`, actual: String(v ?? "missing") });
    }
    return v;
  };
  const optional = (key: string): number | undefined => {
    const v = ggufGetNumber(kv, `${a}.${key}`, file);
    return v === undefined ? undefined : num(key);
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
  const rotary = optional("rope.dimension_count");
  if (rotary !== undefined && rotary !== hp.headDim) hp.rotaryDim = rotary;
  if (arch.longRope) hp.originalContextLength = num("rope.scaling.original_context_length", hp.contextLength);
  // which layers slide: by position, as llama.cpp (a number-valued pattern key changes the period)
  // Phi-4's converter writes 0 ("no window"), as llama.cpp reads it
  const window = ggufGetNumber(kv, `${a}.attention.sliding_window`, file) === 0 ? undefined : optional("attention.sliding_window");
  const periodValue = kv.get(`${a}.attention.sliding_window_pattern`);
  const period = periodValue !== undefined && periodValue.type !== 9 ? ggufGetNumber(kv, `${a}.attention.sliding_window_pattern`, file) : undefined;
  const layerTypes = ggufLayerTypes(arch, hp.numLayers, period, window);
  if (layerTypes) hp.layerTypes = layerTypes;
  if (layerTypes?.includes("sliding_attention")) hp.slidingWindow = window ?? DEFAULT_GGUF_WINDOW[arch.ggufArchitectures[0]!] ?? 0;
  if (arch.forward.sandwichNorms) {
    // llama.cpp's Gemma 2/3 defaults: softcaps 50/30 for Gemma 2, none for Gemma 3 unless the key says
    const softcapped = arch.llamaCppScaleLayerCount === 46;
    const attnCap = optional("attn_logit_softcapping") ?? (softcapped ? 50 : undefined);
    const finalCap = optional("final_logit_softcapping") ?? (softcapped ? 30 : undefined);
    if (attnCap !== undefined && softcapped) hp.attnLogitSoftcap = attnCap;
    if (finalCap !== undefined) hp.finalLogitSoftcap = finalCap;
    hp.queryPreAttnScalar = llamaCppQueryPreAttnScalar(arch, hp);
    // Gemma 2 uses the global base everywhere; Gemma 3's sliding layers default to 10000
    if (arch.slidingWindow?.ggufNeedsWindowKey) hp.ropeLocalTheta = optional("rope.freq_base_swa") ?? 10000;
  }
  return hp;
}

/** llama.cpp's n_swa when the key is absent (Gemma 2's 4096); Gemma 3 slides only with the key. */
const DEFAULT_GGUF_WINDOW: Record<string, number> = { gemma2: 4096 };

/**
 * The attention scale llama.cpp uses for Gemma 2/3, as queryPreAttnScalar (scale = value^−0.5):
 * hidden/heads when the layer count is the 27B's (46 / 62), head_dim otherwise.
 */
export function llamaCppQueryPreAttnScalar(arch: Architecture, hp: Pick<HParams, "numLayers" | "hiddenSize" | "numHeads" | "headDim">): number {
  return arch.llamaCppScaleLayerCount !== undefined && hp.numLayers === arch.llamaCppScaleLayerCount ? Math.floor(hp.hiddenSize / hp.numHeads) : hp.headDim;
}
