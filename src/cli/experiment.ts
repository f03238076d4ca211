// `dusk experiment [BASE]`: the iDUS experiment end to end (src/experiment): on the embedded
// default model by default (the README's first command, via `npm run demo`), or on any HF base
// model (then healing is exported as axolotl jobs and leaderboard tasks come from --tasks).
// Models are measured by llama.cpp here, or through a server started per model (--server).
// Writes a report directory atomically: report.md, results.json, charts (SVG and PNG), models.

import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { defineCommand } from "citty";
import { parseDuration } from "../analyze/index.js";
import type { ServerSettings } from "../experiment/measure-server.js";
import { fillTemplate } from "../eval/launch-server.js";
import { resolveTasks } from "../eval/registry.js";
import { ExperimentError } from "../experiment/experiment-error.js";
import { EXPERIMENT_MODES, type ExperimentMode } from "../experiment/modes.js";
import { reportCharts } from "../experiment/report-charts.js";
import { reportTable, renderReport } from "../experiment/report.js";
import { findings } from "../experiment/findings.js";
import { runExperiment, type ExperimentEvent } from "../experiment/run-experiment.js";
import { defaultTexts, shortenTexts, splitTexts } from "../experiment/texts.js";
import { DEFAULT_MODEL_PATH, NAMED_BASES, namedBase } from "../fixtures/default-model.js";
import { parseCount } from "../train/schedule.js";
import { gpuArgs, gpuFromArgs } from "./gpu-args.js";
import { VERSION } from "./version.js";
import { labelledProgress, prepareReportOutput, textTable, writeCharts, writeResults } from "./report-output.js";
import { makeProgress } from "./progress.js";
import { intFlag, numFlag } from "./train-common.js";

