// `dusk experiment`: the iDUS experiment end to end on one base model. Phases, in order: the
// base's layer map and each layout's seam report (virtual, calibration text); the layout search
// at DUS's depth; building every stack (verified); measuring every model through llama.cpp
// (perplexity, the next-word task or leaderboard tasks, a greedy continuation); healing each stack
// and the base for the same token budget (or exporting axolotl jobs for a real base) and
// measuring again. Everything is written into `work` (the caller's temporary report directory).

import { cpus, platform, totalmem } from "node:os";
import { join } from "node:path";
import { analyze, searchLayouts, type LayerMap, type LayoutReport } from "../analyze/index.js";
import { checkpointHParams } from "../checkpoint/checkpoint-hparams.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import type { ConvertType } from "../convert/gguf-hparams.js";
import type { EvalTask } from "../eval/task.js";
import type { GpuOptions } from "../runtime/llama-instance.js";
import { heal } from "../train/heal.js";
import { tokenizeDocs } from "../train/data.js";
import { loadTextTokenizer } from "../tokenizer/load-text-tokenizer.js";
import type { TrainEvent } from "../train/loop.js";
import { writeAxolotlJob } from "../train/axolotl/index.js";
import { ExperimentError } from "./experiment-error.js";
import { dusDepth, experimentLayouts, isStack, listLayout, type ExperimentLayout } from "./layouts.js";
import { measureGguf, type Measurement } from "./measure.js";
import { measureOnServer, type ServerSettings } from "./measure-server.js";
import type { TrainTokenizer } from "../train/data.js";
import { RESULTS_VERSION, type ExperimentResults, type HealSummary, type LayoutResult, type SeamSummary } from "./results.js";
import { buildLayout, toGguf } from "./stacks.js";
import { continuationPrompt, type ExperimentTexts } from "./texts.js";

export type ExperimentPhase = "analyze" | "search" | "build" | "measure" | "heal" | "report";

export type ExperimentEvent =
  | { type: "phase"; phase: ExperimentPhase; what: string }
  | { type: "progress"; label: string; done: number; total: number }
  | { type: "measured"; model: string; stage: "before" | "after"; m: Measurement }
  | { type: "healed"; model: string; heal: HealSummary };

export interface ExperimentOptions extends GpuOptions {
  /** HF directory of the base model */
  base: string;
  /** the embedded default (heals locally, next-word task) */
  embedded: boolean;
  /** the report's working directory (empty, owned by the caller) */
  work: string;
  mode: "full" | "quick";
  texts: ExperimentTexts;
  /** where the training text lives for an exported job's corpus */
  textFile: string;
  heal: "local" | "export" | "none";
  healTokens: number;
  healLr: number;
  /** sequence length of healing (capped at the base's context) */
  healSeqLen: number;
  searchBudgetMs: number;
  nextwordItems: number;
  nextwordSeed: number;
  tasks: readonly EvalTask<unknown>[];
  dataDir?: string;
  limit?: number;
  ctx: number;
  stride: number;
  /** characters of the test text's start that perplexity is measured on */
  pplChars: number;
  /** llama.cpp threads for measuring (1 for small models) */
  threads?: number;
  /** GGUF type for llama.cpp measurements (f32 for small models: no rounding in the comparison) */
  measureType: ConvertType;
  continuationTokens: number;
  /** measure through an OpenAI-compatible server started per model instead of llama.cpp here */
  server?: ServerSettings;
  workers?: number;
  version: string;
  signal?: AbortSignal;
  onEvent?: (e: ExperimentEvent) => void;
}

type Timings = ExperimentResults["timings"];

