// `dusk study`: when does interlocking hurt? For each base (different depths) and each of its
// checkpoints (training length), one base pass over the test text, then DUS, iDUS-g and iDUS-1 run
// virtually on the engine (and on the final model, at several overlaps m); penalties over the same
// checkpoint's base with window-bootstrap intervals; then the layout predictor's validation per base.
// Returns the results; the CLI writes them (results.json, report.md, charts).

import { cpus, platform, totalmem } from "node:os";
import { openCheckpoint } from "../checkpoint/open-checkpoint.js";
import { defaultDrop } from "../recipe/index.js";
import type { BootstrapSettings } from "./bootstrap.js";
import { baseCheckpoints, type StudyCheckpoint } from "./bases.js";
import { overlapValues, studyGroup, studyLayouts, type StudyLayout } from "./factors.js";
import type { JobSettings, StudyBaseInput, StudyJob, StudyTexts } from "./jobs.js";
import { STUDY_RESULTS_VERSION, type PredictorSummary, type StudyBase, type StudyResults, type StudyRun } from "./results.js";
import { StudyError } from "./study-error.js";
import { runJobs } from "./study-pool.js";
import type { UnigramLevel } from "./unigram.js";

export type { StudyBaseInput, StudyTexts } from "./jobs.js";

export type StudyEvent =
  | { type: "phase"; what: string }
  /** the whole study's measuring, in layer-passes over the text (the ETA's unit) */
  | { type: "progress"; label: string; done: number; total: number; detail: string };

export interface StudyOptions {
  bases: StudyBaseInput[];
  mode: "full" | "quick";
  texts: StudyTexts;
  ctx: number;
  stride: number;
  bootstrap: BootstrapSettings;
  /** validate the layout predictor on each base's final model */
  predictor: boolean;
  /** worker threads (0: this thread) */
  workers: number;
  version: string;
  /** the command line, for the report's "Reproduce" */
  command: string;
  signal?: AbortSignal;
  onEvent?: (e: StudyEvent) => void;
}

interface PlannedRun { base: StudyBaseInput; n: number; point: StudyCheckpoint; layouts: StudyLayout[] }

/** Runs the study; nothing is written. */
export async function runStudy(o: StudyOptions): Promise<StudyResults> {
  const t0 = performance.now();
  if (o.bases.length === 0) throw new StudyError("STUDY_NO_BASE", "the study needs at least one base", { hint: "dusk study --bases DIR[,DIR…]" });
  // Plan every run first (headers only), so the progress bar has a total and bad bases fail early.
  const planned: PlannedRun[] = [];
  const bases: Array<Omit<StudyBase, "unigram"> & { input: StudyBaseInput }> = [];
  for (const b of o.bases) {
    const c = await openCheckpoint(b.path);
    let n: number;
    let params: number;
    try {
      if (c.format !== "safetensors") throw new StudyError("STUDY_BASE_GGUF", `${b.path} is a GGUF; the study reads HF checkpoints and their checkpoints/ folder`, { hint: "pass the HF directory the GGUF came from" });
      n = c.numLayers;
      params = [...c.tensors.values()].reduce((s, t) => s + t.shape.reduce((x, y) => x * y, 1), 0);
    } finally {
      await c.close();
    }
    if (n < 4) throw new StudyError("STUDY_TOO_SHALLOW", `${b.path} has ${n} layers; the study drops n/4 and interlocks groups of n/4, which needs at least 4`, { hint: "use bases of 4 or more layers" });
    const overlaps = overlapValues(n);
    bases.push({ input: b, name: b.name, path: b.shown ?? b.path, layers: n, params, m: defaultDrop(n), g: studyGroup(n), overlaps });
    for (const point of await baseCheckpoints(b.path)) {
      if (!point.final) await checkCheckpoint(point.path, n, b.path);
      const layouts = studyLayouts(n);
      if (point.final) for (const m of overlaps.filter((x) => x !== defaultDrop(n))) layouts.push(...studyLayouts(n, m));
      planned.push({ base: b, n, point, layouts });
    }
  }
  const jobs: StudyJob[] = planned.map((p) => ({ kind: "run", ...p }));
  if (o.predictor) for (const b of bases) jobs.push({ kind: "predictor", base: b.input, n: b.layers });
  o.onEvent?.({ type: "phase", what: `measuring ${planned.length} checkpoints of ${bases.length} base(s) (${planned.reduce((s, p) => s + p.layouts.length, 0)} layouts)${o.predictor ? " and validating the layout predictor on each base" : ""}, on ${o.workers || 1} thread(s)` });
  const settings: JobSettings = { texts: o.texts, ctx: o.ctx, stride: o.stride, bootstrap: o.bootstrap };
  const results = await runJobs(jobs, settings, o.workers, (done, total, detail) => o.onEvent?.({ type: "progress", label: "study (layer passes)", done, total, detail }), o.signal);
  const runs: StudyRun[] = [];
  const predictor: PredictorSummary[] = [];
  const unigrams = new Map<string, UnigramLevel>();
  let text = { tokens: 0, windows: 0 };
  for (const [i, r] of results.entries()) {
    if (r.kind === "predictor") {
      predictor.push(r.validation);
      continue;
    }
    const base = (jobs[i] as Extract<StudyJob, { kind: "run" }>).base.name;
    const first = unigrams.get(base);
    // every checkpoint of a base must score the same tokens in the same windows
    if (first && (first.window_tokens.length !== r.unigram.window_tokens.length || first.window_tokens.some((t, k) => t !== r.unigram.window_tokens[k]))) {
      throw new StudyError("STUDY_TOKENIZER", `${r.run.path} tokenizes the test text differently from ${base}'s other checkpoints`, { hint: "a base's checkpoints must share its tokenizer" });
    }
    if (!first) unigrams.set(base, r.unigram);
    runs.push(r.run);
    text = { tokens: r.tokens, windows: r.windows };
  }
  const seconds = (performance.now() - t0) / 1000;

  return {
    version: STUDY_RESULTS_VERSION, dusk: o.version, mode: o.mode, date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), platform: platform(), node: process.version },
    settings: {
      command: o.command, workers: o.workers, ctx: o.ctx, stride: o.stride, bootstrap: o.bootstrap,
      test: { source: o.texts.source, start: o.texts.testStart, chars: o.texts.test.length, ...text },
      calibration: { start: o.texts.calibrationStart, chars: o.texts.calibration.length },
    },
    bases: bases.map(({ input: _input, ...b }) => {
      const u = unigrams.get(b.name)!;
      return { ...b, unigram: { nll: u.nll, ppl: u.ppl, window_nll: u.window_nll } };
    }),
    runs, predictor,
    timings: { measure: seconds, report: 0, total: seconds },
  };
}

/** A checkpoint of another depth is not a checkpoint of this run: refused before any work (headers only). */
async function checkCheckpoint(path: string, n: number, base: string): Promise<void> {
  const c = await openCheckpoint(path);
  await c.close();
  if (c.numLayers !== n) throw new StudyError("STUDY_CHECKPOINT_SHAPE", `${path} has ${c.numLayers} layers, its base ${base} has ${n}`, { hint: "a base's checkpoints/ must hold checkpoints of the same run" });
}
