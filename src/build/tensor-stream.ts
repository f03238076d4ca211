// Produces the bytes of one output tensor from its source, chunk by chunk, applying the plan's
// transform (copy, convert, scale, zero). Memory is two chunk buffers, whatever the tensor size:
// reads of the next chunk overlap the write of the current one.

import { BuildError } from "../errors.js";
import { convertTensorBytes, fromFloat32, toFloat32 } from "../formats/dtype-convert.js";
import type { TensorEntry } from "../formats/tensor.js";
import { tensorType } from "../formats/tensor-types.js";
import type { TensorOp } from "../plan/types.js";

/** why 8 MiB: syscalls vanish against disk time, and two buffers stay far below the RSS goal */
export const CHUNK_BYTES = 8 * 1024 * 1024;

export interface ChunkBuffers {
  a: Uint8Array;
  b: Uint8Array;
  /** scratch for converted output */
  out: Uint8Array;
}

export function newChunkBuffers(): ChunkBuffers {
  return { a: new Uint8Array(CHUNK_BYTES), b: new Uint8Array(CHUNK_BYTES), out: new Uint8Array(CHUNK_BYTES * 2) };
}

/**
 * Calls `write` with the output bytes of `op` in order. Each chunk is only valid until the
 * returned promise of `write` resolves (buffers are reused).
 */
export async function streamTensor(
  op: TensorOp,
  entry: TensorEntry,
  write: (bytes: Uint8Array) => Promise<void>,
  buffers: ChunkBuffers,
): Promise<void> {
  if (entry.type.name !== op.fromType || entry.byteLength !== sourceBytes(op)) {
    throw new BuildError("build.source-changed", `${entry.source.name}: ${entry.name} is ${entry.type.name} with ${entry.byteLength} bytes, but the plan expected ${op.fromType}`, {
      hint: "the source changed since it was planned; plan again",
    });
  }
  const t = op.transform;
  if (t.kind === "merge") {
    throw new BuildError("build.merge-op", `${op.name} is a merge of ${op.merge?.inputs.length ?? 0} tensors; it is computed by src/merge, not streamed from one source`);
  }
  if (t.kind === "zero") {
    buffers.out.fill(0);
    for (let done = 0; done < op.byteLength; ) {
      const n = Math.min(buffers.out.byteLength, op.byteLength - done);
      await write(buffers.out.subarray(0, n));
      done += n;
    }
    return;
  }
  const from = tensorType(op.fromType)!;
  const to = tensorType(op.type)!;
  // Chunks hold whole elements of the source type (blocks, for quantized copies).
  const unit = from.blockBytes;
  const chunk = Math.max(unit, CHUNK_BYTES - (CHUNK_BYTES % unit));
  let pending: Promise<void> | undefined;
  let offset = 0;
  let current = buffers.a;
  let spare = buffers.b;
  let next = readChunk(entry, offset, Math.min(chunk, entry.byteLength), current);
  while (offset < entry.byteLength) {
    const bytes = await next; // in `current`
    offset += bytes.byteLength;
    // The previous write used `spare`; only when it is done may the next read fill it.
    if (pending) await pending;
    pending = undefined;
    if (offset < entry.byteLength) next = readChunk(entry, offset, Math.min(chunk, entry.byteLength - offset), spare);
    let out: Uint8Array;
    if (t.kind === "copy") out = bytes;
    else if (t.kind === "convert") out = convertTensorBytes(bytes, from, to, buffers.out);
    else {
      const f = toFloat32(bytes, from);
      const off = t.offset ?? 0;
      if (off === 0) for (let i = 0; i < f.length; i++) f[i] = f[i]! * t.factor;
      else for (let i = 0; i < f.length; i++) f[i] = (f[i]! + off) * t.factor - off;
      out = fromFloat32(f, to);
    }
    pending = write(out);
    // Mark it handled now: if this write fails while the loop awaits the next read, Node would
    // otherwise report an unhandled rejection and exit before the caller removes its temp output.
    // The failure is still thrown where `pending` is awaited.
    pending.catch(() => undefined);
    [current, spare] = [spare, current];
  }
  if (pending) await pending;
}

function sourceBytes(op: TensorOp): number {
  const from = tensorType(op.fromType)!;
  const to = tensorType(op.type)!;
  return (op.byteLength / to.blockBytes) * from.blockBytes;
}

async function readChunk(entry: TensorEntry, offset: number, length: number, buffer: Uint8Array): Promise<Uint8Array> {
  const view = buffer.subarray(0, length);
  try {
    await entry.source.readInto(entry.offset + offset, view);
  } catch (cause) {
    // A short read means the file shrank after its header was read (another process rewrote or
    // truncated it mid-build): a user-caused failure, so a typed error rather than a RangeError.
    throw new BuildError("build.source-read", `${entry.source.name}: cannot read ${length} bytes of ${entry.name} at offset ${entry.offset + offset}: ${(cause as Error).message}`, {
      hint: "the source file changed or was truncated after it was opened; check it (dusk inspect) and build again",
      cause,
    });
  }
  return view;
}