/** Runs the experiment; returns the results (relative paths) without writing the report. */
export async function runExperiment(o: ExperimentOptions): Promise<ExperimentResults> {
  const t0 = performance.now();
  const timings: Timings = { analyze: 0, search: 0, build: 0, measure: 0, heal: 0, report: 0, total: 0 };
  const timed = async <T>(phase: keyof Timings, what: string, f: () => Promise<T>): Promise<T> => {
    o.onEvent?.({ type: "phase", phase: phase as ExperimentPhase, what });
    const s = performance.now();
    try {
      return await f();
    } finally {
      timings[phase] += (performance.now() - s) / 1000;
    }
  };
  const progress = (label: string) => (e: { done: number; total: number }) => o.onEvent?.({ type: "progress", label, done: e.done, total: e.total });
  const base = await openCheckpoint(o.base);
  try {
    if (base.format !== "safetensors") throw new ExperimentError("EXPERIMENT_BASE_GGUF", `${o.base} is a GGUF; the experiment builds, analyses and heals HF checkpoints`, { hint: "pass the HF directory (dusk convert makes the GGUF from it)" });
    const n = base.numLayers;
    const layouts = experimentLayouts(n, base.ref);
    // the family's reading of config.json (Gemma 3's multimodal config nests it under text_config)
    const healSeqLen = Math.min(o.healSeqLen, checkpointHParams(base).contextLength);
    const windows = { ctx: o.ctx, stride: o.stride };

    // 1. The base's map and each stack's seam report, virtually, on the calibration text.
    const reports = new Map<string, LayoutReport>();
    let baseMap: LayerMap | undefined;
    for (const l of layouts) {
      const a = await timed("analyze", l.recipe ? `seam report of ${l.name}` : "the base model's layer map", () =>
        analyze({ checkpoints: [base], ...(l.recipe ? { recipe: l.recipe } : {}), text: o.texts.calibration, model: l.name, textLabel: "calibration text" }, { ...windows, ...(o.signal ? { signal: o.signal } : {}), onProgress: progress(`analyze ${l.name}`) }),
      );
      if (l.recipe) reports.set(l.name, a.layout!);
      else baseMap = a;
    }

    // 2. The search's best layout at DUS's depth; a layout of its own unless it is one of the above.
    const depth = dusDepth(n);
    const found = await timed("search", `layouts of ${depth} layers, ranked by calibration perplexity`, () =>
      searchLayouts({ checkpoint: base, text: o.texts.calibration, model: "base", textLabel: "calibration text" }, { depth, budgetMs: o.searchBudgetMs, ...windows, ...(o.signal ? { signal: o.signal } : {}), onProgress: (e) => e.type !== "budget" && o.onEvent?.({ type: "progress", label: "search", done: e.done, total: e.total }) }),
    );
    const best = found.ranking[0]!;
    const same = layouts.find((l) => isStack(l, best.layers));
    if (!same) {
      const layout = listLayout("search", `best of ${found.ranking.length} ranked (${best.kind})`, base.ref, n, best.layers);
      layouts.push(layout);
      const a = await timed("analyze", "seam report of the search's best", () =>
        analyze({ checkpoints: [base], recipe: layout.recipe!, text: o.texts.calibration, model: layout.name, textLabel: "calibration text" }, { ...windows, onProgress: progress("analyze search") }),
      );
      reports.set(layout.name, a.layout!);
    }

    // 3. Build every stack (verified against the base under its plan).
    const modelDir = new Map<string, string>([["base", o.base]]);
    for (const l of layouts.filter((x) => x.recipe)) {
      const rel = join("models", l.name);
      await timed("build", `${l.name}: ${l.spec}`, () => buildLayout(l, base, join(o.work, rel), o.signal));
      modelDir.set(l.name, rel);
    }
    const abs = (p: string): string => (p === o.base ? p : join(o.work, p));

    // 4. Measure every model through llama.cpp (or a server started for it).
    const measureOpts = {
      test: o.texts.test, pplText: o.texts.test.slice(0, o.pplChars), ...(o.threads ? { threads: o.threads } : {}), ...windows, nextwordItems: o.nextwordItems, nextwordSeed: o.nextwordSeed, tasks: o.tasks,
      ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.limit ? { limit: o.limit } : {}),
      prompt: continuationPrompt(o.texts.test), continuationTokens: o.continuationTokens,
      ...(o.gpu ? { gpu: o.gpu } : {}), ...(o.gpuLayers !== undefined ? { gpuLayers: o.gpuLayers } : {}),
    };
    let tokenizer: TrainTokenizer | undefined; // the base's, for token windows sent to a server
    const measureUntimed = async (name: string, dir: string, stage: "before" | "after"): Promise<Measurement> => {
      const gguf = join(o.work, "gguf", `${name}${stage === "after" ? "-healed" : ""}.gguf`);
      if (!o.server || o.server.template.includes("{gguf}")) await toGguf(dir, gguf, o.measureType, o.signal);
      const opts = { ...measureOpts, onProgress: (what: string, done: number, total: number) => progress(`${name}: ${what}`)({ done, total }) };
      const m = o.server
        ? await measureOnServer(o.server, { model: dir, gguf, name: `${name}${stage === "after" ? "-healed" : ""}` }, (tokenizer ??= await loadTextTokenizer(o.base)), { ...opts, ...(o.signal ? { signal: o.signal } : {}) })
        : await measureGguf(gguf, opts);
      o.onEvent?.({ type: "measured", model: name, stage, m });
      return m;
    };
    const measure = (name: string, dir: string, stage: "before" | "after"): Promise<Measurement> => timed("measure", `${name} ${stage} healing`, () => measureUntimed(name, dir, stage));
    // One llama.cpp thread per model (small models): the models are measured side by side, one per
    // core; the numbers do not depend on it (each measurement is its own single-threaded context).
    const sideBySide = !o.server && o.threads === 1 ? Math.max(1, Math.min(cpus().length, layouts.length)) : 1;
    const before = await timed("measure", `${layouts.length} models before healing${sideBySide > 1 ? `, ${sideBySide} at a time` : ""}`, () =>
      mapConcurrently(layouts, sideBySide, (l) => {
        o.onEvent?.({ type: "phase", phase: "measure", what: `${l.name} before healing` });
        return measureUntimed(l.name, abs(modelDir.get(l.name)!), "before");
      }),
    );
    const rows: LayoutResult[] = layouts.map((l, k) => {
      const report = reports.get(l.name);
      return {
        name: l.name, analog: l.analog, spec: l.spec, depth: l.layers.length, flags: l.flags,
        static: report?.static ?? null, seams: report ? seamSummary(report) : null,
        calibration_ppl: report ? report.ppl : baseMap!.ppl,
        model: modelDir.get(l.name)!, before: before[k]!,
        ...(same && same.name === l.name ? { also: "search" } : {}),
      };
    });

    // 5. Heal every model for the same budget (or export the jobs), then measure again. Every
    // model has the base's tokenizer: the texts are tokenized once.
    const tokens = o.heal === "local" ? await timed("heal", "tokenizing the training and test texts", async () => {
      const tok = await loadTextTokenizer(o.base);
      return { train: tokenizeDocs([{ name: "training text", text: o.texts.train }], tok), heldOut: tokenizeDocs([{ name: "test text", text: o.texts.test }], tok) };
    }) : undefined;
    for (const row of rows) {
      const dir = abs(row.model);
      if (o.heal === "export") {
        const rel = join("jobs", row.name);
        await timed("heal", `an axolotl job for ${row.name}`, () => writeAxolotlJob({
          stack: dir, output: join(o.work, rel), train: { layers: "all", includeEmbed: true, includeHead: true },
          corpus: { kind: "pretraining_dataset", files: [o.textFile] }, tokens: o.healTokens, seqLen: healSeqLen, lr: o.healLr,
        }));
        row.job = rel;
      } else if (o.heal === "local") {
        const rel = join("models", `${row.name}-healed`);
        row.heal = await timed("heal", `${row.name}: ${o.healTokens} tokens`, () => healOne({ ...o, healSeqLen }, tokens!, row.name, dir, join(o.work, rel), rel));
        o.onEvent?.({ type: "healed", model: row.name, heal: row.heal });
        row.after = await measure(row.name, join(o.work, rel), "after");
      }
    }

    const device = rows[0]!.before.device;
    timings.total = (performance.now() - t0) / 1000;
    return {
      version: RESULTS_VERSION, dusk: o.version, mode: o.mode, date: new Date().toISOString(),
      machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), platform: `${platform()}`, node: process.version, device },
      base: { path: o.base, layers: n, params: paramCount(base), embedded: o.embedded },
      texts: { source: o.texts.source, train_chars: o.texts.train.length, calibration_chars: o.texts.calibration.length, test_chars: o.texts.test.length, held_out_start: o.texts.split[0] },
      settings: {
        ...windows, ppl_chars: Math.min(o.pplChars, o.texts.test.length), nextword_items: o.nextwordItems, nextword_seed: o.nextwordSeed, heal: o.heal, heal_tokens: o.healTokens, heal_lr: o.healLr, heal_seq_len: healSeqLen,
        search_budget_s: o.searchBudgetMs / 1000, tasks: o.tasks.map((t) => t.name), limit: o.limit ?? null, prompt: measureOpts.prompt, continuation_tokens: o.continuationTokens,
        ...(o.server ? { server: o.server.template } : {}),
      },
      base_map: baseMap!,
      layouts: rows,
      search: {
        depth, ranked: found.ranking.length, candidates: found.ranking.length + found.not_ranked.length, budget_s: o.searchBudgetMs / 1000, seconds: found.seconds,
        top: found.ranking.slice(0, 5).map((c) => ({ name: c.name, spec: c.spec, kind: c.kind, ppl: c.ppl, seams: c.seams })),
        best_row: same ? same.name : "search",
      },
      timings,
    };
  } finally {
    await base.close();
  }
}

