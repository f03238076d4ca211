// The loops of the heavy merges as block kernels: each runs on elements [start, end) of shared
// arrays and returns a small partial result (counts, float64 sums) that the caller combines in
// block order. Blocks are fixed by the tensor size, not the thread count, so a merge gives the
// same bits on 0, 1 or 16 workers. Workers import this module by name (worker.ts).

import { rounder, type WorkType } from "./float.js";
import { drawU32, type KeyedStream } from "./rng.js";

export type BlockKernel = (args: any, start: number, end: number, block: number) => unknown; // eslint-disable-line @typescript-eslint/no-explicit-any

const bitsOf = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);

export const BLOCK_KERNELS: Record<string, BlockKernel> = {
  /** x ← x rounded to the working type (mergekit's cast of every input to `dtype`) */
  round(a: { x: Float32Array; dtype: WorkType }, start, end) {
    const r = rounder(a.dtype);
    const { x } = a;
    for (let i = start; i < end; i++) x[i] = r(x[i]!);
  },

  /** x ← x − base */
  subtract(a: { x: Float32Array; base: Float32Array; dtype: WorkType }, start, end) {
    const r = rounder(a.dtype);
    const { x, base } = a;
    for (let i = start; i < end; i++) x[i] = r(x[i]! - base[i]!);
  },

  /** histogram of one radix digit of |x|'s bits among elements matching the prefix so far */
  histogram(a: { x: Float32Array; shift: number; bits: number; prefix: number; prefixMask: number }, start, end) {
    const keys = bitsOf(a.x);
    const counts = new Uint32Array(1 << a.bits);
    const digitMask = (1 << a.bits) - 1;
    const { shift, prefix, prefixMask } = a;
    for (let i = start; i < end; i++) {
      const key = keys[i]! & 0x7fffffff;
      if (((key & prefixMask) >>> 0) === prefix) counts[(key >>> shift) & digitMask]!++;
    }
    return counts;
  },

  /** per block: [keys < a, keys = a, keys < b, keys = b] of |x| */
  cutCounts(a: { x: Float32Array; a: number; b: number }, start, end) {
    const keys = bitsOf(a.x);
    let lessA = 0, equalA = 0, lessB = 0, equalB = 0;
    for (let i = start; i < end; i++) {
      const key = keys[i]! & 0x7fffffff;
      if (key < a.a) lessA++;
      else if (key === a.a) equalA++;
      if (key < a.b) lessB++;
      else if (key === a.b) equalB++;
    }
    return [lessA, equalA, lessB, equalB];
  },

  /**
   * Keeps the elements whose |x| key lies strictly between a and b, and of those equal to a (to
   * b) the ones whose ordinal among them, counted in index order over the whole tensor, is in
   * [aFrom, aTo) ([bFrom, bTo)); `aStart[block]`/`bStart[block]` is the ordinal of the block's
   * first such element. Zeroes the rest. Returns [Σ|x| before, Σ|x| after] in float64.
   */
  keepRange(a: { x: Float32Array; a: number; b: number; aFrom: number; aTo: number; bFrom: number; bTo: number; aStart: number[]; bStart: number[] }, start, end, block) {
    const { x } = a;
    const keys = bitsOf(x);
    // without per-block starts every equal key is kept (the caller checked the window covers them)
    let ordA = a.aStart[block] ?? a.aFrom;
    let ordB = a.bStart[block] ?? a.bFrom;
    let before = 0, after = 0;
    for (let i = start; i < end; i++) {
      const v = x[i]!;
      const key = keys[i]! & 0x7fffffff;
      before += Math.abs(v);
      let keep = key > a.a && key < a.b;
      if (key === a.a) {
        keep = ordA >= a.aFrom && ordA < a.aTo;
        ordA++;
      } else if (key === a.b) {
        keep = ordB >= a.bFrom && ordB < a.bTo;
        ordB++;
      }
      if (keep) after += Math.abs(v);
      else x[i] = 0;
    }
    return [before, after];
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
    const { x, cols, stream } = a;
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
        const p = r(r(r(norm * 2) * a.eps) + a.offset);
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
    const r = rounder(a.dtype);
    const { x, ratio } = a;
    for (let i = start; i < end; i++) x[i] = r(x[i]! * ratio);
  },

  /** Σ|x| in float64 */
  sumAbs(a: { x: Float32Array }, start, end) {
    let s = 0;
    for (let i = start; i < end; i++) s += Math.abs(a.x[i]!);
    return s;
  },

  /** TIES/task arithmetic: out ← base + λ·(Σ kept w_k·δ_k)/(Σ kept w_k) (see task-arithmetic.ts) */
  combine(a: { base: Float32Array; deltas: Float32Array[]; w: number[]; consensus: boolean; normalize: boolean; lambda: number; divisor: number; dtype: WorkType; out: Float32Array }, start, end) {
    const r = rounder(a.dtype);
    const { base, deltas, w, out, consensus, normalize } = a;
    const K = deltas.length;
    const lam = r(a.lambda);
    const scaled = a.lambda !== 1;
    const wd = new Float64Array(K);
    for (let i = start; i < end; i++) {
      let mixed = 0;
      let divisor = a.divisor;
      if (consensus) {
        let total = 0;
        for (let k = 0; k < K; k++) {
          wd[k] = r(deltas[k]![i]! * w[k]!);
          total = Math.fround(total + wd[k]!);
        }
        const positive = r(total) >= 0;
        let kept = 0;
        for (let k = 0; k < K; k++) {
          const v = wd[k]!;
          if (positive ? v > 0 : v < 0) {
            mixed = Math.fround(mixed + v);
            kept = Math.fround(kept + w[k]!);
          }
        }
        mixed = r(mixed);
        divisor = r(kept);
        if (divisor === 0) divisor = 1;
      } else {
        for (let k = 0; k < K; k++) mixed = Math.fround(mixed + r(deltas[k]![i]! * w[k]!));
        mixed = r(mixed);
      }
      if (normalize) mixed = r(mixed / divisor);
      if (scaled) mixed = r(mixed * lam);
      out[i] = r(base[i]! + mixed);
    }
  },

  /** linear: out ← Σ w_k·x_k (/ divisor) */
  linear(a: { xs: Float32Array[]; w: number[]; normalize: boolean; divisor: number; dtype: WorkType; out: Float32Array }, start, end) {
    const r = rounder(a.dtype);
    const { xs, w, out } = a;
    for (let i = start; i < end; i++) {
      let acc = 0;
      for (let k = 0; k < xs.length; k++) acc = Math.fround(acc + r(w[k]! * xs[k]![i]!));
      out[i] = a.normalize ? r(r(acc) / a.divisor) : r(acc);
    }
  },
};
