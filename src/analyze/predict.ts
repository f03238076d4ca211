// The layout penalty predictor: penalty = NLL(layout) − NLL(base) in nats/token, predicted from the
// layout's features (layout-features.ts) by a monotone model fitted on measured layouts:
//   g(penalty) = log(1 + penalty/τ) ≈ Σ_j w_j · f_j / scale_j, with every w_j ≥ 0 and no intercept,
// so the base (every feature 0) is predicted exactly 0, and a layout that is worse on every feature
// is never predicted better. The log keeps a collapsed layout (penalties of nats) from outweighing
// the fine differences among good ones, which is where a search needs the order. Fitted by ridge
// non-negative least squares (coordinate descent); the ranking statistics are here too.

import { FEATURE_NAMES, type LayoutFeatures } from "./layout-features.js";

export type FeatureName = (typeof FEATURE_NAMES)[number];

/** A fitted predictor, as JSON: predicted = τ·(exp(Σ w_j f_j / scale_j) − 1). */
export interface PredictorModel {
  features: FeatureName[];
  /** per feature: its RMS over the fit set (1 when it was 0 there) */
  scale: number[];
  /** per feature, ≥ 0 */
  weights: number[];
  /** nats: penalties well under τ are fitted on a linear scale, well over it on a log scale */
  tau: number;
  /** layouts it was fitted on, and where from */
  fitted_on: { layouts: number; source: string };
}

export interface FitRow {
  features: LayoutFeatures;
  /** measured penalty (nats/token) */
  penalty: number;
}

export interface FitOptions {
  /** features to use (default: all) */
  features?: readonly FeatureName[];
  /** default 0.05 nats */
  tau?: number;
  /** ridge strength per row (default 0.01) */
  lambda?: number;
  source?: string;
}

export function fitPredictor(rows: readonly FitRow[], o: FitOptions = {}): PredictorModel {
  const features = [...(o.features ?? FEATURE_NAMES)];
  const tau = o.tau ?? 0.05;
  const lambda = (o.lambda ?? 0.01) * rows.length;
  const scale = features.map((name) => {
    const rms = Math.sqrt(rows.reduce((s, r) => s + r.features[name] ** 2, 0) / Math.max(1, rows.length));
    return rms > 0 ? rms : 1;
  });
  const X = rows.map((r) => features.map((name, j) => r.features[name] / scale[j]!));
  const y = rows.map((r) => Math.log1p(Math.max(0, r.penalty) / tau));
  const weights = nonNegativeRidge(X, y, lambda);
  return { features, scale, weights, tau, fitted_on: { layouts: rows.length, source: o.source ?? "" } };
}

/** The model's score Σ w_j f_j / scale_j (monotone in the predicted penalty; ranking by it is ranking by penalty). */
export function predictorScore(m: PredictorModel, f: LayoutFeatures): number {
  let s = 0;
  m.features.forEach((name, j) => (s += (m.weights[j]! * f[name]) / m.scale[j]!));
  return s;
}

/** Predicted penalty in nats/token. */
export function predictPenalty(m: PredictorModel, f: LayoutFeatures): number {
  return m.tau * Math.expm1(predictorScore(m, f));
}

/** min ‖y − Xw‖² + λ‖w‖² subject to w ≥ 0, by cyclic coordinate descent (few features, so exact enough in a few hundred sweeps). */
export function nonNegativeRidge(X: readonly (readonly number[])[], y: readonly number[], lambda: number, sweeps = 500): number[] {
  const p = X[0]?.length ?? 0;
  const w = new Array<number>(p).fill(0);
  const r = [...y]; // residual y − Xw
  const colSq = Array.from({ length: p }, (_, j) => X.reduce((s, row) => s + row[j]! ** 2, 0));
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let change = 0;
    for (let j = 0; j < p; j++) {
      if (colSq[j] === 0) continue;
      let dot = 0;
      X.forEach((row, i) => (dot += row[j]! * r[i]!));
      const next = Math.max(0, (dot + colSq[j]! * w[j]!) / (colSq[j]! + lambda));
      const delta = next - w[j]!;
      if (delta === 0) continue;
      X.forEach((row, i) => (r[i]! -= row[j]! * delta));
      w[j] = next;
      change = Math.max(change, Math.abs(delta));
    }
    if (change < 1e-12) break;
  }
  return w;
}

/** Ranks 1 … n, ties sharing their mean rank. */
export function ranks(x: readonly number[]): number[] {
  const order = x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(x.length);
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
    for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2 + 1;
    i = j + 1;
  }
  return out;
}

/** Spearman's ρ: Pearson's correlation of the (tie-averaged) ranks; NaN under 2 values or a constant side. */
export function spearman(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new RangeError(`spearman: ${a.length} values against ${b.length}`);
  const ra = ranks(a), rb = ranks(b);
  const n = a.length;
  const ma = ra.reduce((s, v) => s + v, 0) / n, mb = rb.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (ra[i]! - ma) * (rb[i]! - mb);
    saa += (ra[i]! - ma) ** 2;
    sbb += (rb[i]! - mb) ** 2;
  }
  return n < 2 || saa === 0 || sbb === 0 ? NaN : sab / Math.sqrt(saa * sbb);
}

/** How many of the k lowest measured are among the k lowest predicted (ties broken by index). */
export function topOverlap(measured: readonly number[], predicted: readonly number[], k: number): number {
  const lowest = (x: readonly number[]) => new Set(x.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]).slice(0, k).map(([, i]) => i));
  const m = lowest(measured), p = lowest(predicted);
  return [...m].filter((i) => p.has(i)).length;
}
