// Entry of a quantization worker thread: quantizes the row chunks pool.ts sends (f32 rows in a
// transferred buffer) and sends the bytes back the same way. Not imported by anything.

import { parentPort } from "node:worker_threads";
import type { QuantJob, QuantReply } from "./pool.js";
import { quantizeRows } from "./quantize.js";

const port = parentPort!;
port.on("message", (job: QuantJob) => {
  try {
    const x = new Float32Array(job.x);
    const y = quantizeRows(job.type, x, job.nrows, job.nPerRow, job.imatrix);
    const out = y.byteOffset === 0 && y.byteLength === y.buffer.byteLength ? (y.buffer as ArrayBuffer) : y.slice().buffer;
    port.postMessage({ id: job.id, y: out } satisfies QuantReply, [out]);
  } catch (e) {
    port.postMessage({ id: job.id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) } satisfies QuantReply);
  }
});
