// sce (mergekit sce.py): select the entries whose task vectors vary most across models
// (`select_topk` of the nonzero variances), elect signs as TIES does, and weight each model by its
// share of the mean squared task vector.

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";
import { inlineExec } from "../blocks.js";
import { workSum } from "../reduce.js";
import { keepTopK } from "../select.js";
import { sign, subtractBase } from "../task-vectors.js";

export const sce: MergeKernel = async (m) => {
  const r = rounder(m.dtype);
  const baseIndex = m.base!;
  const base = m.tensors[baseIndex]!;
  const tvs = m.tensors.filter((_, k) => k !== baseIndex).map((x) => subtractBase(x, base, r));
  if (tvs.length === 0) return base;
  const n = base.length;
  const K = tvs.length;
  const topk = Number(m.params.select_topk);
  if (topk < 1) {
    const mask = await selectMask(tvs, topk, r);
    for (const tv of tvs) for (let i = 0; i < n; i++) if (mask[i] === 0) tv[i] = 0;
  }
  // sce_weight: mean of squares per model (torch.mean: the sum divided by the count), normalised by their sum
  const squares = new Float32Array(n);
  const means = tvs.map((tv) => {
    for (let i = 0; i < n; i++) squares[i] = r(tv[i]! * tv[i]!);
    return r(workSum(squares, 0, n, m.dtype, r) / Math.fround(n));
  });
  const total = workSum(Float32Array.from(means), 0, K, m.dtype, r);
  const weights = Math.abs(total) < 1e-6 ? means.map(() => r(1 / K)) : means.map((x) => r(x / Math.fround(total)));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let sum = 0;
    for (let k = 0; k < K; k++) sum = Math.fround(sum + tvs[k]![i]!);
    const majority = r(sum) >= 0 ? 1 : -1;
    let merged = 0;
    let erased = 0;
    for (let k = 0; k < K; k++) {
      const keep = sign(tvs[k]![i]!) === majority;
      const ew = keep ? weights[k]! : 0;
      merged = Math.fround(merged + r(tvs[k]![i]! * ew));
      erased = Math.fround(erased + ew);
    }
    out[i] = r(base[i]! + r(r(merged) / Math.max(r(erased), r(1e-6))));
  }
  return out;
};

/** sce_mask: 1 for the int(nonzero·density) entries of largest variance across the models. */
async function selectMask(tvs: Float32Array[], density: number, r: (x: number) => number): Promise<Uint8Array> {
  const n = tvs[0]!.length;
  const K = tvs.length;
  if (density <= 0) return new Uint8Array(n);
  const variance = new Float32Array(n);
  let nonzero = 0;
  for (let i = 0; i < n; i++) {
    // torch.var(unbiased=False): Welford's update in float64 (torch's WelfordOps), then rounded
    let mean = 0;
    let m2 = 0;
    for (let k = 0; k < K; k++) {
      const x = tvs[k]![i]!;
      const delta = x - mean;
      mean += delta / (k + 1);
      m2 += delta * (x - mean);
    }
    variance[i] = r(m2 / K);
    if (variance[i] !== 0) nonzero++;
  }
  const k = Math.trunc(Math.fround(nonzero * Math.fround(density)));
  if (k === 0) return new Uint8Array(n);
  await keepTopK(variance, k, inlineExec); // the k largest stay nonzero
  return variance.map((v) => (v !== 0 ? 1 : 0)) as unknown as Uint8Array;
}
