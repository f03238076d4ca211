// Entry of a study worker thread: runs one job at a time (jobs.ts) and posts its progress and
// result back (messages: study-pool.ts). Not imported by anything.

import { parentPort } from "node:worker_threads";
import { runJob } from "./jobs.js";
import type { PoolReply, PoolRequest } from "./study-pool.js";

const port = parentPort!;
port.on("message", (m: PoolRequest) => {
  void runJob(m.job, m.settings, (done, detail) => port.postMessage({ type: "units", index: m.index, done, detail } satisfies PoolReply)).then(
    (result) => port.postMessage({ type: "result", index: m.index, result } satisfies PoolReply),
    (e: { message?: string; code?: string; hint?: string; stack?: string }) => port.postMessage({
      type: "error", index: m.index, message: String(e?.message ?? e),
      ...(e?.code ? { code: e.code } : {}), ...(e?.hint ? { hint: e.hint } : {}), ...(e?.stack ? { stack: e.stack } : {}),
    } satisfies PoolReply),
  );
});
