// A merge worker thread: runs block kernels on the shared arrays it is sent, on the blocks it
// claims from the task's shared counter (pool.ts), and answers which it ran.

import { parentPort, workerData } from "node:worker_threads";
import { BLOCK_KERNELS } from "./block-kernels.js";
import type { BlockReply, BlockTask } from "./pool.js";
import { KernelMemory } from "./wasm-memory.js";

// the pool's kernel memory, where its slots live (pool.ts): this thread's instance on it
const { kernelMemory, thread } = workerData as { kernelMemory?: { memory: Parameters<typeof KernelMemory.attach>[0]; id: number }; thread: number };
if (kernelMemory) KernelMemory.attach(kernelMemory.memory, kernelMemory.id, thread);

parentPort!.on("message", (task: BlockTask) => {
  let reply: BlockReply;
  try {
    const kernel = BLOCK_KERNELS[task.kernel]!;
    const done: [number, unknown][] = [];
    for (let b = Atomics.add(task.claim, 0, 1); b < task.ranges.length; b = Atomics.add(task.claim, 0, 1)) {
      done.push([b, kernel(task.args, task.ranges[b]![0], task.ranges[b]![1], b)]);
    }
    reply = { id: task.id, done };
  } catch (e) {
    reply = { id: task.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) };
  }
  parentPort!.postMessage(reply);
});