function seamSummary(r: LayoutReport): SeamSummary {
  const drift = r.positions.reduce((s, p) => s + p.distance_mean, 0) / Math.max(1, r.positions.length);
  return { count: r.seams, mean: r.seam_distance_mean, max: r.seam_distance_max, drift, positions: r.positions };
}

function paramCount(c: Checkpoint): number {
  let n = 0;
  for (const t of c.tensors.values()) n += t.shape.reduce((a, b) => a * b, 1);
  return n;
}

/** Continued pretraining of one model on the training text, saved as an HF checkpoint. */
async function healOne(o: ExperimentOptions, tokens: { train: Int32Array; heldOut: Int32Array }, name: string, dir: string, output: string, rel: string): Promise<HealSummary> {
  const onEvent = (e: TrainEvent) => {
    if (e.type === "step") o.onEvent?.({ type: "progress", label: `heal ${name}`, done: e.entry.step, total: e.steps });
  };
  const r = await heal({
    model: dir,
    tokens,
    budget: { tokens: o.healTokens },
    train: "all",
    settings: { seqLen: o.healSeqLen, batch: 16, lr: o.healLr, warmupSteps: 2, evalEvery: 0, evalSequences: 16 },
    ...(o.workers !== undefined ? { workers: o.workers } : {}),
    output: { dir: output, inputs: [dir], purpose: "dusk experiment", command: `dusk heal ${name} --tokens ${o.healTokens} --lr ${o.healLr}` },
    meta: { kind: "heal", source: name, experiment: true },
    ...(o.signal ? { signal: o.signal } : {}),
    onEvent,
  });
  if (r.interrupted) throw new ExperimentError("EXPERIMENT_INTERRUPTED", "healing was interrupted; the report is not written", { hint: "run dusk experiment again" });
  const curve = r.log.flatMap((e): Array<[number, number]> => (e.type === "step" ? [[e.step, e.loss]] : []));
  return {
    tokens: r.tokens, steps: r.steps, seconds: r.seconds, tokens_per_s: r.tokensPerSecond,
    initial_loss: r.initial?.loss ?? null, final_loss: r.final.loss, curve, model: rel,
  };
}

/** f over items with at most `limit` calls in flight; results in the items' order. */
async function mapConcurrently<T, R>(items: readonly T[], limit: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) {
      const k = next++;
      out[k] = await f(items[k]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return out;
}
