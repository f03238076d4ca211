// `dusk search MODEL --depth 48 --text FILE [--budget 10m] [--emit list|mergekit]`: ranks layouts of
// one depth by the perplexity of each stack run virtually, with a progress bar and the best so far;
// prints the ranking, or emits the best as a layer list or mergekit YAML (ranking then on stderr).

import { defineCommand } from "citty";
import { parseDuration, searchLayouts, type RankedCandidate, type SearchResult } from "../analyze/index.js";
import { AnalyzeError } from "../errors.js";
import { readCalibrationText, textArgs, windowFlags } from "./analyze.js";
import { positiveInt } from "./eval.js";
import { UsageError } from "./flag-check.js";
import { openModelRef } from "./model-ref.js";
import { makeProgress } from "./progress.js";
import { baseProgress, runPredictSearch, writeSearchOutput, type PredictArgs } from "./search-predict.js";

const EMITS = ["list", "mergekit"] as const;

export const searchCommand = defineCommand({
  meta: { name: "search", description: "Rank layouts of one depth (two-copy, DUS, iDUS, map-guided seams) by virtual perplexity on a text, under a time budget; or, with --predict, rank thousands by a predictor and measure the best few" },
  args: {
    model: { type: "positional", description: "MODEL: HF directory, .gguf or Hub id", required: true },
    depth: { type: "string", description: "layers of the stacks to rank, 1 to 2n (SOLAR: 48 from 32)", required: true, valueHint: "s" },
    budget: { type: "string", description: "time for the whole search, e.g. 90s, 10m, 1h (default: rank every candidate)", valueHint: "duration" },
    emit: { type: "string", description: `print only the best layout: ${EMITS.join(" (dusk --layers syntax) or ")} (YAML); the ranking goes to stderr`, valueHint: "format" },
    top: { type: "string", description: "rows of the ranking to print (default 10)", valueHint: "n" },
    predict: { type: "string", description: "rank a pool of ≥ 1,000 candidates by the predicted penalty from one base pass and measure only the best K (default 5); prints a 7B time estimate", valueHint: "K" },
    count: { type: "string", description: "with --predict: candidates in the pool (default 1000)", valueHint: "n" },
    seed: { type: "string", description: "with --predict: seed of the pool's random two-copy layouts (default 0)", valueHint: "n" },
    ...textArgs,
  },
  async run({ args }) {
    const t0 = performance.now();
    const depth = Number(args.depth);
    if (!Number.isSafeInteger(depth)) throw new AnalyzeError("ANALYZE_DEPTH", `--depth must be an integer, found ${JSON.stringify(args.depth)}`, { hint: "e.g. --depth 48" });
    const budgetMs = args.budget === undefined ? undefined : parseDuration(args.budget);
    if (args.emit !== undefined && !(EMITS as readonly string[]).includes(args.emit)) {
      throw new UsageError("usage.emit", `--emit must be ${EMITS.join(" or ")}, found ${JSON.stringify(args.emit)}`, { hint: "--emit mergekit > best.yml" });
    }
    const top = positiveInt(args.top, "--top") ?? 10;
    const text = await readCalibrationText(args.text);
    if (args.predict !== undefined) return runPredictSearch(args as PredictArgs, depth, text, t0);
    const quiet = Boolean(args.quiet || args.json);
    const c = await openModelRef(args.model, { quiet });
    const progress = makeProgress({ quiet });
    let result: SearchResult;
    let total = 0;
    try {
      result = await searchLayouts({ checkpoint: c, text, model: args.model, textLabel: args.text }, {
        depth, ...windowFlags(args), bos: args.bos ?? false, ...(budgetMs === undefined ? {} : { budgetMs }),
        onProgress: (e) => {
          if (e.type === "base") {
            baseProgress(progress, e);
          } else if (e.type === "candidate") {
            if (e.done === 1 || total === 0) progress.start("search (candidates)", (total = e.total));
            if (e.best === e.result) progress.note(`best so far (${e.done}/${e.total}):\n${table([e.result], 1)}`);
            progress.update(e.done, `best ${e.best.name} ppl ${e.best.ppl.toFixed(4)}`);
          } else progress.note(`budget reached: ${e.ranked} of ${e.total} candidates ranked`);
        },
      });
    } finally {
      progress.stop();
      await c.close();
    }
    const cost = writeSearchOutput(args, result, result.ranking[0]!, result.base_layers, t0, () => renderSearch(result, top, args.model, args.text));
    if (!args.quiet) process.stderr.write(`search: ${result.ranking.length} of ${result.ranking.length + result.not_ranked.length} candidates ranked in ${cost}\n`);
  },
});

function table(rows: readonly RankedCandidate[], from: number): string {
  const head = "rank  ppl         nll      seams  predicted  layout                         layers";
  const body = rows.map((r, i) =>
    `${String(from + i).padEnd(5)} ${r.ppl.toFixed(4).padEnd(11)} ${r.nll.toFixed(5).padEnd(8)} ${String(r.seams).padEnd(6)} ${r.predicted.toFixed(4).padEnd(10)} ${r.name.padEnd(30)} ${r.spec}`);
  return [head, ...body].join("\n") + "\n";
}

export function renderSearch(r: SearchResult, top: number, model: string, textFile: string): string {
  const best = r.ranking[0]!;
  const lines = [
    `${model}: ${r.base_layers} layers → depth ${r.depth}; ${r.tokens} tokens of ${r.text} in ${r.windows} window(s) (ctx ${r.ctx}, stride ${r.stride})`,
    `base perplexity ${r.base.ppl.toFixed(4)}; ${r.ranking.length} candidate(s) ranked${r.not_ranked.length ? `, ${r.not_ranked.length} left unranked by the budget` : ""}`,
    "",
    table(r.ranking.slice(0, top), 1).trimEnd(),
  ];
  if (r.ranking.length > top) lines.push(`… ${r.ranking.length - top} more (--top N, or --json for all)`);
  // `dusk ppl --backend engine` reads the HF tokenizer files and adds no BOS: only then is it the same number
  if ((r.tokenizer === "tokenizer.json" || r.tokenizer === "tokenizer.model") && !r.bos) {
    lines.push("", `check the best: dusk ppl ${model} --backend engine --text ${textFile} --ctx ${r.ctx} --stride ${r.stride} ${best.preset.join(" ")}`);
  }
  return lines.join("\n") + "\n";
}
