// Validating the layout predictor on one base: the base's profile on the calibration text (the only
// input the predictor sees), every layout of the study set measured on the held-out text (penalty =
// NLL(layout) − NLL(base) there), the predictor fitted on the "fit" layouts only, and Spearman's ρ
// and top-5 overlap on the "held-out" ones, beside the seam-cost baseline's.

import {
  baseProfile, fitPredictor, layoutFeatures, LayoutMeter, predictPenalty, spearman, StateSampler, topOverlap,
  type BaseProfile, type CalibrationTokenizer, type LayoutFeatures, type MeasureEvent, type NllTotals, type PredictorModel, type WindowOptions,
} from "../analyze/index.js";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights } from "../engine/checkpoint-weights.js";
import { predictorLayoutSet, type StudyLayout, type StudyLayoutKind } from "./layout-set.js";

export interface ValidateInput {
  checkpoint: Checkpoint;
  /** the predictor's only text: the base pass that gives the map and the sampled states */
  calibration: string;
  /** the penalties are measured here (never seen by the predictor) */
  heldOut: string;
  model?: string;
  tokenizer?: CalibrationTokenizer;
}

export interface ValidateOptions extends WindowOptions {
  /** the layout set's seed (default 0) */
  seed?: number;
  /** use these coefficients instead of fitting on the fit set (every layout is then scored as held-out data too) */
  predictor?: PredictorModel;
  /**
   * measurements of an earlier run on the same base and held-out text (its JSON): layouts found there
   * (same name, layers and scales) are not measured again, so a changed predictor is revalidated in
   * seconds; the held-out text's size must match
   */
  reuse?: Pick<PredictorValidation, "base" | "layouts" | "text">;
  /** only the first k layouts of each set (tests) */
  limit?: number;
  signal?: AbortSignal;
  onProgress?: (e: { phase: "profile" | "measure"; done: number; total: number }) => void;
}

export interface ValidatedLayout {
  name: string;
  kind: StudyLayoutKind;
  layers: number[];
  spec: string;
  scales?: number[];
  set: "fit" | "held-out";
  /** nats/token on the held-out text */
  measured: number;
  predicted: number;
  /** the seam-cost baseline (Σ seam distances; a score, not nats) */
  seam_cost: number;
  ppl: number;
  /** per-window NLL sums and token counts on the held-out text, for bootstrap intervals */
  window_nll: number[];
  window_tokens: number[];
  features: LayoutFeatures;
}

export interface RankAgreement {
  layouts: number;
  spearman: number;
  /** of the 5 lowest measured, how many are among the 5 lowest predicted */
  top5: number;
}

export interface PredictorValidation {
  model: string;
  base_layers: number;
  /** held-out text: tokens, windows, the base's NLL and per-window sums */
  text: { tokens: number; windows: number; ctx: number; stride: number };
  base: { nll: number; ppl: number; window_nll: number[]; window_tokens: number[] };
  layouts: ValidatedLayout[];
  predictor: PredictorModel;
  held_out: RankAgreement & { seam_cost: RankAgreement };
  fit: RankAgreement;
  seconds: { profile: number; measure: number; predict: number };
}

/** The profile a predictor needs: one base pass over `text` with sampled states. */
export async function profileBase(c: Checkpoint, text: string, o: WindowOptions & { tokenizer?: CalibrationTokenizer; signal?: AbortSignal; onProgress?: (e: MeasureEvent) => void } = {}): Promise<{ profile: BaseProfile; meter: LayoutMeter }> {
  const sampler = new StateSampler();
  const meter = await LayoutMeter.open({ checkpoint: c, text, ...(o.tokenizer ? { tokenizer: o.tokenizer } : {}) }, {
    ...windows(o), resume: false, onBaseBoundary: sampler.onBaseBoundary, ...(o.signal ? { signal: o.signal } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}),
  });
  return { profile: await baseProfile(checkpointWeights(c), meter.base, sampler.result(meter.tokenIds)), meter };
}

const windows = (o: WindowOptions): WindowOptions => ({ ...(o.ctx === undefined ? {} : { ctx: o.ctx }), ...(o.stride === undefined ? {} : { stride: o.stride }) });

