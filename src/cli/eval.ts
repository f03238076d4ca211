// `dusk eval MODEL --tasks …`: runs leaderboard tasks against a backend (llama.cpp by default, the TS
// engine — also over a preset layout run virtually — or an OpenAI-compatible server), draws progress,
// writes lm-eval-shaped results JSON and per-sample JSONL, prints a small table. Also opens scorers
// for `dusk ppl`. Not here: task logic (src/eval), scoring (the backends).

import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { extname, join } from "node:path";
import { defineCommand } from "citty";
import { writeFileDurably } from "../build/durable-write.js";
import { checkpointHeader, openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { convertCheckpoint } from "../convert/convert-checkpoint.js";
import type { ConvertType } from "../convert/gguf-hparams.js";
import { checkpointWeights, planWeights } from "../engine/checkpoint-weights.js";
import { EvalError } from "../errors.js";
import { EngineScorer } from "../eval/backend-engine.js";
import { loadTextTokenizer } from "../tokenizer/load-text-tokenizer.js";
import { OpenAiScorer } from "../eval/backend-openai.js";
import { taskDatasetSource, type TaskDatasetSource } from "../eval/dataset-manifest.js";
import { buildResults, PROTOCOL_SEEDS, resolveTasks, runTask, type ProtocolName, type Scorer, type TaskResult } from "../eval/index.js";
import type { WindowScorer } from "../eval/perplexity.js";
import { makePlan } from "../plan/plan.js";
import { LlamaScorer } from "../runtime/score.js";
import { gpuArgs, gpuFromArgs } from "./gpu-args.js";
import { makeProgress, staleLine } from "./progress.js";
import { mergeSeed, planOptions, recipeArgs, resolveRecipe, type RecipeArgValues } from "./recipe-args.js";

export const BACKENDS = ["llamacpp", "engine", "openai"] as const;
export type BackendName = (typeof BACKENDS)[number];

export const scorerArgs = {
  backend: { type: "string", description: `scoring backend: ${BACKENDS.join(", ")} (default llamacpp)` },
  bos: { type: "boolean", description: "prepend BOS to every request (v1 used none for Llama/Mistral); with --backend openai, --bos/--no-bos is sent as add_special_tokens (default: the server decides)" },
  ctx: { type: "string", description: "context window in tokens (default min(model, 2048))" },
  "base-url": { type: "string", description: "openai: server URL, e.g. http://127.0.0.1:8000/v1" },
  model: { type: "string", description: "openai: the model name to send (default: MODEL)" },
  "api-key": { type: "string", description: "openai: API key (default $OPENAI_API_KEY)" },
  concurrency: { type: "string", description: "openai: requests in flight (default 4)" },
  ...gpuArgs,
  ...recipeArgs,
} as const;

export interface ScorerArgValues extends RecipeArgValues {
  backend?: string;
  bos?: boolean;
  ctx?: string;
  "base-url"?: string;
  model?: string;
  "api-key"?: string;
  concurrency?: string;
  gpu?: string;
  "gpu-layers"?: string;
}

export interface OpenedScorer {
  scorer: Scorer & Partial<WindowScorer>;
  close(): Promise<void>;
}

export function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new EvalError("EVAL_BAD_ARG", `${flag} must be a positive integer, got ${JSON.stringify(value)}`, { hint: `e.g. ${flag} 8` });
  return n;
}

/** The GGUF type that keeps an HF checkpoint's stored precision. */
function keepPrecision(c: Checkpoint): ConvertType {
  const d = String(c.config?.torch_dtype ?? "").toLowerCase();
  return d === "float32" ? "f32" : d === "bfloat16" ? "bf16" : "f16";
}

