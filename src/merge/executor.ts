// The tensor-merge executor: one planned `merge` operation in, its output bytes out. Reads each
// input's bytes, dequantizes them (GGUF Q/K rows back in HF order, so element order, filters and
// random streams are the same as from safetensors), cuts embeddings to the planned shape, rounds
// to the working type, runs the method's kernel (on the worker pool when given) and converts or
// quantizes to the output type. Memory: the inputs of this one tensor plus its output.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { permuteQK, unpermuteQK } from "../convert/qk-permute.js";
import { tensorType } from "../formats/tensor-types.js";
import type { TensorOp } from "../plan/types.js";
import type { TensorEntry } from "../formats/tensor.js";
import { inlineExec, type BlockExec } from "./blocks.js";
import { quantizeRows } from "../quant/quantize.js";
import { MERGE_KERNELS } from "./methods/index.js";
import { MergeError } from "./merge-error.js";
import { submatrix } from "./rectify.js";
import { permuteEmbeddings } from "./permute-embeddings.js";
import { mergeMethodInfo } from "../recipe/merge-methods.js";
import { mergesOnBf16 } from "./methods/task-arithmetic.js";
import { streamTaskMergeBf16 } from "./stream-bf16.js";
import { KernelMemory } from "./wasm-memory.js";

export interface MergeRunOptions {
  /** the random methods' seed (default 0) */
  seed?: number;
  /** where block kernels run (default: this thread) */
  exec?: BlockExec;
  /** quirks that fire while merging */
  warn?: (message: string) => void;
  /** elements per chunk where a merge streams (stream-bf16.ts; tests make it small) */
  streamChunk?: number;
}

/** The merged values of `op` (float32 holding values of the working type), in HF element order. */
export async function mergeTensorValues(op: TensorOp, checkpoints: readonly Checkpoint[], o: MergeRunOptions = {}): Promise<Float32Array> {
  const spec = op.merge;
  if (spec === undefined) throw new MergeError("MERGE_NOT_MERGE", `${op.name} is not a merge operation`);
  const exec = o.exec ?? inlineExec;
  const elements = op.shape.reduce((a, b) => a * b, 1);
  const tensors: Float32Array[] = [];
  const K = spec.inputs.length;
  for (const [k, input] of spec.inputs.entries()) {
    const entry = sourceEntry(op, input, checkpoints);
    const count = input.shape.reduce((a, b) => a * b, 1);
    // slots K.. hold a full-size input before an embedding is cut or rearranged to the planned rows
    let values = exec.slot(count === elements && !spec.vocab ? k : K + k, count);
    await readValues(entry, input.fromType, values, exec);
    if (spec.qkHeads !== undefined) values.set(unpermuteQK(values, spec.qkHeads, input.shape[0]!)); // HF row order
    if (count !== elements && !spec.vocab) values = copyInto(submatrix(values, input.shape, op.shape), exec.slot(k, elements));
    tensors.push(values);
  }
  // an input stored in the working type holds its values already (F32 work rounds nothing)
  for (const [k, x] of tensors.entries()) if (spec.dtype !== "F32" && spec.inputs[k]!.fromType !== spec.dtype) await exec.mapRanges("round", { x, dtype: spec.dtype }, x.length);
  if (spec.vocab) {
    const permuted = spec.inputs.map((_, k) => exec.slot(k, elements));
    permuteEmbeddings(spec, tensors, permuted, op.shape[1]!, spec.dtype);
    tensors.splice(0, tensors.length, ...permuted);
    const info = mergeMethodInfo(spec.method);
    if (tensors.length === 1 && info?.alone !== "compute") return tensors[0]!; // a lone input is only rearranged
  }
  const kernel = MERGE_KERNELS[spec.method];
  if (!kernel) throw new MergeError("MERGE_METHOD", `no kernel for merge method ${spec.method}`);
  return kernel({
    tensors,
    shape: op.shape,
    base: spec.base,
    params: spec.params,
    perInput: spec.inputs.map((i) => i.params),
    dtype: spec.dtype,
    key: spec.key,
    seed: o.seed ?? 0,
    warn: o.warn ?? (() => undefined),
  }, exec);
}

