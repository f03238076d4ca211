// What a merge method's kernel gets and returns: the inputs of one output tensor as float arrays
// already rounded to the working type, the evaluated parameters, and the key of the tensor's
// random stream. Kernels may overwrite their inputs (memory stays one tensor's inputs).

import type { BlockExec } from "./blocks.js";
import type { WorkType } from "./float.js";

export interface MergeInputs {
  /** one per input, each of `shape`, values of the working type */
  tensors: Float32Array[];
  /** outermost first */
  shape: number[];
  /** index of the base model's tensor */
  base: number | undefined;
  /** per-tensor parameters (t, normalize, lambda, …) */
  params: Record<string, number | boolean>;
  /** per-input parameters (weight, density, …) */
  perInput: Record<string, number | boolean>[];
  dtype: WorkType;
  /** the output tensor's HF name: random streams are keyed on it */
  key: string;
  seed: number;
  /** quirks that fired, for the user */
  warn: (message: string) => void;
}

/** Computes one tensor; the heavy loops of some methods go through `exec` (worker threads). */
export type MergeKernel = (m: MergeInputs, exec: BlockExec) => Float32Array | Promise<Float32Array>;

export function num(params: Record<string, number | boolean>, name: string): number {
  return Number(params[name]);
}

/** Σ_k f(k) accumulated in float32 in order, as torch's sum over a stacked dim 0 does. */
export function lastDim(shape: readonly number[]): number {
  return shape.length === 0 ? 1 : shape[shape.length - 1]!;
}
