// Quantizes row blocks on every core: worker threads (worker.ts) take contiguous row chunks and
// write their bytes in place into one output buffer. Rows are independent in every ggml
// quantizer, so the bytes do not depend on the number of workers. One worker: no threads. Rows
// and output on SharedArrayBuffers (run.ts's slabs) are shared with the workers; other arrays are
// copied to them and back.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { tensorType } from "../formats/tensor-types.js";
import { QuantError } from "./quant-error.js";
import { quantizeRows, rowBytes } from "./quantize.js";

export interface QuantJob {
  id: number;
  type: string;
  /** the chunk's rows: a view of shared memory, or a transferred copy */
  x: Float32Array;
  nrows: number;
  nPerRow: number;
  imatrix?: Float32Array;
  /** where the bytes go when they are shared (else they come back in the reply) */
  out?: Uint8Array;
}

export type QuantReply = { id: number; y?: ArrayBuffer } | { id: number; error: string };

/** The worker script: compiled JS beside this module, or the .ts source through the dev loader. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) return { url: new URL("./worker.ts", here), execArgv: ["--import", new URL("../../scripts/ts-worker-loader.mjs", here).href] };
  return { url: new URL("./worker.js", here), execArgv: [] };
}

/** why 16384 elements: below that a chunk costs less to quantize than to post (llama.cpp's own min chunk is 32×512) */
const MIN_CHUNK_ELEMS = 16384;

export class QuantPool {
  private readonly pending = new Map<number, { resolve: (y: ArrayBuffer | undefined) => void; reject: (e: Error) => void }>();
  private nextId = 0;

  private constructor(private readonly workers: Worker[]) {
    for (const w of workers) {
      w.on("message", (r: QuantReply) => {
        const p = this.pending.get(r.id);
        if (!p) return;
        this.pending.delete(r.id);
        if ("error" in r) p.reject(new QuantError("QUANT_WORKER", `a quantization worker failed: ${r.error}`));
        else p.resolve(r.y);
      });
      w.on("error", (e) => this.failAll(e));
    }
  }

  /** `threads` workers (default: one per core); 1 quantizes on the calling thread. */
  static create(threads = availableParallelism()): QuantPool {
    if (!Number.isInteger(threads) || threads < 1) throw new QuantError("QUANT_THREADS", `--threads must be a positive integer, got ${threads}`);
    if (threads === 1) return new QuantPool([]);
    const { url, execArgv } = workerEntry();
    return new QuantPool(Array.from({ length: threads }, () => new Worker(url, { execArgv })));
  }

  get threads(): number {
    return Math.max(1, this.workers.length);
  }

  /** `nrows` rows of `nPerRow` values of `x` → bytes of `type`, written into `out`. */
  async quantize(type: string, x: Float32Array, nrows: number, nPerRow: number, imatrix: Float32Array | undefined, out: Uint8Array): Promise<Uint8Array> {
    const rb = rowBytes(tensorType(type)!, nPerRow);
    const chunks = Math.min(this.workers.length, Math.floor((nrows * nPerRow) / MIN_CHUNK_ELEMS), nrows);
    if (chunks < 2) return quantizeRows(type, x, nrows, nPerRow, imatrix, out);
    const shared = x.buffer instanceof SharedArrayBuffer && out.buffer instanceof SharedArrayBuffer;
    const per = Math.ceil(nrows / chunks);
    const jobs: Promise<void>[] = [];
    for (let k = 0, r0 = 0; r0 < nrows; k++, r0 += per) {
      const n = Math.min(per, nrows - r0);
      const rows = x.subarray(r0 * nPerRow, (r0 + n) * nPerRow);
      const id = this.nextId++;
      const done = new Promise<ArrayBuffer | undefined>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      const job: QuantJob = { id, type, x: shared ? rows : rows.slice(), nrows: n, nPerRow, ...(imatrix ? { imatrix } : {}), ...(shared ? { out: out.subarray(r0 * rb, (r0 + n) * rb) } : {}) };
      this.workers[k]!.postMessage(job, shared ? [] : [job.x.buffer as ArrayBuffer]);
      jobs.push(done.then((y) => void (y && out.set(new Uint8Array(y), r0 * rb))));
    }
    await Promise.all(jobs);
    return out.subarray(0, nrows * rb);
  }

  private failAll(e: Error): void {
    for (const p of this.pending.values()) p.reject(new QuantError("QUANT_WORKER", `a quantization worker stopped: ${e.message}`, { cause: e }));
    this.pending.clear();
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}
