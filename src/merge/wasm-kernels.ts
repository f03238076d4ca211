// The block kernels that have a WebAssembly SIMD version (wasm/merge-kernels.c): each thread
// instantiates the module once, with a private memory, and every kernel call copies a chunk of
// its arrays in, runs the C loop on it and copies the results back (a memcpy each way, ~0.1 ns an
// element, against the several ns a scalar JS pass costs). Results equal the JavaScript kernels
// (block-kernels.ts, combine-kernels.ts) bit for bit: test/merge-wasm.test.ts compares them on
// random and edge values. Without WebAssembly SIMD, or with DUSK_MERGE_SIMD=0, `simdBlockKernels`
// is empty and the JavaScript kernels run.

import type { BlockKernel } from "./block-kernels.js";
import type { CombineArgs, LinearArgs } from "./combine-kernels.js";
import { rounder, type WorkType } from "./float.js";
import { MERGE_KERNELS_WASM_BASE64 } from "./wasm/merge-kernels.wasm.js";

/** the slice of the WebAssembly API used here (the project's types have no DOM lib) */
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface Exports {
  memory: { buffer: ArrayBuffer; grow(pages: number): number };
  __heap_base: { value: unknown };
  bf16_to_f32(src: number, dst: number, n: number): void;
  f16_to_f32(src: number, dst: number, n: number): void;
  f32_to_bf16(src: number, dst: number, n: number): void;
  f32_to_f16(src: number, dst: number, n: number): void;
  round_range(x: number, n: number, dt: number): void;
  subtract(x: number, base: number, n: number, dt: number): void;
  scale(x: number, n: number, ratio: number, dt: number): void;
  histogram(x: number, n: number, counts: number): number;
  low_histogram(x: number, n: number, high: number, counts: number): void;
  cut_counts(x: number, n: number, a: number, b: number, out: number): void;
  keep_range(x: number, n: number, a: number, bBelow: number, aFrom: number, aTo: number, bFrom: number, bTo: number, state: number, sums: number, sumsOut: number): void;
  combine(base: number, deltas: number, stride: number, w: number, K: number, n: number, dt: number, consensus: number, normalize: number, lambda: number, scaled: number, divisor: number): void;
  linear(out: number, xs: number, stride: number, w: number, K: number, n: number, dt: number, normalize: number, divisor: number): void;
}

/** why 16 Ki elements: K + 2 chunks of 64 KiB stay in L2 between the copy in and the loop */
const CHUNK = 1 << 14;
const DTYPE: Record<WorkType, number> = { F32: 0, F16: 1, BF16: 2 };
/** room after every array for the vector loops' reads past its end */
const PAD = 16;

let module: object | null | undefined;

