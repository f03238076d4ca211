// `dusk search MODEL --depth s --text FILE --predict [K]`: the predicted ranking of a large pool,
// the K best measured, and the 7B estimate; rendered here, computed by analyze's predictSearch.

import { candidateRecipe, predictSearch, type Candidate, type PredictSearchResult } from "../analyze/index.js";
import { recipeToMergekitYaml } from "../recipe/index.js";
import { costLine, windowFlags } from "./analyze.js";
import { positiveInt } from "./eval.js";
import { UsageError } from "./flag-check.js";
import { openModelRef } from "./model-ref.js";
import { makeProgress, type ProgressSink } from "./progress.js";

export interface PredictArgs {
  model: string;
  text: string;
  predict: string | boolean;
  count?: string;
  seed?: string;
  top?: string;
  ctx?: string;
  stride?: string;
  bos?: boolean;
  json?: boolean;
  quiet?: boolean;
  emit?: string;
}

/** `--predict` alone measures 5. */
export function predictCount(v: string | boolean): number {
  return v === true || v === "" ? 5 : positiveInt(String(v), "--predict")!;
}

export async function runPredictSearch(args: PredictArgs, depth: number, text: string, t0: number): Promise<void> {
  const measure = predictCount(args.predict);
  const count = positiveInt(args.count, "--count") ?? 1000;
  const seed = args.seed === undefined ? 0 : Number(args.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError("usage.seed", `--seed must be a non-negative integer, found ${JSON.stringify(args.seed)}`, { hint: "--seed 1 draws another pool" });
  const top = positiveInt(args.top, "--top") ?? 10;
  const quiet = Boolean(args.quiet || args.json);
  const c = await openModelRef(args.model, { quiet });
  const progress = makeProgress({ quiet });
  let r: PredictSearchResult;
  try {
    r = await predictSearch({ checkpoint: c, text, model: args.model, textLabel: args.text }, {
      depth, measure, count, seed, ...windowFlags(args), bos: args.bos ?? false,
      onProgress: (e) => {
        if (e.type === "base") {
          baseProgress(progress, e);
        } else if (e.type === "ranked") {
          progress.note(`${e.candidates} candidates ranked by the predictor in ${e.seconds.toFixed(1)} s`);
        } else {
          if (e.done === 1) progress.start("measure (best predicted)", e.total);
          progress.update(e.done, `${e.result.name} ppl ${e.result.ppl.toFixed(4)}`);
        }
      },
    });
  } finally {
    progress.stop();
    await c.close();
  }
  const cost = writeSearchOutput(args, r, r.measured[0]!, r.base_layers, t0, () => renderPredict(r, top, args.model));
  if (!args.quiet) process.stderr.write(`search --predict: ${r.candidates} candidates ranked in ${r.rank_seconds.toFixed(1)} s, ${r.measured.length} measured; ${cost}\n`);
}

/** The base pass's progress bar. */
export function baseProgress(progress: ProgressSink, e: { done: number; total: number }): void {
  if (e.done === 0) progress.start("base pass (windows)", e.total);
  progress.update(e.done);
  if (e.done === e.total) progress.stop();
}

/**
 * Prints the result: JSON (with the best's mergekit YAML and the run's cost), or the report, or the
 * best layout emitted as a list or YAML (the report then on stderr). Returns the cost line.
 */
export function writeSearchOutput(args: { model: string; json?: boolean; quiet?: boolean; emit?: string }, result: object, best: Candidate, baseLayers: number, t0: number, report: () => string): string {
  const yaml = recipeToMergekitYaml(candidateRecipe(best, args.model, baseLayers));
  const cost = costLine(t0);
  if (args.json) process.stdout.write(JSON.stringify({ ...result, best: { ...best, mergekit: yaml }, run: { seconds: cost.seconds, peak_rss_bytes: cost.peak_rss_bytes } }, null, 2) + "\n");
  else if (!args.emit) process.stdout.write(report());
  else {
    if (!args.quiet) process.stderr.write(report());
    process.stdout.write(args.emit === "list" ? `${best.spec}\n` : yaml);
  }
  return cost.text;
}

const duration = (s: number): string => (s < 120 ? `${s.toFixed(0)} s` : s < 7200 ? `${(s / 60).toFixed(0)} min` : s < 172800 ? `${(s / 3600).toFixed(1)} h` : `${(s / 86400).toFixed(1)} days`);

export function renderPredict(r: PredictSearchResult, top: number, model: string): string {
  const e = r.estimate;
  const lines = [
    `${model}: ${r.base_layers} layers → depth ${r.depth}; ${r.tokens} tokens of ${r.text} in ${r.windows} window(s) (ctx ${r.ctx}, stride ${r.stride})`,
    `base perplexity ${r.base.ppl.toFixed(4)}; ${r.candidates} candidates ranked by predicted penalty in ${r.rank_seconds.toFixed(1)} s (base pass included)`,
    "",
    "measured (the best predicted):",
    "rank  ppl         predicted  pred.rank  seams  layout                         layers",
    ...r.measured.map((m, i) => `${String(i + 1).padEnd(5)} ${m.ppl.toFixed(4).padEnd(11)} ${m.predicted_penalty.toFixed(4).padEnd(10)} ${String(m.predicted_rank).padEnd(10)} ${String(m.seams).padEnd(6)} ${m.name.padEnd(30)} ${m.spec}`),
    "",
    `predicted top ${Math.min(top, r.predicted.length)} (penalty in nats/token over the base):`,
    ...r.predicted.slice(0, top).map((p) => `${String(p.predicted_rank).padEnd(5)} ${p.predicted_penalty.toFixed(4).padEnd(10)} ${p.name.padEnd(30)} ${p.spec}`),
    "",
    `for a 7B base (estimate: ${e.flops_ratio.toFixed(0)}× this stack's FLOPs per token, same machine): measuring all ${r.candidates} ≈ ${duration(e.seven_b_measure_all_seconds)}; predicting and measuring ${r.measured.length} ≈ ${duration(e.seven_b_predict_seconds)}`,
  ];
  return lines.join("\n") + "\n";
}
