// Entry of a training worker thread: one tfjs-wasm engine per core (WASM threads do not work under
// Node), reading the weights from the shared param buffer and returning each micro-batch's
// gradient in a buffer the main thread lends it. Messages: pool.ts. Not imported by anything.

import { parentPort, workerData } from "node:worker_threads";
import { MicroBatchCompute } from "./micro-batch.js";
import { gradLayout, paramLayout } from "./param-store.js";
import { getTrainKernel } from "./train-kernel.js";
import type { WorkerInit, WorkerReply, WorkerTask } from "./pool.js";

const init = workerData as WorkerInit;
const port = parentPort!;
const layout = paramLayout(init.config);
const params = new Float32Array(init.params);
const grads = gradLayout(layout, init.trainable);

const ready = getTrainKernel().then((kernel) => new MicroBatchCompute(kernel, layout, params, init.seqLen, init.queryBlock));
let queue = Promise.resolve();

port.on("message", (task: WorkerTask) => {
  queue = queue.then(async () => {
    const compute = await ready;
    try {
      if (task.type === "changed") compute.invalidate(task.changed);
      else if (task.type === "close") {
        compute.dispose();
        port.close();
      } else if (task.type === "grad") {
        const buffer = new Float32Array(task.buffer).fill(0);
        const r = compute.run(task.tokens, task.targets, { buffer, layout: grads });
        const reply: WorkerReply = { type: "grad", index: task.index, loss: r.loss, tokens: r.tokens, buffer: task.buffer };
        port.postMessage(reply, [task.buffer]);
      } else {
        const r = compute.run(task.tokens, task.targets);
        const reply: WorkerReply = { type: "eval", index: task.index, loss: r.loss, tokens: r.tokens };
        port.postMessage(reply);
      }
    } catch (e) {
      const err = e as { message?: string; code?: string; hint?: string; stack?: string };
      const reply: WorkerReply = { type: "error", message: String(err?.message ?? e), ...(err?.code ? { code: err.code } : {}), ...(err?.hint ? { hint: err.hint } : {}), ...(err?.stack ? { stack: err.stack } : {}) };
      port.postMessage(reply);
    }
  });
});
