// nearswap (mergekit nearswap.py): per element, take the other model's value where it is within
// t of the base's and blend towards the base as the distance grows: w = clamp(t/|a−b|, 0, 1),
// w·b + (1−w)·a. torch computes t/x as reciprocal(x)·t, with t in the tensor's dtype.

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";

export const nearswap: MergeKernel = (m) => {
  const r = rounder(m.dtype);
  const a = m.tensors[m.base!]!;
  const others = m.tensors.filter((_, k) => k !== m.base);
  if (others.length === 0) return a;
  const b = others[0]!;
  const t = r(Number(m.params.t)); // python scalars take the tensor's dtype (torch 1.13)
  const floor = r(1e-6);
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const diff = Math.max(r(Math.abs(r(a[i]! - b[i]!))), floor);
    const w = Math.min(1, Math.max(0, r(r(1 / diff) * t)));
    out[i] = r(r(w * b[i]!) + r(r(1 - w) * a[i]!));
  }
  return out;
};
