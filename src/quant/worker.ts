// Entry of a quantization worker thread: quantizes the row chunks pool.ts sends, into the shared
// output it names, or (rows in a transferred buffer) sends the bytes back the same way. Not
// imported by anything.

import { parentPort } from "node:worker_threads";
import type { QuantJob, QuantReply } from "./pool.js";
import { quantizeRows } from "./quantize.js";

const port = parentPort!;
port.on("message", (job: QuantJob) => {
  try {
    if (job.out) {
      quantizeRows(job.type, job.x, job.nrows, job.nPerRow, job.imatrix, job.out);
      port.postMessage({ id: job.id } satisfies QuantReply);
      return;
    }
    const y = quantizeRows(job.type, job.x, job.nrows, job.nPerRow, job.imatrix);
    const out = y.byteOffset === 0 && y.byteLength === y.buffer.byteLength ? (y.buffer as ArrayBuffer) : y.slice().buffer;
    port.postMessage({ id: job.id, y: out } satisfies QuantReply, [out]);
  } catch (e) {
    port.postMessage({ id: job.id, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) } satisfies QuantReply);
  }
});
