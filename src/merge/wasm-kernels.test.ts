import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { BLOCK_KERNELS, JS_BLOCK_KERNELS } from "./block-kernels.js";
import { blockRanges, createInlineExec, Slots, tagged } from "./blocks.js";
import { MergePool } from "./pool.js";
import { keepTopK, topKCut } from "./select.js";
import { MERGE_KERNELS_C_SHA256 } from "./wasm/merge-kernels.wasm.js";
import { KernelMemory } from "./wasm-memory.js";

// The WebAssembly SIMD kernels against the JavaScript ones, bit for bit, on values chosen to hit
// every rounding path (f16 subnormals and overflow, bf16 ties, NaN payloads, ±0, ±Inf), on both
// of their paths: arrays in a kernel memory (worked on in place) and arrays elsewhere (copied
// through the thread's private memory). Lengths are not multiples of 4 or of the copy chunk.

const N = 40_003;
const DTYPES = ["F32", "F16", "BF16"] as const;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const EDGE_BITS = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xffc01234, 0x7fffffff, 0x00000001, 0x807fffff,
  0x477fe000, 0x477fefff, 0x477ff000, 0x47800000, 0x38800000, 0x387fffff, 0x33800000, 0x33000000, 0x33000001, 0x32ffffff,
  0x3f808000, 0x3f818000, 0x3f807fff, 0xbf808000, 0x7f7fffff, 0x00400000, 0x3effffff,
];

/** mostly ordinary values around ±1, some tiny, huge or special, some repeated (ties) */
function values(seed: number, n = N): Float32Array {
  const r = rng(seed);
  const x = new Float32Array(n);
  const bits = new Uint32Array(x.buffer);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (u < 0.02) bits[i] = EDGE_BITS[Math.floor(r() * EDGE_BITS.length)]!;
    else if (u < 0.05) x[i] = (r() - 0.5) * 2 ** (-30 + Math.floor(r() * 20));
    else if (u < 0.07) x[i] = (r() - 0.5) * 2e5;
    else if (u < 0.2) x[i] = Math.round((r() - 0.5) * 64) / 32; // many equal magnitudes
    else x[i] = (r() - 0.5) * 4;
  }
  return x;
}

const bitsOf = (x: Float32Array | Uint8Array): Uint8Array => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
const rounded = (x: Float32Array, dtype: string): Float32Array => {
  JS_BLOCK_KERNELS.round!({ x, dtype }, 0, x.length, 0);
  return x;
};

/** Runs kernel `name` by JS and by WebAssembly, in a kernel memory and outside one; returns the three results and arrays. */
function runAll(name: string, make: () => Record<string, unknown>, arrays: (args: Record<string, unknown>) => (Float32Array | Uint8Array)[], n: number, block = 0) {
  const memory = KernelMemory.create(1);
  const slots = new Slots((b) => new ArrayBuffer(b), memory);
  const runs = ["js", "copied", "in place"].map((how) => {
    const args = make();
    if (how === "in place") {
      // the same arguments with every array moved into the kernel memory (one array, one slot)
      const moved = new Map<unknown, unknown>();
      let k = 0;
      const move = (v: unknown): unknown => {
        if (moved.has(v)) return moved.get(v);
        let m: unknown = v;
        if (v instanceof Float32Array) m = copyTo(slots.slot(k++, v.length), v);
        else if (v instanceof Uint8Array) {
          const s = slots.slot(k++, Math.ceil(v.length / 4));
          m = copyTo(new Uint8Array(s.buffer, s.byteOffset, v.length), v);
        } else if (Array.isArray(v)) m = v.map(move);
        moved.set(v, m);
        return m;
      };
      for (const key of Object.keys(args)) args[key] = move(args[key]);
      const t = tagged(args, memory);
      expect(t.$memory).toBe(memory.id);
      return { result: BLOCK_KERNELS[name]!(t, 0, n, block), arrays: arrays(args).map((a) => bitsOf(a).slice()), how };
    }
    const fn = how === "js" ? JS_BLOCK_KERNELS[name]! : BLOCK_KERNELS[name]!;
    return { result: fn(args, 0, n, block), arrays: arrays(args).map((a) => bitsOf(a).slice()), how };
  });
  return runs;
}

