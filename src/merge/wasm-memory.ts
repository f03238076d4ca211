// The memory the WebAssembly merge kernels (wasm/merge-kernels.c) work in: one shared
// WebAssembly.Memory per worker pool (or inline exec), holding the merge's input slots and one
// scratch region per thread, with an instance of the module on it in every thread. Slots are
// regions handed out first-fit and returned when a slot grows, so the memory stays about one
// tensor's inputs. A wasm32 memory ends at 4 GiB: a tensor whose slots do not fit stays in a
// SharedArrayBuffer and its kernels copy it through this thread's private memory instead.

import { MERGE_KERNELS_WASM_BASE64 } from "./wasm/merge-kernels.wasm.js";

/** the slice of the WebAssembly API used here (the project's types have no DOM lib) */
interface WasmMemory {
  readonly buffer: ArrayBufferLike;
  grow(pages: number): number;
}
interface WasmApi {
  validate(bytes: Uint8Array): boolean;
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: unknown };
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
}
const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/** The C functions; every pointer is a byte address in the memory, n counts elements. */
export interface KernelExports {
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
  combine(base: number, deltas: number, w: number, K: number, n: number, dt: number, consensus: number, normalize: number, lambda: number, scaled: number, divisor: number, cuts: number): void;
  linear(out: number, xs: number, w: number, K: number, n: number, dt: number, normalize: number, divisor: number): void;
  subtract_bf16(x: number, base: number, n: number, counts: number): void;
  cut_counts_bf16(x: number, n: number, a: number, out: number): void;
  combine_bf16(base: number, deltas: number, w: number, K: number, n: number, consensus: number, normalize: number, lambda: number, scaled: number, divisor: number, cuts: number): void;
}

export interface MemoryViews {
  u8: Uint8Array;
  u32: Uint32Array;
  i32: Int32Array;
  f32: Float32Array;
  f64: Float64Array;
}

const PAGE = 65536;
const MAX_PAGES = 65536; // 4 GiB, all a wasm32 address reaches
/** a thread's scratch: 2^16 histogram counts, ordinals and sums, then up to 1024 input addresses and weights (and cuts for 4) */
const SCRATCH_BYTES = (1 << 18) + 64 + 8192 + 64;
/** the kernels' vector loops read up to 12 bytes past an array's end */
const PAD = 16;
/** a region's size: the bytes, room for reads past the end, 16-aligned (arithmetic: regions pass 2^31) */
const padded = (bytes: number): number => Math.ceil((bytes + PAD) / 16) * 16;
/** the module's own addresses below this are left alone (it has no data; a margin all the same) */
const FIRST = 1024;

let module: object | null | undefined;
function compiled(): object | null {
  if (module === undefined) {
    const bytes = Buffer.from(MERGE_KERNELS_WASM_BASE64, "base64");
    module = process.env.DUSK_MERGE_SIMD !== "0" && wasm.validate(bytes) ? new wasm.Module(bytes) : null;
  }
  return module;
}

let nextId = 1;
/**
 * The memories this thread has an instance on, by id. Weak: a pool or inline exec holds its own,
 * and a memory of hundreds of MB must go when its build ends.
 */
const attached = new Map<number, WeakRef<KernelMemory>>();
/** a worker's one memory, held strongly for the worker's life (`attach`) */
let workerMemory: KernelMemory | undefined;

export class KernelMemory {
  readonly kernels: KernelExports;
  private top: number;
  private readonly free: { at: number; bytes: number }[] = [];
  private cached: MemoryViews | undefined;
  /** every buffer object views were made from (a grown shared memory hands out a new one) */
  private readonly buffers = new WeakSet<ArrayBufferLike>();

  /** Whether WebAssembly SIMD runs here (and DUSK_MERGE_SIMD is not 0). */
  static available(): boolean {
    return compiled() !== null;
  }

  /**
   * A new memory with a scratch region for each of `threads` threads (this one is thread 0);
   * regions are handed out up to `limit` bytes (a wasm32 memory's 4 GiB; tests pass less).
   */
  static create(threads: number, limit = MAX_PAGES * PAGE): KernelMemory {
    const bytes = FIRST + threads * SCRATCH_BYTES;
    const memory = new wasm.Memory({ initial: Math.ceil(bytes / PAGE), maximum: MAX_PAGES, shared: true });
    return new KernelMemory(memory, nextId++, 0, bytes, limit);
  }

