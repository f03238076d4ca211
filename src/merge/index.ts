// The merge folder's public surface: the tensor-merge executor and its worker pool, the method
// kernels by name, and the pieces tests and the engine use.

export { mergeTensorBytes, mergeTensorValues, writeMergedTensor, type MergeRunOptions } from "./executor.js";
export { MergePool, defaultMergeWorkers } from "./pool.js";
export { createInlineExec, inlineExec, type BlockExec } from "./blocks.js";
export { MERGE_KERNELS } from "./methods/index.js";
export { MergeError } from "./merge-error.js";
export type { WorkType } from "./float.js";