/** Opens MODEL (plus preset flags) as the chosen backend's scorer. */
export async function openScorer(positionals: string[], a: ScorerArgValues): Promise<OpenedScorer> {
  const backend = (a.backend ?? "llamacpp") as BackendName;
  const gpu = gpuFromArgs(a as Record<string, unknown>);
  if (!BACKENDS.includes(backend)) throw new EvalError("EVAL_BAD_BACKEND", `unknown backend ${JSON.stringify(a.backend)}`, { hint: `use one of ${BACKENDS.join(", ")}` });
  const ctx = positiveInt(a.ctx, "--ctx");
  const model = positionals[positionals.length - 1];
  const recipeFile = positionals.length === 1 && /\.ya?ml$/i.test(model ?? "");
  if ((a.preset || recipeFile) && backend !== "engine") throw new EvalError("EVAL_PRESET_BACKEND", `a ${a.preset ? "preset layout" : "recipe"} is evaluated virtually, which only the engine backend does`, { hint: "add --backend engine, or build the model first (dusk build) and evaluate the output" });
  if (backend === "openai") {
    const baseUrl = a["base-url"];
    if (!baseUrl) throw new EvalError("EVAL_NO_BASE_URL", "--backend openai needs --base-url", { hint: "e.g. --base-url http://127.0.0.1:8000/v1 (start one with `dusk serve MODEL`)" });
    const name = a.model ?? model;
    if (!name) throw new EvalError("EVAL_NO_MODEL", "--backend openai needs a model name", { hint: "pass MODEL or --model NAME as the server knows it" });
    const apiKey = a["api-key"] ?? process.env.OPENAI_API_KEY;
    const concurrency = positiveInt(a.concurrency, "--concurrency");
    return { scorer: new OpenAiScorer({ baseUrl, model: name, ...(apiKey ? { apiKey } : {}), ...(concurrency ? { concurrency } : {}), ...(a.bos !== undefined ? { bos: a.bos } : {}) }), close: async () => {} };
  }
  if (!model) throw new EvalError("EVAL_NO_MODEL", "no MODEL given", { hint: "pass a .gguf file or an HF model directory" });
  if (backend === "engine") {
    if (a.preset || recipeFile) {
      // a layout or merge run virtually: each tensor made (merged) as the forward pass loads it
      const r = await resolveRecipe(positionals, a);
      try {
        const plan = makePlan(r.recipe, r.checkpoints.map(checkpointHeader), planOptions({}, r));
        const base = r.checkpoints[plan.configSource]!;
        const tokenizer = await loadTextTokenizer(base);
        const label = a.preset ? `${a.preset}(${positionals.join(",")})` : model!;
        return { scorer: new EngineScorer(planWeights(plan, r.checkpoints, { seed: mergeSeed(a) }), tokenizer, { model: label, bos: a.bos ?? false, ...(ctx ? { contextLength: ctx } : {}) }), close: r.close };
      } catch (e) {
        await r.close();
        throw e;
      }
    }
    const c = await openCheckpoint(model);
    try {
      if (c.format === "gguf") throw new EvalError("EVAL_ENGINE_GGUF", `${model} is a GGUF; the engine backend reads the HF tokenizer beside safetensors`, { hint: "use --backend llamacpp for a GGUF, or pass the HF directory" });
      const scorer = new EngineScorer(checkpointWeights(c), await loadTextTokenizer(c), { model, bos: a.bos ?? false, ...(ctx ? { contextLength: ctx } : {}), dtype: String(c.config?.torch_dtype ?? "") });
      return { scorer, close: () => c.close() };
    } catch (e) {
      await c.close();
      throw e;
    }
  }
  // llama.cpp: a GGUF as is; an HF directory converted (stored precision) into a temporary GGUF first.
  let ggufPath = model;
  let tempDir: string | undefined;
  if (!model.toLowerCase().endsWith(".gguf")) {
    const c = await openCheckpoint(model);
    try {
      if (c.format !== "gguf") {
        tempDir = await mkdtemp(join(tmpdir(), "dusk-eval-gguf-"));
        ggufPath = join(tempDir, "model.gguf");
        for await (const _ of convertCheckpoint(c, { output: ggufPath, type: keepPrecision(c) })) void _;
      }
    } finally {
      await c.close();
    }
  }
  const scorer = await LlamaScorer.open(ggufPath, { bos: a.bos ?? false, ...(ctx ? { contextSize: ctx } : {}), ...gpu });
  return {
    scorer,
    close: async () => {
      await scorer.close();
      if (tempDir) await rm(tempDir, { recursive: true, force: true });
    },
  };
}

/** `samples.jsonl` for one task; `samples.<task>.jsonl` for each of several. */
function sampleLogPath(base: string, task: string, several: boolean): string {
  if (!several) return base;
  const ext = extname(base);
  return `${base.slice(0, base.length - ext.length)}.${task}${ext || ".jsonl"}`;
}

