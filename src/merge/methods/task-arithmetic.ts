// The generalized task arithmetic family (mergekit generalized_task_arithmetic.py):
// task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, breadcrumbs_ties, della,
// della_linear. Task vectors δ_k = x_k − base are sparsified (sparsify.ts), weighted, optionally
// sign-elected (TIES: keep w_k·δ_k whose sign matches that of Σ_k w_k·δ_k, zeros never), summed,
// divided by the kept weights when `normalize`, scaled by `lambda` and added to the base. Sums
// over models accumulate in float32 in model order, as torch's sum over the stacked dim does.

import { TASK_ARITHMETIC_VARIANTS, type TaskArithmeticVariant } from "../../recipe/merge-methods.js";
import type { BlockExec } from "../blocks.js";
import { rounder } from "../float.js";
import { lastDim, type MergeInputs, type MergeKernel } from "../kernel.js";
import { keyedStream } from "../rng.js";
import { addHistograms, topKCut, type TopKCut } from "../select.js";
import { ranksMagnitudes, sparsify } from "../sparsify.js";
import { MAX_CUT_INPUTS } from "../wasm-kernels.js";

export function taskArithmeticKernel(name: string): MergeKernel {
  const variant = TASK_ARITHMETIC_VARIANTS[name];
  if (variant === undefined) throw new Error(`not a task arithmetic method: ${name}`);
  return (m, exec) => taskArithmetic(m, variant, exec);
}

/**
 * Whether a merge of `inputs` tensors (the base among them) can run on bf16 storage
 * (`taskArithmeticBf16`): task arithmetic, or TIES without rescaling, with 1–4 task vectors.
 */
export function mergesOnBf16(method: string, params: Record<string, number | boolean>, inputs: number): boolean {
  const v = TASK_ARITHMETIC_VARIANTS[method];
  return v !== undefined && (v.sparsify === null || fusedTopK(v, params)) && inputs >= 2 && inputs - 1 <= MAX_CUT_INPUTS;
}

/** TIES without rescaling: each delta's top-k is applied by the combine as it reads the delta (select.ts topKCut), a pass over every delta fewer than zeroing them first. */
const fusedTopK = (v: TaskArithmeticVariant, params: Record<string, number | boolean>): boolean => v.sparsify === "magnitude" && params.rescale !== true;

/**
 * The same merge on bf16 storage (working type BF16, `mergesOnBf16`): the inputs' bf16 bits in,
 * and the output's bf16 bytes back in the base's array — half the memory and traffic of float32.
 */
export async function taskArithmeticBf16(m: Omit<MergeInputs, "tensors" | "dtype"> & { method: string; tensors: Uint16Array[] }, exec: BlockExec): Promise<Uint16Array> {
  return taskArithmetic({ ...m, dtype: "BF16" }, TASK_ARITHMETIC_VARIANTS[m.method]!, exec);
}

async function taskArithmetic<T extends Float32Array | Uint16Array>(m: Omit<MergeInputs, "tensors"> & { tensors: T[] }, v: TaskArithmeticVariant, exec: BlockExec): Promise<T> {
  const r = rounder(m.dtype);
  const baseIndex = m.base!;
  const base = m.tensors[baseIndex]!;
  const n = base.length;
  const packed = base instanceof Uint16Array;
  const deltas: T[] = [];
  const weights: number[] = [];
  const fused = fusedTopK(v, m.params);
  const cuts: TopKCut[] = [];
  for (let k = 0; k < m.tensors.length; k++) {
    if (k === baseIndex) continue;
    const p = m.perInput[k]!;
    const delta = m.tensors[k]!; // becomes the task vector in place
    const ranked = v.sparsify !== null && ranksMagnitudes(v.sparsify) && Number(p.density) < 1;
    const parts = await exec.mapRanges<{ counts: Uint32Array; lowBits: number }>(packed ? "subtractBf16" : "subtract", { x: delta, base, dtype: m.dtype, histogram: ranked }, n);
    if (fused) {
      cuts.push(await topKCut(delta, Math.trunc(Number(p.density) * n), exec, ranked ? addHistograms(parts) : undefined));
    } else if (v.sparsify !== null) {
      if (packed) throw new Error(`${v.sparsify} sparsification does not run on bf16 storage`);
      await sparsify(delta as Float32Array, {
        method: v.sparsify,
        density: Number(p.density),
        rescale: m.params.rescale === true,
        ...(p.gamma !== undefined ? { gamma: Number(p.gamma) } : {}),
        ...(p.epsilon !== undefined ? { epsilon: Number(p.epsilon) } : {}),
        cols: m.shape.length < 2 ? n : lastDim(m.shape),
        dtype: m.dtype,
        stream: keyedStream(m.seed, m.key, k),
        ...(ranked ? { histogram: addHistograms(parts) } : {}),
      }, exec);
    }
    deltas.push(delta);
    weights.push(r(Number(p.weight)));
  }
  if (deltas.length === 0) return base;
  let divisor = 0;
  for (const w of weights) divisor = Math.fround(divisor + w);
  divisor = r(divisor);
  if (Math.abs(divisor) < 1e-8) divisor = 1;
  // the result overwrites the base: each element reads its own inputs before it is written
  await exec.map(packed ? "combineBf16" : "combine", {
    base, deltas, w: weights, consensus: v.consensus === "sum", normalize: m.params.normalize === true,
    lambda: Number(m.params.lambda), divisor, dtype: m.dtype, out: base, ...(fused ? { cuts } : {}),
  }, n);
  return base;
}