export const experimentCommand = defineCommand({
  meta: { name: "experiment", description: "The iDUS experiment: build DUS, iDUS-n/4, iDUS-1 and the searched best from a base, measure, heal and explain (default: the embedded 16-layer model)" },
  args: {
    base: { type: "positional", description: `BASE: an HF model directory, or a shipped base: ${Object.keys(NAMED_BASES).join(", ")} (seed-scale: 32 layers, the seed's exact layouts; default: the embedded default model)`, required: false },
    quick: { type: "boolean", description: "the same in about 2 minutes: fewer items, a shorter test text, a smaller healing budget" },
    output: { type: "string", alias: "o", description: "report directory (default ./dusk-experiment; an earlier report there is replaced)", valueHint: "dir" },
    force: { type: "boolean", description: "replace an existing -o that is not an earlier report" },
    text: { type: "string", description: "corpus: trains/heals on all but its last 10%, which calibrates and tests (default: the shipped Shakespeare)", valueHint: "file" },
    heal: { type: "string", description: "local (train here; the default for the embedded model), export (axolotl jobs; the default for BASE) or none", valueHint: "local|export|none" },
    "heal-tokens": { type: "string", description: "tokens of continued pretraining per model (default: full 32k, quick 4k; export 1G)", valueHint: "N" },
    "heal-lr": { type: "string", description: "peak learning rate of healing (default 5e-4 local, 3e-5 export)", valueHint: "x" },
    "search-budget": { type: "string", description: "time for the layout search (default: full 30s, quick 8s, BASE 10m)", valueHint: "duration" },
    items: { type: "string", description: "next-word items (default: full 300, quick 80; 0 to skip)", valueHint: "N" },
    tasks: { type: "string", description: "leaderboard tasks to score every model on, e.g. arc_challenge,hellaswag (needs --data)", valueHint: "list" },
    data: { type: "string", description: "datasets directory for --tasks (dusk data pull)", valueHint: "dir" },
    limit: { type: "string", description: "items per task for --tasks", valueHint: "N" },
    ctx: { type: "string", description: "window in tokens for perplexity and analysis (default 128 embedded, 512 otherwise)", valueHint: "N" },
    workers: { type: "string", description: "healing worker threads (default one per core)", valueHint: "N" },
    ...gpuArgs,
    server: { type: "string", description: "measure through an OpenAI-compatible server started per model, e.g. 'vllm serve {model} --port {port}' ({model}: HF dir, {gguf}: its GGUF, {name}, {port})", valueHint: "command" },
    "server-model": { type: "string", description: "the model name to request from --server (default: the first it lists)", valueHint: "name" },
    "api-key": { type: "string", description: "key for --server (default: $DUSK_API_KEY)", valueHint: "key" },
    "server-timeout": { type: "string", description: "how long a --server may take to start (default 10m)", valueHint: "duration" },
    concurrency: { type: "string", description: "requests in flight to --server (default 4)", valueHint: "N" },
    json: { type: "boolean", description: "print results.json" },
    quiet: { type: "boolean", description: "no progress output" },
  },
  async run({ args }) {
    // a shipped base (named, or the default) heals locally on the shipped corpus like the default
    const named = args.base === undefined ? DEFAULT_MODEL_PATH : namedBase(String(args.base));
    const embedded = named !== undefined;
    const mode: ExperimentMode = args.quick ? "quick" : "full";
    const preset = EXPERIMENT_MODES[mode];
    const basePath = resolve(named ?? String(args.base));
    const heal = (args.heal ?? (embedded ? "local" : "export")) as "local" | "export" | "none";
    if (!["local", "export", "none"].includes(heal)) throw new ExperimentError("EXPERIMENT_BAD_FLAG", `--heal must be local, export or none, found ${JSON.stringify(args.heal)}`, { hint: "--heal export writes axolotl jobs for a large base" });
    const server = args.server ? serverSettings(args) : undefined;
    const textFile = args.text ? resolve(args.text) : undefined;
    let texts = textFile ? splitTexts(await readFile(textFile, "utf8"), args.text!) : defaultTexts();
    if (mode === "quick") texts = shortenTexts(texts, { calibration: preset.calibrationChars, test: preset.testChars });
    const tasks = args.tasks ? resolveTasks(args.tasks.split(",").map((s) => s.trim()).filter(Boolean)) : [];
    if (tasks.length > 0 && !args.data) throw new ExperimentError("EXPERIMENT_NO_DATA", "--tasks needs the datasets directory", { hint: "dusk data pull --tasks leaderboard-v1 --to ./datasets, then --data ./datasets" });
    const ctx = intFlag(args.ctx, "--ctx") ?? (embedded ? 128 : 512);
    const out = resolve(args.output ?? "dusk-experiment");
    const progress = labelledProgress(makeProgress({ quiet: Boolean(args.quiet || args.json) }));
    const say = (s: string) => void (!args.quiet && !args.json && process.stderr.write(s));
    const output = await prepareReportOutput(out, [basePath, ...(textFile ? [textFile] : [])], { force: Boolean(args.force), purpose: "dusk experiment", label: args.output ?? "dusk-experiment", say });
    const onEvent = (e: ExperimentEvent) => {
      if (e.type === "phase") {
        progress.stop();
        say(`[${e.phase}] ${e.what}\n`);
      } else if (e.type === "progress") {
        progress.update(e.label, e.done, e.total);
      } else if (e.type === "measured") {
        progress.stop();
        const acc = e.m.nextword ? `, next-word acc_norm ${(100 * (e.m.nextword.metrics.acc_norm ?? 0)).toFixed(1)}%` : "";
        say(`  ${e.model} ${e.stage} healing: perplexity ${e.m.ppl.toFixed(2)}${acc} (${e.m.seconds.toFixed(1)} s)\n`);
      } else if (e.type === "healed") {
        progress.stop();
        say(`  ${e.model} healed: ${e.heal.tokens} tokens in ${e.heal.seconds.toFixed(1)} s (${e.heal.tokens_per_s.toFixed(0)} tokens/s), held-out loss ${e.heal.initial_loss?.toFixed(3) ?? "?"} → ${e.heal.final_loss.toFixed(3)}\n`);
      }
    };
    try {
      const gpu = gpuFromArgs(args as Record<string, unknown>);
      const workers = intFlag(args.workers, "--workers", 0);
      const limit = intFlag(args.limit, "--limit");
      const results = await runExperiment({
        base: basePath, embedded, work: output.tmpPath, mode, texts, textFile: textFile ?? "corpus.txt", heal,
        healTokens: args["heal-tokens"] ? parseCount(args["heal-tokens"], "--heal-tokens") : heal === "export" ? 1e9 : preset.healTokens,
        healLr: numFlag(args["heal-lr"], "--heal-lr") ?? (heal === "export" ? 3e-5 : 5e-4),
        healSeqLen: embedded ? 128 : 4096,
        searchBudgetMs: args["search-budget"] ? parseDuration(args["search-budget"]) : embedded ? preset.searchBudgetMs : 600_000,
        nextwordItems: intFlag(args.items, "--items", 0) ?? preset.nextwordItems, nextwordSeed: 1234,
        tasks, ...(args.data ? { dataDir: resolve(args.data) } : {}), ...(limit ? { limit } : {}),
        ctx, stride: ctx, pplChars: preset.pplChars, ...(embedded ? { threads: 1 } : {}), measureType: embedded ? "f32" : "f16", continuationTokens: 40,
        ...(workers !== undefined ? { workers } : {}), version: VERSION, ...gpu, onEvent,
        ...(server ? { server } : {}),
      });
      progress.stop();
      const t = performance.now();
      say("[report] report.md, results.json, charts\n");
      await writeCharts(output.tmpPath, reportCharts(results));
      results.timings.report = (performance.now() - t) / 1000;
      results.timings.total += results.timings.report;
      await writeResults(output.tmpPath, results, renderReport(results));
      await output.commit();
      if (args.json) return void process.stdout.write(JSON.stringify(results, null, 2) + "\n");
      const { header, rows } = reportTable(results);
      process.stdout.write(`\n${textTable(header, rows)}\n`);
      for (const f of findings(results)) process.stdout.write(`- ${f.text}\n`);
      process.stdout.write(`\nreport: ${join(out, "report.md")} (${mode} mode, ${results.timings.total.toFixed(0)} s)\n`);
    } catch (e) {
      progress.stop();
      await output.abort();
      throw output.failure(e);
    }
  },
});

function serverSettings(args: Record<string, unknown>): ServerSettings {
  const key = (args["api-key"] as string | undefined) ?? process.env.DUSK_API_KEY;
  const concurrency = intFlag(args.concurrency as string | undefined, "--concurrency", 1);
  // The template's placeholders are checked now, not after the analysis.
  fillTemplate(String(args.server), { model: "", gguf: "", name: "", port: "0" });
  return {
    template: String(args.server),
    ...(args["server-model"] ? { model: String(args["server-model"]) } : {}),
    ...(key ? { apiKey: key } : {}),
    ...(args["server-timeout"] ? { readyTimeoutMs: parseDuration(String(args["server-timeout"])) } : {}),
    ...(concurrency !== undefined ? { concurrency } : {}),
  };
}
