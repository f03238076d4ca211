// Runs block kernels over [0, n) in fixed blocks: inline on this thread, or spread over a pool of
// worker threads when the tensor is large enough to pay for the messages. Results come back in
// block order, so what a merge computes does not depend on where it ran.

import { BLOCK_KERNELS } from "./block-kernels.js";
import { KernelMemory } from "./wasm-memory.js";

/** why 64 Ki elements: ~0.1–0.5 ms of work per block, far above a message's cost */
export const BLOCK = 1 << 16;
/** below this many elements a tensor is merged inline (one message would cost more than the math) */
export const INLINE_BELOW = 1 << 17;

export interface BlockExec {
  /** `kernel` on each block of [0, n) (blocks of `align`·⌊BLOCK/align⌋ elements); results in block order */
  map<T = unknown>(kernel: string, args: Record<string, unknown>, n: number, align?: number): Promise<T[]>;
  /**
   * `kernel` over [0, n) cut into ranges of any size and number (fewer, larger ones than `map`),
   * for kernels that only write elements or whose results combine in any order (integer counts).
   */
  mapRanges<T = unknown>(kernel: string, args: Record<string, unknown>, n: number): Promise<T[]>;
  /** a float array the kernels can share (SharedArrayBuffer-backed when workers run them) */
  alloc(n: number): Float32Array;
  /**
   * Input slot `k` for a tensor of n elements: the same memory for every tensor (grown to the
   * largest), so a run holds one tensor's inputs however many tensors it merges.
   */
  slot(k: number, n: number): Float32Array;
  /** reusable byte buffer `which` (0 or 1: one filled while the other is used) of n bytes, for stored bytes read or written */
  scratch(n: number, which?: number): Uint8Array;
  /** slot `k` as n bf16 values (their bits): the same memory as `slot(k, …)`, for merges on bf16 storage */
  packedSlot(k: number, n: number): Uint16Array;
}

export function blockRanges(n: number, align = 1): [number, number][] {
  const size = Math.max(align, Math.floor(BLOCK / align) * align);
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  if (out.length === 0) out.push([0, 0]);
  return out;
}

/**
 * Reusable slots, grown on demand: regions of a KernelMemory when one is given and the slot fits
 * in it (the WebAssembly kernels then work on them in place), else buffers made by `make`
 * (ArrayBuffer or SharedArrayBuffer).
 */
export class Slots {
  private readonly regions: Uint8Array[][] = [[], []]; // float slots, byte scratch
  constructor(private readonly make: (bytes: number) => ArrayBufferLike, private readonly memory?: KernelMemory) {}
  slot(k: number, n: number): Float32Array {
    const r = this.region(0, k, n * 4);
    return new Float32Array(r.buffer, r.byteOffset, n);
  }
  scratch(n: number, which = 0): Uint8Array {
    return this.region(1, which, n).subarray(0, n);
  }
  packedSlot(k: number, n: number): Uint16Array {
    const r = this.region(0, k, n * 2);
    return new Uint16Array(r.buffer, r.byteOffset, n);
  }
  private region(kind: number, k: number, bytes: number): Uint8Array {
    const have = this.regions[kind]![k];
    if (have !== undefined && have.byteLength >= bytes) return have;
    if (have !== undefined) this.memory?.release(have);
    const r = this.memory?.alloc(bytes) ?? new Uint8Array(this.make(bytes));
    this.regions[kind]![k] = r;
    return r;
  }
}

/** Arguments tagged for the WebAssembly kernels when all their arrays lie in `memory`. */
export function tagged(args: Record<string, unknown>, memory: KernelMemory | undefined): Record<string, unknown> {
  return memory === undefined ? args : memory.tag(args);
}

/** Everything on this thread, with its own reusable slots (in a kernel memory where WebAssembly SIMD runs). */
export function createInlineExec(): BlockExec {
  const memory = KernelMemory.available() ? KernelMemory.create(1) : undefined;
  const slots = new Slots((n) => new ArrayBuffer(n), memory);
  return {
    map: (kernel, args, n, align) => runInline(kernel, tagged(args, memory), n, align),
    mapRanges: (kernel, args, n) => runWhole(kernel, tagged(args, memory), n),
    alloc: (n) => new Float32Array(n),
    slot: (k, n) => slots.slot(k, n),
    scratch: (n, which) => slots.scratch(n, which),
    packedSlot: (k, n) => slots.packedSlot(k, n),
  };
}

async function runInline<T>(kernel: string, args: Record<string, unknown>, n: number, align = 1): Promise<T[]> {
  const fn = BLOCK_KERNELS[kernel]!;
  return blockRanges(n, align).map(([s, e], b) => fn(args, s, e, b) as T);
}

/** one range: on this thread nothing is gained by cutting */
async function runWhole<T>(kernel: string, args: Record<string, unknown>, n: number): Promise<T[]> {
  return [BLOCK_KERNELS[kernel]!(args, 0, n, 0) as T];
}

/** Everything on this thread, nothing kept between calls (tests, one-off merges). */
export const inlineExec: BlockExec = {
  map: runInline,
  mapRanges: runWhole,
  alloc: (n) => new Float32Array(n),
  slot: (_k, n) => new Float32Array(n),
  scratch: (n) => new Uint8Array(n),
  packedSlot: (_k, n) => new Uint16Array(n),
};
