// The bytes of one planned output tensor, whatever its operation: streamed from its one source
// (copy, scale, zero, convert: tensor-stream.ts) or merged from several (src/merge's executor,
// one tensor's inputs in memory). Builds, verification, conversion and the engine's virtual
// plans all produce tensors through here.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { writeMergedTensor, type MergeRunOptions } from "../merge/executor.js";
import type { TensorOp } from "../plan/types.js";
import { streamTensor, type ChunkBuffers } from "./tensor-stream.js";

export async function produceTensor(
  op: TensorOp,
  checkpoints: readonly Checkpoint[],
  write: (bytes: Uint8Array) => Promise<void>,
  buffers: ChunkBuffers,
  merge: MergeRunOptions = {},
): Promise<void> {
  if (op.merge === undefined) {
    await streamTensor(op, checkpoints[op.source]!.tensors.get(op.from)!, write, buffers);
    return;
  }
  await writeMergedTensor(op, checkpoints, write, merge);
}
