// Executes a QuantizePlan: the GGUF is written into a temporary sibling and renamed into place
// (src/build/atomic-output.ts), tensors in the plan's order; a tensor whose type does not change
// is copied, any other is read in slabs of rows, widened to f32 and quantized on every core.
// Memory: two slabs each of input bytes, f32 rows (≤ 64 MiB each) and output bytes, not a tensor
// or a model, reused from tensor to tensor (fresh memory costs a page fault per 4 KiB on first
// touch); rows and output are shared with the pool's workers, which write their bytes in place.

import { prepareOutput } from "../build/atomic-output.js";
import type { StatfsFn } from "../build/durable-fs.js";
import type { BuildEvent } from "../build/events.js";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { FileSink } from "../formats/byte-source.js";
import { GgufWriter } from "../formats/gguf-writer.js";
import type { TensorEntry } from "../formats/tensor.js";
import { tensorType } from "../formats/tensor-types.js";
import { dequantize } from "./dequantize.js";
import type { QuantizePlan } from "./plan.js";
import { QuantPool } from "./pool.js";
import { QuantError } from "./quant-error.js";
import { rowBytes } from "./quantize.js";

export interface QuantizeRunOptions {
  output: string;
  force?: boolean;
  /** worker threads (default: one per core) */
  threads?: number;
  /** a pool to use (and leave open) instead of starting `threads` workers for this file */
  pool?: QuantPool;
  signal?: AbortSignal;
  statfs?: StatfsFn;
  purpose?: string;
  /** f32 elements per slab (default 16 Mi); the bytes do not depend on it (tests take small ones) */
  slabElems?: number;
}

/** why 16 Mi elements: 64 MiB of f32 per slab keeps every core busy on big tensors, memory flat */
const SLAB_ELEMS = 16 * 1024 * 1024;

