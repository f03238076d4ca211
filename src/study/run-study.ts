// `dusk study`: when does interlocking hurt? For each base (different depths) and each of its
// checkpoints (training length), one base pass over the test text, then DUS, iDUS-g and iDUS-1 run
// virtually on the engine (and on the final model, at several overlaps m); penalties over the same
// checkpoint's base with window-bootstrap intervals; then the layout predictor's validation per base.
// Returns the results; the CLI writes them (results.json, report.md, charts).

import { cpus, platform, totalmem } from "node:os";
import { LayoutMeter, type LayoutMeasurement } from "../analyze/measure-layouts.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { bootstrapDraws, differenceInterval, penaltyInterval, type BootstrapSettings, type WindowSums } from "./bootstrap.js";
import { baseCheckpoints, type StudyCheckpoint } from "./bases.js";
import { layerPasses, overlapValues, studyGroup, studyLayouts, type StudyLayout } from "./factors.js";
import { STUDY_RESULTS_VERSION, type MeasuredLayout, type PredictorValidation, type StudyBase, type StudyResults, type StudyRun } from "./results.js";
import { StudyError } from "./study-error.js";
import { unigramLevel, type UnigramLevel } from "./unigram.js";
import { defaultDrop } from "../recipe/index.js";

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

export type StudyEvent =
  | { type: "phase"; what: string }
  /** the whole study's measuring, in layer-passes over the text (the ETA's unit) */
  | { type: "progress"; label: string; done: number; total: number; detail: string }
  | { type: "measured"; base: string; step: number | null; layout: MeasuredLayout };

/** The predictor's validation on one base's final model (study-predict's validatePredictor, adapted). */
export type PredictorStep = (base: { name: string; checkpoint: Checkpoint; texts: StudyTexts; ctx: number; stride: number; signal?: AbortSignal; onProgress: (done: number, total: number) => void }) => Promise<PredictorValidation>;

