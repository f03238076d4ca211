// The file types `dusk quantize --type` offers: llama.cpp's llama_ftype names and ids (what goes
// into general.file_type) and the tensor type each starts every quantizable tensor from before
// the mix rules (mix.ts) adjust it. Q4_K, Q5_K and Q3_K are llama-quantize's aliases for _M.

import { QuantError } from "./quant-error.js";

export interface QuantFtype {
  /** llama-quantize's name, e.g. Q4_K_M */
  name: string;
  /** LLAMA_FTYPE_* (general.file_type) */
  id: number;
  /** the ggml type before the mix rules */
  defaultType: string;
  /** llama-quantize's one-line description */
  about: string;
}

const F = (name: string, id: number, defaultType: string, about: string): QuantFtype => ({ name, id, defaultType, about });

export const QUANT_FTYPES: readonly QuantFtype[] = [
  F("Q4_0", 2, "Q4_0", "4.34G, +0.4685 ppl @ Llama-3-8B"),
  F("Q4_1", 3, "Q4_1", "4.78G, +0.4511 ppl @ Llama-3-8B"),
  F("Q5_0", 8, "Q5_0", "5.21G, +0.1316 ppl @ Llama-3-8B"),
  F("Q5_1", 9, "Q5_1", "5.65G, +0.1062 ppl @ Llama-3-8B"),
  F("Q2_K", 10, "Q2_K", "2.96G, +3.5199 ppl @ Llama-3-8B"),
  F("Q2_K_S", 21, "Q2_K", "2.96G, +3.1836 ppl @ Llama-3-8B (needs an imatrix)"),
  F("Q3_K_S", 11, "Q3_K", "3.41G, +1.6321 ppl @ Llama-3-8B"),
  F("Q3_K_M", 12, "Q3_K", "3.74G, +0.6569 ppl @ Llama-3-8B"),
  F("Q3_K_L", 13, "Q3_K", "4.03G, +0.5562 ppl @ Llama-3-8B"),
  F("IQ4_NL", 25, "IQ4_NL", "4.50 bpw non-linear quantization"),
  F("IQ4_XS", 30, "IQ4_XS", "4.25 bpw non-linear quantization"),
  F("Q4_K_S", 14, "Q4_K", "4.37G, +0.2689 ppl @ Llama-3-8B"),
  F("Q4_K_M", 15, "Q4_K", "4.58G, +0.1754 ppl @ Llama-3-8B"),
  F("Q5_K_S", 16, "Q5_K", "5.21G, +0.1049 ppl @ Llama-3-8B"),
  F("Q5_K_M", 17, "Q5_K", "5.33G, +0.0569 ppl @ Llama-3-8B"),
  F("Q6_K", 18, "Q6_K", "6.14G, +0.0217 ppl @ Llama-3-8B"),
  F("Q8_0", 7, "Q8_0", "7.96G, +0.0026 ppl @ Llama-3-8B"),
  F("F16", 1, "F16", "14.00G, +0.0020 ppl @ Mistral-7B"),
  F("BF16", 32, "BF16", "14.00G, -0.0050 ppl @ Mistral-7B"),
  F("F32", 0, "F32", "26.00G @ 7B"),
];

const ALIASES: Readonly<Record<string, string>> = { Q3_K: "Q3_K_M", Q4_K: "Q4_K_M", Q5_K: "Q5_K_M" };

/** `--type` text (any case; Q4_K etc. as aliases) → the file type, or a typed error listing them. */
export function parseQuantFtype(text: string): QuantFtype {
  const up = text.trim().toUpperCase();
  const name = ALIASES[up] ?? up;
  const f = QUANT_FTYPES.find((t) => t.name === name);
  if (f === undefined) {
    throw new QuantError("QUANT_UNKNOWN_TYPE", `unknown quantization type "${text}"`, {
      hint: `dusk quantizes to ${QUANT_FTYPES.map((t) => t.name).join(", ")} (Q3_K, Q4_K, Q5_K mean the _M mixes)`,
    });
  }
  return f;
}

/** The file type recorded as general.file_type `id`, if dusk writes it. */
export function ftypeOfId(id: number): QuantFtype | undefined {
  return QUANT_FTYPES.find((t) => t.id === id);
}
