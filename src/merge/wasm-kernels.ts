// The block kernels that have a WebAssembly SIMD version (wasm/merge-kernels.c). The module imports
// a shared memory: a merge's slots live in a KernelMemory (wasm-memory.ts), every thread of the
// pool instantiates the module on that memory, and a kernel whose arrays all lie in it (the exec
// tags its arguments with the memory's id, `$memory`) runs on them in place. Arrays elsewhere
// (a tensor too large for a 4 GiB memory, tests' own arrays) are copied a chunk at a time into
// this thread's private memory and back. Results equal the JavaScript kernels (block-kernels.ts,
// combine-kernels.ts) bit for bit: src/merge/wasm-kernels.test.ts compares them on random and edge
// values. Without WebAssembly SIMD, or with DUSK_MERGE_SIMD=0, `simdBlockKernels` is empty and the
// JavaScript kernels run.

import type { BlockKernel } from "./block-kernels.js";
import type { CombineArgs, LinearArgs } from "./combine-kernels.js";
import { rounder, type WorkType } from "./float.js";
import type { TopKCut } from "./select.js";
import { attachedMemory, KernelMemory, privateMemory, type KernelExports, type MemoryViews } from "./wasm-memory.js";

/** why 16 Ki elements: the copied chunks of the K + 2 arrays of a combine stay in L2 */
const CHUNK = 1 << 14;
const DTYPE: Record<WorkType, number> = { F32: 0, F16: 1, BF16: 2 };

/**
 * The kernels to use in place of the JavaScript ones in `js` (none without WebAssembly SIMD);
 * dequantize runs here for F16 and BF16 and in `js` for the other types.
 */
export function simdBlockKernels(js: Record<string, BlockKernel>): Record<string, BlockKernel> {
  if (!KernelMemory.available()) return {};
  return {
    ...KERNELS,
    // the scratch holds 1024 inputs' addresses; the C copies that apply cuts take at most 4 inputs
    combine: (a: CombineArgs, start, end, block) => (a.deltas.length <= (a.cuts ? MAX_CUT_INPUTS : MAX_INPUTS) ? KERNELS.combine! : js.combine!)(a, start, end, block),
    linear: (a: LinearArgs, start, end, block) => (a.xs.length <= MAX_INPUTS ? KERNELS.linear! : js.linear!)(a, start, end, block),
    dequantize: (a: { type: string }, start, end, block) => (a.type === "BF16" || a.type === "F16" ? KERNELS.dequantize!(a, start, end, block) : js.dequantize!(a, start, end, block)),
  };
}

type Typed = Float32Array | Uint16Array | Uint8Array;

/** One array a kernel reads or writes, `bytes` per element. */
interface Operand {
  x: Typed;
  bytes: number;
  /** copied back after each chunk (the copy path) */
  out?: boolean;
}

/** Where a call runs: the module instance, views of its memory, and this thread's scratch there. */
interface Run {
  k: KernelExports;
  v: MemoryViews;
  scratch: number;
}

/**
 * Runs `f` over elements [start, end) of the operands: once, on the arrays in place when the
 * caller tagged them as lying in this thread's shared memory; else chunk by chunk in this thread's
 * private memory, copying the operands in and the `out` ones back. `f` gets the operands' byte
 * addresses at the chunk's first element, and its length.
 */
function over(a: { $memory?: number }, operands: Operand[], start: number, end: number, f: (r: Run, at: number[], m: number) => void): Run {
  const shared = a.$memory === undefined ? undefined : attachedMemory(a.$memory);
  if (shared !== undefined) {
    const r = { k: shared.kernels, v: shared.views(), scratch: shared.threadScratch };
    f(r, operands.map((o) => o.x.byteOffset + start * o.bytes), end - start);
    return r;
  }
  const mem = privateMemory();
  const at = mem.chunkRegions(operands.map((o) => CHUNK * o.bytes));
  const r = { k: mem.kernels, v: mem.views(), scratch: mem.threadScratch };
  for (let s = start; s < end; s += CHUNK) {
    const m = Math.min(CHUNK, end - s);
    for (const [i, o] of operands.entries()) r.v.u8.set(bytesOf(o.x, s * o.bytes, m * o.bytes), at[i]!);
    f(r, at, m);
    for (const [i, o] of operands.entries()) if (o.out) bytesOf(o.x, s * o.bytes, m * o.bytes).set(r.v.u8.subarray(at[i]!, at[i]! + m * o.bytes));
  }
  return r;
}

const bytesOf = (x: Typed, from: number, length: number): Uint8Array => new Uint8Array(x.buffer, x.byteOffset + from, length);
const f32 = (x: Float32Array, out = false): Operand => ({ x, bytes: 4, out });
const bf16 = (x: Uint16Array, out = false): Operand => ({ x, bytes: 2, out });