export interface StudyOptions {
  bases: StudyBaseInput[];
  mode: "full" | "quick";
  texts: StudyTexts;
  ctx: number;
  stride: number;
  bootstrap: BootstrapSettings;
  /** the predictor's validation per base (skipped when absent) */
  predictor?: PredictorStep;
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
      const layouts = studyLayouts(n);
      if (point.final) for (const m of overlaps.filter((x) => x !== defaultDrop(n))) layouts.push(...studyLayouts(n, m));
      planned.push({ base: b, n, point, layouts });
    }
  }
  const total = planned.reduce((s, p) => s + layerPasses(p.n, p.layouts), 0);
  let done = 0;
  const progress = (detail: string) => o.onEvent?.({ type: "progress", label: "study (layer passes)", done, total, detail });
  const fwd = o.signal ? { signal: o.signal } : {};

  const runs: StudyRun[] = [];
  const unigrams = new Map<string, UnigramLevel>();
  let testTokens = 0;
  let testWindows = 0;
  const tMeasure = performance.now();
  o.onEvent?.({ type: "phase", what: `measuring ${planned.length} checkpoints of ${bases.length} base(s): ${planned.reduce((s, p) => s + p.layouts.length, 0)} layouts` });
  for (const p of planned) {
    const label = `${p.base.name}${p.point.final ? " final" : ""}${p.point.step === null ? "" : ` step ${p.point.step}`}`;
    const started = performance.now();
    const c = await openCheckpoint(p.point.path);
    try {
      if (c.numLayers !== p.n) {
        throw new StudyError("STUDY_CHECKPOINT_SHAPE", `${p.point.path} has ${c.numLayers} layers, its base ${p.base.path} has ${p.n}`, { hint: "a base's checkpoints/ must hold checkpoints of the same run" });
      }
      const meter = await LayoutMeter.open({ checkpoint: c, text: o.texts.test, model: label, textLabel: "test text" }, {
        ctx: o.ctx, stride: o.stride, ...fwd, onProgress: (e) => e.type === "base" && progress(`${label}: base pass ${e.done}/${e.total} windows`),
      });
      if (!unigrams.has(p.base.name)) unigrams.set(p.base.name, unigramLevel(meter.tokenIds, meter.windows));
      testTokens = meter.run.tokens;
      testWindows = meter.run.windows;
      const unigram = unigrams.get(p.base.name)!;
      checkSameWindows(unigram, meter.base.window_tokens, p.point.path);
      done += p.n;
      const base: WindowSums = meter.base;
      const draws = bootstrapDraws(base.window_nll.length, o.bootstrap);
      const layouts: MeasuredLayout[] = [];
      const sums = new Map<string, LayoutMeasurement>();
      for (const l of p.layouts) {
        progress(`${label}: ${l.name}`);
        const r = await meter.measure({ layers: l.layers });
        sums.set(l.name, r);
        const penalty = penaltyInterval(r, base, draws, o.bootstrap.confidence);
        const gain = unigram.nll - meter.base.nll;
        const measured: MeasuredLayout = {
          name: l.name, kind: l.kind, m: l.m, g: l.g, depth: l.layers.length, spec: l.spec, nll: r.nll, ppl: r.ppl, window_nll: r.window_nll,
          penalty, ppl_ratio: Math.exp(penalty.value), lost: gain > 0 ? penalty.value / gain : null, seconds: r.seconds,
        };
        layouts.push(measured);
        done += l.layers.length;
        o.onEvent?.({ type: "measured", base: p.base.name, step: p.point.step, layout: measured });
      }
      const at = (kind: string) => sums.get(p.layouts.find((l) => l.kind === kind && l.m === defaultDrop(p.n))!.name)!;
      runs.push({
        base: p.base.name, layers: p.n, step: p.point.step, tokens: p.point.tokens, final: p.point.final, path: shownPath(p.base, p.point.path),
        dtype: weightType(c), train_eval_loss: p.point.train_eval_loss,
        nll: meter.base.nll, ppl: meter.base.ppl, window_nll: meter.base.window_nll, window_tokens: meter.base.window_tokens,
        layouts,
        idus1_minus_dus: differenceInterval(at("idus-1"), at("dus"), draws, o.bootstrap.confidence),
        idusg_minus_dus: differenceInterval(at("idus-g"), at("dus"), draws, o.bootstrap.confidence),
        seconds: (performance.now() - started) / 1000,
      });
    } finally {
      await c.close();
    }
  }
  progress("done");
  const measureSeconds = (performance.now() - tMeasure) / 1000;

  const tPredict = performance.now();
  const predictor: PredictorValidation[] = [];
  if (o.predictor) {
    for (const b of bases) {
      o.onEvent?.({ type: "phase", what: `the layout predictor on ${b.name}: fit, then rank held-out layouts` });
      const c = await openCheckpoint(b.input.path);
      try {
        predictor.push(await o.predictor({
          name: b.name, checkpoint: c, texts: o.texts, ctx: o.ctx, stride: o.stride, ...fwd,
          onProgress: (d, t) => o.onEvent?.({ type: "progress", label: `predictor ${b.name} (layouts)`, done: d, total: t, detail: "" }),
        }));
      } finally {
        await c.close();
      }
    }
  }
  const predictSeconds = (performance.now() - tPredict) / 1000;

  return {
    version: STUDY_RESULTS_VERSION, dusk: o.version, mode: o.mode, date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? "unknown", cores: cpus().length, memory_gb: Math.round(totalmem() / 2 ** 30), platform: platform(), node: process.version },
    settings: {
      command: o.command, ctx: o.ctx, stride: o.stride, bootstrap: o.bootstrap,
      test: { source: o.texts.source, start: o.texts.testStart, chars: o.texts.test.length, tokens: testTokens, windows: testWindows },
      calibration: { start: o.texts.calibrationStart, chars: o.texts.calibration.length },
    },
    bases: bases.map(({ input: _input, ...b }) => {
      const u = unigrams.get(b.name)!;
      return { ...b, unigram: { nll: u.nll, ppl: u.ppl, window_nll: u.window_nll } };
    }),
    runs, predictor,
    timings: { measure: measureSeconds, predictor: predictSeconds, report: 0, total: (performance.now() - t0) / 1000 },
  };
}

/** A checkpoint's path under its base's shown path. */
function shownPath(b: StudyBaseInput, path: string): string {
  return b.shown && path.startsWith(b.path) ? b.shown + path.slice(b.path.length) : path;
}

/** The unigram level must be scored on the meter's windows (same tokenizer, same split). */
function checkSameWindows(u: UnigramLevel, tokens: readonly number[], path: string): void {
  if (u.window_tokens.length !== tokens.length || u.window_tokens.some((t, i) => t !== tokens[i])) {
    throw new StudyError("STUDY_TOKENIZER", `${path} tokenizes the test text differently from its base's first checkpoint`, { hint: "a base's checkpoints must share its tokenizer" });
  }
}

/** The stored type of the first layer's weights: "BF16" for the checkpoints, "F32" for final models. */
function weightType(c: Checkpoint): string {
  for (const [name, t] of c.tensors) if (/layers\.0\./.test(name) && t.shape.length === 2) return t.type.name;
  return [...c.tensors.values()][0]?.type.name ?? "unknown";
}
