// nuslerp (mergekit nuslerp.py): slerp between two models with t = w₁/(w₀+w₁) (0.5 when the
// weights sum to ~0), over the flattened tensors (default), each row, or each column
// (`nuslerp_row_wise`); with a base model, between the two task vectors, added back to the base.
// Norms and dot products are float64 sums rounded to the working type (torch's are its own
// vectorised order), so results are within an ulp of mergekit's rather than bit-equal.

import { rounder, type Rounder } from "../float.js";
import { lastDim, type MergeKernel } from "../kernel.js";

export const nuslerp: MergeKernel = (m) => {
  const r = rounder(m.dtype);
  const others = m.tensors.map((x, k) => ({ x, k })).filter(({ k }) => k !== m.base);
  const [a, b] = [others[0]!, others[1]!];
  const wa = Number(m.perInput[a.k]!.weight);
  const wb = Number(m.perInput[b.k]!.weight);
  const t = Math.abs(wa + wb) < 1e-6 ? 0.5 : wb / (wa + wb);
  const base = m.base === undefined ? undefined : m.tensors[m.base]!;
  const v0 = base ? a.x.map((x, i) => r(x - base[i]!)) : a.x;
  const v1 = base ? b.x.map((x, i) => r(x - base[i]!)) : b.x;
  const n = v0.length;
  const flatten = m.params.nuslerp_flatten === true;
  const rowWise = m.params.nuslerp_row_wise === true;
  const cols = m.shape.length < 2 ? n : lastDim(m.shape);
  const rows = n / cols;
  const out = new Float32Array(n);
  if (flatten || m.shape.length < 2) {
    interpolate(t, v0, v1, out, 1, n, (v, i) => i, r);
  } else if (!rowWise) {
    interpolate(t, v0, v1, out, rows, cols, (v, i) => v * cols + i, r); // one vector per row
  } else {
    interpolate(t, v0, v1, out, cols, rows, (v, i) => i * cols + v, r); // one vector per column
  }
  if (base) for (let i = 0; i < n; i++) out[i] = r(base[i]! + out[i]!);
  return out;
};

/** `count` vectors of `length` elements, element i of vector v at index(v, i). */
function interpolate(t: number, v0: Float32Array, v1: Float32Array, out: Float32Array, count: number, length: number, index: (v: number, i: number) => number, r: Rounder): void {
  const a = r(1 - t);
  const b = r(t);
  const u0 = new Float64Array(length);
  const u1 = new Float64Array(length);
  for (let v = 0; v < count; v++) {
    const n0 = r(Math.max(r(norm(v0, length, (i) => index(v, i))), 1e-7));
    const n1 = r(Math.max(r(norm(v1, length, (i) => index(v, i))), 1e-7));
    let cos = 0;
    for (let i = 0; i < length; i++) {
      u0[i] = r(v0[index(v, i)]! / n0);
      u1[i] = r(v1[index(v, i)]! / n1);
      cos += r(u0[i]! * u1[i]!);
    }
    const theta = r(Math.acos(Math.min(1, Math.max(-1, r(cos)))));
    const sinTheta = r(Math.sin(theta));
    const colinear = Math.abs(sinTheta) < 1e-8;
    const s0 = r(Math.sin(r(theta * a)));
    const s1 = r(Math.sin(r(theta * b)));
    for (let i = 0; i < length; i++) {
      const j = index(v, i);
      out[j] = colinear ? r(r(a * v0[j]!) + r(b * v1[j]!)) : r(r(r(s0 * v0[j]!) + r(s1 * v1[j]!)) / sinTheta);
    }
  }
}

function norm(x: Float32Array, length: number, at: (i: number) => number): number {
  let s = 0;
  for (let i = 0; i < length; i++) s += x[at(i)]! * x[at(i)]!;
  return Math.sqrt(s);
}
