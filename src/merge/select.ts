// Order statistics for sparsification without sorting whole tensors: the key of a given rank by
// radix select over |x|'s float bits (which order like the values) — one histogram of the top 16
// bits, which decides alone when the low 16 are zero everywhere (every bf16 or f16-exact tensor),
// else a second over the low 16 bits of the chosen bucket — and masks of the k largest magnitudes
// or of an ascending rank range, applied in place. Ties at a cut go to the lower index, like a
// stable sort; torch's sort is stable only for small inputs, so mergekit's choice among equal
// magnitudes at a cut is its own (docs/merge.md).

import type { BlockExec } from "./blocks.js";

/** above every magnitude key (keys are float bits without the sign) */
const ABOVE_ALL = 0x80000000;

/** |x|'s keys counted by their top 16 bits (2^15 buckets), and the OR of every key's low 16 bits. */
export interface MagnitudeHistogram {
  counts: Float64Array;
  lowBits: number;
}

/** Adds up histogram kernels' parts (block-kernels.ts `histogram`, or `subtract` with `histogram`). */
export function addHistograms(parts: readonly { counts: Uint32Array; lowBits: number }[]): MagnitudeHistogram {
  const counts = new Float64Array(1 << 15);
  let lowBits = 0;
  for (const part of parts) {
    for (let d = 0; d < counts.length; d++) counts[d]! += part.counts[d]!;
    lowBits |= part.lowBits;
  }
  return { counts, lowBits };
}

/** One pass over x: its magnitude histogram. */
export async function magnitudeHistogram(x: Float32Array, exec: BlockExec): Promise<MagnitudeHistogram> {
  return addHistograms(await exec.mapRanges<{ counts: Uint32Array; lowBits: number }>("histogram", { x }, x.length));
}

/** The top-16-bit bucket of the key of ascending rank k, and k's rank inside that bucket. */
function bucketOfRank(h: MagnitudeHistogram, k: number): { high: number; rank: number } {
  let rank = k;
  let high = 0;
  while (rank >= h.counts[high]!) rank -= h.counts[high++]!;
  return { high, rank };
}

/**
 * The |x| key of ascending rank k (0-based), with how many keys are below it and equal to it;
 * `histogram` is x's own when the caller has it (else a pass makes it).
 */
export async function kthMagnitude(x: Float32Array, k: number, exec: BlockExec, histogram?: MagnitudeHistogram): Promise<{ key: number; less: number; equal: number }> {
  if (!(k >= 0 && k < x.length)) throw new RangeError(`rank ${k} outside 0..${x.length - 1}`);
  const h = histogram ?? (await magnitudeHistogram(x, exec));
  const bucket = bucketOfRank(h, k);
  const high = bucket.high;
  let rank = bucket.rank;
  if (h.lowBits === 0) return { key: high * 65536, less: k - rank, equal: h.counts[high]! };
  const low = new Float64Array(1 << 16);
  for (const part of await exec.mapRanges<Uint32Array>("lowHistogram", { x, high }, x.length)) for (let d = 0; d < low.length; d++) low[d]! += part[d]!;
  let digit = 0;
  while (rank >= low[digit]!) rank -= low[digit++]!;
  return { key: high * 65536 + digit, less: k - rank, equal: low[digit]! };
}

/** Σ|x| before and after, from keep kernels' [before, after] parts. */
export interface KeptSums {
  before: number;
  after: number;
}

/** The block kernels' [before, after] partial sums, added in block order. */
export function sums(parts: number[][]): KeptSums {
  let before = 0;
  let after = 0;
  for (const [b, a] of parts) {
    before += b!;
    after += a!;
  }
  return { before, after };
}

/**
 * Where keeping the k largest magnitudes cuts: keys above `a` stay, and of the keys equal to `a`
 * the first `take` in index order; `starts[block]` counts those before each block of `map`
 * (empty when every key equal to `a` stays). `a` is −1 when everything stays.
 */
export interface TopKCut {
  a: number;
  take: number;
  starts: number[];
}

/** The cut of a top-k selection, without applying it (the TIES combine applies it on the fly). */
export async function topKCut(x: Float32Array, k: number, exec: BlockExec, histogram?: MagnitudeHistogram): Promise<TopKCut> {
  const n = x.length;
  if (k >= n) return { a: -1, take: 0, starts: [] };
  const cut = await kthMagnitude(x, n - k, exec, histogram);
  const take = k - (n - cut.less - cut.equal); // of the keys equal to the cut, the first `take` stay
  // Only when some keys equal to the cut go do the blocks need to know where their equals start.
  const starts = take === cut.equal ? [] : prefix(await exec.map<number[]>("cutCounts", { x, a: cut.key, b: ABOVE_ALL }, n), 0).at;
  return { a: cut.key, take, starts };
}

/**
 * The same cut from the histogram alone, for keys whose low 16 bits are all 0 (bf16 bits, which a
 * caller streams through in chunks): `equal` keys sit at the cut, of which the first `take` stay.
 */
export function topKCutOfHistogram(h: MagnitudeHistogram, n: number, k: number): { a: number; take: number; equal: number } {
  if (h.lowBits !== 0) throw new RangeError("a histogram alone places the cut only when every key's low 16 bits are 0");
  if (k >= n) return { a: -1, take: 0, equal: 0 };
  const { high, rank } = bucketOfRank(h, n - k);
  const equal = h.counts[high]!;
  return { a: high * 65536, take: equal - rank, equal }; // the ties from rank n − k up stay
}

/**
 * Zeroes all but the k largest magnitudes (ties at the cut: lower index first). The sums are
 * NaN unless `withSums` (a pass of float64 additions in index order that only rescaling needs).
 */
export async function keepTopK(x: Float32Array, k: number, exec: BlockExec, histogram?: MagnitudeHistogram, withSums = true): Promise<KeptSums> {
  const c = await topKCut(x, k, exec, histogram);
  return sums(await exec.map<number[]>("keepRange", { x, a: c.a, b: ABOVE_ALL, aFrom: 0, aTo: c.take, bFrom: 0, bTo: 0, aStart: c.starts, bStart: [], sums: withSums }, x.length));
}

/** Zeroes all but the elements of ascending magnitude rank in [lo, hi) (ties: lower index first); sums as keepTopK. */
export async function keepRankRange(x: Float32Array, lo: number, hi: number, exec: BlockExec, histogram?: MagnitudeHistogram, withSums = true): Promise<KeptSums> {
  const n = x.length;
  const h = histogram ?? (await magnitudeHistogram(x, exec));
  const a = await kthMagnitude(x, lo, exec, h);
  const b = await kthMagnitude(x, hi - 1, exec, h);
  const aTo = a.key === b.key ? hi - a.less : a.equal;
  const bTo = hi - b.less;
  const whole = lo - a.less === 0 && aTo === a.equal && (a.key === b.key || bTo === b.equal);
  const counts = whole ? [] : await exec.map<number[]>("cutCounts", { x, a: a.key, b: b.key }, n);
  return sums(await exec.map<number[]>("keepRange", {
    x, a: a.key, b: b.key,
    aFrom: lo - a.less, aTo, bFrom: 0, bTo,
    aStart: prefix(counts, 0).at, bStart: prefix(counts, 1).at, sums: withSums,
  }, n));
}

/** Running totals of column `col` of per-block counts: each block's start, and the total. */
export function prefix(counts: number[][], col: number): { at: number[]; total: number } {
  const at: number[] = [];
  let total = 0;
  for (const c of counts) {
    at.push(total);
    total += c[col]!;
  }
  return { at, total };
}
