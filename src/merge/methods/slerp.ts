// slerp (mergekit slerp.py): spherical interpolation from the base (t = 0) to the other model,
// computed as mergekit computes it — in float32 numpy whatever the working type: norms through
// BLAS sdot (a float32 loop), the dot of the normalised tensors by numpy's pairwise sum, lerp
// when |dot| > 0.9995, numpy's float32 arccos (SVML) and sin (its SIMD kernel) as numpy-f32.ts
// reproduces them. Bit-exact, except where |dot| ≥ 0.5 makes SVML start from the vrsqrt14ps
// estimate, which dusk cannot reproduce: there θ can differ by 1–2 ulps (docs/merge.md).

import { rounder } from "../float.js";
import type { MergeKernel } from "../kernel.js";
import { acosF32, sinF32 } from "../numpy-f32.js";
import { numpySumF32, sequentialDotF32 } from "../reduce.js";

const DOT_THRESHOLD = 0.9995;

export const slerp: MergeKernel = (m) => {
  const base = m.base ?? 0;
  const v0 = m.tensors[base]!;
  const v1 = m.tensors[base === 0 ? 1 : 0]!;
  const out = slerpF32(Number(m.params.t), v0, v1);
  const r = rounder(m.dtype);
  if (m.dtype !== "F32") for (let i = 0; i < out.length; i++) out[i] = r(out[i]!);
  return out;
};

/** mergekit's slerp() on float32 arrays. */
export function slerpF32(t: number, v0: Float32Array, v1: Float32Array, eps = 1e-8): Float32Array {
  const n = v0.length;
  const u0 = normalized(v0, eps);
  const u1 = normalized(v1, eps);
  const products = new Float32Array(n);
  for (let i = 0; i < n; i++) products[i] = Math.fround(u0[i]! * u1[i]!);
  const dot = numpySumF32(products);
  const out = products; // reused
  if (Math.abs(dot) > DOT_THRESHOLD) {
    const a = Math.fround(1 - t);
    const b = Math.fround(t);
    for (let i = 0; i < n; i++) out[i] = Math.fround(Math.fround(a * v0[i]!) + Math.fround(b * v1[i]!));
    return out;
  }
  const theta0 = acosF32(dot); // np.arccos(float32)
  const sinTheta0 = sinF32(theta0); // np.sin(float32)
  const thetaT = theta0 * t; // float32 scalar × Python float → float64
  const s0 = Math.fround(Math.sin(theta0 - thetaT) / sinTheta0);
  const s1 = Math.fround(Math.sin(thetaT) / sinTheta0);
  for (let i = 0; i < n; i++) out[i] = Math.fround(Math.fround(s0 * v0[i]!) + Math.fround(s1 * v1[i]!));
  return out;
}

/** v / ‖v‖ when ‖v‖ > eps (numpy: norm = sqrt(sdot(v, v)) in float32). */
function normalized(v: Float32Array, eps: number): Float32Array {
  const norm = Math.fround(Math.sqrt(sequentialDotF32(v, v)));
  if (!(norm > eps)) return v;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.fround(v[i]! / norm);
  return out;
}
