// User-defined sampling presets from a JSON config file (`$DUSK_CONFIG`, else
// ~/.config/dusk/presets.json), validated with zod; every error names the file and the field.
// Not the built-in presets (presets.ts).
//
// {"presets": {"terse": {"base": "precise", "temperature": 0.1, "description": "…"}}}

import { readFile, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { z } from "zod";
import { RuntimeError } from "../errors.js";
import { checkSamplingValue, type Sampling } from "./sampling.js";

/** Why 1 MiB: a presets file is a few hundred bytes; anything larger is not one. */
const CONFIG_MAX_BYTES = 1024 * 1024;
const BUILTIN_NAMES = new Set(["greedy", "precise", "balanced", "creative"]);
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export interface UserPreset {
  name: string;
  base: string;
  description?: string;
  overrides: Partial<Sampling>;
}

const samplingFields = {
  temperature: z.number().optional(),
  topK: z.number().optional(),
  topP: z.number().optional(),
  minP: z.number().optional(),
  repeatPenalty: z.number().optional(),
  repeatLastN: z.number().optional(),
  presencePenalty: z.number().optional(),
  frequencyPenalty: z.number().optional(),
};
const presetSchema = z.strictObject({ base: z.string().default("balanced"), description: z.string().max(200).optional(), ...samplingFields });
const fileSchema = z.strictObject({ presets: z.record(z.string(), z.unknown()) });

export function defaultConfigFile(): string {
  return process.env.DUSK_CONFIG || join(homedir(), ".config", "dusk", "presets.json");
}

/** The user's presets; an absent default file means none, an absent explicit file is an error. */
export async function loadUserPresets(configFile?: string): Promise<{ file: string; presets: UserPreset[] }> {
  const explicit = configFile !== undefined || Boolean(process.env.DUSK_CONFIG);
  const file = configFile ?? defaultConfigFile();
  const size = await stat(file).then((s) => s.size, (e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT" && !explicit) return -1;
    throw new RuntimeError("runtime.preset-config", `${file}: cannot read the presets file (${e.code ?? e.message})`, { hint: "check $DUSK_CONFIG", cause: e });
  });
  if (size < 0) return { file, presets: [] };
  if (size > CONFIG_MAX_BYTES) throw configError(file, "", `the file is ${size} bytes, at most ${CONFIG_MAX_BYTES}`);
  return { file, presets: parsePresetsConfig(await readFile(file, "utf8"), file) };
}

/** Parses the config text; `file` is only used in messages. */
export function parsePresetsConfig(text: string, file: string): UserPreset[] {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw configError(file, "", `not valid JSON (${(e as Error).message})`);
  }
  const top = fileSchema.safeParse(json);
  if (!top.success) throw zodError(file, "", top.error);
  // Entries from the raw JSON (own keys), so a preset called "__proto__" stays just a name.
  const raw = (json as { presets: object }).presets;
  const out: UserPreset[] = [];
  for (const [name, value] of Object.entries(raw)) {
    const field = `presets.${name}`;
    if (!NAME.test(name)) throw configError(file, field, "a preset name is 1-64 letters, digits, '-', '_' or '.', starting with a letter or digit");
    if (BUILTIN_NAMES.has(name)) throw configError(file, field, `"${name}" is a built-in preset; give yours another name (use "base": "${name}" to extend it)`);
    const parsed = presetSchema.safeParse(value);
    if (!parsed.success) throw zodError(file, field, parsed.error);
    const { base, description, ...fields } = parsed.data;
    const overrides: Partial<Sampling> = {};
    for (const [key, v] of Object.entries(fields) as [keyof Sampling, number | undefined][]) {
      if (v === undefined) continue;
      try {
        overrides[key] = checkSamplingValue(key, v, `${file}: ${field}`);
      } catch (e) {
        throw configError(file, `${field}.${key}`, (e as Error).message.replace(/^.*?: \S+ \(--[a-z-]+\) /, ""));
      }
    }
    out.push({ name, base, ...(description === undefined ? {} : { description }), overrides });
  }
  return out;
}

function zodError(file: string, prefix: string, error: z.ZodError): RuntimeError {
  const issue = error.issues[0]!;
  const keys = issue.code === "unrecognized_keys" ? issue.keys : [];
  const path = [prefix, ...issue.path.map(String), ...keys.slice(0, 1)].filter(Boolean).join(".");
  const what = issue.code === "unrecognized_keys" ? `unknown field (known: base, description, ${Object.keys(samplingFields).join(", ")})` : issue.message;
  return configError(file, path, what);
}

function configError(file: string, field: string, what: string): RuntimeError {
  return new RuntimeError("runtime.preset-config", `${file}${field ? `: ${field}` : ""}: ${what}`, {
    hint: 'the presets file looks like {"presets": {"NAME": {"base": "precise", "temperature": 0.3}}}; see dusk presets',
  });
}
