// Sampling options for generation: the llama.cpp sampler knobs as one plain value, their allowed
// ranges, and validation that names the option, the value and the range. Not the presets (see
// presets.ts) and not the sampler itself (llama.cpp runs it).

import { RuntimeError } from "../errors.js";

/** What `llama.cpp` samples with. "Off" values: topK 0, topP 1, minP 0, repeatPenalty 1, penalties 0. */
export interface Sampling {
  /** 0 = greedy (argmax); higher = flatter distribution */
  temperature: number;
  /** keep the k most likely tokens; 0 = off */
  topK: number;
  /** keep the smallest set whose probability reaches p; 1 = off */
  topP: number;
  /** drop tokens below minP × the top token's probability; 0 = off */
  minP: number;
  /** divide the logits of recently seen tokens by this; 1 = off */
  repeatPenalty: number;
  /** how many recent tokens (prompt included, as in llama.cpp) the three penalties look at; 0 = off */
  repeatLastN: number;
  /** subtract this from the logit of every recently seen token (OpenAI style); 0 = off */
  presencePenalty: number;
  /** subtract count × this from the logit of each recently seen token; 0 = off */
  frequencyPenalty: number;
}

/** How one generation ends; separate from Sampling because it is not about the distribution. */
export interface GenerationLimits {
  /** generate at most this many tokens */
  maxTokens: number;
  /** stop before the first occurrence of any of these (the stop text is not returned) */
  stop: readonly string[];
  /** RNG seed; the same seed, model, prompt and sampling give the same text */
  seed: number;
}

interface Range {
  min: number;
  max: number;
  minOpen?: boolean;
  integer?: boolean;
  meaning: string;
}

/** Allowed ranges, shown in errors and in `dusk presets`. */
export const SAMPLING_RANGES: Record<keyof Sampling | "maxTokens" | "seed", Range> = {
  temperature: { min: 0, max: 100, meaning: "0 = greedy" },
  topK: { min: 0, max: 1_000_000, integer: true, meaning: "0 = off" },
  topP: { min: 0, max: 1, minOpen: true, meaning: "1 = off" },
  minP: { min: 0, max: 1, meaning: "0 = off" },
  repeatPenalty: { min: 0, max: 10, minOpen: true, meaning: "1 = off" },
  repeatLastN: { min: 0, max: 65_536, integer: true, meaning: "0 = off" },
  presencePenalty: { min: -2, max: 2, meaning: "0 = off" },
  frequencyPenalty: { min: -2, max: 2, meaning: "0 = off" },
  maxTokens: { min: 1, max: 1_048_576, integer: true, meaning: "tokens to generate" },
  seed: { min: 0, max: 2 ** 32 - 1, integer: true, meaning: "any 32-bit unsigned integer" },
};

/** Kebab-case CLI flag names, so errors can name what the user typed. */
export const SAMPLING_FLAGS: Record<keyof typeof SAMPLING_RANGES, string> = {
  temperature: "temperature",
  topK: "top-k",
  topP: "top-p",
  minP: "min-p",
  repeatPenalty: "repeat-penalty",
  repeatLastN: "repeat-last-n",
  presencePenalty: "presence-penalty",
  frequencyPenalty: "frequency-penalty",
  maxTokens: "max-tokens",
  seed: "seed",
};

/** Stop strings: bounded so a config file cannot make every token scan megabytes. */
export const STOP_LIMITS = { count: 64, length: 1024 } as const;

export function describeRange(r: Range): string {
  const lo = r.minOpen ? "(" : "[";
  const kind = r.integer ? "an integer in " : "";
  return `${kind}${lo}${r.min}, ${r.max}] (${r.meaning})`;
}

/** Throws a RuntimeError naming `name`, `value` and the allowed range when `value` is outside it. */
export function checkSamplingValue(name: keyof typeof SAMPLING_RANGES, value: unknown, source = "sampling"): number {
  const r = SAMPLING_RANGES[name];
  const ok =
    typeof value === "number" &&
    Number.isFinite(value) &&
    (r.minOpen ? value > r.min : value >= r.min) &&
    value <= r.max &&
    (!r.integer || Number.isInteger(value));
  if (!ok) {
    throw new RuntimeError("runtime.sampling", `${source}: ${name} (--${SAMPLING_FLAGS[name]}) is ${formatValue(value)}, allowed ${describeRange(r)}`, {
      hint: `give ${name} a value in ${describeRange(r)}`,
    });
  }
  return value;
}

function formatValue(v: unknown): string {
  return typeof v === "number" ? String(v) : JSON.stringify(v) ?? String(v);
}

/** Checks every field; returns the same value so it can wrap a literal. */
export function validateSampling(s: Sampling, source = "sampling"): Sampling {
  for (const key of Object.keys(s) as (keyof Sampling)[]) {
    if (!(key in SAMPLING_RANGES)) continue;
    checkSamplingValue(key, s[key], source);
  }
  return s;
}

export function validateLimits(l: GenerationLimits, source = "generation"): GenerationLimits {
  checkSamplingValue("maxTokens", l.maxTokens, source);
  checkSamplingValue("seed", l.seed, source);
  if (l.stop.length > STOP_LIMITS.count) {
    throw new RuntimeError("runtime.stop", `${source}: ${l.stop.length} stop strings, at most ${STOP_LIMITS.count}`, { hint: "give fewer --stop strings" });
  }
  for (const [i, s] of l.stop.entries()) {
    if (typeof s !== "string" || s.length === 0 || s.length > STOP_LIMITS.length) {
      throw new RuntimeError("runtime.stop", `${source}: stop[${i}] is ${JSON.stringify(s)}, expected a non-empty string of at most ${STOP_LIMITS.length} characters`, {
        hint: "each --stop needs some text",
      });
    }
  }
  return l;
}

/** A fresh 32-bit seed when the user gave none (reported back so the run can be repeated). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 32);
}
