// Runs block kernels over [0, n) in fixed blocks: inline on this thread, or spread over a pool of
// worker threads when the tensor is large enough to pay for the messages. Results come back in
// block order, so what a merge computes does not depend on where it ran.

import { BLOCK_KERNELS } from "./block-kernels.js";

/** why 64 Ki elements: ~0.1–0.5 ms of work per block, far above a message's cost */
export const BLOCK = 1 << 16;
/** below this many elements a tensor is merged inline (one message would cost more than the math) */
export const INLINE_BELOW = 1 << 17;

export interface BlockExec {
  /** `kernel` on each block of [0, n) (blocks of `align`·⌊BLOCK/align⌋ elements); results in block order */
  map<T = unknown>(kernel: string, args: Record<string, unknown>, n: number, align?: number): Promise<T[]>;
  /** a float array the kernels can share (SharedArrayBuffer-backed when workers run them) */
  alloc(n: number): Float32Array;
}

export function blockRanges(n: number, align = 1): [number, number][] {
  const size = Math.max(align, Math.floor(BLOCK / align) * align);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  if (out.length === 0) out.push([0, 0]);
  return out;
}

/** Everything on this thread. */
export const inlineExec: BlockExec = {
  async map<T>(kernel: string, args: Record<string, unknown>, n: number, align = 1): Promise<T[]> {
    const fn = BLOCK_KERNELS[kernel]!;
    return blockRanges(n, align).map(([s, e], b) => fn(args, s, e, b) as T);
  },
  alloc: (n) => new Float32Array(n),
};
