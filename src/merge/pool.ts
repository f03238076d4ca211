// A pool of worker threads that run block kernels (block-kernels.ts) on shared arrays: the math
// of one tensor spread over every core, while memory stays one tensor's inputs. Small tensors,
// and arrays that are not shared, run inline. Results come back in block order (blocks.ts).
// One message per thread per call: the calling thread and the workers then claim blocks from a
// shared counter (Atomics), the caller working too, so a thread the scheduler keeps waiting (the
// cores are often shared) delays nothing but its own block, and no thread idles on round trips.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { BLOCK_KERNELS } from "./block-kernels.js";
import { BLOCK, blockRanges, INLINE_BELOW, inlineExec, Slots, tagged, type BlockExec } from "./blocks.js";
import { everyView, KernelMemory } from "./wasm-memory.js";
import { MergeError } from "./merge-error.js";

export interface BlockTask {
  id: number;
  kernel: string;
  args: Record<string, unknown>;
  /** [start, end] of each block; block i is claimed by whoever first takes i from `claim` */
  ranges: [number, number][];
  /** Int32Array over shared memory: the next unclaimed block */
  claim: Int32Array;
}

/** a worker's blocks: [block, result] for each block it claimed */
export type BlockReply = { id: number; done: [number, unknown][] } | { id: number; error: string };

/**
 * why 1: each range of a histogram kernel returns 2^15 counts to copy back and add up (4 ranges a
 * thread made a 1M-element tensor's subtract 3× slower); a thread late to start still loses
 * nothing, as the others claim its range
 */
const RANGES_PER_THREAD = 1;

/** The worker script: compiled JS next to this module, or the .ts through the tests' loader. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) return { url: new URL("./worker.ts", here), execArgv: ["--import", new URL("../../scripts/ts-worker-loader.mjs", here).href] };
  return { url: new URL("./worker.js", here), execArgv: [] };
}

/** Worker threads worth starting: one per core but the calling thread's, which claims blocks too. */
export function defaultMergeWorkers(): number {
  return Math.max(1, availableParallelism() - 1);
}

export class MergePool implements BlockExec {
  private nextId = 0;
  private readonly waiting = new Map<number, { add: (done: [number, unknown][]) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private readonly slots: Slots;

  private constructor(private readonly threads: Worker[], private readonly memory: KernelMemory | undefined) {
    this.slots = new Slots((n) => new SharedArrayBuffer(n), memory);
    for (const t of threads) {
      t.on("message", (r: BlockReply) => {
        const w = this.waiting.get(r.id); // gone when the call finished without this worker
        if (!w) return;
        if ("error" in r) w.reject(new MergeError("MERGE_WORKER", `a merge worker failed: ${r.error}`));
        else w.add(r.done);
      });
      t.on("error", (e) => {
        this.failure = e;
        for (const w of this.waiting.values()) w.reject(e);
        this.waiting.clear();
      });
    }
  }

  static create(workers = defaultMergeWorkers()): MergePool {
    const { url, execArgv } = workerEntry();
    // one scratch region per thread: this one is thread 0, worker i thread i + 1
    const memory = KernelMemory.available() ? KernelMemory.create(workers + 1) : undefined;
    const kernelMemory = memory && { memory: memory.memory, id: memory.id };
    return new MergePool(Array.from({ length: workers }, (_, i) => new Worker(url, { execArgv, workerData: { kernelMemory, thread: i + 1 } })), memory);
  }

  get workers(): number {
    return this.threads.length;
  }

  alloc(n: number): Float32Array {
    return new Float32Array(new SharedArrayBuffer(n * 4));
  }

  slot(k: number, n: number): Float32Array {
    return this.slots.slot(k, n);
  }

  scratch(n: number, which = 0): Uint8Array {
    return this.slots.scratch(n, which);
  }

  packedSlot(k: number, n: number): Uint16Array {
    return this.slots.packedSlot(k, n);
  }

  async map<T>(kernel: string, args: Record<string, unknown>, n: number, align = 1): Promise<T[]> {
    args = tagged(args, this.memory);
    if (!this.parallel(kernel, args, n)) return inlineExec.map<T>(kernel, args, n, align);
    return this.dispatch<T>(kernel, args, blockRanges(n, align));
  }

  async mapRanges<T>(kernel: string, args: Record<string, unknown>, n: number): Promise<T[]> {
    args = tagged(args, this.memory);
    if (!this.parallel(kernel, args, n)) return inlineExec.mapRanges<T>(kernel, args, n);
    const size = Math.max(BLOCK, Math.ceil(n / ((this.threads.length + 1) * RANGES_PER_THREAD)));
    const ranges: [number, number][] = [];
    for (let s = 0; s < n; s += size) ranges.push([s, Math.min(n, s + size)]);
    return this.dispatch<T>(kernel, args, ranges);
  }

  private parallel(kernel: string, args: Record<string, unknown>, n: number): boolean {
    if (this.failure) throw this.failure;
    if (!BLOCK_KERNELS[kernel]) throw new MergeError("MERGE_KERNEL", `no block kernel ${kernel}`);
    return n >= INLINE_BELOW && this.threads.length > 0 && everyView(args, (v) => v.buffer instanceof SharedArrayBuffer); // else a worker would write a copy
  }

  /** Runs every range once, on whichever thread claims it first (this one included). */
  private async dispatch<T>(kernel: string, args: Record<string, unknown>, ranges: [number, number][]): Promise<T[]> {
    const results: T[] = new Array(ranges.length);
    const claim = new Int32Array(new SharedArrayBuffer(4));
    const id = this.nextId++;
    let done = 0;
    let settle!: (e?: Error) => void;
    const finished = new Promise<void>((resolve, reject) => (settle = (e) => (e ? reject(e) : resolve())));
    const count = (n: number): void => {
      done += n;
      if (done === ranges.length) settle();
    };
    this.waiting.set(id, {
      add: (parts) => {
        for (const [block, result] of parts) results[block] = result as T;
        count(parts.length);
      },
      reject: (e) => settle(e),
    });
    const task: BlockTask = { id, kernel, args, ranges, claim };
    for (const t of this.threads) t.postMessage(task);
    try {
      const fn = BLOCK_KERNELS[kernel]!;
      let mine = 0;
      for (let b = Atomics.add(claim, 0, 1); b < ranges.length; b = Atomics.add(claim, 0, 1)) {
        results[b] = fn(args, ranges[b]![0], ranges[b]![1], b) as T;
        mine++;
      }
      count(mine);
      await finished;
    } finally {
      this.waiting.delete(id);
    }
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
