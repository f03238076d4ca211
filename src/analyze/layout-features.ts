// What one pass of the base says about a layout it has not run: features of the stack computed from
// the base's boundary states alone, for the penalty predictor (predict.ts). Two views:
// - the map view: each seam feeds a layer the boundary after the previous layer instead of the one it
//   was trained on; the base's mean angular distance between the two is the seam's cost (seamCost);
// - the residual view: treat every layer as adding its base update Δ_l = h_{l+1} − h_l (on sampled
//   tokens) whatever it is fed; the stack's state then drifts from the state each layer expects
//   (summed over positions), and its final state, through the base's final norm and head, gives an
//   "additive" NLL. Exact for the base; for a layout it is a first guess, cheap enough to rank
//   thousands of candidates (depth × S × D flops each; the head runs once per distinct layer multiset).

import type { EngineWeights } from "../engine/index.js";
import { headForward } from "../engine/forward.js";
import { getMatmulKernel, type MatmulKernel } from "../engine/matmul-kernel.js";
import { logSoftmax, rmsnormForward } from "../engine/ops.js";
import { angularDistance } from "./angular.js";
import type { BasePass } from "./measure-layouts.js";
import type { TextWindow } from "./windows.js";

/** A layout as the predictor sees it: base layer per position, and the scale of each position's residual branches (default 1; 0: an identity copy). */
export interface PredictLayout {
  layers: readonly number[];
  scales?: readonly number[];
}

/** Sampled rows of the base's boundary states, gathered through LayoutMeter's `onBaseBoundary`. */
export class StateSampler {
  /** per boundary, the sampled rows appended [rows, D] */
  private readonly rows: number[][] = [];
  /** (window, row) of each sample, in order */
  private readonly picks: { window: number; t: number; at: number }[] = [];
  constructor(private readonly every = 8, private readonly maxRows = 256) {}

  /** Pass as `onBaseBoundary`: keeps every `every`-th counted row (that has a next token) until maxRows. */
  readonly onBaseBoundary = (window: number, b: number, x: Float32Array, w: TextWindow): void => {
    const T = w.end - w.start;
    const D = x.length / T;
    if (b === 0) {
      for (let t = w.countFrom; t < T - 1 && this.picks.length < this.maxRows; t += this.every) this.picks.push({ window, t, at: w.start + t });
    }
    const mine = this.picks.filter((p) => p.window === window);
    const out = (this.rows[b] ??= []);
    for (const p of mine) for (let i = 0; i < D; i++) out.push(x[p.t * D + i]!);
  };

  /** The samples [B][S·D] and each sample's next token. */
  result(tokenIds: readonly number[]): { states: Float32Array[]; targets: number[] } {
    return { states: this.rows.map((r) => Float32Array.from(r)), targets: this.picks.map((p) => tokenIds[p.at + 1]!) };
  }
}

/** The base pass plus sampled states and the base's head: everything the features need. */
export interface BaseProfile {
  layers: number;
  hidden: number;
  /** the base pass's map, Block Influence, mean norms per boundary */
  distance: number[][];
  block_influence: number[];
  norms: number[];
  /** sampled states per boundary [B][S·D] and their next tokens */
  states: Float32Array[];
  targets: number[];
  /** mean NLL of the sampled tokens through the head from a final state [S·D] */
  headNll(final: Float32Array): number;
  /** headNll of the base's own final states */
  baseHeadNll: number;
}

export async function baseProfile(weights: EngineWeights, base: BasePass, samples: { states: Float32Array[]; targets: number[] }): Promise<BaseProfile> {
  const c = weights.config;
  const D = c.hiddenSize;
  const [norm, head, kernel] = await Promise.all([weights.finalNorm(), weights.lmHead(), getMatmulKernel()]);
  const S = samples.targets.length;
  const headNll = (final: Float32Array): number => headLoss(kernel, final, norm, head, samples.targets, D, c.vocabSize, c.rmsNormEps, c.normWeightOffset ?? 0, c.finalLogitSoftcap);
  return {
    layers: base.layers, hidden: D, distance: base.distance, block_influence: base.block_influence, norms: base.norms,
    states: samples.states, targets: samples.targets, headNll, baseHeadNll: S === 0 ? 0 : headNll(samples.states[base.layers]!),
  };
}

function headLoss(kernel: MatmulKernel, x: Float32Array, norm: Float32Array, head: Float32Array, targets: readonly number[], D: number, V: number, eps: number, offset: 0 | 1, softcap?: number): number {
  const S = targets.length;
  if (S === 0) return 0;
  const normed = rmsnormForward(x, norm, S, D, eps, offset).y;
  const lp = logSoftmax(headForward(kernel, head, normed, D, V, Array.from({ length: S }, (_, i) => i), softcap), S, V);
  let s = 0;
  for (let i = 0; i < S; i++) s -= lp[i * V + targets[i]!]!;
  return s / S;
}

