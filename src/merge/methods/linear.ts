// linear (mergekit linear.py): Σ w_k·x_k, divided by Σ w_k when `normalize` (the default). The
// sum over models accumulates in float32 in model order, as torch's sum over dim 0 does.

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";

export const linear: MergeKernel = async (m, exec) => {
  const r = rounder(m.dtype);
  const xs = m.tensors;
  const w = m.perInput.map((p) => r(Number(p.weight)));
  let wsum = 0;
  for (const wk of w) wsum = Math.fround(wsum + wk);
  // in place into the first input: each element reads all inputs before it is written
  const out = xs[0]!;
  await exec.map("linear", { xs, w, normalize: m.params.normalize === true, divisor: r(wsum), dtype: m.dtype, out }, out.length);
  return out;
};
