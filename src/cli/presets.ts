// `dusk presets`: the sampling presets (built-in and the user's config file) with their values and
// where each comes from, as a table or JSON.

import { defineCommand } from "citty";
import { defaultConfigFile, DEFAULT_PRESET, describeRange, listPresets, SAMPLING_FLAGS, SAMPLING_RANGES, type Sampling } from "../runtime/index.js";

const COLUMNS: [keyof Sampling, string][] = [
  ["temperature", "temp"],
  ["topK", "top-k"],
  ["topP", "top-p"],
  ["minP", "min-p"],
  ["repeatPenalty", "repeat"],
  ["repeatLastN", "last-n"],
  ["presencePenalty", "presence"],
  ["frequencyPenalty", "frequency"],
];

export const presetsCommand = defineCommand({
  meta: { name: "presets", description: "List the sampling presets (built-in and from $DUSK_CONFIG or ~/.config/dusk/presets.json)" },
  args: {
    config: { type: "string", description: "a presets file to read instead of $DUSK_CONFIG / ~/.config/dusk/presets.json" },
    json: { type: "boolean", description: "print the presets as JSON" },
  },
  async run({ args }) {
    const file = args.config === undefined ? undefined : String(args.config);
    const presets = await listPresets(file);
    if (args.json) {
      process.stdout.write(JSON.stringify({ default: DEFAULT_PRESET, configFile: file ?? defaultConfigFile(), presets }, null, 2) + "\n");
      return;
    }
    const header = ["preset", ...COLUMNS.map(([, h]) => h), "source", "description"];
    const rows = presets.map((p) => [p.name === DEFAULT_PRESET ? `${p.name}*` : p.name, ...COLUMNS.map(([k]) => String(p.sampling[k])), p.source, p.description]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n";
    let out = line(header);
    for (const r of rows) out += line(r);
    out += `\n* the default. Override single values with flags, e.g. dusk run MODEL "text" --preset precise --temperature 0.3\n`;
    out += `User presets: ${file ?? defaultConfigFile()}  {"presets": {"NAME": {"base": "precise", "temperature": 0.3}}}\n\nRanges:\n`;
    for (const [k] of COLUMNS) out += `  --${SAMPLING_FLAGS[k]}: ${describeRange(SAMPLING_RANGES[k])}\n`;
    process.stdout.write(out);
  },
});
