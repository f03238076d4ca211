// Rounding to a merge's working type, one operation at a time, as torch computes on CPU: each op
// of two f32 values is exact in double and rounded once to f32 (Math.fround), and an op on
// bf16/f16 tensors is that f32 result rounded again to the narrow type. Kernels call `round`
// after every operation mergekit's code performs as a separate tensor op.

import { f16BitsToF32Bits, f32BitsToF16Bits } from "../formats/dtype-convert.js";

export type WorkType = "F32" | "F16" | "BF16";
export type Rounder = (x: number) => number;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** f32, then bf16 with round-to-nearest-even (NaN kept). */
export function roundBf16(x: number): number {
  f32[0] = x;
  const u = u32[0]!;
  if ((u & 0x7f800000) === 0x7f800000) return f32[0]!;
  u32[0] = ((u + 0x7fff + ((u >>> 16) & 1)) & 0xffff0000) >>> 0;
  return f32[0]!;
}

/** f32, then f16 with round-to-nearest-even. */
export function roundF16(x: number): number {
  f32[0] = x;
  u32[0] = f16BitsToF32Bits(f32BitsToF16Bits(u32[0]!));
  return f32[0]!;
}

export function rounder(type: WorkType): Rounder {
  return type === "F32" ? Math.fround : type === "BF16" ? roundBf16 : roundF16;
}

/** Rounds every element in place to the working type (mergekit's GatherTensors cast to `dtype`). */
export function roundAll(values: Float32Array, type: WorkType): Float32Array {
  roundRange(values, 0, values.length, type);
  return values;
}

/**
 * Rounds x[start, end) (float32 values) in place to the working type on their bits: the same
 * results as `rounder(type)` per element, without a call and a scratch store per element.
 */
export function roundRange(x: Float32Array, start: number, end: number, type: WorkType): void {
  if (type === "F32") return;
  const u = new Uint32Array(x.buffer, x.byteOffset, x.length);
  if (type === "BF16") {
    for (let i = start; i < end; i++) {
      const b = u[i]!;
      // b + 0x7fff + lsb < 2^32 for every finite b; inf and NaN stay as they are (roundBf16)
      if ((b & 0x7f800000) !== 0x7f800000) u[i] = (b + 0x7fff + ((b >>> 16) & 1)) & 0xffff0000;
    }
  } else {
    for (let i = start; i < end; i++) u[i] = f16BitsToF32Bits(f32BitsToF16Bits(u[i]!));
  }
}

/** Distance in units in the last place of `type` between two values of that type (0 = equal bits). */
export function ulpDistance(a: number, b: number, type: WorkType = "F32"): number {
  if (Object.is(a, b) || a === b) return 0;
  if (Number.isNaN(a) || Number.isNaN(b)) return Infinity;
  const ordered = (x: number): number => {
    f32[0] = x;
    const u = u32[0]!;
    const s = u & 0x80000000 ? -(u & 0x7fffffff) : u;
    return type === "F32" ? s : type === "BF16" ? s / 65536 : s / 8192;
  };
  return Math.abs(ordered(a) - ordered(b));
}
