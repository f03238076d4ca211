// linear (mergekit linear.py): Σ w_k·x_k, divided by Σ w_k when `normalize` (the default).

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";

export const linear: MergeKernel = (m) => {
  const r = rounder(m.dtype);
  const xs = m.tensors;
  const w = m.perInput.map((p) => r(Number(p.weight)));
  const n = xs[0]!.length;
  const out = new Float32Array(n);
  let wsum = 0;
  for (const wk of w) wsum = Math.fround(wsum + wk);
  const divisor = r(wsum);
  const normalize = m.params.normalize === true;
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < xs.length; k++) acc = Math.fround(acc + r(w[k]! * xs[k]![i]!));
    out[i] = normalize ? r(r(acc) / divisor) : r(acc);
  }
  return out;
};
