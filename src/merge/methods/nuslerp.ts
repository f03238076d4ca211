// nuslerp (mergekit nuslerp.py): slerp between two models with t = w₁/(w₀+w₁) (0.5 when the
// weights sum to ~0), over the flattened tensors (default), each row, or each column
// (`nuslerp_row_wise`); with a base model, between the two task vectors, added back to the base.
// Norms and dot products in torch's order (reduce.ts, torch-f32.ts), acos and sin SLEEF's.

import { rounder, type Rounder, type WorkType } from "../float.js";
import { lastDim, type MergeKernel } from "../kernel.js";
import { sum64, workNorm, workSum } from "../reduce.js";
import { sleefAcosF32, sleefSinF32 } from "../sleef-f32.js";
import { torchColumnSums, torchStridedNorm } from "../torch-f32.js";

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
    interpolate(t, v0, v1, out, 1, n, (v, i) => i, m.dtype, false);
  } else if (!rowWise) {
    interpolate(t, v0, v1, out, rows, cols, (v, i) => v * cols + i, m.dtype, false); // one vector per row
  } else {
    interpolate(t, v0, v1, out, cols, rows, (v, i) => i * cols + v, m.dtype, true); // one vector per column
  }
  if (base) for (let i = 0; i < n; i++) out[i] = r(base[i]! + out[i]!);
  return out;
};

/**
 * `count` vectors of `length` elements, element i of vector v at index(v, i); `strided` when the
 * vectors are the columns of a row-major block (torch reduces those down a strided dim).
 */
function interpolate(t: number, v0: Float32Array, v1: Float32Array, out: Float32Array, count: number, length: number, index: (v: number, i: number) => number, type: WorkType, strided: boolean): void {
  const r = rounder(type);
  const a = r(1 - t);
  const b = r(t);
  // a contiguous vector v starts at v · length (the whole tensor, or row v)
  const norm = (x: Float32Array, v: number): number =>
    r(Math.max(strided ? stridedNorm(length, (i) => x[index(v, i)]!, type, r) : workNorm(x, v * length, length, type, r), 1e-7));
  const u0 = new Float32Array(v0.length);
  const u1 = new Float32Array(v1.length);
  for (let v = 0; v < count; v++) {
    const n0 = norm(v0, v);
    const n1 = norm(v1, v);
    for (let i = 0; i < length; i++) {
      const j = index(v, i);
      u0[j] = r(v0[j]! / n0);
      u1[j] = r(v1[j]! / n1);
    }
  }
  const products = u0.map((x, j) => r(x * u1[j]!));
  // cos θ per vector: torch.sum(v0_u · v1_u, dim=-1); for columns, down the rows with the
  // outputs contiguous
  const cosines = strided
    ? type === "F32" ? torchColumnSums(length, count, (row, col) => products[index(col, row)]!) : Float32Array.from({ length: count }, (_, v) => r(sum64(Array.from({ length }, (_, i) => products[index(v, i)]!))))
    : Float32Array.from({ length: count }, (_, v) => workSum(products, v * length, length, type, r));
  for (let v = 0; v < count; v++) {
    const theta = r(sleefAcosF32(Math.min(1, Math.max(-1, cosines[v]!))));
    const sinTheta = r(sleefSinF32(theta));
    const colinear = Math.abs(sinTheta) < 1e-8;
    const s0 = r(sleefSinF32(r(theta * a)));
    const s1 = r(sleefSinF32(r(theta * b)));
    for (let i = 0; i < length; i++) {
      const j = index(v, i);
      out[j] = colinear ? r(r(a * v0[j]!) + r(b * v1[j]!)) : r(r(r(s0 * v0[j]!) + r(s1 * v1[j]!)) / sinTheta);
    }
  }
}

/** torch.norm down a strided dim: float32 in torch's order, else a float64 sum rounded. */
function stridedNorm(n: number, at: (i: number) => number, type: WorkType, r: Rounder): number {
  if (type === "F32") return torchStridedNorm(n, at);
  let s = 0;
  for (let i = 0; i < n; i++) s += at(i) * at(i);
  return r(Math.sqrt(s));
}
