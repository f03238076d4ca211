// Bootstrap intervals for penalties measured on one text: resample the text's windows (not its
// tokens: tokens inside a window share context and are not independent) with replacement, the same
// draws for every model measured on those windows, so a penalty (layout − base) and a difference of
// penalties (iDUS-1 − DUS) are paired. Seeded and deterministic: results.json can be recomputed.

import { mulberry32 } from "../engine/index.js";

/** Per window: Σ −log p over its scored tokens, and how many tokens it scored. */
export interface WindowSums {
  window_nll: readonly number[];
  window_tokens: readonly number[];
}

export interface Interval {
  /** the estimate on the text as measured (not a bootstrap mean) */
  value: number;
  /** standard deviation of the bootstrap replicates: the estimate's standard error */
  se: number;
  /** percentile interval of the replicates at the study's confidence (e.g. 2.5% and 97.5%) */
  lo: number;
  hi: number;
}

export interface BootstrapSettings {
  samples: number;
  seed: number;
  /** two-sided confidence of [lo, hi], e.g. 0.95 */
  confidence: number;
}

/**
 * Resampled window indices: `samples` draws of W indices each, from mulberry32(seed). The same
 * settings and W give the same draws everywhere (the report's test redraws them).
 */
export function bootstrapDraws(windows: number, s: BootstrapSettings): Int32Array[] {
  const rand = mulberry32(s.seed >>> 0);
  const draws: Int32Array[] = [];
  for (let b = 0; b < s.samples; b++) {
    const d = new Int32Array(windows);
    for (let i = 0; i < windows; i++) d[i] = Math.floor(rand() * windows);
    draws.push(d);
  }
  return draws;
}

/** Mean NLL per token over the drawn windows (each window counted as often as it was drawn). */
function meanNll(m: WindowSums, draw: Int32Array | null): number {
  let nll = 0;
  let tokens = 0;
  const n = draw ? draw.length : m.window_nll.length;
  for (let i = 0; i < n; i++) {
    const w = draw ? draw[i]! : i;
    nll += m.window_nll[w]!;
    tokens += m.window_tokens[w]!;
  }
  return nll / tokens;
}

/**
 * A statistic of several models' mean NLLs (e.g. layout − base), its value on the text and its
 * bootstrap interval. Every model must be measured on the same windows.
 */
export function bootstrapStatistic(models: readonly WindowSums[], stat: (nll: number[]) => number, draws: readonly Int32Array[], confidence: number): Interval {
  const W = models[0]!.window_nll.length;
  if (models.some((m) => m.window_nll.length !== W || m.window_tokens.length !== W)) throw new Error("bootstrap: models measured on different windows");
  const value = stat(models.map((m) => meanNll(m, null)));
  const reps = draws.map((d) => stat(models.map((m) => meanNll(m, d)))).sort((a, b) => a - b);
  const mean = reps.reduce((s, x) => s + x, 0) / reps.length;
  const se = Math.sqrt(reps.reduce((s, x) => s + (x - mean) ** 2, 0) / Math.max(1, reps.length - 1));
  const tail = (1 - confidence) / 2;
  return { value, se, lo: quantile(reps, tail), hi: quantile(reps, 1 - tail) };
}

/** Linear interpolation between order statistics (numpy's default "linear" method) of a sorted list. */
export function quantile(sorted: readonly number[], q: number): number {
  const at = q * (sorted.length - 1);
  const i = Math.floor(at);
  const f = at - i;
  return i + 1 < sorted.length ? sorted[i]! + f * (sorted[i + 1]! - sorted[i]!) : sorted[i]!;
}

/** The penalty of a layout over its base, NLL(layout) − NLL(base) in nats/token, with its interval. */
export function penaltyInterval(layout: WindowSums, base: WindowSums, draws: readonly Int32Array[], confidence: number): Interval {
  return bootstrapStatistic([layout, base], ([l, b]) => l! - b!, draws, confidence);
}

/** The difference of two layouts' penalties over one base (= the difference of their NLLs), paired. */
export function differenceInterval(a: WindowSums, b: WindowSums, draws: readonly Int32Array[], confidence: number): Interval {
  return bootstrapStatistic([a, b], ([x, y]) => x! - y!, draws, confidence);
}