/** The stored tensor an input of `op` reads, as planned (else the source changed since). */
function sourceEntry(op: TensorOp, input: NonNullable<TensorOp["merge"]>["inputs"][number], checkpoints: readonly Checkpoint[]): TensorEntry {
  const c = checkpoints[input.source];
  const entry = c?.tensors.get(input.from);
  if (!c || !entry || entry.type.name !== input.fromType || entry.shape.join(",") !== input.shape.join(",")) {
    throw new MergeError("MERGE_SOURCE_CHANGED", `${c?.ref ?? `source ${input.source}`}: ${input.from} is not the ${input.fromType} [${input.shape.join(", ")}] tensor the plan expected (${op.name})`, {
      hint: "the source changed since it was planned; plan again",
    });
  }
  return entry;
}

/** why 4 MiB of values: conversion chunks stay small beside the inputs, and whole rows */
const OUTPUT_CHUNK_ELEMENTS = 1 << 20;

/**
 * The merged tensor as bytes of `op.type` (a float type, or for GGUF outputs a ggml block type
 * quantized as llama-quantize does), handed to `write` a few whole rows at a time.
 */
export async function writeMergedTensor(op: TensorOp, checkpoints: readonly Checkpoint[], write: (bytes: Uint8Array) => Promise<void>, o: MergeRunOptions = {}): Promise<void> {
  if (await mergeOnBf16(op, checkpoints, write, o)) return;
  let values = await mergeTensorValues(op, checkpoints, o);
  const qk = op.merge!.qkHeads;
  if (qk !== undefined) values = permuteQK(values, qk, op.shape[0]!); // back to llama.cpp's row order
  const type = tensorType(op.type)!;
  const cols = op.shape[op.shape.length - 1] ?? 1;
  const rowsPerChunk = Math.max(1, Math.floor(OUTPUT_CHUNK_ELEMENTS / cols));
  const exec = o.exec ?? inlineExec;
  let written = 0;
  let writing: Promise<void> | undefined; // the previous chunk's write, while this one converts
  for (let row = 0, i = 0; row * cols < values.length; row += rowsPerChunk, i++) {
    const part = values.subarray(row * cols, Math.min(values.length, (row + rowsPerChunk) * cols));
    const bytes = type.float ? await floatBytes(part, op.type, exec, i % 2) : quantizeRows(op.type, part, part.length / cols, cols);
    await writing;
    written += bytes.byteLength;
    writing = write(bytes);
    writing.catch(() => undefined); // its failure surfaces when awaited, not as an unhandled rejection
  }
  await writing;
  if (written !== op.byteLength) throw new MergeError("MERGE_OUTPUT_SIZE", `${op.name}: ${written} bytes merged, the plan says ${op.byteLength}`);
}

/** `part` as bytes of a float type: F32 is a view of it; F16/BF16 go into scratch `which` (valid until it is reused). */
async function floatBytes(part: Float32Array, typeName: string, exec: BlockExec, which: number): Promise<Uint8Array> {
  if (typeName === "F32") return new Uint8Array(part.buffer, part.byteOffset, part.byteLength);
  const out = exec.scratch(part.length * 2, which);
  await exec.mapRanges("narrow", { x: part, out, type: typeName }, part.length);
  return out;
}

/**
 * The merge on bf16 storage, where it applies (stream-bf16.ts): bf16 inputs streamed in chunks
 * through the SIMD kernels with working type BF16 into a BF16 output, the bytes the float32 path
 * writes at a few chunks' memory. False (nothing written) where it does not apply.
 */
