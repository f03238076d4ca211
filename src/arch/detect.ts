// Which family a checkpoint belongs to, from its HF config or its GGUF metadata — and the clear
// refusals: an unknown architecture, a mixture-of-experts checkpoint (dusk stacks dense decoder
// layers), a reranker or sequence classifier (its head is not a language model's).

import { FormatError } from "../errors.js";
import { ggufGetNumber, type GgufKv } from "../formats/gguf-value.js";
import type { Architecture } from "./architecture.js";
import { FAMILIES } from "./families/index.js";

const known = (): string =>
  FAMILIES.map((f) => `${f.name} (${[...f.hfArchitectures, ...f.ggufArchitectures.map((g) => `gguf:${g}`)].join(", ")})`).join("; ");

export function architectureByName(name: string): Architecture | undefined {
  return FAMILIES.find((f) => f.name === name);
}

/** config keys that count experts (Mixtral/Phi-MoE, Qwen2/3-MoE, DeepSeek) */
const EXPERT_KEYS = ["num_local_experts", "num_experts", "n_routed_experts"];

const DENSE_SIBLING: Record<string, string> = {
  qwen3: "Qwen3ForCausalLM (e.g. Qwen/Qwen3-8B)", qwen2: "Qwen2ForCausalLM", mixtral: "MistralForCausalLM (Mistral-7B)",
  phimoe: "Phi3ForCausalLM (Phi-3/Phi-4)",
};

function refuseMoe(file: string, field: string, actual: string, family: string | undefined): never {
  throw new FormatError("arch.moe", "a mixture-of-experts checkpoint: dusk stacks dense decoder layers", {
    file, field, expected: "a dense model (no experts)", actual,
    hint: `depth up-scaling copies whole layers; a layer of experts and its router is not one dusk knows how to stack, convert or run${family && DENSE_SIBLING[family] ? `; use the dense ${DENSE_SIBLING[family]}` : ""}`,
  });
}

/** Qwen3 rerankers ship as Qwen3ForCausalLM; the converter spots them by name as these do. */
export function looksLikeReranker(hints: readonly string[]): boolean {
  return hints.some((h) => /qwen3-(vl-)?reranker/i.test(h));
}

function refuseReranker(file: string, field: string, actual: string): never {
  throw new FormatError("arch.reranker", "a reranker / sequence-classification checkpoint, not a causal language model", {
    file, field, expected: "a causal LM (…ForCausalLM)", actual,
    hint: "llama.cpp converts Qwen3 rerankers to a ranking model (a yes/no classifier head, rank pooling); dusk builds, converts and runs text generators: use the base model (e.g. Qwen/Qwen3-0.6B)",
  });
}

/** From `config.json`: MoE and reranker refusals first, then `architectures[0]`, then `model_type`. */
export function detectHfArchitecture(config: Record<string, unknown>, file: string): Architecture {
  const archs = Array.isArray(config.architectures) ? config.architectures.filter((a): a is string => typeof a === "string") : [];
  const modelType = typeof config.model_type === "string" ? config.model_type : undefined;
  const text = config.text_config !== null && typeof config.text_config === "object" ? (config.text_config as Record<string, unknown>) : {};
  const family = modelType?.replace(/_?moe$/i, "").replace(/_text$/, "");
  const moeArch = archs.find((a) => /moe|mixtral/i.test(a));
  if (moeArch) refuseMoe(file, "architectures", moeArch, moeArch.toLowerCase().startsWith("mixtral") ? "mixtral" : family);
  for (const key of EXPERT_KEYS) {
    const n = config[key] ?? text[key];
    if (typeof n === "number" && n > 0) refuseMoe(file, key, `${n} experts per layer`, family);
  }
  const classifier = archs.find((a) => /ForSequenceClassification|ForTokenClassification|ForRewardModel/.test(a));
  if (classifier) refuseReranker(file, "architectures", classifier);
  if (typeof config._name_or_path === "string" && looksLikeReranker([config._name_or_path])) refuseReranker(file, "_name_or_path", config._name_or_path);
  for (const a of archs) {
    const f = FAMILIES.find((x) => x.hfArchitectures.includes(a));
    if (f) return f;
  }
  if (modelType) {
    const f = FAMILIES.find((x) => x.hfModelTypes.includes(modelType));
    if (f) return f;
  }
  throw new FormatError("arch.unknown", "unknown model architecture", {
    file,
    field: archs.length ? "architectures" : "model_type",
    expected: "a family dusk knows",
    actual: archs.length ? archs.join(", ") : (modelType ?? "no architectures or model_type"),
    hint: `known families: ${known()}`,
  });
}

/** From GGUF `general.architecture` (and, with `kv`, the MoE and reranker refusals). */
export function detectGgufArchitecture(arch: string | undefined, file: string, kv?: GgufKv): Architecture {
  if (arch !== undefined && kv !== undefined) {
    const experts = ggufGetNumber(kv, `${arch}.expert_count`, file);
    if (experts !== undefined && experts > 0) refuseMoe(file, `${arch}.expert_count`, `${experts} experts per layer`, arch.replace(/moe$/, ""));
    // llama.cpp's LLAMA_POOLING_TYPE_RANK = 4: a reranker converted by llama.cpp
    if (ggufGetNumber(kv, `${arch}.pooling_type`, file) === 4) refuseReranker(file, `${arch}.pooling_type`, "rank pooling (4)");
  }
  if (arch !== undefined && /moe$|^mixtral$/.test(arch)) refuseMoe(file, "general.architecture", arch, arch.replace(/moe$/, ""));
  const f = arch === undefined ? undefined : FAMILIES.find((x) => x.ggufArchitectures.includes(arch));
  if (f) return f;
  throw new FormatError("arch.unknown", "unknown model architecture", {
    file,
    field: "general.architecture",
    expected: "a family dusk knows",
    actual: arch ?? "missing",
    hint: `known families: ${known()}`,
  });
}