export async function validatePredictor(input: ValidateInput, o: ValidateOptions = {}): Promise<PredictorValidation> {
  const c = input.checkpoint;
  const n = c.numLayers;
  let set = predictorLayoutSet(n, c.ref, o.seed ?? 0);
  if (o.limit !== undefined) set = [...set.filter((l) => l.set === "fit").slice(0, o.limit), ...set.filter((l) => l.set === "held-out").slice(0, o.limit)];
  const common = { ...windows(o), ...(input.tokenizer ? { tokenizer: input.tokenizer } : {}), ...(o.signal ? { signal: o.signal } : {}) };
  let t = performance.now();
  const { profile } = await profileBase(c, input.calibration, { ...common, onProgress: (e) => e.type === "base" && o.onProgress?.({ phase: "profile", done: e.done, total: e.total }) });
  const features = set.map((l) => layoutFeatures(profile, l));
  const profileSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  const key = (l: { name: string; spec: string; scales?: readonly number[] }) => `${l.name}|${l.spec}|${l.scales?.join(",") ?? ""}`;
  const earlier = new Map((o.reuse?.layouts ?? []).map((l) => [key(l), l]));
  const reuse = o.reuse && set.every((l) => earlier.has(key(l))) ? o.reuse : undefined;
  const meter = reuse ? undefined : await LayoutMeter.open({ checkpoint: c, text: input.heldOut, ...common }, common);
  const base = reuse ? reuse.base : meter!.base;
  const run = reuse ? reuse.text : meter!.run;
  const measured: NllTotals[] = [];
  for (const l of set) {
    o.onProgress?.({ phase: "measure", done: measured.length, total: set.length });
    const r = reuse ? earlier.get(key(l))! : undefined;
    measured.push(r ? { nll: r.measured + base.nll, ppl: r.ppl, scored: r.window_tokens.reduce((a, b) => a + b, 0), window_nll: r.window_nll, window_tokens: r.window_tokens } : await meter!.measure(l));
  }
  o.onProgress?.({ phase: "measure", done: set.length, total: set.length });
  const measureSeconds = (performance.now() - t) / 1000;

  t = performance.now();
  const penalty = measured.map((m) => m.nll - base.nll);
  const fitIdx = set.flatMap((l, i) => (l.set === "fit" ? [i] : []));
  const predictor = o.predictor ?? fitPredictor(fitIdx.map((i) => ({ features: features[i]!, penalty: penalty[i]! })), { source: `${input.model ?? c.ref}: ${fitIdx.length} fit layouts` });
  const layouts: ValidatedLayout[] = set.map((l: StudyLayout, i) => ({
    name: l.name, kind: l.kind, layers: l.layers, spec: l.spec, ...(l.scales ? { scales: [...l.scales] } : {}), set: l.set,
    measured: penalty[i]!, predicted: predictPenalty(predictor, features[i]!), seam_cost: features[i]!.seam_sum,
    ppl: measured[i]!.ppl, window_nll: measured[i]!.window_nll, window_tokens: measured[i]!.window_tokens, features: features[i]!,
  }));
  const agreement = (rows: ValidatedLayout[], pick: (r: ValidatedLayout) => number): RankAgreement => ({
    layouts: rows.length,
    spearman: spearman(rows.map((r) => r.measured), rows.map(pick)),
    top5: topOverlap(rows.map((r) => r.measured), rows.map(pick), 5),
  });
  const held = layouts.filter((l) => l.set === "held-out");
  return {
    model: input.model ?? c.ref, base_layers: n,
    text: { tokens: run.tokens, windows: run.windows, ctx: run.ctx, stride: run.stride },
    base: { nll: base.nll, ppl: base.ppl, window_nll: base.window_nll, window_tokens: base.window_tokens },
    layouts, predictor,
    held_out: { ...agreement(held, (r) => r.predicted), seam_cost: agreement(held, (r) => r.seam_cost) },
    fit: agreement(layouts.filter((l) => l.set === "fit"), (r) => r.predicted),
    seconds: { profile: profileSeconds, measure: measureSeconds, predict: (performance.now() - t) / 1000 },
  };
}