export async function* quantizeGguf(c: Checkpoint, plan: QuantizePlan, o: QuantizeRunOptions): AsyncGenerator<BuildEvent> {
  const started = Date.now();
  const out = await prepareOutput(o.output, [c.path, ...c.files], {
    kind: "file", force: o.force ?? false, bytes: plan.outputBytes, purpose: o.purpose ?? "dusk quantize", ...(o.statfs ? { statfs: o.statfs } : {}),
  });
  let committed = false;
  const pool = o.pool ?? QuantPool.create(o.threads);
  const buffers = new SlabBuffers();
  try {
    for (const note of out.stale) yield { type: "stale", note };
    yield { type: "start", output: out.path, tensors: plan.tensors.length, totalBytes: plan.inputBytes };
    const sink = await FileSink.create(out.tmpPath);
    try {
      const specs = plan.tensors.map((t) => ({ name: t.name, type: tensorType(t.type)!, shape: t.shape }));
      const writer = new GgufWriter(sink, { kv: plan.kv, tensors: specs, alignment: plan.alignment });
      await writer.writeHeader();
      let bytes = 0;
      for (const [index, t] of plan.tensors.entries()) {
        const entry = c.tensors.get(t.name)!;
        if (!t.convert) {
          await writer.writeTensorFrom(entry.source, entry.offset, entry.byteLength);
        } else {
          const importance = t.imatrix ? plan.imatrix?.get(t.name) : undefined;
          const slab = o.slabElems ?? SLAB_ELEMS;
          for await (const done of quantizeTensor(entry, t.type, t.shape, importance, pool, buffers, slab, (chunk) => writer.writeTensorData(chunk))) {
            if (o.signal?.aborted) throw new QuantError("QUANT_ABORTED", "quantization was interrupted; nothing was written", { cause: o.signal.reason });
            yield { type: "progress", tensor: t.name, index, bytes: bytes + done, totalBytes: plan.inputBytes };
          }
        }
        bytes += t.inputBytes;
        yield { type: "progress", tensor: t.name, index, bytes, totalBytes: plan.inputBytes };
      }
      await writer.finish();
    } finally {
      await sink.close();
    }
    await out.commit();
    committed = true;
    yield { type: "done", output: out.path, files: [out.path], bytes: plan.outputBytes, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    throw out.failure(e);
  } finally {
    if (!o.pool) await pool.close();
    if (!committed) await out.abort();
  }
}

/**
 * One tensor, slab by slab: read rows (the next slab's read overlaps this one's quantization),
 * widen to f32, quantize, hand the bytes to `write`. Yields the input bytes done so far. Expert
 * tensors ([experts, rows, cols]) use their expert's slice of the importance vector.
 */
async function* quantizeTensor(entry: TensorEntry, type: string, shape: readonly number[], importance: Float32Array | undefined, pool: QuantPool, buffers: SlabBuffers, slabElems: number, write: (b: Uint8Array) => Promise<void>): AsyncGenerator<number> {
  const cols = shape[shape.length - 1]!;
  const rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const rowsPerExpert = shape.length >= 2 ? shape[shape.length - 2]! : 1;
  const inRow = rowBytes(entry.type, cols);
  const outRow = rowBytes(tensorType(type)!, cols);
  const slabRows = Math.max(1, Math.min(rows, Math.floor(slabElems / cols)));
  const inBufs = [buffers.input(0, slabRows * inRow), buffers.input(1, slabRows * inRow)];
  const f32 = [buffers.rows(0, slabRows * cols), buffers.rows(1, slabRows * cols)];
  const outBufs = [buffers.output(0, slabRows * outRow), buffers.output(1, slabRows * outRow)];
  const slabs: [number, number][] = [];
  for (let r0 = 0; r0 < rows; ) {
    const n = Math.min(slabRows, rows - r0, rowsPerExpert - (r0 % rowsPerExpert)); // slabs never cross an expert
    slabs.push([r0, n]);
    r0 += n;
  }
  const read = (k: number) => {
    const [r0, n] = slabs[k]!;
    const buf = inBufs[k % 2]!.subarray(0, n * inRow);
    return entry.source.readInto(entry.offset + r0 * inRow, buf).then(() => buf);
  };
  // Slab k is widened on this thread while the workers quantize slab k − 1 (two f32 and two
  // output slabs alternate); its bytes are written before slab k + 1 may reuse its output slab.
  let next = slabs.length > 0 ? read(0) : undefined;
  let pending: { bytes: Promise<Uint8Array>; done: number } | undefined;
  for (let k = 0; k < slabs.length; k++) {
    const [r0, n] = slabs[k]!;
    const raw = await next!;
    next = k + 1 < slabs.length ? read(k + 1) : undefined;
    const x = dequantize(entry.type.name, raw, f32[k % 2]!);
    if (pending) {
      await write(await pending.bytes);
      yield pending.done;
    }
    const expert = Math.floor(r0 / rowsPerExpert);
    const qw = importance && importance.length > cols ? importance.subarray(expert * cols, (expert + 1) * cols) : importance;
    const bytes = pool.quantize(type, x, n, cols, qw, outBufs[k % 2]!);
    bytes.catch(() => {}); // awaited below; a run stopped before that must not see it unhandled
    pending = { bytes, done: (r0 + n) * inRow };
  }
  if (pending) {
    await write(await pending.bytes);
    yield pending.done;
  }
}

/**
 * A run's slabs, grown to the largest tensor's and kept: two of each kind, alternating — input
 * bytes (one read while the other is widened), f32 rows and output bytes (one pair quantized by
 * the workers while the other is widened and written), those two shared with the workers.
 */
class SlabBuffers {
  private readonly inputs: ArrayBuffer[] = [];
  private readonly rowsBuffers = [new SharedArrayBuffer(0), new SharedArrayBuffer(0)];
  private readonly outputBuffers = [new SharedArrayBuffer(0), new SharedArrayBuffer(0)];
  input(which: number, bytes: number): Uint8Array {
    const have = this.inputs[which];
    return new Uint8Array(have !== undefined && have.byteLength >= bytes ? have : (this.inputs[which] = new ArrayBuffer(bytes)), 0, bytes);
  }
  rows(which: number, n: number): Float32Array {
    return new Float32Array(SlabBuffers.atLeast(this.rowsBuffers, which, n * 4), 0, n);
  }
  output(which: number, bytes: number): Uint8Array {
    return new Uint8Array(SlabBuffers.atLeast(this.outputBuffers, which, bytes), 0, bytes);
  }
  private static atLeast(buffers: SharedArrayBuffer[], which: number, bytes: number): SharedArrayBuffer {
    if (buffers[which]!.byteLength < bytes) buffers[which] = new SharedArrayBuffer(bytes);
    return buffers[which]!;
  }
}