/** scratch layout: histogram counts (2^16 × u32), then two i32 ordinals, then two f64 sums */
const COUNTS = 0;
const STATE = (1 << 16) * 4;
const SUMS = STATE + 8;
/** input addresses and weights (K of each) fit in the scratch after the sums */
const ADDRESSES = SUMS + 16;
const MAX_INPUTS = 1024;
/** the C combine applies top-k cuts in its copies for 1–4 inputs, and combines bf16 storage for as many */
export const MAX_CUT_INPUTS = 4;

/** The inputs' addresses, then their weights, in the scratch (rewritten for each copied chunk): the table's address. */
function inputTable(r: Run, addresses: number[], w: number[]): number {
  const table = r.scratch + ADDRESSES;
  r.v.u32.set(addresses, table >> 2);
  r.v.f32.set(w, (table >> 2) + addresses.length);
  return table;
}

/**
 * TIES' cuts after the input table, K × {a, take, this block's first tie ordinal} (the C side
 * carries the ordinals from one copied chunk to the next); 0 without cuts.
 */
function cutTable(a: { cuts?: TopKCut[]; deltas: unknown[]; $memory?: number }, block: number): number {
  if (a.cuts === undefined) return 0;
  const s = scratchRun(a);
  const at = s.scratch + ADDRESSES + a.deltas.length * 8;
  for (const [k, c] of a.cuts.entries()) s.v.i32.set([c.a, c.take, c.starts[block] ?? 0], (at >> 2) + 3 * k);
  return at;
}

/** zeroed counts of `buckets` in the scratch */
function zeroCounts(r: Run, buckets: number): void {
  r.v.u32.fill(0, (r.scratch + COUNTS) >> 2, ((r.scratch + COUNTS) >> 2) + buckets);
}
const counts = (r: Run, buckets: number): Uint32Array => r.v.u32.slice((r.scratch + COUNTS) >> 2, ((r.scratch + COUNTS) >> 2) + buckets);

/** Where a call on these arguments runs (the memory, its views, this thread's scratch), running nothing. */
function scratchRun(a: { $memory?: number }): Run {
  return over(a, [], 0, 0, () => undefined);
}