function copyU16(target: Uint16Array, source: Uint16Array): Uint16Array {
  target.set(source);
  return target;
}

function copyTo<T extends Float32Array | Uint8Array>(target: T, source: T): T {
  target.set(source);
  return target;
}

function expectSame(runs: ReturnType<typeof runAll>, label = ""): void {
  const [js, ...wasm] = runs;
  for (const w of wasm) {
    expect(JSON.stringify(w.result, replacer)).toBe(JSON.stringify(js!.result, replacer));
    expect(w.arrays.length).toBe(js!.arrays.length);
    for (const [i, a] of w.arrays.entries()) {
      const diff = firstDifference(a, js!.arrays[i]!);
      expect(diff, `${label} ${w.how}: array ${i} differs first at word ${diff}`).toBe(-1);
    }
  }
}
/**
 * The first 32-bit word where two float32 arrays' bits differ, NaNs aside: which NaN an op on two
 * NaNs returns is the hardware's choice (WebAssembly leaves it open), so any NaN equals any NaN.
 */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return 0;
  if (a.length % 4 !== 0) return a.findIndex((byte, j) => byte !== b[j]);
  const x = new Uint32Array(a.buffer, a.byteOffset, a.length / 4), y = new Uint32Array(b.buffer, b.byteOffset, b.length / 4);
  const nan = (u: number): boolean => (u & 0x7fffffff) > 0x7f800000;
  return x.findIndex((u, j) => u !== y[j] && !(nan(u) && nan(y[j]!)));
}
const replacer = (_: string, v: unknown): unknown => (v instanceof Uint32Array ? Array.from(v) : typeof v === "number" && Number.isNaN(v) ? "NaN" : v);

