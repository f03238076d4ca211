// The generalized task arithmetic family (mergekit generalized_task_arithmetic.py):
// task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, breadcrumbs_ties, della,
// della_linear. Task vectors δ_k = x_k − base are sparsified (sparsify.ts), weighted, optionally
// sign-elected (TIES: keep w_k·δ_k whose sign matches that of Σ_k w_k·δ_k, zeros never), summed,
// divided by the kept weights when `normalize`, scaled by `lambda` and added to the base. Sums
// over models accumulate in float32 in model order, as torch's sum over the stacked dim does.

import { TASK_ARITHMETIC_VARIANTS, type TaskArithmeticVariant } from "../../recipe/merge-methods.js";
import type { BlockExec } from "../blocks.js";
import { rounder, type WorkType } from "../float.js";
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
 * (stream-bf16.ts): task arithmetic, or TIES without rescaling, with 1–4 task vectors.
 */
export function mergesOnBf16(method: string, params: Record<string, number | boolean>, inputs: number): boolean {
  const v = TASK_ARITHMETIC_VARIANTS[method];
  return v !== undefined && (v.sparsify === null || fusedTopK(v, params)) && inputs >= 2 && inputs - 1 <= MAX_CUT_INPUTS;
}

/** TIES without rescaling: each delta's top-k is applied by the combine as it reads the delta (select.ts topKCut), a pass over every delta fewer than zeroing them first. */
export const fusedTopK = (v: TaskArithmeticVariant, params: Record<string, number | boolean>): boolean => v.sparsify === "magnitude" && params.rescale !== true;

/**
 * The task vectors' weights in the working type, in input order without the base, and the sum
 * they are divided by when normalizing (float32 in order, then rounded; 1 where it is ~0).
 */
export function taskWeights(perInput: readonly Record<string, number | boolean>[], baseIndex: number, dtype: WorkType): { weights: number[]; divisor: number } {
  const r = rounder(dtype);
  const weights = perInput.filter((_, k) => k !== baseIndex).map((p) => r(Number(p.weight)));
  let divisor = 0;
  for (const w of weights) divisor = Math.fround(divisor + w);
  divisor = r(divisor);
  return { weights, divisor: Math.abs(divisor) < 1e-8 ? 1 : divisor };
}

async function taskArithmetic(m: MergeInputs, v: TaskArithmeticVariant, exec: BlockExec): Promise<Float32Array> {
  const baseIndex = m.base!;
  const base = m.tensors[baseIndex]!;
  const n = base.length;
  const deltas: Float32Array[] = [];
  const fused = fusedTopK(v, m.params);
  const cuts: TopKCut[] = [];
  for (let k = 0; k < m.tensors.length; k++) {
    if (k === baseIndex) continue;
    const p = m.perInput[k]!;
    const delta = m.tensors[k]!; // becomes the task vector in place
    const ranked = v.sparsify !== null && ranksMagnitudes(v.sparsify) && Number(p.density) < 1;
    const parts = await exec.mapRanges<{ counts: Uint32Array; lowBits: number }>("subtract", { x: delta, base, dtype: m.dtype, histogram: ranked }, n);
    if (fused) {
      cuts.push(await topKCut(delta, Math.trunc(Number(p.density) * n), exec, ranked ? addHistograms(parts) : undefined));
    } else if (v.sparsify !== null) {
      await sparsify(delta, {
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
  }
  if (deltas.length === 0) return base;
  const { weights, divisor } = taskWeights(m.perInput, baseIndex, m.dtype);
  // the result overwrites the base: each element reads its own inputs before it is written
  await exec.map("combine", {
    base, deltas, w: weights, consensus: v.consensus === "sum", normalize: m.params.normalize === true,
    lambda: Number(m.params.lambda), divisor, dtype: m.dtype, out: base, ...(fused ? { cuts } : {}),
  }, n);
  return base;
}
