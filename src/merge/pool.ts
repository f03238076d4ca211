// A pool of worker threads that run block kernels (block-kernels.ts) on shared arrays: the math
// of one tensor spread over every core, while memory stays one tensor's inputs. Small tensors,
// and arrays that are not shared, run inline. Results come back in block order (blocks.ts).

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { BLOCK_KERNELS } from "./block-kernels.js";
import { blockRanges, INLINE_BELOW, inlineExec, Slots, type BlockExec } from "./blocks.js";
import { MergeError } from "./merge-error.js";

export interface BlockTask {
  id: number;
  kernel: string;
  args: Record<string, unknown>;
  start: number;
  end: number;
  block: number;
}

export type BlockReply = { id: number; result: unknown } | { id: number; error: string };

/** The worker script: compiled JS next to this module, or the .ts through the tests' loader. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) return { url: new URL("./worker.ts", here), execArgv: ["--import", new URL("../../scripts/ts-worker-loader.mjs", here).href] };
  return { url: new URL("./worker.js", here), execArgv: [] };
}

/** Worker threads worth starting: one per core. */
export function defaultMergeWorkers(): number {
  return Math.max(1, availableParallelism());
}

export class MergePool implements BlockExec {
  private nextId = 0;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private failure: Error | undefined;
  private readonly slots = new Slots((n) => new SharedArrayBuffer(n));

  private constructor(private readonly threads: Worker[]) {
    for (const t of threads) {
      t.on("message", (r: BlockReply) => {
        const w = this.waiting.get(r.id);
        if (!w) return;
        this.waiting.delete(r.id);
        if ("error" in r) w.reject(new MergeError("MERGE_WORKER", `a merge worker failed: ${r.error}`));
        else w.resolve(r.result);
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
    return new MergePool(Array.from({ length: workers }, () => new Worker(url, { execArgv })));
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

  scratch(n: number): Uint8Array {
    return this.slots.scratch(n);
  }

  async map<T>(kernel: string, args: Record<string, unknown>, n: number, align = 1): Promise<T[]> {
    if (this.failure) throw this.failure;
    if (!BLOCK_KERNELS[kernel]) throw new MergeError("MERGE_KERNEL", `no block kernel ${kernel}`);
    if (n < INLINE_BELOW || this.threads.length === 0 || !allShared(args)) return inlineExec.map<T>(kernel, args, n, align);
    const ranges = blockRanges(n, align);
    const results: T[] = new Array(ranges.length);
    let next = 0;
    const run = async (worker: Worker): Promise<void> => {
      while (next < ranges.length) {
        const block = next++;
        const [start, end] = ranges[block]!;
        const id = this.nextId++;
        const reply = new Promise<unknown>((resolve, reject) => this.waiting.set(id, { resolve, reject }));
        worker.postMessage({ id, kernel, args, start, end, block } satisfies BlockTask);
        results[block] = (await reply) as T;
      }
    };
    await Promise.all(this.threads.map(run));
    return results;
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}

/** Every typed array in the arguments lives in shared memory (else a worker would write a copy). */
function allShared(value: unknown): boolean {
  if (ArrayBuffer.isView(value)) return value.buffer instanceof SharedArrayBuffer;
  if (Array.isArray(value)) return value.every(allShared);
  if (value !== null && typeof value === "object") return Object.values(value).every(allShared);
  return true;
}
