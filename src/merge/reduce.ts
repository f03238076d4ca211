// Sums in the orders the references use, so scalar results match them: numpy's pairwise float32
// sum (np.sum over a contiguous array), a plain float32 loop (reference BLAS sdot, which
// numpy.linalg.norm calls), torch's own float32 kernels (torch-f32.ts) for a float32 working
// type, and for bf16/f16 working types a float64 sum rounded to the type (torch sums those in
// float32 lanes and rounds once, which a float64 sum matches but for ties of the rounding).

import type { Rounder, WorkType } from "./float.js";
import { torchNorm, torchSum } from "./torch-f32.js";

/**
 * np.sum of a contiguous float32 array: numpy's reduction loop feeds pairwise_sum (loops_utils.h:
 * blocks of 8 accumulators up to 128 elements, halves above) one buffer of 8192 elements at a
 * time and adds the buffers' sums in order.
 */
export function numpySumF32(a: ArrayLike<number>): number {
  let s = 0;
  for (let start = 0; start < a.length; start += NUMPY_BUFFER) s = Math.fround(s + pairwiseSumF32(a, start, Math.min(NUMPY_BUFFER, a.length - start)));
  return s;
}

/** numpy's default ufunc buffer size (np.getbufsize()) */
const NUMPY_BUFFER = 8192;

function pairwiseSumF32(a: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = -0;
    for (let i = 0; i < n; i++) res = Math.fround(res + a[start + i]!);
    return res;
  }
  if (n <= 128) {
    const r = [a[start]!, a[start + 1]!, a[start + 2]!, a[start + 3]!, a[start + 4]!, a[start + 5]!, a[start + 6]!, a[start + 7]!];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = Math.fround(r[j]! + a[start + i + j]!);
    let res = Math.fround(Math.fround(Math.fround(r[0]! + r[1]!) + Math.fround(r[2]! + r[3]!)) + Math.fround(Math.fround(r[4]! + r[5]!) + Math.fround(r[6]! + r[7]!)));
    for (; i < n; i++) res = Math.fround(res + a[start + i]!);
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return Math.fround(pairwiseSumF32(a, start, n2) + pairwiseSumF32(a, start + n2, n - n2));
}

/** Σ x·y in float32, one element after another (reference BLAS sdot). */
export function sequentialDotF32(x: Float32Array, y: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s = Math.fround(s + Math.fround(x[i]! * y[i]!));
  return s;
}

/** Σ x·y in float64. */
export function dot64(x: ArrayLike<number>, y: ArrayLike<number>, start = 0, end = x.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += x[i]! * y[i]!;
  return s;
}

/** Σ x in float64. */
export function sum64(x: ArrayLike<number>, start = 0, end = x.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += x[i]!;
  return s;
}

/** Σ |x| in float64. */
export function sumAbs64(x: ArrayLike<number>, start = 0, end = x.length): number {
  let s = 0;
  for (let i = start; i < end; i++) s += Math.abs(x[i]!);
  return s;
}

/** torch.sum over x[start…start+n) in the working type. */
export function workSum(x: Float32Array, start: number, n: number, type: WorkType, r: Rounder): number {
  if (type === "F32") return torchSum(x, start, n);
  return r(sum64(x, start, start + n));
}

/** torch.norm over x[start…start+n) in the working type. */
export function workNorm(x: Float32Array, start: number, n: number, type: WorkType, r: Rounder): number {
  if (type === "F32") return torchNorm(x, start, n);
  return r(Math.sqrt(dot64(x, x, start, start + n)));
}
