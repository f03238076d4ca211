// The loops of the heavy merges as block kernels: each runs on elements [start, end) of shared
// arrays and returns a small partial result (counts, float64 sums) that the caller combines in
// block order. Blocks are fixed by the tensor size, not the thread count, so a merge gives the
// same bits on 0, 1 or 16 workers. Workers import this module by name (worker.ts). Loops stay on
// typed arrays with their scalars in locals; rounding to the working type runs on the float bits
// over a range (float.ts roundRange) rather than through a call per element.

import { convertTensorBytes } from "../formats/dtype-convert.js";
import { tensorType } from "../formats/tensor-types.js";
import { dequantize } from "../quant/dequantize.js";
import { combineKernel, linearKernel } from "./combine-kernels.js";
import { rounder, roundRange, type WorkType } from "./float.js";
import { drawU32, type KeyedStream } from "./rng.js";
import { simdBlockKernels } from "./wasm-kernels.js";

export type BlockKernel = (args: any, start: number, end: number, block: number) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

const F32_TYPE = tensorType("F32")!;
const bitsOf = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

/** The kernels in JavaScript: the reference the WebAssembly ones (wasm-kernels.ts) must equal, and the fallback. */
export const JS_BLOCK_KERNELS: Record<string, BlockKernel> = {
  /** out[start, end) ← the elements of `raw`, stored bytes of `type` (ranges aligned to its blocks) */
  dequantize(a: { raw: Uint8Array; type: string; out: Float32Array }, start, end) {
    const t = tensorType(a.type)!;
    dequantize(a.type, a.raw.subarray((start / t.blockElems) * t.blockBytes, (end / t.blockElems) * t.blockBytes), a.out.subarray(start, end));
  },

  /** out ← x[start, end) as F16 or BF16 bytes (elementwise) */
  narrow(a: { x: Float32Array; out: Uint8Array; type: string }, start, end) {
    const x = new Uint8Array(a.x.buffer, a.x.byteOffset + start * 4, (end - start) * 4);
    convertTensorBytes(x, F32_TYPE, tensorType(a.type)!, a.out.subarray(start * 2, end * 2));
  },

  /** x ← x rounded to the working type (mergekit's cast of every input to `dtype`) */
  round(a: { x: Float32Array; dtype: WorkType }, start, end) {
    roundRange(a.x, start, end, a.dtype);
  },

  /**
   * x ← x − base; with `histogram`, also the magnitude histogram of the result (select.ts), so
   * a top-k selection needs no pass of its own. Elementwise: runs on any ranges (`mapRanges`).
   */
  subtract(a: { x: Float32Array; base: Float32Array; dtype: WorkType; histogram?: boolean }, start, end) {
    const { x, base } = a;
    for (let i = start; i < end; i++) x[i] = x[i]! - base[i]!;
    roundRange(x, start, end, a.dtype);
    return a.histogram === true ? highHistogram(x, start, end) : undefined;
  },

  /** counts of |x|'s keys by their top 16 bits, and the OR of their low 16 bits (select.ts) */
  histogram(a: { x: Float32Array }, start, end) {
    return highHistogram(a.x, start, end);
  },

  /** counts of the low 16 bits of |x|'s keys whose top 16 bits are `high` */
  lowHistogram(a: { x: Float32Array; high: number }, start, end) {
    const keys = bitsOf(a.x);
    const counts = new Uint32Array(1 << 16);
    const high = a.high;
    for (let i = start; i < end; i++) {
      const key = keys[i]! & 0x7fffffff;
      if (key >>> 16 === high) counts[key & 0xffff]!++;
    }
    return counts;
  },

  /** per block: [keys = a, keys = b] of |x| (branch-free: the keys are in random order) */
  cutCounts(a: { x: Float32Array; a: number; b: number }, start, end) {
    const keys = bitsOf(a.x);
    const ka = a.a, kb = a.b;
    let equalA = 0, equalB = 0;
    for (let i = start; i < end; i++) {
      const key = keys[i]! & 0x7fffffff;
      equalA += +(key === ka);
      equalB += +(key === kb);
    }
    return [equalA, equalB];
  },

  /**
   * Keeps the elements whose |x| key lies strictly between a and b, and of those equal to a (to
   * b) the ones whose ordinal among them, counted in index order over the whole tensor, is in
   * [aFrom, aTo) ([bFrom, bTo)); `aStart[block]`/`bStart[block]` is the ordinal of the block's
   * first such element. Zeroes the rest. Returns [Σ|x| before, Σ|x| after] in float64 (NaN
   * when `sums` is false: the WebAssembly kernel then skips them).
   */
  keepRange(a: { x: Float32Array; a: number; b: number; aFrom: number; aTo: number; bFrom: number; bTo: number; aStart: number[]; bStart: number[]; sums?: boolean }, start, end, block) {
    const { x } = a;
    const keys = bitsOf(x);
    const ka = a.a, kb = a.b, aFrom = a.aFrom, aTo = a.aTo, bFrom = a.bFrom, bTo = a.bTo;
    // without per-block starts every equal key is kept (the caller checked the window covers them)
    let ordA = a.aStart[block] ?? aFrom;
    let ordB = a.bStart[block] ?? bFrom;
    let before = 0, after = 0;
    for (let i = start; i < end; i++) {
      const bits = keys[i]!;
      const key = bits & 0x7fffffff;
      before += Math.abs(x[i]!);
      let keep: number;
      if (key === ka) {
        keep = +(ordA >= aFrom && ordA < aTo);
        ordA++;
      } else if (key === kb) {
        keep = +(ordB >= bFrom && ordB < bTo);
        ordB++;
      } else {
        keep = +(key > ka) & +(key < kb); // branch-free
      }
      keys[i] = bits & -keep; // dropped: +0
      after += Math.abs(x[i]!); // a dropped element adds +0, which leaves the sum as skipping it would
    }
    return a.sums === false ? [NaN, NaN] : [before, after];
  },

  /** DARE: keeps each element with probability p (keyed draw < threshold); [Σ|x| before, after] */
  bernoulli(a: { x: Float32Array; stream: KeyedStream; threshold: number }, start, end) {
    const { x, stream, threshold } = a;
    let before = 0, after = 0;
    for (let i = start; i < end; i++) {
      const v = Math.abs(x[i]!);
      before += v;
      if (drawU32(stream, i) < threshold) after += v;
      else x[i] = 0;
    }
    return [before, after];
  },

  /**
   * DELLA on whole rows: each element kept with probability (density − ε) + rank_norm·2ε, where
   * rank_norm = (rank − 1)/(cols − 1) is its ascending magnitude rank in its row (ties: lower
   * index first). Returns [Σ|x| before, after].
   */
  della(a: { x: Float32Array; cols: number; offset: number; eps: number; dtype: WorkType; stream: KeyedStream }, start, end) {
    const r = rounder(a.dtype);
    const { x, cols, stream, eps, offset } = a;
    const keys = bitsOf(x);
    const packed = new Float64Array(cols);
    const span = cols - 1;
    let before = 0, after = 0;
    for (let row = start; row < end; row += cols) {
      for (let j = 0; j < cols; j++) packed[j] = (keys[row + j]! & 0x7fffffff) * 2097152 + j;
      packed.sort();
      for (let rank = 0; rank < cols; rank++) {
        const i = row + (packed[rank]! % 2097152);
        const norm = Math.min(1, Math.max(0, r(rank / span)));
        const p = r(r(r(norm * 2) * eps) + offset);
        const v = Math.abs(x[i]!);
        before += v;
        if (drawU32(stream, i) < p * 4294967296) after += v;
        else x[i] = 0;
      }
    }
    return [before, after];
  },

  /** x ← x · ratio (the L1 rescale) */
  scale(a: { x: Float32Array; ratio: number; dtype: WorkType }, start, end) {
    const { x, ratio } = a;
    for (let i = start; i < end; i++) x[i] = x[i]! * ratio;
    roundRange(x, start, end, a.dtype);
  },

  /** Σ|x| in float64 */
  sumAbs(a: { x: Float32Array }, start, end) {
    const { x } = a;
    let s = 0;
    for (let i = start; i < end; i++) s += Math.abs(x[i]!);
    return s;
  },

  /** TIES/task arithmetic: out ← base + λ·(Σ kept w_k·δ_k)/(Σ kept w_k) (combine-kernels.ts) */
  combine: combineKernel,

  /** linear: out ← Σ w_k·x_k (/ divisor) */
  linear: linearKernel,
};

/** The kernels merges run: the WebAssembly SIMD ones where they exist, else JavaScript. */
export const BLOCK_KERNELS: Record<string, BlockKernel> = { ...JS_BLOCK_KERNELS, ...simdBlockKernels(JS_BLOCK_KERNELS) };

/** Counts of |x|'s keys (float bits without the sign) by their top 16 bits, and the OR of their low 16 bits. */
function highHistogram(x: Float32Array, start: number, end: number): { counts: Uint32Array; lowBits: number } {
  const keys = bitsOf(x);
  const counts = new Uint32Array(1 << 15);
  let lowBits = 0;
  for (let i = start; i < end; i++) {
    const key = keys[i]!;
    counts[(key >>> 16) & 0x7fff]!++;
    lowBits |= key;
  }
  return { counts, lowBits: lowBits & 0xffff };
}