describe.skipIf(!KernelMemory.available())("WebAssembly SIMD merge kernels equal the JavaScript ones", () => {
  test("the committed module was built from merge-kernels.c as it is (scripts/build-wasm.sh)", () => {
    const source = readFileSync(new URL("./wasm/merge-kernels.c", import.meta.url));
    expect(createHash("sha256").update(source).digest("hex")).toBe(MERGE_KERNELS_C_SHA256);
  });

  test("dequantize: every F16 and BF16 bit pattern", () => {
    const raw = new Uint8Array(65536 * 2);
    new Uint16Array(raw.buffer).forEach((_, i, a) => (a[i] = i));
    for (const type of ["F16", "BF16"]) {
      expectSame(runAll("dequantize", () => ({ raw: raw.slice(), type, out: new Float32Array(65536) }), (a) => [a.out as Float32Array], 65536));
    }
  });

  test("narrow to F16 and BF16, round, subtract (with its histogram) and scale in every working type", () => {
    for (const type of ["F16", "BF16"]) expectSame(runAll("narrow", () => ({ x: values(1), out: new Uint8Array(N * 2), type }), (a) => [a.out as Uint8Array], N));
    for (const dtype of DTYPES) {
      expectSame(runAll("round", () => ({ x: values(2), dtype }), (a) => [a.x as Float32Array], N));
      for (const histogram of [false, true]) {
        expectSame(runAll("subtract", () => ({ x: rounded(values(3), dtype), base: rounded(values(4), dtype), dtype, histogram }), (a) => [a.x as Float32Array], N));
      }
      expectSame(runAll("scale", () => ({ x: rounded(values(5), dtype), ratio: 1.2890625, dtype }), (a) => [a.x as Float32Array], N));
    }
  });

  test("histograms, cut counts and keepRange with ties at both cuts, with and without sums", () => {
    expectSame(runAll("histogram", () => ({ x: values(6) }), () => [], N));
    const x = values(7);
    const keys = new Uint32Array(x.buffer).map((b) => b & 0x7fffffff);
    const a = 0x3f000000, b = 0x3f800000; // |x| = 0.5 and 1: many of each
    expectSame(runAll("lowHistogram", () => ({ x: values(7), high: a >>> 16 }), () => [], N));
    expectSame(runAll("cutCounts", () => ({ x: values(7), a, b }), () => [], N));
    const tiesA = keys.filter((k) => k === a).length, tiesB = keys.filter((k) => k === b).length;
    expect(tiesA).toBeGreaterThan(2);
    for (const sums of [true, false]) {
      for (const [lo, hi, block] of [[-1, 0x80000000, 0], [a, b, 0], [a, 0x80000000, 3]] as const) {
        const window = { aFrom: 1, aTo: Math.max(2, tiesA - 1), bFrom: 0, bTo: Math.max(1, tiesB - 2) };
        expectSame(runAll("keepRange", () => ({ x: values(7), a: lo, b: hi, ...window, aStart: [0, 0, 0, 1], bStart: [0, 0, 0, 2], sums }), (r) => [r.x as Float32Array], N, block));
      }
    }
  });

  test("combine (TIES, task arithmetic) and linear, 1–3 inputs, every working type", () => {
    for (const dtype of DTYPES) {
      for (const K of [1, 2, 3]) {
        const w = [0.6, 0.25, -0.4].slice(0, K).map((v) => rounded(new Float32Array([v]), dtype)[0]!);
        for (const [consensus, normalize, lambda] of [[true, true, 1], [true, false, 0.7], [false, true, 1.5], [false, false, 1]] as const) {
          const divisor = rounded(new Float32Array([w.reduce((s, v) => Math.fround(s + v), 0)]), dtype)[0]!;
          expectSame(runAll("combine", () => {
            const base = rounded(values(8), dtype);
            return { base, deltas: [9, 10, 11].slice(0, K).map((s) => rounded(values(s), dtype)), w, consensus, normalize, lambda, divisor: divisor === 0 ? 1 : divisor, dtype, out: base };
          }, (r) => [r.out as Float32Array], N), `combine ${dtype} K=${K} ${consensus} ${normalize} ${lambda}`);
        }
        expectSame(runAll("linear", () => ({ xs: [12, 13, 14].slice(0, K).map((s) => rounded(values(s), dtype)), w, normalize: true, divisor: 0.75, dtype, out: new Float32Array(N) }), (r) => [r.out as Float32Array], N), `linear ${dtype} ${K}`);
      }
    }
  });

  test("TIES' top-k applied inside the combine equals zeroing the deltas first (ties split at the cut, 4 blocks)", async () => {
    const n = 4 * 65536 + 3;
    const js = createJsExec();
    for (const dtype of DTYPES) {
      for (const K of [1, 2, 3, 5]) {
        const w = [0.6, 0.25, -0.4, 0.3, 0.1].slice(0, K).map((v) => rounded(new Float32Array([v]), dtype)[0]!);
        const base = rounded(values(20, n), dtype);
        // few distinct magnitudes: every cut falls among thousands of equal keys
        const tied = (seed: number): Float32Array => values(seed, n).map((v, i) => (i % 50 === 0 ? v : Math.round(v * 8) / 8));
        const deltas = [21, 22, 23, 24, 25].slice(0, K).map((seed) => rounded(tied(seed), dtype));
        const cuts = await Promise.all(deltas.map((d, k) => topKCut(d, Math.trunc([0.5, 0.3, 0.7, 0.5, 0.9][k]! * n), js)));
        expect(cuts.every((c) => c.starts.length === blockRanges(n).length)).toBe(true); // every cut splits its ties
        const args = (out: Float32Array, ds: Float32Array[]) => ({ base: out, deltas: ds, w, consensus: true, normalize: true, lambda: 1, divisor: 1, dtype, out });
        // reference: each delta zeroed by keepRange, then the JavaScript combine
        const masked = deltas.map((d) => Float32Array.from(d));
        for (const [k, c] of cuts.entries()) for (const [b, [s, e]] of blockRanges(n).entries()) JS_BLOCK_KERNELS.keepRange!({ x: masked[k], a: c.a, b: 0x80000000, aFrom: 0, aTo: c.take, bFrom: 0, bTo: 0, aStart: c.starts, bStart: [], sums: false }, s, e, b);
        const reference = Float32Array.from(base);
        for (const [b, [s, e]] of blockRanges(n).entries()) JS_BLOCK_KERNELS.combine!(args(reference, masked), s, e, b);
        for (const [how, kernel] of [["js", JS_BLOCK_KERNELS.combine!], ["wasm", BLOCK_KERNELS.combine!]] as const) {
          const out = Float32Array.from(base);
          for (const [b, [s, e]] of blockRanges(n).entries()) kernel({ ...args(out, deltas), cuts }, s, e, b);
          expect(firstDifference(bitsOf(out), bitsOf(reference)), `${how} ${dtype} K=${K}`).toBe(-1);
        }
      }
    }
  });

  test("bf16 storage: subtract, tie counts and combine on bf16 bits equal the float32 kernels, NaN and Inf included", async () => {
    const n = 2 * 65536 + 5;
    const toBits = (x: Float32Array): Uint16Array => new Uint16Array(x.length).map((_, i) => new Uint32Array(x.buffer, x.byteOffset)[i]! >>> 16);
    const widen = (b: Uint16Array): Float32Array => new Float32Array(new Uint32Array(b.length).map((_, i) => b[i]! << 16).buffer);
    const tied = (seed: number): Float32Array => rounded(values(seed, n).map((v, i) => (i % 40 === 0 ? v : Math.round(v * 8) / 8)), "BF16");
    const memory = KernelMemory.create(1);
    const slots = new Slots((b) => new ArrayBuffer(b), memory);
    for (const inPlace of [false, true]) {
      const place = (k: number, b: Uint16Array): Uint16Array => (inPlace ? copyU16(slots.packedSlot(k, b.length), b) : b);
      const tag = <T extends Record<string, unknown>>(a: T): T => (inPlace ? (tagged(a, memory) as T) : a);
      const base = tied(40), xs = [tied(41), tied(42), tied(43)];
      // subtract with its histogram
      const deltas32 = xs.map((x) => Float32Array.from(x));
      const deltas16 = xs.map((x, k) => place(k + 1, toBits(x)));
      const base16 = place(0, toBits(base));
      for (const [k, d] of deltas32.entries()) {
        const want = JS_BLOCK_KERNELS.subtract!({ x: d, base, dtype: "BF16", histogram: true }, 0, n, 0) as { counts: Uint32Array };
        const got = BLOCK_KERNELS.subtractBf16!(tag({ x: deltas16[k]!, base: base16, histogram: true }), 0, n, 0) as { counts: Uint32Array };
        expect(firstDifference(bitsOf(widen(deltas16[k]!)), bitsOf(d)), `subtract ${k}`).toBe(-1);
        expect(Buffer.from(got.counts.buffer).equals(Buffer.from(want.counts.buffer))).toBe(true);
      }
      // the cuts, their tie counts per block, and the combine
      const js = createJsExec();
      const cuts = await Promise.all(deltas32.map((d, k) => topKCut(d, Math.trunc([0.5, 0.3, 0.8][k]! * n), js)));
      for (const [k, c] of cuts.entries()) {
        for (const [b, [s0, e]] of blockRanges(n).entries()) {
          expect(BLOCK_KERNELS.cutCountsBf16!(tag({ x: deltas16[k]!, a: c.a }), s0, e, b)).toEqual([(JS_BLOCK_KERNELS.cutCounts!({ x: deltas32[k], a: c.a, b: 0x80000000 }, s0, e, b) as number[])[0], 0]);
        }
      }
      const w = [0.6, 0.3, -0.2].map((v) => rounded(new Float32Array([v]), "BF16")[0]!);
      const common = { w, consensus: true, normalize: true, lambda: 0.9, divisor: 1, cuts };
      const out32 = Float32Array.from(base);
      for (const [b, [s0, e]] of blockRanges(n).entries()) JS_BLOCK_KERNELS.combine!({ ...common, base: out32, deltas: deltas32, dtype: "BF16", out: out32 }, s0, e, b);
      for (const [b, [s0, e]] of blockRanges(n).entries()) BLOCK_KERNELS.combineBf16!(tag({ ...common, base: base16, deltas: deltas16 }), s0, e, b);
      const want = new Uint16Array(n);
      JS_BLOCK_KERNELS.narrow!({ x: out32, out: new Uint8Array(want.buffer), type: "BF16" }, 0, n, 0); // the bytes the float32 path writes
      expect(Buffer.from(base16.buffer, base16.byteOffset, base16.byteLength).equals(Buffer.from(want.buffer)), `combine (${inPlace ? "in place" : "copied"})`).toBe(true);
    }
  });

  test("a slot past the memory's limit is a buffer of its own, and the kernels copy it through", () => {
    const memory = KernelMemory.create(1, 1 << 20);
    const slots = new Slots((b) => new SharedArrayBuffer(b), memory);
    const small = slots.slot(0, 1000);
    const large = slots.slot(1, 300_001);
    expect(memory.contains(small)).toBe(true);
    expect(memory.contains(large)).toBe(false);
    large.set(values(30, 300_001));
    const reference = Float32Array.from(large);
    JS_BLOCK_KERNELS.round!({ x: reference, dtype: "BF16" }, 0, reference.length, 0);
    const args = tagged({ x: large, dtype: "BF16" }, memory);
    expect(args.$memory).toBeUndefined();
    BLOCK_KERNELS.round!(args, 0, large.length, 0);
    expect(firstDifference(bitsOf(large), bitsOf(reference))).toBe(-1);
  });

  test("a pool's slots live in its kernel memory, and a top-k there equals the JavaScript one", async () => {
    const pool = MergePool.create(1);
    const inline = createInlineExec();
    try {
      for (const exec of [pool, inline]) {
        const x = exec.slot(0, 300_001);
        x.set(values(15, 300_001));
        const reference = Float32Array.from(x);
        const js = createJsExec();
        await keepTopK(reference, 150_000, js);
        await keepTopK(x, 150_000, exec);
        expect(Buffer.compare(Buffer.from(bitsOf(x)), Buffer.from(bitsOf(reference)))).toBe(0);
      }
    } finally {
      await pool.close();
    }
  });
});

/** an exec that runs the JavaScript kernels whole on this thread */
function createJsExec() {
  const run = async <T,>(kernel: string, args: Record<string, unknown>, n: number, align = 1): Promise<T[]> => {
    const size = Math.max(align, Math.floor((1 << 16) / align) * align);
    const out: T[] = [];
    for (let s = 0, b = 0; s < n; s += size, b++) out.push(JS_BLOCK_KERNELS[kernel]!(args, s, Math.min(n, s + size), b) as T);
    return out;
  };
  return {
    map: run,
    mapRanges: async <T,>(kernel: string, args: Record<string, unknown>, n: number) => [JS_BLOCK_KERNELS[kernel]!(args, 0, n, 0) as T],
    alloc: (n: number) => new Float32Array(n),
    slot: (_k: number, n: number) => new Float32Array(n),
    scratch: (n: number) => new Uint8Array(n),
    packedSlot: (_k: number, n: number) => new Uint16Array(n),
  };
}
