// `dusk analyze MODEL --text FILE [-o DIR] [--json]`: a model's layer-distance map; with a preset,
// --layers or a mergekit YAML, the layout's seam report run virtually. Prints tables (or JSON), its
// time and peak memory; -o writes analysis.json and the charts as SVG and PNG.

import { mkdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { defineCommand } from "citty";
import { analysisCharts, analyze, type Analysis } from "../analyze/index.js";
import { svgToPng } from "../charts/index.js";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { AnalyzeError } from "../errors.js";
import { ANALYZE_LIMITS } from "../limits.js";
import type { Recipe } from "../recipe/index.js";
import { positiveInt } from "./eval.js";
import { writeFileDurably } from "../build/durable-write.js";
import { UsageError } from "./flag-check.js";
import { openModelRef } from "./model-ref.js";
import { makeProgress, staleLine } from "./progress.js";
import { mergeSeed, recipeArgs, resolveRecipe, type RecipeArgValues } from "./recipe-args.js";

/** Flags analyze and search share: the text and how it is windowed, as `dusk ppl` takes them. */
export const textArgs = {
  text: { type: "string", description: "calibration text (UTF-8 file)", required: true, valueHint: "file" },
  ctx: { type: "string", description: "window in tokens (default 512, as dusk ppl)", valueHint: "n" },
  stride: { type: "string", description: "tokens each window advances (default ctx/2, as dusk ppl)", valueHint: "n" },
  bos: { type: "boolean", description: "put BOS before the text (dusk ppl puts none, so its perplexity then differs)" },
  json: { type: "boolean", description: "print JSON" },
  quiet: { type: "boolean", description: "no progress output" },
} as const;

export async function readCalibrationText(file: string): Promise<string> {
  const size = (await stat(file)).size;
  if (size > ANALYZE_LIMITS.textBytes) {
    throw new AnalyzeError("ANALYZE_TEXT_TOO_LARGE", `${file} is ${size} bytes; calibration texts are limited to ${ANALYZE_LIMITS.textBytes}`, { hint: "a few thousand tokens are enough for a layer map; pass an excerpt" });
  }
  return readFile(file, "utf8");
}

export function windowFlags(a: { ctx?: string; stride?: string }): { ctx?: number; stride?: number } {
  const ctx = positiveInt(a.ctx, "--ctx");
  const stride = positiveInt(a.stride, "--stride");
  return { ...(ctx === undefined ? {} : { ctx }), ...(stride === undefined ? {} : { stride }) };
}

/** "12.3 s, peak memory 412 MB" from the process's own counters. */
export function costLine(t0: number): { seconds: number; peak_rss_bytes: number; text: string } {
  const seconds = (performance.now() - t0) / 1000;
  const peak = process.resourceUsage().maxRSS * 1024;
  return { seconds, peak_rss_bytes: peak, text: `${seconds.toFixed(1)} s, peak memory ${(peak / 2 ** 20).toFixed(0)} MiB` };
}

async function openInputs(positionals: string[], a: RecipeArgValues, quiet: boolean): Promise<{ checkpoints: Checkpoint[]; recipe?: Recipe; model: string; close(): Promise<void> }> {
  if (a.preset || (positionals.length === 1 && /\.ya?ml$/i.test(positionals[0]!))) {
    const r = await resolveRecipe(positionals, a);
    return { checkpoints: r.checkpoints, recipe: r.recipe, model: a.preset ? `${a.preset}(${positionals.join(",")})` : positionals[0]!, close: r.close };
  }
  if (positionals.length !== 1) {
    throw new UsageError("usage.models", `analyze takes one MODEL, found ${positionals.length}`, { hint: "dusk analyze ./model --text calib.txt (two models only with a --preset that uses both)" });
  }
  const c = await openModelRef(positionals[0]!, { quiet });
  return { checkpoints: [c], model: positionals[0]!, close: () => c.close() };
}

export const analyzeCommand = defineCommand({
  meta: { name: "analyze", description: "Layer-distance map of a model (angular distance, Block Influence); with a layout, its seam report run virtually" },
  args: {
    models: { type: "positional", description: "MODEL (HF directory, .gguf, Hub id); with --preset its source(s); or a mergekit YAML", required: false },
    ...textArgs,
    ...recipeArgs,
    output: { type: "string", alias: "o", description: "directory for analysis.json and the charts (SVG and PNG)", valueHint: "dir" },
  },
  async run({ args }) {
    const t0 = performance.now();
    const text = await readCalibrationText(args.text);
    const opened = await openInputs((args._ ?? []).map(String), args, Boolean(args.quiet || args.json));
    const progress = makeProgress({ quiet: args.quiet || args.json });
    let result: Analysis;
    try {
      result = await analyze(
        { checkpoints: opened.checkpoints, ...(opened.recipe ? { recipe: opened.recipe } : {}), text, model: opened.model, textLabel: args.text, seed: mergeSeed(args) },
        { ...windowFlags(args), bos: args.bos ?? false, onProgress: (e) => (e.done === 0 ? progress.start("analyze (windows × passes)", e.total) : progress.update(e.done)) },
      );
    } finally {
      progress.stop();
      await opened.close();
    }
    const cost = costLine(t0);
    const out = { ...result, run: { seconds: cost.seconds, peak_rss_bytes: cost.peak_rss_bytes } };
    if (args.output) {
      await mkdir(args.output, { recursive: true });
      const inputs = [args.text, ...opened.checkpoints.flatMap((c) => [c.path, ...c.files])];
      const write = (name: string, data: string | Uint8Array) => writeFileDurably(join(args.output!, name), data, { purpose: "dusk analyze", inputs, onStale: (n) => process.stderr.write(staleLine(n)) });
      await write("analysis.json", JSON.stringify(out, null, 2) + "\n");
      for (const chart of analysisCharts(result)) {
        await write(`${chart.name}.svg`, chart.svg);
        await write(`${chart.name}.png`, svgToPng(chart.svg));
      }
    }
    if (args.json) process.stdout.write(JSON.stringify(out, null, 2) + "\n");
    else process.stdout.write(renderAnalysis(result) + (args.output ? `written: ${args.output}/analysis.json and charts (SVG, PNG)\n` : ""));
    process.stderr.write(`analyze: ${result.tokens} tokens × ${result.boundaries} boundaries in ${cost.text}\n`);
  },
});

const f4 = (v: number) => v.toFixed(4);

export function renderAnalysis(a: Analysis): string {
  const lines = [
    `model ${a.model}  text ${a.text}: ${a.tokens} tokens in ${a.windows} window(s) (ctx ${a.ctx}, stride ${a.stride}, ${a.tokenizer}${a.bos ? ", BOS" : ""})`,
    `perplexity ${f4(a.ppl)}  nll ${a.nll.toFixed(5)} (engine)`,
    "",
    "layer  BI      d(in,out) mean  d(in,out) last  d(emb,out) mean",
    ...a.block_influence.map((bi, l) =>
      `${String(l).padEnd(6)} ${f4(bi)}  ${f4(a.angular_distance_mean[l]![l + 1]!).padEnd(15)} ${f4(a.angular_distance_last[l]![l + 1]!).padEnd(15)} ${f4(a.angular_distance_mean[0]![l + 1]!)}`),
  ];
  const r = a.layout;
  if (r) {
    lines.push(
      "",
      `layout ${r.layout}: ${r.depth} layers, ${r.seams} seam(s), seam distance mean ${f4(r.seam_distance_mean)} max ${f4(r.seam_distance_max)}`,
      `static: largest backward jump ${r.static.largestBackwardJump}, largest forward jump ${r.static.largestForwardJump}, mean |jump| ${r.static.meanAbsJump.toFixed(2)}`,
      `perplexity ${f4(r.ppl)} (nll ${r.nll.toFixed(5)}) vs base ${r.base_model} ${f4(r.base_ppl)} (nll ${r.base_nll.toFixed(5)})`,
    );
    const seams = r.positions.filter((p) => p.seam);
    if (seams.length > 0) {
      lines.push("", "seam at  layer  fed by  distance mean  distance last");
      for (const p of seams) {
        const prev = p.at === 0 ? "emb" : String(r.positions[p.at - 1]!.layer);
        lines.push(`${String(p.at).padEnd(8)} ${String(p.layer).padEnd(6)} ${prev.padEnd(7)} ${f4(p.distance_mean).padEnd(14)} ${f4(p.distance_last)}`);
      }
    }
  }
  return lines.join("\n") + "\n";
}
