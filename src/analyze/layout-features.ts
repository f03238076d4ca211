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
import { layerForward } from "../engine/forward.js";
import { layerRopeTables } from "../engine/rope.js";
import { getMatmulKernel, type MatmulKernel } from "../engine/matmul-kernel.js";
import { rmsnormForward } from "../engine/ops.js";
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
  /** per boundary, rows [0, blockRows) of the first window: a contiguous block the layers can run on (attention needs the prefix) */
  private readonly block: Float32Array[] = [];
  private blockT = 0;
  constructor(private readonly every = 8, private readonly maxRows = 128, private readonly blockRows = 32) {}

  /** Pass as `onBaseBoundary`: keeps every `every`-th counted row (that has a next token) until maxRows. */
  readonly onBaseBoundary = (window: number, b: number, x: Float32Array, w: TextWindow): void => {
    const T = w.end - w.start;
    const D = x.length / T;
    if (b === 0) {
      for (let t = w.countFrom; t < T - 1 && this.picks.length < this.maxRows; t += this.every) this.picks.push({ window, t, at: w.start + t });
    }
    if (window === 0) {
      this.blockT = Math.min(T, this.blockRows);
      this.block[b] = x.slice(0, this.blockT * D);
    }
    const mine = this.picks.filter((p) => p.window === window);
    const out = (this.rows[b] ??= []);
    for (const p of mine) for (let i = 0; i < D; i++) out.push(x[p.t * D + i]!);
  };

  /** The samples [B][S·D] and each sample's next token; the first window's block [B][R·D] and its next tokens (R − 1 of them: the last row has none in the block). */
  result(tokenIds: readonly number[]): Samples {
    const R = this.blockT;
    return {
      states: this.rows.map((r) => Float32Array.from(r)), targets: this.picks.map((p) => tokenIds[p.at + 1]!),
      block: this.block, blockTargets: tokenIds.slice(1, R),
    };
  }
}

/** What StateSampler gathers. */
export interface Samples {
  states: Float32Array[];
  targets: number[];
  /** rows [0, R) of the first window per boundary [B][R·D], and tokens 1 … R − 1 (the next token of rows 0 … R − 2) */
  block: Float32Array[];
  blockTargets: number[];
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
  /** the first window's block per boundary [B][R·D] */
  block: Float32Array[];
  blockRows: number;
  /** Δ_l(h_e): layer l's update when fed boundary e of the block [R·D] (computed once per pair, on demand) */
  response(e: number, l: number): Float32Array;
  /** mean NLL through the head of block rows 0 … R − 2 from a final block state [R·D] */
  blockHeadNll(final: Float32Array): number;
  baseBlockHeadNll: number;
}

/**
 * Loads what the features need besides the samples: the head, and every layer's weights (the seam
 * responses run single layers on the block; memory: the layers in f32, fine at the study's scale).
 */
export async function baseProfile(weights: EngineWeights, base: BasePass, samples: Samples): Promise<BaseProfile> {
  const c = weights.config;
  const D = c.hiddenSize;
  const n = base.layers;
  const [norm, head, kernel] = await Promise.all([weights.finalNorm(), weights.lmHead(), getMatmulKernel()]);
  const layerWeights = await Promise.all(Array.from({ length: n }, (_, l) => weights.layer(l)));
  const S = samples.targets.length;
  const R = samples.blockTargets.length + 1;
  const loss = (targets: readonly number[]) => (final: Float32Array): number => headLoss(kernel, final, norm, head, targets, D, c.vocabSize, c.rmsNormEps, c.normWeightOffset ?? 0, c.finalLogitSoftcap);
  const headNll = loss(samples.targets);
  const blockHeadNll = loss(samples.blockTargets);
  const ropes = samples.block.length === 0 ? [] : layerRopeTables(c, R);
  const responses = new Map<number, Float32Array>();
  const response = (e: number, l: number): Float32Array => {
    let r = responses.get(e * (n + 1) + l);
    if (r === undefined) {
      const x = samples.block[e]!;
      const y = layerForward(kernel, c, layerWeights[l]!, x, R, ropes[l]!, l).y;
      for (let i = 0; i < y.length; i++) y[i] = y[i]! - x[i]!;
      responses.set(e * (n + 1) + l, (r = y));
    }
    return r;
  };
  return {
    layers: n, hidden: D, distance: base.distance, block_influence: base.block_influence, norms: base.norms,
    states: samples.states, targets: samples.targets, headNll, baseHeadNll: S === 0 ? 0 : headNll(samples.states[n]!),
    block: samples.block, blockRows: samples.block.length === 0 ? 0 : R, response, blockHeadNll,
    baseBlockHeadNll: samples.block.length === 0 ? 0 : blockHeadNll(samples.block[n]!),
  };
}

