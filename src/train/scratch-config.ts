// The YAML config of `dusk train` (a model from scratch): model dimensions, tokenizer size and the
// training settings, with HF key names or short aliases. Every problem is a TrainError naming
// file:line:col and the key, with what was expected and found.

import { isMap, isScalar, LineCounter, parseDocument, type Node } from "yaml";
import type { EngineConfig } from "../engine/index.js";
import type { Budget } from "./heal.js";
import { parseCount } from "./schedule.js";
import type { TrainSettings } from "./settings.js";
import { TrainError } from "./train-error.js";

export interface ScratchConfig {
  family: "llama" | "mistral";
  model: EngineConfig;
  budget: Budget;
  settings: Partial<TrainSettings>;
  /** std of the initial linear weights (residual outputs get std/√(2·layers)) */
  initStd: number;
}

/** key → aliases; the first name is the canonical one. */
const KEYS: Record<string, string[]> = {
  family: [], hidden_size: ["hidden"], intermediate_size: ["intermediate", "ffn"], num_hidden_layers: ["num_layers", "layers"],
  num_attention_heads: ["num_heads", "heads"], num_key_value_heads: ["num_kv_heads", "kv_heads"], vocab_size: ["vocab"],
  max_position_embeddings: ["max_positions"], rope_theta: [], rms_norm_eps: [], tie_word_embeddings: ["tied"],
  seq_len: [], batch: [], micro_batch: [], steps: [], tokens: [], lr: [], min_lr_ratio: [], warmup: [], weight_decay: [],
  beta1: [], beta2: [], clip: [], seed: [], holdout: [], eval_every: [], eval_sequences: [], save_every: [], init_std: [],
};