export const evalCommand = defineCommand({
  meta: { name: "eval", description: "Score a model on Open LLM Leaderboard tasks (lm-eval-shaped results and per-sample logs)" },
  args: {
    models: { type: "positional", description: "MODEL: a .gguf, an HF directory, a mergekit recipe (.yml, run virtually with --backend engine), or (with --preset, --backend engine) the source model(s)", required: false },
    tasks: { type: "string", description: "comma-separated: leaderboard (or leaderboard-v1), arc_challenge, hellaswag, mmlu, mmlu_<subject>, truthfulqa_mc2, winogrande, gsm8k, nextline or nextword (with --text)", required: true },
    data: { type: "string", description: "dataset directory in the Hub layout (fill it with `dusk data pull`); not needed by nextline/nextword" },
    text: { type: "string", description: "nextline/nextword: the held-out UTF-8 text their items are built from (--limit N builds N of them)" },
    protocol: { type: "string", description: "v1 (leaderboard, b281b09) or v0.4 (default v1)" },
    shots: { type: "string", description: "few-shot count (default: each task's leaderboard k)" },
    limit: { type: "string", description: "score only the first N docs of each task" },
    output: { type: "string", alias: "o", description: "results JSON path" },
    samples: { type: "string", description: "per-sample JSONL (with several tasks: one file per task, <stem>.<task>.jsonl)" },
    resume: { type: "boolean", description: "skip docs already in the sample logs" },
    ...scorerArgs,
    json: { type: "boolean", description: "print the results JSON" },
    quiet: { type: "boolean", description: "no progress output" },
  },
  async run({ args }) {
    const protocol = (args.protocol ?? "v1") as ProtocolName;
    if (protocol !== "v1" && protocol !== "v0.4") throw new EvalError("EVAL_BAD_PROTOCOL", `unknown protocol ${JSON.stringify(args.protocol)}`, { hint: "use --protocol v1 or --protocol v0.4" });
    const names = args.tasks.split(",").map((s) => s.trim()).filter(Boolean).map((n) => (n === "leaderboard-v1" ? "leaderboard" : n));
    const shots = args.shots === undefined ? undefined : Number(args.shots);
    if (shots !== undefined && (!Number.isSafeInteger(shots) || shots < 0)) throw new EvalError("EVAL_BAD_ARG", `--shots must be a non-negative integer, got ${JSON.stringify(args.shots)}`, { hint: "e.g. --shots 0" });
    const limit = positiveInt(args.limit, "--limit");
    // nextline/nextword build their items from --text: N items for --limit N, as nextLineTask({ items: N }) does
    const tasks = resolveTasks(names, { ...(args.text === undefined ? {} : { text: await readFile(args.text, "utf8") }), ...(limit === undefined ? {} : { items: limit }) });
    const fileTask = tasks.find((t) => t.dataset.kind !== "built");
    if (fileTask && !args.data) throw new EvalError("EVAL_NO_DATA", `${fileTask.name} reads its documents from a data directory: pass --data DIR`, { hint: `Fetch them once with: dusk data pull --tasks ${fileTask.group ?? fileTask.name} --to ./datasets` });
    if (args.resume && !args.samples) throw new EvalError("EVAL_RESUME_NEEDS_SAMPLES", "--resume needs --samples (the log it resumes from)", { hint: "pass the same --samples path as the interrupted run" });
    // Which commit each task's data was pulled at (from `dusk data pull`'s manifests,
    // read before scoring so a damaged manifest fails fast; "unknown" for hand-made data).
    const datasets: Record<string, TaskDatasetSource> = Object.create(null);
    for (const task of tasks) datasets[task.name] = await taskDatasetSource(args.data, task, shots ?? task.defaultShots);
    const positionals = (args._ ?? []).map(String);
    const { scorer, close } = await openScorer(positionals, args);
    if (scorer instanceof LlamaScorer && !args.quiet && !args.json) process.stderr.write(`llama.cpp on ${scorer.device}\n`);
    const results: TaskResult[] = [];
    const progress = makeProgress({ quiet: args.quiet || args.json });
    try {
      for (const task of tasks) {
        let started = false;
        const gen = runTask(task, scorer, {
          dataDir: args.data,
          protocol,
          ...(shots === undefined ? {} : { shots }),
          ...(limit === undefined ? {} : { limit }),
          ...(args.samples ? { sampleLog: sampleLogPath(args.samples, task.name, tasks.length > 1), resume: args.resume ?? false } : {}),
        });
        for await (const e of gen) {
          if (e.type === "progress") {
            if (!started) progress.start(task.name, e.total);
            started = true;
            progress.update(e.done);
          } else if (e.type === "result") results.push(e.result);
        }
        progress.stop();
      }
    } finally {
      progress.stop();
      await close();
    }
    const file = buildResults(results, { scorer: scorer.describe(), protocol, seed: PROTOCOL_SEEDS[protocol], datasets, ...(limit === undefined ? {} : { limit }) });
    const text = JSON.stringify(file, null, 2) + "\n";
    if (args.output) await writeFileDurably(args.output, text, { purpose: "dusk eval", onStale: (n) => process.stderr.write(staleLine(n)) });
    if (args.json) return void process.stdout.write(text);
    const rows = Object.keys(file.results).map((task) => {
      const metrics = file.results[task]!;
      return Object.keys(metrics).filter((m) => !m.endsWith("_stderr")).map((m) => {
        const v = metrics[m];
        const se = metrics[`${m}_stderr`];
        return `${task.padEnd(28)} ${m.padEnd(18)} ${typeof v === "number" ? v.toFixed(4) : "—"}${typeof se === "number" ? ` ± ${se.toFixed(4)}` : ""}`;
      });
    });
    process.stdout.write([`${"task".padEnd(28)} ${"metric".padEnd(18)} value`, ...rows.flat()].join("\n") + "\n");
    const truncated = results.reduce((n, r) => n + r.truncations, 0);
    if (truncated > 0) process.stderr.write(`note: ${truncated} request(s) were cut from the left to fit the context window\n`);
    if (args.output) process.stdout.write(`results: ${args.output}\n`);
  },
});
