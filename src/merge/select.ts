// Order statistics for sparsification without sorting whole tensors: the k-th key by radix
// select (three histogram passes over 32-bit keys), masks of the k largest or of an ascending rank
// range, and per-row ranks. Ties are broken by index, lower first, like a stable sort; torch's
// sort is stable only for small inputs, so mergekit's choice among equal magnitudes at a cut is
// its own (docs/merge.md).

/** Non-negative f32 magnitudes as uint32 keys whose integer order is the value order. */
export function magnitudeKeys(x: Float32Array, out = new Uint32Array(x.length)): Uint32Array {
  const bits = new Uint32Array(x.buffer, x.byteOffset, x.length);
  for (let i = 0; i < x.length; i++) out[i] = bits[i]! & 0x7fffffff;
  return out;
}

/** The key of rank k (0-based, ascending) among `keys`. */
export function kthKey(keys: Uint32Array, k: number): number {
  if (!(k >= 0 && k < keys.length)) throw new RangeError(`rank ${k} outside 0..${keys.length - 1}`);
  let prefix = 0;
  let prefixMask = 0;
  let rank = k;
  for (const [shift, bits] of [[21, 11], [10, 11], [0, 10]] as const) {
    const counts = new Uint32Array(1 << bits);
    const digitMask = (1 << bits) - 1;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (((key & prefixMask) >>> 0) === prefix) counts[(key >>> shift) & digitMask]!++;
    }
    let digit = 0;
    while (rank >= counts[digit]!) rank -= counts[digit++]!;
    prefix = (prefix | (digit << shift)) >>> 0;
    prefixMask = (prefixMask | (digitMask << shift)) >>> 0;
  }
  return prefix;
}

/** 1 for the k largest keys (ties at the cut: lower index first), else 0. */
export function topKMask(keys: Uint32Array, k: number, mask = new Uint8Array(keys.length)): Uint8Array {
  mask.fill(0);
  if (k <= 0) return mask;
  if (k >= keys.length) return mask.fill(1);
  const cut = kthKey(keys, keys.length - k);
  let greater = 0;
  for (let i = 0; i < keys.length; i++) if (keys[i]! > cut) greater++;
  let equalLeft = k - greater;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key > cut) mask[i] = 1;
    else if (key === cut && equalLeft > 0) {
      mask[i] = 1;
      equalLeft--;
    }
  }
  return mask;
}

/** 1 for the elements whose ascending rank (ties: lower index first) is in [lo, hi), else 0. */
export function rankRangeMask(keys: Uint32Array, lo: number, hi: number, mask = new Uint8Array(keys.length)): Uint8Array {
  mask.fill(0);
  lo = Math.max(0, lo);
  hi = Math.min(keys.length, hi);
  if (hi <= lo) return mask;
  const a = kthKey(keys, lo);
  const b = kthKey(keys, hi - 1);
  let lessA = 0;
  let lessB = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key < a) lessA++;
    if (key < b) lessB++;
  }
  let seenA = 0;
  let seenB = 0;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    if (key > a && key < b) mask[i] = 1;
    else if (key === a || key === b) {
      // rank of this element among its equals, in index order
      const rank = key === a ? lessA + seenA++ : lessB + seenB++;
      if (key === a && key === b) seenB = seenA;
      if (rank >= lo && rank < hi) mask[i] = 1;
    }
  }
  return mask;
}

/**
 * Ascending ranks (1-based, ties: lower index first) of each row's elements, as
 * `argsort(argsort(x, dim=1), dim=1) + 1`. Rows of `cols` elements, keys packed with their column
 * into a float64 (key·2^21 + column) so one native sort orders a row.
 */
export function rowRanks(keys: Uint32Array, cols: number, out = new Float64Array(keys.length)): Float64Array {
  if (cols > 1 << 21) throw new RangeError(`rows of ${cols} elements are longer than 2^21`);
  const packed = new Float64Array(cols);
  for (let row = 0; row < keys.length; row += cols) {
    for (let j = 0; j < cols; j++) packed[j] = keys[row + j]! * 2097152 + j;
    packed.sort();
    for (let r = 0; r < cols; r++) out[row + (packed[r]! % 2097152)] = r + 1;
  }
  return out;
}
