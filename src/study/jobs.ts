// The study's units of work, each a pure function of its description (so any worker can run any
// job and the results do not depend on how many there are): a "run" measures one checkpoint of one
// base with its layouts on the test text; a "predictor" job validates the layout predictor on one
// base's final model. Progress is reported in layer-passes over the text (the ETA's unit).

import { LayoutMeter, type LayoutMeasurement } from "../analyze/measure-layouts.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { defaultDrop } from "../recipe/index.js";
import { bootstrapDraws, differenceInterval, penaltyInterval, type BootstrapSettings, type WindowSums } from "./bootstrap.js";
import type { StudyCheckpoint } from "./bases.js";
import type { StudyLayout } from "./factors.js";
import { predictorJob, predictorUnits } from "./predictor-job.js";
import type { MeasuredLayout, PredictorSummary, StudyRun } from "./results.js";
import { unigramLevel, type UnigramLevel } from "./unigram.js";

export interface StudyBaseInput {
  /** short name in the report ("seed-scale") */
  name: string;
  /** its directory */
  path: string;
  /** the directory as results.json shows it (default: path) */
  shown?: string;
}

export interface StudyTexts {
  source: string;
  /** penalties are measured here */
  test: string;
  testStart: number;
  /** the predictor's base pass reads this (disjoint from the test text) */
  calibration: string;
  calibrationStart: number;
}

/** What every job needs besides its own description (plain data: it is posted to workers). */
export interface JobSettings {
  texts: StudyTexts;
  ctx: number;
  stride: number;
  bootstrap: BootstrapSettings;
}

export type StudyJob =
  | { kind: "run"; base: StudyBaseInput; n: number; point: StudyCheckpoint; layouts: StudyLayout[] }
  | { kind: "predictor"; base: StudyBaseInput; n: number };

export type JobResult =
  | { kind: "run"; run: StudyRun; unigram: UnigramLevel; tokens: number; windows: number }
  | { kind: "predictor"; validation: PredictorSummary };

/** Layer-passes a job makes over the text: its share of the progress bar. */
export function jobUnits(job: StudyJob): number {
  if (job.kind === "predictor") return predictorUnits(job.n, job.base.path);
  return job.n + job.layouts.reduce((s, l) => s + l.layers.length, 0);
}

/** "seed-scale step 25", "seed-scale final step 489" */
export function jobLabel(job: StudyJob): string {
  if (job.kind === "predictor") return `${job.base.name} predictor`;
  return `${job.base.name}${job.point.final ? " final" : ""}${job.point.step === null ? "" : ` step ${job.point.step}`}`;
}

export async function runJob(job: StudyJob, s: JobSettings, onUnits: (done: number, detail: string) => void, signal?: AbortSignal): Promise<JobResult> {
  if (job.kind === "predictor") return { kind: "predictor", validation: await predictorJob(job, s, onUnits, signal) };
  const label = jobLabel(job);
  const started = performance.now();
  const c = await openCheckpoint(job.point.path);
  try {
    const meter = await LayoutMeter.open({ checkpoint: c, text: s.texts.test, model: label, textLabel: "test text" }, {
      ctx: s.ctx, stride: s.stride, ...(signal ? { signal } : {}), onProgress: (e) => e.type === "base" && onUnits(0, `${label}: base pass ${e.done}/${e.total} windows`),
    });
    const unigram = unigramLevel(meter.tokenIds, meter.windows);
    let done = job.n;
    const base: WindowSums = meter.base;
    const draws = bootstrapDraws(base.window_nll.length, s.bootstrap);
    const gain = unigram.nll - meter.base.nll;
    const layouts: MeasuredLayout[] = [];
    const sums = new Map<string, LayoutMeasurement>();
    for (const l of job.layouts) {
      onUnits(done, `${label}: ${l.name}`);
      const r = await meter.measure({ layers: l.layers });
      sums.set(l.name, r);
      const penalty = penaltyInterval(r, base, draws, s.bootstrap.confidence);
      layouts.push({
        name: l.name, kind: l.kind, m: l.m, g: l.g, depth: l.layers.length, spec: l.spec, nll: r.nll, ppl: r.ppl, window_nll: r.window_nll,
        penalty, ppl_ratio: Math.exp(penalty.value), lost: gain > 0 ? penalty.value / gain : null, seconds: r.seconds,
      });
      done += l.layers.length;
    }
    onUnits(done, `${label}: done`);
    const at = (kind: string) => sums.get(job.layouts.find((l) => l.kind === kind && l.m === defaultDrop(job.n))!.name)!;
    const run: StudyRun = {
      base: job.base.name, layers: job.n, step: job.point.step, tokens: job.point.tokens, final: job.point.final, path: shownPath(job.base, job.point.path),
      dtype: weightType(c), train_eval_loss: job.point.train_eval_loss,
      nll: meter.base.nll, ppl: meter.base.ppl, window_nll: meter.base.window_nll, window_tokens: meter.base.window_tokens,
      layouts,
      idus1_minus_dus: differenceInterval(at("idus-1"), at("dus"), draws, s.bootstrap.confidence),
      idusg_minus_dus: differenceInterval(at("idus-g"), at("dus"), draws, s.bootstrap.confidence),
      seconds: (performance.now() - started) / 1000,
    };
    return { kind: "run", run, unigram, tokens: meter.run.tokens, windows: meter.run.windows };
  } finally {
    await c.close();
  }
}

/** A checkpoint's path under its base's shown path. */
function shownPath(b: StudyBaseInput, path: string): string {
  return b.shown && path.startsWith(b.path) ? b.shown + path.slice(b.path.length) : path;
}

/** The stored type of the first layer's weights: "BF16" for the checkpoints, "F32" for final models. */
function weightType(c: Checkpoint): string {
  for (const [name, t] of c.tensors) if (/layers\.0\./.test(name) && t.shape.length === 2) return t.type.name;
  return [...c.tensors.values()][0]?.type.name ?? "unknown";
}