const KERNELS: Record<string, BlockKernel> = {
  dequantize(a: { raw: Uint8Array; type: string; out: Float32Array; $memory?: number }, start, end) {
    const wide = a.type === "BF16" ? "bf16_to_f32" : "f16_to_f32";
    // raw holds this range's elements from its own index 0 (the caller passes a chunk of them)
    over(a, [{ x: a.raw, bytes: 2 }, { x: a.out, bytes: 4, out: true }], start, end, (r, [src, dst], m) => r.k[wide](src!, dst!, m));
  },

  narrow(a: { x: Float32Array; out: Uint8Array; type: string; $memory?: number }, start, end) {
    const narrow = a.type === "BF16" ? "f32_to_bf16" : "f32_to_f16";
    over(a, [f32(a.x), { x: a.out, bytes: 2, out: true }], start, end, (r, [src, dst], m) => r.k[narrow](src!, dst!, m));
  },

  round(a: { x: Float32Array; dtype: WorkType; $memory?: number }, start, end) {
    if (a.dtype !== "F32") over(a, [f32(a.x, true)], start, end, (r, [x], m) => r.k.round_range(x!, m, DTYPE[a.dtype]));
  },

  /** with `histogram`, also the histogram of the result, taken in the same pass over each chunk */
  subtract(a: { x: Float32Array; base: Float32Array; dtype: WorkType; histogram?: boolean; $memory?: number }, start, end) {
    const histogram = a.histogram === true;
    const s = scratchRun(a);
    if (histogram) zeroCounts(s, 1 << 15);
    let lowBits = 0;
    const r = over(a, [f32(a.x, true), f32(a.base)], start, end, (r, [x, base], m) => {
      r.k.subtract(x!, base!, m, DTYPE[a.dtype]);
      if (histogram) lowBits |= r.k.histogram(x!, m, r.scratch + COUNTS);
    });
    return histogram ? { counts: counts(r, 1 << 15), lowBits } : undefined;
  },

  histogram(a: { x: Float32Array; $memory?: number }, start, end) {
    zeroCounts(scratchRun(a), 1 << 15);
    let lowBits = 0;
    const r = over(a, [f32(a.x)], start, end, (r, [x], m) => void (lowBits |= r.k.histogram(x!, m, r.scratch + COUNTS)));
    return { counts: counts(r, 1 << 15), lowBits };
  },

  lowHistogram(a: { x: Float32Array; high: number; $memory?: number }, start, end) {
    zeroCounts(scratchRun(a), 1 << 16);
    const r = over(a, [f32(a.x)], start, end, (r, [x], m) => r.k.low_histogram(x!, m, a.high, r.scratch + COUNTS));
    return counts(r, 1 << 16);
  },

  cutCounts(a: { x: Float32Array; a: number; b: number; $memory?: number }, start, end) {
    const s = scratchRun(a);
    s.v.i32[(s.scratch + STATE) >> 2] = s.v.i32[((s.scratch + STATE) >> 2) + 1] = 0;
    const r = over(a, [f32(a.x)], start, end, (r, [x], m) => r.k.cut_counts(x!, m, a.a | 0, a.b | 0, r.scratch + STATE));
    return [r.v.i32[(r.scratch + STATE) >> 2]!, r.v.i32[((r.scratch + STATE) >> 2) + 1]!];
  },

  keepRange(a: { x: Float32Array; a: number; b: number; aFrom: number; aTo: number; bFrom: number; bTo: number; aStart: number[]; bStart: number[]; sums?: boolean; $memory?: number }, start, end, block) {
    const s = scratchRun(a);
    const state = (s.scratch + STATE) >> 2, sumsAt = (s.scratch + SUMS) >> 3;
    s.v.i32[state] = a.aStart[block] ?? a.aFrom;
    s.v.i32[state + 1] = a.bStart[block] ?? a.bFrom;
    s.v.f64[sumsAt] = s.v.f64[sumsAt + 1] = 0;
    const sums = a.sums !== false;
    const r = over(a, [f32(a.x, true)], start, end, (r, [x], m) => {
      r.k.keep_range(x!, m, a.a | 0, (a.b - 1) | 0, a.aFrom, a.aTo, a.bFrom, a.bTo, r.scratch + STATE, +sums, r.scratch + SUMS);
    });
    return sums ? [r.v.f64[sumsAt]!, r.v.f64[sumsAt + 1]!] : [NaN, NaN];
  },

  scale(a: { x: Float32Array; ratio: number; dtype: WorkType; $memory?: number }, start, end) {
    over(a, [f32(a.x, true)], start, end, (r, [x], m) => r.k.scale(x!, m, a.ratio, DTYPE[a.dtype]));
  },

  /**
   * out ← base + …: computed in place in `out` (a copy of base unless it is base itself); the
   * cuts' running ordinals stay in the scratch from one copied chunk to the next
   */
  combine(a: CombineArgs & { $memory?: number }, start, end, block) {
    const lam = rounder(a.dtype)(a.lambda);
    if (a.out !== a.base) a.out.set(a.base.subarray(start, end), start);
    const cuts = cutTable(a, block);
    over(a, [f32(a.out, true), ...a.deltas.map((d) => f32(d))], start, end, (r, [out, ...deltas], m) => {
      const t = inputTable(r, deltas, a.w);
      r.k.combine(out!, t, t + deltas.length * 4, deltas.length, m, DTYPE[a.dtype], +a.consensus, +a.normalize, lam, +(a.lambda !== 1), a.divisor, cuts);
    });
  },

  // ---- bf16 storage (packed slots: executor.ts), SIMD only ----

  /** x ← bf16(x − base) on bf16 bits, with the histogram of the result's keys (their low 16 bits are 0) */
  subtractBf16(a: { x: Uint16Array; base: Uint16Array; histogram: boolean; $memory?: number }, start, end) {
    const s = scratchRun(a);
    if (a.histogram) zeroCounts(s, 1 << 15);
    const r = over(a, [bf16(a.x, true), bf16(a.base)], start, end, (r, [x, base], m) => r.k.subtract_bf16(x!, base!, m, a.histogram ? r.scratch + COUNTS : 0));
    return a.histogram ? { counts: counts(r, 1 << 15), lowBits: 0 } : undefined;
  },

  /** [keys equal to a, 0] on bf16 bits (a: an f32 key whose low 16 bits are 0) */
  cutCountsBf16(a: { x: Uint16Array; a: number; $memory?: number }, start, end) {
    const s = scratchRun(a);
    s.v.i32[(s.scratch + STATE) >> 2] = 0;
    const r = over(a, [bf16(a.x)], start, end, (r, [x], m) => r.k.cut_counts_bf16(x!, m, a.a | 0, r.scratch + STATE));
    return [r.v.i32[(r.scratch + STATE) >> 2]!, 0];
  },

  /** combine on bf16 bits (working type BF16, 1–4 deltas), the result in base as output bytes */
  combineBf16(a: Omit<CombineArgs, "base" | "deltas" | "out" | "dtype"> & { base: Uint16Array; deltas: Uint16Array[]; $memory?: number }, start, end, block) {
    const lam = rounder("BF16")(a.lambda);
    const cuts = cutTable(a, block);
    over(a, [bf16(a.base, true), ...a.deltas.map((d) => bf16(d))], start, end, (r, [base, ...deltas], m) => {
      const t = inputTable(r, deltas, a.w);
      r.k.combine_bf16(base!, t, t + deltas.length * 4, deltas.length, m, +a.consensus, +a.normalize, lam, +(a.lambda !== 1), a.divisor, cuts);
    });
  },

  linear(a: LinearArgs & { $memory?: number }, start, end) {
    over(a, [f32(a.out, true), ...a.xs.map((x) => f32(x))], start, end, (r, [out, ...xs], m) => {
      const t = inputTable(r, xs, a.w);
      r.k.linear(out!, t, t + xs.length * 4, xs.length, m, DTYPE[a.dtype], +a.normalize, a.divisor);
    });
  },
};
