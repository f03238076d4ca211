// Data-parallel training on worker threads, one per core: micro-batches go to whichever worker is
// free, gradients come back in lent buffers and are summed in micro-batch order (OrderedSum), so
// results are bit-identical to LocalGradEngine's with any worker count. Weights live in one
// SharedArrayBuffer that the main thread updates between steps, while the workers are idle.

import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { EngineConfig } from "../engine/index.js";
import { OrderedSum, type GradEngine, type LossSum, type MicroBatch } from "./grad-engine.js";
import type { GradLayout } from "./param-store.js";
import { TrainError } from "./train-error.js";

export interface WorkerInit {
  config: EngineConfig;
  /** the shared param buffer */
  params: SharedArrayBuffer;
  trainable: boolean[];
  seqLen: number;
  queryBlock?: number;
}

export type WorkerTask =
  | { type: "grad"; index: number; tokens: Int32Array; targets: Int32Array; buffer: ArrayBuffer }
  | { type: "eval"; index: number; tokens: Int32Array; targets: Int32Array }
  | { type: "changed"; changed: boolean[] }
  | { type: "close" };

export type WorkerReply =
  | { type: "grad"; index: number; loss: number; tokens: number; buffer: ArrayBuffer }
  | { type: "eval"; index: number; loss: number; tokens: number }
  | { type: "error"; message: string; code?: string; hint?: string; stack?: string };

/** Worker threads worth starting: one per core, no more than there are micro-batches per step. */
export function defaultWorkers(microBatchesPerStep: number): number {
  return Math.max(1, Math.min(availableParallelism(), microBatchesPerStep));
}

/** The worker script: compiled JS next to this module, or (running from TypeScript sources, as the
 * tests do) the .ts file through a loader that transpiles it. */
function workerEntry(): { url: URL; execArgv: string[] } {
  const here = import.meta.url;
  if (here.endsWith(".ts")) {
    return { url: new URL("./worker.ts", here), execArgv: ["--import", new URL("../../scripts/ts-worker-loader.mjs", here).href] };
  }
  return { url: new URL("./worker.js", here), execArgv: [] };
}

export class WorkerPool implements GradEngine {
  private readonly free: ArrayBuffer[] = [];
  private failure: Error | undefined;
  private pending: ((r: WorkerReply, w: number) => void) | undefined;

  private constructor(private readonly threads: Worker[], private readonly grads: GradLayout) {
    threads.forEach((t, w) => {
      t.on("message", (r: WorkerReply) => this.pending?.(r, w));
      t.on("error", (e) => {
        this.failure = e;
        this.pending?.({ type: "error", message: e.message }, w);
      });
    });
  }

  get workers(): number {
    return this.threads.length;
  }

  static create(init: WorkerInit, grads: GradLayout, workers: number): WorkerPool {
    const { url, execArgv } = workerEntry();
    const threads = Array.from({ length: workers }, () => new Worker(url, { workerData: init, execArgv }));
    return new WorkerPool(threads, grads);
  }

  private async dispatch(tasks: WorkerTask[], onReply: (r: WorkerReply, release: () => void) => void): Promise<void> {
    if (this.failure) throw this.failure;
    let next = 0;
    let outstanding = 0;
    await new Promise<void>((resolve, reject) => {
      const feed = (w: number): void => {
        if (next >= tasks.length) {
          if (outstanding === 0) resolve();
          return;
        }
        const task = tasks[next++]!;
        outstanding++;
        this.threads[w]!.postMessage(task, task.type === "grad" ? [task.buffer] : []);
      };
      this.pending = (r, w) => {
        if (r.type === "error") {
          this.pending = undefined;
          const e = r.code ? new TrainError(r.code, r.message, r.hint ? { hint: r.hint } : {}) : new Error(`training worker failed: ${r.message}\n${r.stack ?? ""}`);
          reject(e);
          return;
        }
        outstanding--;
        onReply(r, () => undefined);
        feed(w);
      };
      this.threads.forEach((_, w) => feed(w));
    });
    this.pending = undefined;
  }

  async gradients(batches: readonly MicroBatch[], out: Float32Array): Promise<LossSum> {
    const sum = new OrderedSum(out);
    const tasks: WorkerTask[] = batches.map((b, index) => ({ type: "grad", index, tokens: b.tokens, targets: b.targets, buffer: this.free.pop() ?? new ArrayBuffer(this.grads.total * 4) }));
    await this.dispatch(tasks, (r) => {
      if (r.type !== "grad") return;
      sum.put(r.index, { grad: new Float32Array(r.buffer), loss: r.loss, tokens: r.tokens }, () => this.free.push(r.buffer));
    });
    return { loss: sum.loss, tokens: sum.tokens };
  }

  async evaluate(batches: readonly MicroBatch[]): Promise<LossSum> {
    const sum = new OrderedSum(undefined);
    await this.dispatch(batches.map((b, index) => ({ type: "eval", index, tokens: b.tokens, targets: b.targets })), (r) => {
      if (r.type === "eval") sum.put(r.index, r);
    });
    return { loss: sum.loss, tokens: sum.tokens };
  }

  changed(changed: boolean[]): void {
    for (const t of this.threads) t.postMessage({ type: "changed", changed } satisfies WorkerTask);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