  /** Thread `thread`'s instance on a memory made in another thread (a pool's worker). */
  static attach(memory: WasmMemory, id: number, thread: number): KernelMemory {
    const m = new KernelMemory(memory, id, thread, -1, 0);
    workerMemory = m;
    return m;
  }

  private constructor(readonly memory: WasmMemory, readonly id: number, thread: number, top: number, private readonly limit: number) {
    this.kernels = new wasm.Instance(compiled()!, { env: { memory } }).exports as KernelExports;
    this.threadScratch = FIRST + thread * SCRATCH_BYTES;
    this.top = top;
    attached.set(id, new WeakRef(this));
  }

  /** the byte address of this thread's scratch */
  readonly threadScratch: number;

  views(): MemoryViews {
    const b = this.memory.buffer;
    if (this.cached?.u8.buffer !== b) {
      this.buffers.add(b);
      this.cached = { u8: new Uint8Array(b), u32: new Uint32Array(b), i32: new Int32Array(b), f32: new Float32Array(b), f64: new Float64Array(b) };
    }
    return this.cached;
  }

  /**
   * `bytes` of this memory (16-aligned), or undefined when they would pass the limit or the
   * memory cannot grow (the caller then uses a buffer of its own and the copy path).
   */
  alloc(bytes: number): Uint8Array | undefined {
    const size = padded(bytes);
    const i = this.free.findIndex((r) => r.bytes >= size);
    let at: number;
    if (i >= 0) {
      at = this.free[i]!.at;
      this.free.splice(i, 1);
    } else {
      if (this.top < 0 || this.top + size > this.limit) return undefined;
      const have = this.memory.buffer.byteLength;
      try {
        if (this.top + size > have) this.memory.grow(Math.ceil((this.top + size - have) / PAGE));
      } catch {
        return undefined; // RangeError: the system would not commit that much
      }
      at = this.top;
      this.top += size;
    }
    return new Uint8Array(this.views().u8.buffer, at, bytes);
  }

  /** Gives back a region `alloc` returned. */
  release(region: Uint8Array): void {
    if (this.contains(region)) this.free.push({ at: region.byteOffset, bytes: padded(region.byteLength) });
  }

  contains(view: ArrayBufferView): boolean {
    return this.buffers.has(view.buffer);
  }

  /**
   * Regions of the given sizes after this thread's scratch, for the copy path: laid anew at each
   * call (their contents last one call), the memory grown when they do not fit.
   */
  chunkRegions(sizes: number[]): number[] {
    const at: number[] = [];
    let end = this.threadScratch + SCRATCH_BYTES;
    for (const s of sizes) {
      at.push(end);
      end += padded(s);
    }
    const have = this.memory.buffer.byteLength;
    if (end > have) this.memory.grow(Math.ceil((end - have) / PAGE));
    return at;
  }

  /** `args` tagged with this memory's id when every typed array in them lies in it. */
  tag<A extends Record<string, unknown>>(args: A): A {
    return everyView(args, (v) => this.contains(v)) ? { ...args, $memory: this.id } : args;
  }
}

/** Whether every typed array in `value` (arguments of a kernel, searched through arrays and objects) passes `test`. */
export function everyView(value: unknown, test: (v: ArrayBufferView) => boolean): boolean {
  if (ArrayBuffer.isView(value)) return test(value);
  if (Array.isArray(value)) return value.every((v) => everyView(v, test));
  if (value !== null && typeof value === "object") return Object.values(value).every((v) => everyView(v, test));
  return true;
}

/** The memory with this id that this thread has an instance on. */
export function attachedMemory(id: number): KernelMemory | undefined {
  const m = attached.get(id)?.deref();
  if (m === undefined) attached.delete(id);
  return m;
}

let mine: KernelMemory | undefined;
/** This thread's private memory (the copy path's chunks). */
export function privateMemory(): KernelMemory {
  mine ??= KernelMemory.create(1);
  return mine;
}