async function mergeOnBf16(op: TensorOp, checkpoints: readonly Checkpoint[], write: (bytes: Uint8Array) => Promise<void>, o: MergeRunOptions): Promise<boolean> {
  const spec = op.merge!;
  const elements = op.shape.reduce((a, b) => a * b, 1);
  const applies = KernelMemory.available() && spec.dtype === "BF16" && op.type === "BF16" && spec.base !== undefined && !spec.vocab && spec.qkHeads === undefined
    && spec.inputs.every((i) => i.fromType === "BF16" && i.shape.reduce((a, b) => a * b, 1) === elements)
    && mergesOnBf16(spec.method, spec.params, spec.inputs.length);
  if (!applies) return false;
  const entries = spec.inputs.map((input) => {
    const entry = sourceEntry(op, input, checkpoints);
    if (entry.byteLength !== elements * 2) throw new MergeError("MERGE_SOURCE_CHANGED", `${entry.source.name}: ${entry.name} holds ${entry.byteLength} bytes, the plan expected ${elements * 2}`);
    return entry;
  });
  let written = 0;
  await streamTaskMergeBf16({
    method: spec.method, entries, base: spec.base!, elements, params: spec.params, perInput: spec.inputs.map((i) => i.params),
    ...(o.streamChunk !== undefined ? { chunk: o.streamChunk } : {}),
  }, (bytes) => ((written += bytes.byteLength), write(bytes)), o.exec);
  if (written !== op.byteLength) throw new MergeError("MERGE_OUTPUT_SIZE", `${op.name}: ${written} bytes merged, the plan says ${op.byteLength}`);
  return true;
}

/** The merged tensor's bytes in one array (tests, small tensors). */
export async function mergeTensorBytes(op: TensorOp, checkpoints: readonly Checkpoint[], o: MergeRunOptions = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  await writeMergedTensor(op, checkpoints, async (b) => void parts.push(b.slice()), o);
  return Buffer.concat(parts);
}

/** why 4 MiB: whole blocks of any type, two of them (one read while one dequantizes) small beside a tensor's values */
const READ_CHUNK_BYTES = 4 * 1024 * 1024;

/** Reads and dequantizes a stored tensor into `values`, a chunk of whole blocks at a time. */
async function readValues(entry: TensorEntry, typeName: string, values: Float32Array, exec: BlockExec): Promise<void> {
  const type = tensorType(typeName)!;
  const chunk = Math.max(1, Math.floor(READ_CHUNK_BYTES / type.blockBytes)) * type.blockBytes;
  if ((entry.byteLength / type.blockBytes) * type.blockElems !== values.length) {
    throw new MergeError("MERGE_SOURCE_CHANGED", `${entry.source.name}: ${entry.name} holds ${(entry.byteLength / type.blockBytes) * type.blockElems} elements, the plan expected ${values.length}`);
  }
  // chunk i+1 is read (on libuv's threads) while chunk i dequantizes (on the block kernels' threads)
  const read = async (at: number, which: number): Promise<Uint8Array> => {
    const raw = exec.scratch(Math.min(chunk, entry.byteLength - at), which);
    await entry.source.readInto(entry.offset + at, raw);
    return raw;
  };
  let next: Promise<Uint8Array> | undefined = read(0, 0);
  for (let at = 0, i = 0; next !== undefined; at += chunk, i++) {
    const raw: Uint8Array = await next;
    next = at + chunk < entry.byteLength ? read(at + chunk, (i + 1) % 2) : undefined;
    next?.catch(() => undefined); // its failure surfaces when awaited, not as an unhandled rejection
    const first = (at / type.blockBytes) * type.blockElems;
    const count = (raw.byteLength / type.blockBytes) * type.blockElems;
    await exec.map("dequantize", { raw, type: typeName, out: values.subarray(first, first + count) }, count, type.blockElems);
  }
}

function copyInto(values: Float32Array, target: Float32Array): Float32Array {
  target.set(values);
  return target;
}
