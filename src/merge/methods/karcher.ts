// karcher (mergekit karcher.py): the Riemannian (Karcher) mean of the inputs' directions with
// equal weights, by at most `max_iter` fixed-point steps, scaled by the mean of their norms. The
// base model, when given, is just another input: mergekit averages it in. Norms are torch's
// float32 kernel's (mergekit takes them of .float() copies), dot products torch.dot's (BLAS sdot
// for float32), arccos, sin and cos SLEEF's, as torch computes them. In bf16/f16, torch 1.13 casts
// every scalar operand (a python float or a 0-d float32 tensor) to the tensor's type first, and
// torch.dot keeps both its products and its sum in that type: `r(scalar)` and `dot` below.

import { rounder, type Rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";
import { sequentialDotF32 } from "../reduce.js";
import { sleefAcosF32, sleefCosF32, sleefSinF32 } from "../sleef-f32.js";
import { torchNorm } from "../torch-f32.js";

export const karcher: MergeKernel = (m) => {
  const xs = m.tensors;
  if (xs.length === 1) return xs[0]!;
  const r = rounder(m.dtype);
  const maxIter = Number(m.params.max_iter);
  const tol = Number(m.params.tol);
  const n = xs[0]!.length;
  const alphas = xs.map(() => 1 / xs.length);
  const norms = xs.map((x) => torchNorm(x));
  const units = xs.map((x, k) => {
    const nk = r(norms[k]!);
    return norms[k] === 0 ? new Float32Array(n) : x.map((v) => r(v / nk));
  });
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
  else {
    const nu = r(normU);
    u = u.map((v) => r(v / nu));
  }
  const T = new Float32Array(n);
  for (let iter = 0; iter < maxIter; iter++) {
    T.fill(0);
    us.forEach((ui, j) => {
      const d = Math.min(1, Math.max(-1, dot(u, ui, m.dtype === "F32", r)));
      const theta = r(sleefAcosF32(d));
      if (theta < tol) return;
      const coef = r(r(a[j]!) * r(theta / r(sleefSinF32(theta)))); // a · (θ / sin θ): python float × 0-d tensor
      for (let i = 0; i < n; i++) T[i] = r(T[i]! + r(coef * r(ui[i]! - r(d * u[i]!))));
    });
    const normT = torchNorm(T);
    if (normT < tol) break;
    const c = r(sleefCosF32(normT));
    const s = r(sleefSinF32(normT));
    const nt = r(normT);
    for (let i = 0; i < n; i++) u[i] = r(r(c * u[i]!) + r(s * r(T[i]! / nt)));
    const un = torchNorm(u);
    const unr = r(un);
    if (un > tol) for (let i = 0; i < n; i++) u[i] = r(u[i]! / unr);
  }
  let scale = 0;
  alphas.forEach((al, k) => (scale += al * norms[k]!));
  const sf = r(scale);
  return u.map((v) => r(v * sf));
};

/**
 * torch.dot: BLAS sdot for float32 (the reference BLAS adds in order); bf16 and f16 through
 * torch's own loop, products and running sum each rounded to the type.
 */
function dot(x: Float32Array, y: Float32Array, isF32: boolean, r: Rounder): number {
  if (isF32) return sequentialDotF32(x, y);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum = r(sum + r(x[i]! * y[i]!));
  return sum;
}
