// Order statistics for sparsification without sorting whole tensors: the key of a given rank by
// radix select (three histogram passes over |x|'s float bits, which order like the values), and
// masks of the k largest magnitudes or of an ascending rank range, applied in place. Ties at a
// cut go to the lower index, like a stable sort; torch's sort is stable only for small inputs,
// so mergekit's choice among equal magnitudes at a cut is its own (docs/merge.md).

import type { BlockExec } from "./blocks.js";

/** above every magnitude key (keys are float bits without the sign) */
const ABOVE_ALL = 0x80000000;

/** The |x| key of ascending rank k (0-based), with how many keys are below it and equal to it. */
export async function kthMagnitude(x: Float32Array, k: number, exec: BlockExec): Promise<{ key: number; less: number; equal: number }> {
  if (!(k >= 0 && k < x.length)) throw new RangeError(`rank ${k} outside 0..${x.length - 1}`);
  let prefix = 0;
  let prefixMask = 0;
  let rank = k;
  for (const [shift, bits] of [[21, 11], [10, 11], [0, 10]] as const) {
    const parts = await exec.map<Uint32Array>("histogram", { x, shift, bits, prefix, prefixMask }, x.length);
    const counts = new Float64Array(1 << bits);
    for (const part of parts) for (let d = 0; d < part.length; d++) counts[d]! += part[d]!;
    let digit = 0;
    while (rank >= counts[digit]!) rank -= counts[digit++]!;
    prefix = (prefix | (digit << shift)) >>> 0;
    prefixMask = (prefixMask | (((1 << bits) - 1) << shift)) >>> 0;
    if (shift === 0) return { key: prefix, less: k - rank, equal: counts[digit]! };
  }
  throw new Error("unreachable");
}

/** Σ|x| before and after, from keep kernels' [before, after] parts. */
export interface KeptSums {
  before: number;
  after: number;
}

function sums(parts: number[][]): KeptSums {
  let before = 0;
  let after = 0;
  for (const [b, a] of parts) {
    before += b!;
    after += a!;
  }
  return { before, after };
}

/** Zeroes all but the k largest magnitudes (ties at the cut: lower index first). */
export async function keepTopK(x: Float32Array, k: number, exec: BlockExec): Promise<KeptSums> {
  const n = x.length;
  if (k >= n) return sums(await exec.map<number[]>("keepRange", { x, a: -1, b: ABOVE_ALL, aFrom: 0, aTo: 0, bFrom: 0, bTo: 0, aStart: [], bStart: [] }, n));
  const cut = await kthMagnitude(x, n - k, exec);
  const take = k - (n - cut.less - cut.equal); // of the keys equal to the cut, the first `take` stay
  // Only when some keys equal to the cut go do the blocks need to know where their equals start.
  const starts = take === cut.equal ? { at: [] as number[], total: cut.equal } : prefix(await exec.map<number[]>("cutCounts", { x, a: cut.key, b: ABOVE_ALL }, n), 1);
  return sums(await exec.map<number[]>("keepRange", { x, a: cut.key, b: ABOVE_ALL, aFrom: 0, aTo: take, bFrom: 0, bTo: 0, aStart: starts.at, bStart: [] }, n));
}

/** Zeroes all but the elements of ascending magnitude rank in [lo, hi) (ties: lower index first). */
export async function keepRankRange(x: Float32Array, lo: number, hi: number, exec: BlockExec): Promise<KeptSums> {
  const n = x.length;
  const a = await kthMagnitude(x, lo, exec);
  const b = await kthMagnitude(x, hi - 1, exec);
  const aTo = a.key === b.key ? hi - a.less : a.equal;
  const bTo = hi - b.less;
  const whole = lo - a.less === 0 && aTo === a.equal && (a.key === b.key || bTo === b.equal);
  const counts = whole ? [] : await exec.map<number[]>("cutCounts", { x, a: a.key, b: b.key }, n);
  return sums(await exec.map<number[]>("keepRange", {
    x, a: a.key, b: b.key,
    aFrom: lo - a.less, aTo, bFrom: 0, bTo,
    aStart: prefix(counts, 1).at, bStart: prefix(counts, 3).at,
  }, n));
}

/** Running totals of column `col` of per-block counts: each block's start, and the total. */
function prefix(counts: number[][], col: number): { at: number[]; total: number } {
  const at: number[] = [];
  let total = 0;
  for (const c of counts) {
    at.push(total);
    total += c[col]!;
  }
  return { at, total };
}
