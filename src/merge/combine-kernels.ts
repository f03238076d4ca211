// The combining loops of linear and the task-arithmetic family as block kernels, computed a chunk
// of elements at a time: each of mergekit's tensor ops is one loop over the chunk into a scratch
// array (stored as float32, which rounds the op exactly once), then one loop rounding the chunk to
// the working type on its bits (float.ts roundRange). Same results as an element-at-a-time loop
// with a rounding call after every op, without the calls; the sign election is branch-free (the
// signs are random, so branches on them mispredict). Scratch stays in cache (CHUNK per input).

import { rounder, roundRange, type WorkType } from "./float.js";
import type { TopKCut } from "./select.js";

/** why 2048: K + 3 scratch chunks of 8 KiB stay in L1/L2 beside the inputs' lines */
const CHUNK = 2048;

let scratch: Float32Array[] = [];
/** `count` scratch chunks of this thread, reused across calls */
function chunks(count: number): Float32Array[] {
  while (scratch.length < count) scratch = [...scratch, new Float32Array(CHUNK)];
  return scratch;
}

/** A top-k cut applied while combining (select.ts TopKCut), with its running ordinal of ties. */
interface CutState {
  a: number;
  take: number;
  ordinal: number;
}

/**
 * products[k][j] ← w_k·xs[k][at + j] rounded to the working type, for j < m; with a cut for input
 * k, the elements it drops count as +0 (as keepRange leaves them) and its tie ordinal advances.
 */
function weightedProducts(xs: Float32Array[], w: number[], at: number, m: number, products: Float32Array[], dtype: WorkType, cuts?: CutState[]): void {
  for (let k = 0; k < xs.length; k++) {
    const x = xs[k]!, p = products[k]!, wk = w[k]!, c = cuts?.[k];
    if (c === undefined) {
      for (let j = 0; j < m; j++) p[j] = x[at + j]! * wk;
    } else {
      const keys = new Uint32Array(x.buffer, x.byteOffset, x.length);
      for (let j = 0; j < m; j++) {
        const key = keys[at + j]! & 0x7fffffff;
        const keep = key > c.a || (key === c.a && c.ordinal++ < c.take);
        p[j] = (keep ? x[at + j]! : 0) * wk;
      }
    }
    roundRange(p, 0, m, dtype);
  }
}

export interface CombineArgs {
  base: Float32Array;
  deltas: Float32Array[];
  /** the weights, already of the working type */
  w: number[];
  /** TIES sign election: keep w_k·δ_k whose sign matches that of Σ_k w_k·δ_k (≥ 0 counts as +) */
  consensus: boolean;
  normalize: boolean;
  lambda: number;
  /** Σ w_k of the working type (≠ 0), the divisor without consensus */
  divisor: number;
  dtype: WorkType;
  /** may be `base` itself: each element reads its inputs before it is written */
  out: Float32Array;
  /** TIES' top-k of each delta, applied here instead of by a keepRange pass (select.ts topKCut) */
  cuts?: TopKCut[];
}

/**
 * out ← base + λ·(Σ kept w_k·δ_k)/(Σ kept w_k), rounded as torch does per op: w_k·δ_k, the float32
 * sums over the models (in model order) then rounded, the division, the λ scale and the addition.
 */
export function combineKernel(a: CombineArgs, start: number, end: number, block = 0): void {
  const { base, deltas, w, out, consensus, normalize, dtype } = a;
  const K = deltas.length;
  const r = rounder(dtype);
  const lam = r(a.lambda);
  const scaled = a.lambda !== 1;
  const constantDivisor = a.divisor;
  const s = chunks(K + 3);
  const products = s.slice(0, K);
  const productBits = products.map((p) => new Uint32Array(p.buffer));
  const mixed = s[K]!;
  const divisors = s[K + 1]!;
  const elected = new Int32Array(s[K + 2]!.buffer);
  const cuts = a.cuts?.map((c) => ({ a: c.a, take: c.take, ordinal: c.starts[block] ?? 0 }));
  for (let at = start; at < end; at += CHUNK) {
    const m = Math.min(CHUNK, end - at);
    weightedProducts(deltas, w, at, m, products, dtype, cuts);
    if (consensus) {
      // the sign each element elects (1: −); r(total) ≥ 0 also holds for a negative total tiny
      // enough to round to −0
      for (let j = 0; j < m; j++) {
        let total = 0;
        for (let k = 0; k < K; k++) total = Math.fround(total + products[k]![j]!);
        elected[j] = +!(total >= 0) & +!(Math.abs(total) < 1e-7 && r(total) === 0);
      }
      // kept: nonzero, not NaN, of the elected sign; the others become +0 and their weight adds
      // +0 (adding +0 to these float32 sums, never −0, changes nothing, as skipping does)
      for (let j = 0; j < m; j++) divisors[j] = 0;
      for (let k = 0; k < K; k++) {
        const bits = productBits[k]!;
        const weightIf = [0, w[k]!];
        for (let j = 0; j < m; j++) {
          const b = bits[j]!;
          const magnitude = b & 0x7fffffff;
          const keep = +(magnitude !== 0) & +(magnitude <= 0x7f800000) & +(b >>> 31 === elected[j]);
          bits[j] = b & -keep;
          divisors[j] = Math.fround(divisors[j]! + weightIf[keep]!);
        }
      }
      roundRange(divisors, 0, m, dtype);
    }
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum = Math.fround(sum + products[k]![j]!);
      mixed[j] = sum;
    }
    roundRange(mixed, 0, m, dtype);
    if (normalize) {
      if (consensus) {
        for (let j = 0; j < m; j++) {
          const d = divisors[j]!;
          mixed[j] = mixed[j]! / (d === 0 ? 1 : d);
        }
      } else {
        for (let j = 0; j < m; j++) mixed[j] = mixed[j]! / constantDivisor;
      }
      roundRange(mixed, 0, m, dtype);
    }
    if (scaled) {
      for (let j = 0; j < m; j++) mixed[j] = mixed[j]! * lam;
      roundRange(mixed, 0, m, dtype);
    }
    for (let j = 0; j < m; j++) out[at + j] = base[at + j]! + mixed[j]!;
    roundRange(out, at, at + m, dtype);
  }
}

export interface LinearArgs {
  xs: Float32Array[];
  /** the weights, already of the working type */
  w: number[];
  normalize: boolean;
  divisor: number;
  dtype: WorkType;
  out: Float32Array;
}

/** out ← Σ w_k·x_k (/ divisor): each product rounded, summed in float32 in order, then rounded. */
export function linearKernel(a: LinearArgs, start: number, end: number): void {
  const { xs, w, out, dtype, divisor } = a;
  const K = xs.length;
  const s = chunks(K + 1);
  const products = s.slice(0, K);
  const acc = s[K]!;
  for (let at = start; at < end; at += CHUNK) {
    const m = Math.min(CHUNK, end - at);
    weightedProducts(xs, w, at, m, products, dtype);
    for (let j = 0; j < m; j++) {
      let sum = 0;
      for (let k = 0; k < K; k++) sum = Math.fround(sum + products[k]![j]!);
      acc[j] = sum;
    }
    roundRange(acc, 0, m, dtype);
    if (a.normalize) {
      for (let j = 0; j < m; j++) acc[j] = acc[j]! / divisor;
      roundRange(acc, 0, m, dtype);
    }
    out.set(acc.subarray(0, m), at);
  }
}
