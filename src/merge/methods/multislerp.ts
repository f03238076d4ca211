// multislerp (mergekit multislerp.py): barycentric interpolation on the hypersphere — unit
// vectors averaged with the weights, projected to the tangent space at that mean, mapped back by
// the exponential map and scaled by the weighted mean norm. For two models with unequal weights
// this is not slerp (the tangent-space average is not the geodesic point). With a base model the
// same on task vectors. Norms and dot products in torch's order (reduce.ts), cos and sin SLEEF's.

import { MergeError } from "../merge-error.js";
import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";
import { workNorm, workSum } from "../reduce.js";
import { sleefCosF32, sleefSinF32 } from "../sleef-f32.js";

export const multislerp: MergeKernel = (m) => {
  const r = rounder(m.dtype);
  const base = m.base === undefined ? undefined : m.tensors[m.base]!;
  const picked = m.tensors.map((x, k) => ({ x, k })).filter(({ k }) => k !== m.base);
  if (picked.length === 1) return picked[0]!.x;
  const xs = picked.map(({ x }) => (base ? x.map((v, i) => r(v - base[i]!)) : x));
  const n = xs[0]!.length;
  const K = xs.length;
  const t = m.dtype;
  let w = picked.map(({ k }) => r(Number(m.perInput[k]!.weight)));
  if (m.params.normalize_weights === true) {
    const total = workSum(Float32Array.from(w), 0, K, t, r);
    w = w.map((x) => r(x / total));
  }
  const eps = r(Number(m.params.eps));
  const norms = xs.map((x) => workNorm(x, 0, n, t, r));
  const units = xs.map((x, k) => {
    const d = r(norms[k]! + eps);
    return x.map((v) => r(v / d));
  });
  const mean = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < K; k++) acc = Math.fround(acc + r(units[k]![i]! * w[k]!));
    mean[i] = r(acc);
  }
  const meanNorm = workNorm(mean, 0, n, t, r);
  if (meanNorm < eps) {
    if (K !== 2) throw new MergeError("MERGE_MULTISLERP_ZERO", `${m.key}: the weighted mean of the unit tensors is zero`, { hint: "mergekit fails here too: antipodal tensors with balancing weights; change the weights" });
    const res = new Float32Array(n);
    for (let i = 0; i < n; i++) res[i] = r(r(xs[0]![i]! * w[0]!) + r(xs[1]![i]! * w[1]!));
    if (base) for (let i = 0; i < n; i++) res[i] = r(res[i]! + base[i]!);
    return res;
  }
  for (let i = 0; i < n; i++) mean[i] = r(mean[i]! / meanNorm);
  const products = new Float32Array(n);
  const dots = units.map((u) => {
    for (let i = 0; i < n; i++) products[i] = r(u[i]! * mean[i]!);
    return workSum(products, 0, n, t, r);
  });
  const tangent = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let acc = 0;
    for (let k = 0; k < K; k++) acc = Math.fround(acc + r(r(units[k]![i]! - r(dots[k]! * mean[i]!)) * w[k]!));
    tangent[i] = r(acc);
  }
  const tn = r(workNorm(tangent, 0, n, t, r) + eps);
  const c = r(sleefCosF32(tn));
  const s = r(r(sleefSinF32(tn)) / tn);
  const avgNorm = workSum(Float32Array.from(norms, (x, k) => r(x * w[k]!)), 0, K, t, r);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = r(r(r(mean[i]! * c) + r(tangent[i]! * s)) * avgNorm);
    if (base) out[i] = r(out[i]! + base[i]!);
  }
  return out;
};
