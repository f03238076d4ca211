// `dusk compare results/*.json -o table.md --chart table.svg`: the leaderboard table of several
// results files side by side (Markdown, SVG chart); files scored under another protocol are flagged.

import { readFile } from "node:fs/promises";
import { defineCommand } from "citty";
import { EvalError } from "../errors.js";
import { compare, parseResultsFile, renderMarkdown, renderSvg, type ProtocolName } from "../eval/index.js";
import { writeFileDurably } from "../build/durable-write.js";
import { staleLine } from "./progress.js";

export const compareCommand = defineCommand({
  meta: { name: "compare", description: "Put several `dusk eval` results side by side (Markdown table, SVG chart)" },
  args: {
    files: { type: "positional", description: "results JSON files", required: false },
    output: { type: "string", alias: "o", description: "write the Markdown table here (default: print it)" },
    chart: { type: "string", description: "also write an SVG bar chart here" },
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
    const write = (path: string, text: string) => writeFileDurably(path, text, { purpose: "dusk compare", inputs: files, onStale: (n) => process.stderr.write(staleLine(n)) });
    if (args.chart) await write(args.chart, renderSvg(table));
    if (args.json) return void process.stdout.write(JSON.stringify(table, null, 2) + "\n");
    const md = renderMarkdown(table);
    if (args.output) {
      await write(args.output, md);
      process.stdout.write(`table: ${args.output}${args.chart ? `\nchart: ${args.chart}` : ""}\n`);
    } else process.stdout.write(md);
  },
});
