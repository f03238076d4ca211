// Named sampling presets: the built-in table (documented below and by `dusk presets`) and the
// lookup that merges user presets from the config file (presets-config.ts) over them. Not the
// validation of single values (sampling.ts).

import { RuntimeError } from "../errors.js";
import { loadUserPresets, type UserPreset } from "./presets-config.js";
import { validateSampling, type Sampling } from "./sampling.js";

export interface Preset {
  name: string;
  description: string;
  sampling: Sampling;
  /** "built-in", or the config file it came from */
  source: string;
}

/**
 * Built-in presets. Values follow what llama.cpp / ollama / LM Studio users expect:
 *
 * | preset   | temp | top-k | top-p | min-p | repeat | last-n | presence | frequency |
 * |----------|------|-------|-------|-------|--------|--------|----------|-----------|
 * | greedy   | 0    | 0     | 1     | 0     | 1      | 0      | 0        | 0         |
 * | precise  | 0.2  | 40    | 0.9   | 0.05  | 1.1    | 64     | 0        | 0         |
 * | balanced | 0.8  | 40    | 0.95  | 0.05  | 1.1    | 64     | 0        | 0         |
 * | creative | 1.1  | 0     | 1     | 0.05  | 1.05   | 256    | 0.1      | 0         |
 *
 * - greedy: argmax, deterministic regardless of seed; what evaluations and regression tests use.
 * - precise: nearly deterministic, for factual answers and code.
 * - balanced (the default): LM Studio's defaults, llama.cpp's with its classic 1.1 repeat penalty.
 * - creative: min-p sampling at a high temperature (the min-p paper's recipe), top-k/top-p off.
 */
export const BUILTIN_PRESETS: readonly Preset[] = [
  {
    name: "greedy",
    description: "argmax at every step; deterministic (for evals and tests)",
    sampling: { temperature: 0, topK: 0, topP: 1, minP: 0, repeatPenalty: 1, repeatLastN: 0, presencePenalty: 0, frequencyPenalty: 0 },
  },
  {
    name: "precise",
    description: "low temperature for factual answers and code",
    sampling: { temperature: 0.2, topK: 40, topP: 0.9, minP: 0.05, repeatPenalty: 1.1, repeatLastN: 64, presencePenalty: 0, frequencyPenalty: 0 },
  },
  {
    name: "balanced",
    description: "the default: llama.cpp / LM Studio style chat sampling",
    sampling: { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, repeatPenalty: 1.1, repeatLastN: 64, presencePenalty: 0, frequencyPenalty: 0 },
  },
  {
    name: "creative",
    description: "min-p sampling at a high temperature; top-k and top-p off",
    sampling: { temperature: 1.1, topK: 0, topP: 1, minP: 0.05, repeatPenalty: 1.05, repeatLastN: 256, presencePenalty: 0.1, frequencyPenalty: 0 },
  },
].map((p) => ({ ...p, source: "built-in" }));

export const DEFAULT_PRESET = "balanced";

/** Built-in presets, then the user's (from `$DUSK_CONFIG` or ~/.config/dusk/presets.json), in order. */
export async function listPresets(configFile?: string): Promise<Preset[]> {
  const builtins = new Map(BUILTIN_PRESETS.map((p) => [p.name, p]));
  const user = await loadUserPresets(configFile);
  const out = [...BUILTIN_PRESETS];
  for (const u of user.presets) out.push(resolveUserPreset(u, builtins, user.file));
  return out;
}

function resolveUserPreset(u: UserPreset, builtins: Map<string, Preset>, file: string): Preset {
  const base = builtins.get(u.base);
  if (!base) {
    throw new RuntimeError("runtime.preset-config", `${file}: presets.${u.name}.base is "${u.base}", expected one of ${[...builtins.keys()].join(", ")}`, {
      hint: "a user preset extends a built-in preset",
    });
  }
  return { name: u.name, description: u.description ?? `${u.base} with changes`, sampling: { ...base.sampling, ...u.overrides }, source: file };
}

/** The preset called `name`, or a RuntimeError listing the known names. */
export async function findPreset(name: string, configFile?: string): Promise<Preset> {
  const all = await listPresets(configFile);
  const hit = all.find((p) => p.name === name);
  if (!hit) {
    throw new RuntimeError("runtime.preset", `unknown preset "${name}"`, { hint: `presets are ${all.map((p) => p.name).join(", ")}; see dusk presets` });
  }
  return hit;
}

/** A preset's sampling with single values overridden (e.g. from CLI flags), validated. */
export async function resolveSampling(presetName: string = DEFAULT_PRESET, overrides: Partial<Sampling> = {}, configFile?: string): Promise<{ preset: Preset; sampling: Sampling }> {
  const preset = await findPreset(presetName, configFile);
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) as Partial<Sampling>;
  return { preset, sampling: validateSampling({ ...preset.sampling, ...defined }) };
}