/** Mean −log p(target) of each row of x [S, D] through the final norm and head: logits [V, S] on the kernel, one log-sum-exp per column. */
function headLoss(kernel: MatmulKernel, x: Float32Array, norm: Float32Array, head: Float32Array, targets: readonly number[], D: number, V: number, eps: number, offset: 0 | 1, softcap?: number): number {
  const S = targets.length;
  if (S === 0) return 0;
  const normed = rmsnormForward(x, norm, S, D, eps, offset).y;
  const xT = new Float32Array(D * S);
  for (let r = 0; r < S; r++) for (let i = 0; i < D; i++) xT[i * S + r] = normed[r * D + i]!;
  const z = kernel.matmul(head, xT, V, D, S); // [V, S]
  if (softcap !== undefined) for (let i = 0; i < z.length; i++) z[i] = softcap * Math.tanh(z[i]! / softcap);
  let total = 0;
  for (let r = 0; r < S; r++) {
    let max = -Infinity;
    for (let v = 0; v < V; v++) max = Math.max(max, z[v * S + r]!);
    let sum = 0;
    for (let v = 0; v < V; v++) sum += Math.exp(z[v * S + r]! - max);
    total += max + Math.log(sum) - z[targets[r]! * S + r]!;
  }
  return total / S;
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
  /**
   * seam-response view, on the first window's block: as the residual view, but a layer fed another
   * boundary e adds its actual update on h_e, Δ_l(h_e), not its update on its own input: the NLL
   * through the head (− the base's) and the final state's mean distance to the base's
   */
  response_nll: number;
  response_end: number;
}

export const FEATURE_NAMES = [
  "seams", "seam_sum", "seam_max", "seam_sq", "back_sum", "skip_sum", "end_distance", "norm_mismatch",
  "drift_sum", "drift_max", "drift_end", "additive_nll", "removed_bi", "repeated_bi", "response_nll", "response_end"
] as const satisfies readonly (keyof LayoutFeatures)[];

/** Computes features; `cache` keeps the head's NLL per layer multiset across calls for one profile. */
export function layoutFeatures(p: BaseProfile, layout: PredictLayout, cache = new Map<string, number>()): LayoutFeatures {
  const n = p.layers;
  const d = p.distance;
  const f: LayoutFeatures = {
    seams: 0, seam_sum: 0, seam_max: 0, seam_sq: 0, back_sum: 0, skip_sum: 0, end_distance: 0, norm_mismatch: 0,
    drift_sum: 0, drift_max: 0, drift_end: 0, additive_nll: 0, removed_bi: 0, repeated_bi: 0, response_nll: 0, response_end: 0,
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
  seamResponse(p, layout, f);
  return f;
}

/** Mean over R rows of the angular distance between a [R·D] and b [R·D]; exactly 0 for the same array. */
function meanRowDistance(a: ArrayLike<number>, b: ArrayLike<number>, R: number, D: number): number {
  if (a === b) return 0;
  let sum = 0;
  for (let r = 0; r < R; r++) {
    let dot = 0, na = 0, nb = 0;
    for (let i = r * D, end = i + D; i < end; i++) {
      dot += a[i]! * b[i]!;
      na += a[i]! * a[i]!;
      nb += b[i]! * b[i]!;
    }
    sum += na === 0 || nb === 0 ? (na === nb ? 0 : 0.5) : angularDistance(dot / Math.sqrt(na * nb));
  }
  return sum / R;
}

/** The seam-response view (see LayoutFeatures.response_nll): state h_fed + off on the block, off exactly 0 until the first seam. */
function seamResponse(p: BaseProfile, layout: PredictLayout, f: LayoutFeatures): void {
  const R = p.blockRows;
  if (R < 2) return;
  const D = p.hidden;
  const h = p.block;
  const off = new Float64Array(R * D);
  let zero = true;
  let fed = 0;
  layout.layers.forEach((l, i) => {
    const s = layout.scales?.[i] ?? 1;
    if (s === 0 || (fed === l && s === 1)) {
      if (s !== 0) fed = l + 1;
      return;
    }
    // off' = h_fed + off + s·Δ_l(h_fed) − h_{l+1}
    const a = h[fed]!, hi = h[l + 1]!, d = p.response(fed, l);
    for (let k = 0; k < off.length; k++) off[k]! += a[k]! + s * d[k]! - hi[k]!;
    zero = false;
    fed = l + 1;
  });
  if (zero && fed === p.layers) return;
  const x = plus(h[fed]!, off);
  f.response_end = meanRowDistance(x, h[p.layers]!, R, D);
  f.response_nll = p.blockHeadNll(x) - p.baseBlockHeadNll;
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
    const x = plus(h[fed]!, off);
    cache.set(key, (nll = p.headNll(x)));
  }
  f.additive_nll = nll - p.baseHeadNll;
}

/** a + b as f32 */
function plus(a: Float32Array, b: Float64Array): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}
