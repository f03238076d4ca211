// karcher (mergekit karcher.py): the Riemannian (Karcher) mean of the inputs' directions with
// equal weights, by at most `max_iter` fixed-point steps, scaled by the mean of their norms. The
// base model, when given, is just another input: mergekit averages it in. Norms are torch's
// float32 kernel's (mergekit takes them of .float() copies), dot products torch.dot's (BLAS sdot
// for float32), arccos, sin and cos SLEEF's, as torch computes them.

import { rounder, type Rounder, type WorkType } from "../float.js";
import type { MergeKernel } from "../kernel.js";
import { sequentialDotF32 } from "../reduce.js";
import { sleefAcosF32, sleefCosF32, sleefSinF32 } from "../sleef-f32.js";
import { torchNorm } from "../torch-f32.js";

export const karcher: MergeKernel = (m) => {
  const xs = m.tensors;
  if (xs.length === 1) return xs[0]!;
  const r = rounder(m.dtype);
  const f = Math.fround;
  const maxIter = Number(m.params.max_iter);
  const tol = Number(m.params.tol);
  const n = xs[0]!.length;
  const alphas = xs.map(() => 1 / xs.length);
  const norms = xs.map((x) => torchNorm(x));
  const units = xs.map((x, k) => (norms[k] === 0 ? new Float32Array(n) : x.map((v) => r(v / norms[k]!))));
  const valid = norms.map((nv, k) => (nv > tol ? k : -1)).filter((k) => k >= 0);
  if (valid.length === 0) return new Float32Array(n);
  const alphaSum = valid.reduce((s, k) => s + alphas[k]!, 0);
  const a = valid.map((k) => alphas[k]! / alphaSum);
  const us = valid.map((k) => units[k]!);
  let u = new Float32Array(n);
  us.forEach((ui, j) => {
    const w = r(a[j]!);
    for (let i = 0; i < n; i++) u[i] = r(u[i]! + r(ui[i]! * w));
  });
  const normU = torchNorm(u);
  if (normU < tol) u = us[0]!.slice();
  else u = u.map((v) => r(v / normU));
  const T = new Float32Array(n);
  for (let iter = 0; iter < maxIter; iter++) {
    T.fill(0);
    us.forEach((ui, j) => {
      const d = Math.min(1, Math.max(-1, dot(u, ui, m.dtype, r)));
      const theta = r(sleefAcosF32(d));
      if (theta < tol) return;
      const coef = r(f(a[j]!) * r(theta / r(sleefSinF32(theta)))); // a · (θ / sin θ): python float × 0-d tensor
      for (let i = 0; i < n; i++) T[i] = r(T[i]! + r(coef * r(ui[i]! - r(d * u[i]!))));
    });
    const normT = torchNorm(T);
    if (normT < tol) break;
    const c = sleefCosF32(normT);
    const s = sleefSinF32(normT);
    for (let i = 0; i < n; i++) u[i] = r(r(c * u[i]!) + r(s * r(T[i]! / normT)));
    const un = torchNorm(u);
    if (un > tol) for (let i = 0; i < n; i++) u[i] = r(u[i]! / un);
  }
  let scale = 0;
  alphas.forEach((al, k) => (scale += al * norms[k]!));
  const sf = r(scale);
  return u.map((v) => r(v * sf));
};

/** torch.dot: BLAS sdot for float32 (reference BLAS: in order); else a float64 sum rounded. */
function dot(x: Float32Array, y: Float32Array, type: WorkType, r: Rounder): number {
  if (type === "F32") return sequentialDotF32(x, y);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return r(s);
}
