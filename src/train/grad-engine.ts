// Where a step's micro-batches are computed: in this thread, or on a pool of worker threads (one
// per core; pool.ts). Either way the gradients of micro-batches 0, 1, 2… are summed in that
// order (out = g₀, then out += g₁, …) and losses likewise, so the result is the same bits
// whatever the number of workers.

import { MicroBatchCompute } from "./micro-batch.js";
import { addInto } from "./fast-ops.js";
import type { GradLayout, ParamLayout } from "./param-store.js";
import type { TrainKernel } from "./train-kernel.js";

export interface MicroBatch {
  tokens: Int32Array; // [B·S] inputs
  targets: Int32Array; // [B·S] next tokens
}

export interface LossSum {
  /** Σ −log p over the targets */
  loss: number;
  tokens: number;
}

export interface GradEngine {
  readonly workers: number;
  /** Σ of the micro-batches' gradients (in index order) into `out`, which it overwrites. */
  gradients(batches: readonly MicroBatch[], out: Float32Array): Promise<LossSum>;
  /** Σ loss of the batches, forward only. */
  evaluate(batches: readonly MicroBatch[]): Promise<LossSum>;
  /** The params marked in `changed` were updated: drop what was cached from them. */
  changed(changed: boolean[]): void;
  close(): Promise<void>;
}

/** Adds micro-batch results in index order as they arrive, whatever order they finish in. */
export class OrderedSum {
  private next = 0;
  private readonly waiting = new Map<number, { grad?: Float32Array; loss: number; tokens: number; done: () => void }>();
  loss = 0;
  tokens = 0;
  constructor(private readonly out: Float32Array | undefined) {}

  /** Takes result `index`; `done` is called once its gradient buffer has been consumed. */
  put(index: number, r: { grad?: Float32Array; loss: number; tokens: number }, done: () => void = () => {}): void {
    this.waiting.set(index, { ...r, done });
    for (let w = this.waiting.get(this.next); w; w = this.waiting.get(this.next)) {
      this.waiting.delete(this.next);
      if (this.out && w.grad) {
        if (this.next === 0) this.out.set(w.grad);
        else addInto(this.out, w.grad);
      }
      this.loss += w.loss;
      this.tokens += w.tokens;
      this.next++;
      w.done();
    }
  }
}

/** Everything on this thread: the reference the worker pool must match bit for bit. */
export class LocalGradEngine implements GradEngine {
  readonly workers = 0;
  private readonly compute: MicroBatchCompute;
  private scratch: Float32Array | undefined;

  constructor(kernel: TrainKernel, layout: ParamLayout, params: Float32Array, seqLen: number, private readonly grads: GradLayout, queryBlock?: number) {
    this.compute = new MicroBatchCompute(kernel, layout, params, seqLen, queryBlock);
  }

  async gradients(batches: readonly MicroBatch[], out: Float32Array): Promise<LossSum> {
    const sum = new OrderedSum(out);
    batches.forEach((b, i) => {
      const grad = (this.scratch ??= new Float32Array(this.grads.total)).fill(0);
      const r = this.compute.run(b.tokens, b.targets, { buffer: grad, layout: this.grads });
      sum.put(i, { grad, ...r });
    });
    return { loss: sum.loss, tokens: sum.tokens };
  }

  async evaluate(batches: readonly MicroBatch[]): Promise<LossSum> {
    const sum = new OrderedSum(undefined);
    batches.forEach((b, i) => sum.put(i, this.compute.run(b.tokens, b.targets)));
    return { loss: sum.loss, tokens: sum.tokens };
  }

  changed(changed: boolean[]): void {
    this.compute.invalidate(changed);
  }

  async close(): Promise<void> {
    this.compute.dispose();
  }
}
