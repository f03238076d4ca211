// `dusk compare results/*.json -o table.md --chart table.svg`: the leaderboard table of several
// results files side by side (Markdown, SVG and PNG chart); files scored under another protocol are flagged.

import { readFile } from "node:fs/promises";
import { defineCommand } from "citty";
import { EvalError } from "../errors.js";
import { compare, parseResultsFile, renderMarkdown, renderSvg, type ProtocolName } from "../eval/index.js";
import { writeFileDurably } from "../build/durable-write.js";
import { svgToPng } from "../charts/index.js";
import { staleLine } from "./progress.js";

/** `x.svg` → x.svg + x.png; `x.png` → x.svg + x.png; any other name gets .png appended for the PNG. */
function chartPaths(path: string): { svg: string; png: string } {
  if (/\.png$/i.test(path)) return { svg: path.replace(/\.png$/i, ".svg"), png: path };
  return { svg: path, png: /\.svg$/i.test(path) ? path.replace(/\.svg$/i, ".png") : `${path}.png` };
}

export const compareCommand = defineCommand({
  meta: { name: "compare", description: "Put several `dusk eval` results side by side (Markdown table, SVG and PNG chart)" },
  args: {
    files: { type: "positional", description: "results JSON files", required: false },
    output: { type: "string", alias: "o", description: "write the Markdown table here (default: print it)" },
    chart: { type: "string", description: "also write the bar chart here, as SVG and as PNG beside it (x.svg + x.png)" },
    protocol: { type: "string", description: "the table's protocol; rows scored otherwise are flagged (default v1)" },
    json: { type: "boolean", description: "print the table as JSON" },
  },
  async run({ args }) {
    const files = (args._ ?? []).map(String);
    if (files.length === 0) throw new EvalError("EVAL_NO_RESULTS", "no results files given", { hint: "dusk compare a.json b.json -o table.md" });
    const protocol = (args.protocol ?? "v1") as ProtocolName;
    if (protocol !== "v1" && protocol !== "v0.4") throw new EvalError("EVAL_BAD_PROTOCOL", `unknown protocol ${JSON.stringify(args.protocol)}`, { hint: "use --protocol v1 or v0.4" });
    const inputs = [];
    for (const f of files) inputs.push({ results: parseResultsFile(await readFile(f, "utf8"), f) });
    const table = compare(inputs, protocol);
    for (const [i, row] of table.rows.entries()) {
      if (row.otherProtocol) process.stderr.write(`warning: ${files[i]} was scored under protocol ${row.protocol}, not ${protocol}; its numbers are not comparable\n`);
    }
    const write = (path: string, data: string | Uint8Array) => writeFileDurably(path, data, { purpose: "dusk compare", inputs: files, onStale: (n) => process.stderr.write(staleLine(n)) });
    const charts = args.chart ? chartPaths(args.chart) : undefined;
    if (charts) {
      const svg = renderSvg(table);
      await write(charts.svg, svg);
      await write(charts.png, svgToPng(svg));
    }
    if (args.json) return void process.stdout.write(JSON.stringify(table, null, 2) + "\n");
    const md = renderMarkdown(table);
    if (args.output) {
      await write(args.output, md);
      process.stdout.write(`table: ${args.output}${charts ? `\nchart: ${charts.svg}, ${charts.png}` : ""}\n`);
    } else process.stdout.write(md);
  },
});