/** The compiled module, or null where WebAssembly SIMD is missing (then the JS kernels run). */
function compiled(): object | null {
  if (module === undefined) {
    const bytes = Buffer.from(MERGE_KERNELS_WASM_BASE64, "base64");
    module = process.env.DUSK_MERGE_SIMD !== "0" && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return module;
}

/** This thread's instance and its memory, laid out as `regions` of bytes (grown on demand). */
class Arena {
  private readonly k: Exports;
  private readonly heap: number;
  constructor(m: object) {
    this.k = new wasm.Instance(m, {}).exports as Exports;
    this.heap = (Number(this.k.__heap_base.value) + 15) & ~15;
  }

  /** Byte offsets of consecutive regions of the given byte sizes (each padded and 16-aligned). */
  layout(sizes: number[]): { at: number[]; k: Exports; bytes: Uint8Array; f32: Float32Array; u32: Uint32Array; i32: Int32Array; f64: Float64Array } {
    const at: number[] = [];
    let end = this.heap;
    for (const s of sizes) {
      at.push(end);
      end += (s + PAD + 15) & ~15;
    }
    const memory = this.k.memory;
    if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
    const b = memory.buffer;
    return { at, k: this.k, bytes: new Uint8Array(b), f32: new Float32Array(b), u32: new Uint32Array(b), i32: new Int32Array(b), f64: new Float64Array(b) };
  }
}

let arena: Arena | undefined;
function mem(sizes: number[]): ReturnType<Arena["layout"]> {
  arena ??= new Arena(compiled()!);
  return arena.layout(sizes);
}

/** f32 elements [s, e) of x into memory at byte offset `at` */
const put = (f32: Float32Array, at: number, x: Float32Array, s: number, e: number): void => f32.set(x.subarray(s, e), at >> 2);
/** and back */
const get = (f32: Float32Array, at: number, x: Float32Array, s: number, m: number): void => x.set(f32.subarray(at >> 2, (at >> 2) + m), s);

function chunks(start: number, end: number, body: (s: number, m: number) => void): void {
  for (let s = start; s < end; s += CHUNK) body(s, Math.min(CHUNK, end - s));
}

/** x ← f(x) in place, chunk by chunk */
function inPlace(x: Float32Array, start: number, end: number, f: (k: Exports, at: number, m: number) => void): void {
  const { at: [p], k, f32 } = mem([CHUNK * 4]);
  chunks(start, end, (s, m) => {
    put(f32, p!, x, s, s + m);
    f(k, p!, m);
    get(f32, p!, x, s, m);
  });
}

/** counts by the top 16 bits of x[start, end)'s keys, and the OR of their low 16 bits */
function histogramOf(x: Float32Array, start: number, end: number): { counts: Uint32Array; lowBits: number } {
  const { at: [p, c], k, f32, u32 } = mem([CHUNK * 4, (1 << 15) * 4]);
  u32.fill(0, c! >> 2, (c! >> 2) + (1 << 15));
  let lowBits = 0;
  chunks(start, end, (s, m) => {
    put(f32, p!, x, s, s + m);
    lowBits |= k.histogram(p!, m, c!);
  });
  return { counts: u32.slice(c! >> 2, (c! >> 2) + (1 << 15)), lowBits };
}

/**
 * The kernels to use in place of the JavaScript ones in `js` (none without WebAssembly SIMD);
 * dequantize runs here for F16 and BF16 and in `js` for the other types.
 */
export function simdBlockKernels(js: Record<string, BlockKernel>): Record<string, BlockKernel> {
  if (compiled() === null) return {};
  return {
    ...KERNELS,
    dequantize: (a: { type: string }, start, end, block) => (a.type === "BF16" || a.type === "F16" ? KERNELS.dequantize!(a, start, end, block) : js.dequantize!(a, start, end, block)),
  };
}

const KERNELS: Record<string, BlockKernel> = {
  dequantize(a: { raw: Uint8Array; type: string; out: Float32Array }, start, end) {
    const wide = a.type === "BF16" ? "bf16_to_f32" : "f16_to_f32";
    const { at: [src, dst], k, bytes, f32 } = mem([CHUNK * 2, CHUNK * 4]);
    chunks(start, end, (s, m) => {
      bytes.set(a.raw.subarray(s * 2, (s + m) * 2), src!);
      k[wide](src!, dst!, m);
      a.out.set(f32.subarray(dst! >> 2, (dst! >> 2) + m), s);
    });
  },

  narrow(a: { x: Float32Array; out: Uint8Array; type: string }, start, end) {
    const narrow = a.type === "BF16" ? "f32_to_bf16" : "f32_to_f16";
    const { at: [src, dst], k, bytes, f32 } = mem([CHUNK * 4, CHUNK * 2]);
    chunks(start, end, (s, m) => {
      put(f32, src!, a.x, s, s + m);
      k[narrow](src!, dst!, m);
      a.out.set(bytes.subarray(dst!, dst! + m * 2), s * 2);
    });
  },

  round(a: { x: Float32Array; dtype: WorkType }, start, end) {
    if (a.dtype !== "F32") inPlace(a.x, start, end, (k, p, m) => k.round_range(p, m, DTYPE[a.dtype]));
  },

  subtract(a: { x: Float32Array; base: Float32Array; dtype: WorkType; histogram?: boolean }, start, end) {
    const { at: [x, base], k, f32 } = mem([CHUNK * 4, CHUNK * 4]);
    chunks(start, end, (s, m) => {
      put(f32, x!, a.x, s, s + m);
      put(f32, base!, a.base, s, s + m);
      k.subtract(x!, base!, m, DTYPE[a.dtype]);
      get(f32, x!, a.x, s, m);
    });
    return a.histogram === true ? histogramOf(a.x, start, end) : undefined;
  },

  histogram(a: { x: Float32Array }, start, end) {
    return histogramOf(a.x, start, end);
  },

  lowHistogram(a: { x: Float32Array; high: number }, start, end) {
    const { at: [p, c], k, f32, u32 } = mem([CHUNK * 4, (1 << 16) * 4]);
    u32.fill(0, c! >> 2, (c! >> 2) + (1 << 16));
    chunks(start, end, (s, m) => {
      put(f32, p!, a.x, s, s + m);
      k.low_histogram(p!, m, a.high, c!);
    });
    return u32.slice(c! >> 2, (c! >> 2) + (1 << 16));
  },

  cutCounts(a: { x: Float32Array; a: number; b: number }, start, end) {
    const { at: [p, o], k, f32, i32 } = mem([CHUNK * 4, 8]);
    i32[o! >> 2] = i32[(o! >> 2) + 1] = 0;
    chunks(start, end, (s, m) => {
      put(f32, p!, a.x, s, s + m);
      k.cut_counts(p!, m, a.a | 0, a.b | 0, o!);
    });
    return [i32[o! >> 2]!, i32[(o! >> 2) + 1]!];
  },

  keepRange(a: { x: Float32Array; a: number; b: number; aFrom: number; aTo: number; bFrom: number; bTo: number; aStart: number[]; bStart: number[]; sums?: boolean }, start, end, block) {
    const { at: [p, state, out], k, f32, i32, f64 } = mem([CHUNK * 4, 8, 16]);
    i32[state! >> 2] = a.aStart[block] ?? a.aFrom;
    i32[(state! >> 2) + 1] = a.bStart[block] ?? a.bFrom;
    f64[out! >> 3] = f64[(out! >> 3) + 1] = 0;
    const sums = a.sums !== false;
    chunks(start, end, (s, m) => {
      put(f32, p!, a.x, s, s + m);
      k.keep_range(p!, m, a.a | 0, (a.b - 1) | 0, a.aFrom, a.aTo, a.bFrom, a.bTo, state!, +sums, out!);
      get(f32, p!, a.x, s, m);
    });
    return sums ? [f64[out! >> 3]!, f64[(out! >> 3) + 1]!] : [NaN, NaN];
  },

  scale(a: { x: Float32Array; ratio: number; dtype: WorkType }, start, end) {
    inPlace(a.x, start, end, (k, p, m) => k.scale(p, m, a.ratio, DTYPE[a.dtype]));
  },

  combine(a: CombineArgs, start, end) {
    const K = a.deltas.length;
    const { at: [base, deltas, w], k, f32 } = mem([CHUNK * 4, K * CHUNK * 4, K * 4]);
    f32.set(a.w, w! >> 2);
    const lam = rounder(a.dtype)(a.lambda);
    chunks(start, end, (s, m) => {
      put(f32, base!, a.base, s, s + m);
      for (let d = 0; d < K; d++) put(f32, deltas! + d * CHUNK * 4, a.deltas[d]!, s, s + m);
      k.combine(base!, deltas!, CHUNK, w!, K, m, DTYPE[a.dtype], +a.consensus, +a.normalize, lam, +(a.lambda !== 1), a.divisor);
      get(f32, base!, a.out, s, m);
    });
  },

  linear(a: LinearArgs, start, end) {
    const K = a.xs.length;
    const { at: [out, xs, w], k, f32 } = mem([CHUNK * 4, K * CHUNK * 4, K * 4]);
    f32.set(a.w, w! >> 2);
    chunks(start, end, (s, m) => {
      for (let d = 0; d < K; d++) put(f32, xs! + d * CHUNK * 4, a.xs[d]!, s, s + m);
      k.linear(out!, xs!, CHUNK, w!, K, m, DTYPE[a.dtype], +a.normalize, a.divisor);
      get(f32, out!, a.out, s, m);
    });
  },
};
