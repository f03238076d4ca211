// mergekit's sparsify.py on float arrays, in place: magnitude (keep the top-k), magnitude_outliers
// (drop the largest gamma·N, then the smallest: "breadcrumbs"), bernoulli (DARE) and
// della_magprune (keep probability rising with the magnitude rank in each row), each optionally
// rescaled to keep the L1 norm — mergekit's quirk: DARE and DELLA rescale by ‖δ‖₁/‖mask·δ‖₁,
// not by 1/p. The loops are block kernels (block-kernels.ts), so they run on the worker pool.

import type { BlockExec } from "./blocks.js";
import { rounder, roundF16, type Rounder, type WorkType } from "./float.js";
import type { KeyedStream } from "./rng.js";
import { keepRankRange, keepTopK, sums, type KeptSums, type MagnitudeHistogram } from "./select.js";
import { torchSum } from "./torch-f32.js";

export type SparsifyMethod = "magnitude" | "random" | "magnitude_outliers" | "della_magprune";

export interface SparsifyOptions {
  method: SparsifyMethod;
  density: number;
  /** L1 rescale (mergekit `rescale: true`) */
  rescale: boolean;
  gamma?: number;
  epsilon?: number;
  /** row length (della ranks within rows); the whole length for a 1-D tensor */
  cols: number;
  dtype: WorkType;
  /** the generator stream of this input (random methods) */
  stream?: KeyedStream;
  /** delta's magnitude histogram when the caller made it on the way (magnitude methods) */
  histogram?: MagnitudeHistogram;
}

/** The methods that select by magnitude rank, so a histogram of δ saves them a pass. */
export function ranksMagnitudes(method: SparsifyMethod): boolean {
  return method === "magnitude" || method === "magnitude_outliers";
}

/** Sparsifies `delta` in place; returns it. */
export async function sparsify(delta: Float32Array, o: SparsifyOptions, exec: BlockExec): Promise<Float32Array> {
  if (o.density >= 1) return delta;
  const n = delta.length;
  // bernoulli and della_magprune compute f16 tensors in f32 (torch has no f16 bernoulli on CPU)
  const widened = (o.method === "random" || o.method === "della_magprune") && o.dtype === "F16";
  const work: WorkType = widened ? "F32" : o.dtype;
  const r = rounder(work);
  // float32 L1 norms in torch's order (delta.abs().sum(), before and after the mask); other
  // types keep the kernels' float64 sums
  const torchL1 = o.rescale && work === "F32";
  const before = torchL1 ? torchSum(delta, 0, n, true) : 0;
  let kept: KeptSums;
  switch (o.method) {
    case "magnitude":
      kept = await keepTopK(delta, Math.trunc(o.density * n), exec, o.histogram, o.rescale);
      break;
    case "magnitude_outliers": {
      const { bottom, top } = outlierCounts(n, o.density, o.gamma ?? 0.01);
      // mergekit keeps indices[n_bot:-n_top], which is empty when n_top is 0
      if (top === 0) {
        delta.fill(0);
        return delta;
      }
      kept = await keepRankRange(delta, bottom, n - top, exec, o.histogram, o.rescale);
      break;
    }
    case "random":
      kept = sums(await exec.map<number[]>("bernoulli", { x: delta, stream: o.stream!, threshold: r(o.density) * 4294967296 }, n));
      break;
    case "della_magprune": {
      if (o.density <= 0) return delta.fill(0);
      const eps = o.epsilon ?? 0.15;
      kept = sums(await exec.map<number[]>("della", { x: delta, cols: o.cols, offset: r(o.density - eps), eps: r(eps), dtype: work, stream: o.stream! }, n, o.cols));
      break;
    }
  }
  if (torchL1) kept = { before, after: torchSum(delta, 0, n, true) };
  if (o.rescale) await rescale(delta, kept, r, work, exec);
  if (widened) for (let i = 0; i < n; i++) delta[i] = roundF16(delta[i]!);
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

/** mergekit rescaled_masked_tensor, L1: masked · (‖δ‖₁ / ‖masked‖₁), unless either is < 1e-7. */
async function rescale(delta: Float32Array, kept: KeptSums, r: Rounder, work: WorkType, exec: BlockExec): Promise<void> {
  const before = r(kept.before);
  const after = r(kept.after);
  if (before < 1e-7 || after < 1e-7) return;
  await exec.map("scale", { x: delta, ratio: r(before / after), dtype: work }, delta.length);
}
