// karcher (mergekit karcher.py): the Riemannian (Karcher) mean of the inputs' directions with
// equal weights, by at most `max_iter` fixed-point steps, scaled by the mean of their norms. The
// base model, when given, is just another input: mergekit averages it in. Norms, dots and the
// trigonometry are float64 rounded to float32 (torch's .item() scalars are float32).

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";

export const karcher: MergeKernel = (m) => {
  const xs = m.tensors;
  if (xs.length === 1) return xs[0]!;
  const r = rounder(m.dtype);
  const f = Math.fround;
  const maxIter = Number(m.params.max_iter);
  const tol = Number(m.params.tol);
  const n = xs[0]!.length;
  const alphas = xs.map(() => 1 / xs.length);
  const norms = xs.map((x) => f(Math.sqrt(dot(x, x))));
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
  const normU = f(Math.sqrt(dot(u, u)));
  if (normU < tol) u = us[0]!.slice();
  else u = u.map((v) => r(v / normU));
  const T = new Float32Array(n);
  for (let iter = 0; iter < maxIter; iter++) {
    T.fill(0);
    us.forEach((ui, j) => {
      const d = f(Math.min(1, Math.max(-1, f(dot(u, ui)))));
      const theta = f(Math.acos(d));
      if (theta < tol) return;
      const coef = f(f(a[j]!) * f(theta / f(Math.sin(theta)))); // a · (θ / sin θ): python float × 0-d tensor
      for (let i = 0; i < n; i++) T[i] = r(T[i]! + r(coef * r(ui[i]! - r(d * u[i]!))));
    });
    const normT = f(Math.sqrt(dot(T, T)));
    if (normT < tol) break;
    const c = f(Math.cos(normT));
    const s = f(Math.sin(normT));
    for (let i = 0; i < n; i++) u[i] = r(r(c * u[i]!) + r(s * r(T[i]! / normT)));
    const un = f(Math.sqrt(dot(u, u)));
    if (un > tol) for (let i = 0; i < n; i++) u[i] = r(u[i]! / un);
  }
  let scale = 0;
  alphas.forEach((al, k) => (scale += al * norms[k]!));
  const sf = r(scale);
  return u.map((v) => r(v * sf));
};

function dot(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * y[i]!;
  return s;
}