/** The features of one layout, every one 0 for the base itself. */
export interface LayoutFeatures {
  /** seams (a position whose layer is not fed the boundary it was trained on), weighted by scale */
  seams: number;
  /** Σ, max and Σ² of the base map's distance over seams (seamCost's number is seam_sum) */
  seam_sum: number;
  seam_max: number;
  seam_sq: number;
  /** seam_sum split: jumps back (a layer runs again) and forward (layers skipped) */
  back_sum: number;
  skip_sum: number;
  /** distance between the boundary the stack ends on and the base's last */
  end_distance: number;
  /** Σ |log(norm fed / norm expected)| over seams */
  norm_mismatch: number;
  /** residual view: Σ over positions of the mean angular distance between the drifted state and the layer's expected input, its max, and the final state's distance to the base's */
  drift_sum: number;
  drift_max: number;
  drift_end: number;
  /** residual view: additive NLL − the base's, on the sampled tokens (nats/token; may be < 0) */
  additive_nll: number;
  /** Block Influence of base layers the stack leaves out, and of repeats beyond the first */
  removed_bi: number;
  repeated_bi: number;
}

export const FEATURE_NAMES = [
  "seams", "seam_sum", "seam_max", "seam_sq", "back_sum", "skip_sum", "end_distance", "norm_mismatch",
  "drift_sum", "drift_max", "drift_end", "additive_nll", "removed_bi", "repeated_bi",
] as const satisfies readonly (keyof LayoutFeatures)[];

/** Computes features; `cache` keeps the head's NLL per layer multiset across calls for one profile. */
export function layoutFeatures(p: BaseProfile, layout: PredictLayout, cache = new Map<string, number>()): LayoutFeatures {
  const n = p.layers;
  const d = p.distance;
  const f: LayoutFeatures = {
    seams: 0, seam_sum: 0, seam_max: 0, seam_sq: 0, back_sum: 0, skip_sum: 0, end_distance: 0, norm_mismatch: 0,
    drift_sum: 0, drift_max: 0, drift_end: 0, additive_nll: 0, removed_bi: 0, repeated_bi: 0,
  };
  const use = new Float64Array(n); // Σ scale per base layer
  let fed = 0;
  layout.layers.forEach((l, i) => {
    const s = layout.scales?.[i] ?? 1;
    if (s === 0) return; // an identity copy: the residual passes through
    use[l]! += s;
    if (l !== fed) {
      const dist = d[fed]![l]!;
      f.seams += s;
      f.seam_sum += s * dist;
      f.seam_sq += s * dist * dist;
      f.seam_max = Math.max(f.seam_max, s * dist);
      if (l < fed) f.back_sum += s * dist;
      else f.skip_sum += s * dist;
      f.norm_mismatch += s * Math.abs(Math.log(Math.max(1e-12, p.norms[fed]!) / Math.max(1e-12, p.norms[l]!)));
    }
    fed = l + 1;
  });
  f.end_distance = d[fed]![n]!;
  for (let l = 0; l < n; l++) {
    if (use[l] === 0) f.removed_bi += p.block_influence[l]!;
    else if (use[l]! > 1) f.repeated_bi += (use[l]! - 1) * p.block_influence[l]!;
  }
  drift(p, layout, f, use, cache);
  return f;
}

/**
 * The residual view over the sampled rows (see the file comment). The stack's state is kept as
 * h_fed + off, where off is exactly zero until the first seam, so the base and every layer before
 * the first seam give exactly 0.
 */
function drift(p: BaseProfile, layout: PredictLayout, f: LayoutFeatures, use: Float64Array, cache: Map<string, number>): void {
  const D = p.hidden;
  const h = p.states;
  const S = p.targets.length;
  if (S === 0) return;
  const off = new Float64Array(S * D);
  let zero = true;
  let fed = 0;
  /** mean over rows of the angular distance between h_fed + off and h_b */
  const meanDistance = (b: number): number => {
    if (zero && fed === b) return 0;
    const x = h[fed]!, e = h[b]!;
    let sum = 0;
    for (let r = 0; r < S; r++) {
      let dot = 0, nx = 0, ne = 0;
      for (let i = r * D, end = i + D; i < end; i++) {
        const xi = x[i]! + off[i]!;
        dot += xi * e[i]!;
        nx += xi * xi;
        ne += e[i]! * e[i]!;
      }
      sum += nx === 0 || ne === 0 ? (nx === ne ? 0 : 0.5) : angularDistance(dot / Math.sqrt(nx * ne));
    }
    return sum / S;
  };
  layout.layers.forEach((l, i) => {
    const s = layout.scales?.[i] ?? 1;
    if (s === 0) return;
    const m = s * meanDistance(l);
    f.drift_sum += m;
    f.drift_max = Math.max(f.drift_max, m);
    if (fed !== l || s !== 1) {
      // off' = h_fed + off + s·(h_{l+1} − h_l) − h_{l+1}
      const a = h[fed]!, lo = h[l]!, hi = h[l + 1]!;
      for (let k = 0; k < off.length; k++) off[k]! += a[k]! + s * (hi[k]! - lo[k]!) - hi[k]!;
      zero = false;
    }
    fed = l + 1;
  });
  f.drift_end = meanDistance(p.layers);
  const key = Array.from(use, (u) => u.toFixed(6)).join(",");
  let nll = cache.get(key);
  if (nll === undefined) {
    const x = Float32Array.from(h[fed]!, (v, k) => v + off[k]!);
    cache.set(key, (nll = p.headNll(x)));
  }
  f.additive_nll = nll - p.baseHeadNll;
}