export function parseScratchConfig(text: string, file: string): ScratchConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, uniqueKeys: true });
  const at = (node: Node | null | undefined): string => {
    const off = node?.range?.[0];
    if (off === undefined) return file;
    const p = lines.linePos(off);
    return `${file}:${p.line}:${p.col}`;
  };
  const fail = (node: Node | null | undefined, key: string, expected: string, found: string, hint: string): never => {
    throw new TrainError("TRAIN_BAD_CONFIG", `${at(node)} ${key}: expected ${expected}, found ${found}`, { hint });
  };
  if (doc.errors[0]) throw new TrainError("TRAIN_BAD_CONFIG", `${file}: YAML syntax error: ${doc.errors[0].message.split("\n")[0]}`, { hint: "check indentation and `key: value` pairs" });
  if (!isMap(doc.contents)) fail(doc.contents as Node, "(top level)", "a mapping of settings", "something else", "e.g. hidden_size: 128");
  const values = new Map<string, { value: unknown; node: Node }>();
  for (const pair of (doc.contents as unknown as { items: { key: Node; value: Node }[] }).items) {
    const k = isScalar(pair.key) ? String(pair.key.value) : "";
    const canonical = Object.keys(KEYS).find((c) => c === k || KEYS[c]!.includes(k));
    if (!canonical) fail(pair.key, k, "a known key", "an unknown key", `keys are ${Object.keys(KEYS).join(", ")}`);
    if (values.has(canonical!)) fail(pair.key, k, "each setting once", `${canonical} again`, "remove the duplicate");
    values.set(canonical!, { value: isScalar(pair.value) ? pair.value.value : undefined, node: pair.value });
  }
  const num = (key: string, fallback: number | undefined, test: (v: number) => boolean, expected: string): number => {
    const e = values.get(key);
    if (!e) {
      if (fallback === undefined) fail(doc.contents as Node, key, expected, "nothing", `add ${key}: to ${file}`);
      return fallback!;
    }
    const v = typeof e.value === "string" && /^\d/.test(e.value) ? Number(e.value) : e.value;
    if (typeof v !== "number" || !test(v)) fail(e.node, key, expected, JSON.stringify(e.value) ?? "a list or mapping", `e.g. ${key}: ${fallback ?? 128}`);
    return v as number;
  };
  const int = (key: string, fallback?: number) => num(key, fallback, (v) => Number.isSafeInteger(v) && v > 0, "a positive integer");
  const real = (key: string, fallback?: number) => num(key, fallback, (v) => Number.isFinite(v) && v >= 0, "a number ≥ 0");
  const family = values.get("family")?.value ?? "llama";
  if (family !== "llama" && family !== "mistral") fail(values.get("family")!.node, "family", "llama or mistral", JSON.stringify(family), "the engine and llama.cpp take both");
  const hidden = int("hidden_size");
  const heads = int("num_attention_heads");
  if (hidden % heads !== 0) fail(values.get("num_attention_heads")!.node, "num_attention_heads", `a divisor of hidden_size ${hidden}`, String(heads), `e.g. num_attention_heads: ${[8, 4, 2, 1].find((h) => hidden % h === 0)}`);
  const kvHeads = int("num_key_value_heads", heads);
  if (heads % kvHeads !== 0) fail(values.get("num_key_value_heads")!.node, "num_key_value_heads", `a divisor of num_attention_heads ${heads}`, String(kvHeads), "grouped-query attention needs whole groups");
  if ((hidden / heads) % 2 !== 0) fail(values.get("num_attention_heads")!.node, "num_attention_heads", "a head size (hidden_size / heads) that is even, for RoPE", String(hidden / heads), "choose heads so hidden_size / heads is even");
  const seqLen = int("seq_len", 256);
  const tied = values.get("tie_word_embeddings")?.value ?? false;
  if (typeof tied !== "boolean") fail(values.get("tie_word_embeddings")!.node, "tie_word_embeddings", "true or false", JSON.stringify(tied), "tie_word_embeddings: false");
  const model: EngineConfig = {
    vocabSize: int("vocab_size", 1024), hiddenSize: hidden, intermediateSize: int("intermediate_size", hidden * 3),
    numLayers: int("num_hidden_layers"), numHeads: heads, numKvHeads: kvHeads, headDim: hidden / heads,
    rmsNormEps: real("rms_norm_eps", 1e-5), ropeTheta: real("rope_theta", 10000), tiedEmbeddings: tied as boolean,
    maxPositions: int("max_position_embeddings", Math.max(seqLen, 2048)),
  };
  const stepsE = values.get("steps");
  const tokensE = values.get("tokens");
  if (stepsE && tokensE) fail(tokensE.node, "tokens", "either steps or tokens", "both", "remove one of them");
  const budget: Budget = tokensE ? { tokens: parseCount(String(tokensE.value), `${at(tokensE.node)} tokens`) } : { steps: int("steps", 1000) };
  const opt = (key: string, f: (k: string) => number): number | undefined => (values.has(key) ? f(key) : undefined);
  const settings: Partial<TrainSettings> = { seqLen, batch: int("batch", 8) };
  const put = <K extends keyof TrainSettings>(k: K, v: TrainSettings[K] | undefined) => void (v !== undefined && (settings[k] = v));
  put("microBatch", opt("micro_batch", int));
  put("lr", opt("lr", real));
  put("minLrRatio", opt("min_lr_ratio", real));
  put("warmupSteps", opt("warmup", (k) => num(k, 0, (v) => Number.isSafeInteger(v) && v >= 0, "an integer ≥ 0")));
  put("seed", opt("seed", (k) => num(k, 1, (v) => Number.isSafeInteger(v) && v >= 0, "an integer ≥ 0")));
  put("holdout", opt("holdout", real));
  put("evalEvery", opt("eval_every", (k) => num(k, 0, (v) => Number.isSafeInteger(v) && v >= 0, "an integer ≥ 0")));
  put("evalSequences", opt("eval_sequences", int));
  put("saveEvery", opt("save_every", (k) => num(k, 0, (v) => Number.isSafeInteger(v) && v >= 0, "an integer ≥ 0")));
  const adamw = { weightDecay: opt("weight_decay", real), beta1: opt("beta1", real), beta2: opt("beta2", real), clip: opt("clip", real) };
  settings.adamw = Object.fromEntries(Object.entries(adamw).filter(([, v]) => v !== undefined)) as unknown as TrainSettings["adamw"];
  return { family: family as "llama" | "mistral", model, budget, settings, initStd: real("init_std", 0.02) };
}
