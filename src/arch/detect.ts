// Which family a checkpoint belongs to, from its HF config or its GGUF metadata.

import { FormatError } from "../errors.js";
import type { Architecture } from "./architecture.js";
import { FAMILIES } from "./families.js";

const known = (): string =>
  FAMILIES.map((f) => `${f.name} (${[...f.hfArchitectures, ...f.ggufArchitectures.map((g) => `gguf:${g}`)].join(", ")})`).join("; ");

export function architectureByName(name: string): Architecture | undefined {
  return FAMILIES.find((f) => f.name === name);
}

/** From `config.json`: `architectures[0]` first, then `model_type`. */
export function detectHfArchitecture(config: Record<string, unknown>, file: string): Architecture {
  const archs = Array.isArray(config.architectures) ? config.architectures.filter((a) => typeof a === "string") : [];
  const modelType = typeof config.model_type === "string" ? config.model_type : undefined;
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
    expected: "a Llama-like family dusk knows",
    actual: archs.length ? archs.join(", ") : (modelType ?? "no architectures or model_type"),
    hint: `known families: ${known()}`,
  });
}

/** From GGUF `general.architecture`. */
export function detectGgufArchitecture(arch: string | undefined, file: string): Architecture {
  const f = arch === undefined ? undefined : FAMILIES.find((x) => x.ggufArchitectures.includes(arch));
  if (f) return f;
  throw new FormatError("arch.unknown", "unknown model architecture", {
    file,
    field: "general.architecture",
    expected: "a Llama-like family dusk knows",
    actual: arch ?? "missing",
    hint: `known families: ${known()}`,
  });
}
