// A training run wired together: the gradient engine (worker threads or this thread), the
// checkpoint writer bound to the output (model card, JSONL log, loss chart, resumable state), and
// the loop. Used by `dusk train`, `dusk heal` and library callers (heal.ts).

import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { prepareOutput } from "../build/atomic-output.js";
import { BuildError } from "../errors.js";
import { LOG_FILE, readSavedState, saveCheckpoint, type ExtraFiles, type SavedState } from "./checkpoint.js";
import type { PackedData } from "./data.js";
import { LocalGradEngine, type GradEngine } from "./grad-engine.js";
import { trainLoop, type LogEntry, type SaveFn, type TrainEvent, type TrainResult } from "./loop.js";
import type { TrainModel } from "./model.js";
import { countParams, gradLayout, trainableSpecs, type TrainSelection } from "./param-store.js";
import { defaultWorkers, WorkerPool } from "./pool.js";
import { describeSelection } from "./selection.js";
import type { TrainSettings } from "./settings.js";
import { lossChart, trainCard } from "./train-card.js";
import { getTrainKernel } from "./train-kernel.js";
import { TrainError } from "./train-error.js";

export interface RunOutput {
  dir: string;
  /** paths the output must not overlap (source model, texts) */
  inputs: readonly string[];
  /** replace an existing output that is not this run's */
  force?: boolean;
  /** continue the run saved in `dir` */
  resume?: boolean;
  /** the command line, for the model card */
  command?: string;
  /** what is writing (`dusk heal`), shown to a second writer that is refused */
  purpose?: string;
  /** more files for every checkpoint (e.g. a trained tokenizer's) */
  extra?: ExtraFiles;
}

export interface RunOptions {
  model: TrainModel;
  selection: TrainSelection;
  data: PackedData;
  settings: TrainSettings;
  kind: "healed" | "trained";
  texts: { name: string; chars: number }[];
  /** how the data was tokenized, for the card */
  tokenizer: string;
  /** worker threads (default: one per core, at most one per micro-batch); 0 runs in this thread */
  workers?: number;
  output?: RunOutput;
  /** recorded in trainer_state.json */
  meta?: Record<string, unknown>;
  signal?: AbortSignal;
  /** stop after this step with a checkpoint (resume later) */
  stopAt?: number;
  /** attention query block (tests); default: the whole sequence */
  queryBlock?: number;
}

/** Reads the state and log a resumed run continues from. */
export async function readResume(dir: string): Promise<{ saved: SavedState; log: LogEntry[] }> {
  const saved = await readSavedState(dir);
  const text = await readFile(join(dir, LOG_FILE), "utf8").catch(() => "");
  const log = text.split("\n").filter((l) => l.trim().length > 0).map((l) => JSON.parse(l) as LogEntry);
  return { saved, log };
}

/** Refuses an existing output before any work starts (a checkpoint replaces it only with --force or --resume). */
export async function checkOutput(o: RunOutput): Promise<void> {
  const exists = await stat(o.dir).then(() => true, () => false);
  if (o.resume && !exists) {
    throw new TrainError("TRAIN_NO_STATE", `--resume: ${o.dir} does not exist`, { hint: "resume continues a run that saved a checkpoint into -o; start without --resume" });
  }
  if (exists && !o.force && !o.resume) {
    throw new BuildError("build.output-exists", `${o.dir} already exists`, { hint: "choose another path, pass --resume to continue the run saved there, or --force to replace it" });
  }
  // the checks every checkpoint will pass through (an output inside an input, …), before training
  // rather than at the first save
  const probe = await prepareOutput(o.dir, o.inputs, { kind: "directory", force: true, label: o.dir, ...(o.purpose ? { purpose: o.purpose } : {}) });
  await probe.abort();
}

export async function* runTraining(o: RunOptions): AsyncGenerator<TrainEvent, TrainResult> {
  const s = o.settings;
  let resume: { saved: SavedState; log: LogEntry[] } | undefined;
  if (o.output) {
    await checkOutput(o.output);
    if (o.output.resume) resume = await readResume(o.output.dir);
  }
  const g = gradLayout(o.model.layout, trainableSpecs(o.model.layout, o.selection));
  const perStep = s.batch / s.microBatch;
  const workers = o.workers ?? defaultWorkers(perStep);
  let engine: GradEngine;
  if (workers > 0) {
    if (!(o.model.params.buffer instanceof SharedArrayBuffer)) throw new TrainError("TRAIN_NOT_SHARED", "worker threads need the model loaded with shared: true", { hint: "load the model with { shared: true }, or pass workers: 0" });
    engine = WorkerPool.create({ config: o.model.config, params: o.model.params.buffer, trainable: g.trainable, seqLen: s.seqLen, ...(o.queryBlock ? { queryBlock: o.queryBlock } : {}) }, g, workers);
  } else {
    engine = new LocalGradEngine(await getTrainKernel(), o.model.layout, o.model.params, s.seqLen, g, o.queryBlock);
  }
  const out = o.output;
  const save: SaveFn | undefined = out && (async (step, adam, grads, log, state) => {
    const selection = describeSelection(o.selection);
    const chart = lossChart(log, `${o.kind === "healed" ? "healing" : "training"}: loss per step`);
    const extra: ExtraFiles = new Map<string, string | Uint8Array>([
      ["README.md", trainCard({
        model: o.model, settings: s, kind: o.kind, selection, trainableParams: grads.total, totalParams: countParams(o.model.layout), step, log,
        texts: o.texts, trainTokens: o.data.train.length, heldOutTokens: o.data.heldOut.length, tokenizer: o.tokenizer, ...(out.command ? { command: out.command } : {}),
      })],
      [LOG_FILE, log.map((e) => JSON.stringify(e)).join("\n") + "\n"],
      ["loss.svg", chart.svg],
      ["loss.png", chart.png],
      ...(o.model.recipe ? [["mergekit_config.yml", o.model.recipe.yaml] as [string, string]] : []),
      ...(out.extra ?? new Map()),
    ]);
    return saveCheckpoint({ output: out.dir, inputs: out.inputs, force: true, model: o.model, grads, adam, state, extra, ...(out.purpose ? { purpose: out.purpose } : {}) });
  });
  try {
    return yield* trainLoop({
      model: o.model, selection: o.selection, data: o.data, settings: s, engine,
      ...(save ? { save } : {}), ...(o.meta ? { meta: o.meta } : {}), ...(o.signal ? { signal: o.signal } : {}),
      ...(o.stopAt === undefined ? {} : { stopAt: o.stopAt }), ...(resume ? { resume: resume.saved, resumeLog: resume.log } : {}),
    });
  } finally {
    await engine.close();
  }
}
