// A merge worker thread: runs block kernels on the shared arrays it is sent (pool.ts).

import { parentPort } from "node:worker_threads";
import { BLOCK_KERNELS } from "./block-kernels.js";
import type { BlockReply, BlockTask } from "./pool.js";

parentPort!.on("message", (task: BlockTask) => {
  let reply: BlockReply;
  try {
    reply = { id: task.id, result: BLOCK_KERNELS[task.kernel]!(task.args, task.start, task.end, task.block) };
  } catch (e) {
    reply = { id: task.id, error: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) };
  }
  parentPort!.postMessage(reply);
});
