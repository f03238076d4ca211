// mergekit's sparsify.py on float arrays: magnitude (keep the top-k), magnitude_outliers (drop
// the largest gamma·N, then the smallest, "breadcrumbs"), bernoulli (DARE) and della_magprune
// (keep probability rising with the magnitude rank in each row), each optionally rescaled to keep
// the L1 norm — mergekit's quirk: DARE and DELLA rescale by ‖δ‖₁/‖mask·δ‖₁, not by 1/p.

import { rounder, roundF16, type Rounder, type WorkType } from "./float.js";
import { drawU32, type KeyedStream } from "./rng.js";
import { magnitudeKeys, rankRangeMask, rowRanks, topKMask } from "./select.js";
import { sumAbs64 } from "./reduce.js";

export type SparsifyMethod = "magnitude" | "random" | "magnitude_outliers" | "della_magprune";

export interface SparsifyOptions {
  method: SparsifyMethod;
  density: number;
  /** L1 rescale (mergekit `rescale: true`) */
  rescale: boolean;
  gamma?: number;
  epsilon?: number;
  /** rows of the tensor (della ranks within rows); 1 for a 1-D tensor */
  cols: number;
  dtype: WorkType;
  /** the generator stream of this input (random methods) */
  stream?: KeyedStream;
}

/** Sparsifies `delta` in place; returns it. */
export function sparsify(delta: Float32Array, o: SparsifyOptions): Float32Array {
  if (o.density >= 1) return delta;
  const n = delta.length;
  let mask: Uint8Array;
  // bernoulli and della_magprune compute f16 tensors in f32 (torch has no f16 bernoulli on CPU)
  let r: Rounder = rounder(o.dtype);
  let narrowAfter = false;
  if ((o.method === "random" || o.method === "della_magprune") && o.dtype === "F16") {
    r = Math.fround;
    narrowAfter = true;
  }
  switch (o.method) {
    case "magnitude":
      mask = topKMask(magnitudeKeys(delta), Math.trunc(o.density * n));
      break;
    case "magnitude_outliers": {
      const { bottom, top } = outlierCounts(n, o.density, o.gamma ?? 0.01);
      // mergekit keeps indices[n_bot:-n_top], which is empty when n_top is 0
      mask = top === 0 ? new Uint8Array(n) : rankRangeMask(magnitudeKeys(delta), bottom, n - top);
      break;
    }
    case "random": {
      mask = new Uint8Array(n);
      const threshold = r(o.density) * 4294967296; // torch.full_like(density) in the working dtype
      for (let i = 0; i < n; i++) mask[i] = drawU32(o.stream!, i) < threshold ? 1 : 0;
      break;
    }
    case "della_magprune": {
      if (o.density <= 0) return delta.fill(0);
      mask = dellaMask(delta, o, r);
      break;
    }
  }
  rescaleMasked(delta, mask, o.rescale, r);
  if (narrowAfter) for (let i = 0; i < n; i++) delta[i] = roundF16(delta[i]!);
  return delta;
}

/** mergekit magnitude_outliers: n_bot and n_top after its adjustment for density + gamma > 1. */
export function outlierCounts(n: number, density: number, gamma: number): { bottom: number; top: number } {
  const target = Math.trunc(density * n);
  let top = Math.trunc(gamma * n);
  let bottom = n - target - top;
  if (bottom < 0) {
    top += bottom;
    bottom = 0;
  }
  return { bottom, top };
}

/** DELLA: keep probability (density − ε) + rank_norm·2ε, rank_norm = (rank − 1)/(cols − 1) per row. */
function dellaMask(delta: Float32Array, o: SparsifyOptions, r: Rounder): Uint8Array {
  const n = delta.length;
  const eps = o.epsilon ?? 0.15;
  const ranks = rowRanks(magnitudeKeys(delta), o.cols);
  const span = o.cols - 1;
  const offset = r(o.density - eps);
  const epsF = r(eps);
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const norm = Math.min(1, Math.max(0, r(r(ranks[i]! - 1) / span)));
    const p = r(r(r(norm * 2) * epsF) + offset);
    mask[i] = drawU32(o.stream!, i) < p * 4294967296 ? 1 : 0;
  }
  return mask;
}

/** mergekit rescaled_masked_tensor with the L1 norm (or none): masked · (‖δ‖₁ / ‖masked‖₁). */
function rescaleMasked(delta: Float32Array, mask: Uint8Array, rescale: boolean, r: Rounder): void {
  const n = delta.length;
  const before = rescale ? r(sumAbs64(delta)) : 0;
  for (let i = 0; i < n; i++) if (mask[i] === 0) delta[i] = 0;
  if (!rescale) return;
  const after = r(sumAbs64(delta));
  if (before < 1e-7 || after < 1e-7) return;
  const ratio = r(before / after);
  for (let i = 0; i < n; i++) delta[i] = r(delta[i]! * ratio);
}
