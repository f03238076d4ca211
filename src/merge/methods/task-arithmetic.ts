// The generalized task arithmetic family (mergekit generalized_task_arithmetic.py):
// task_arithmetic, ties, dare_linear, dare_ties, breadcrumbs, breadcrumbs_ties, della,
// della_linear. Task vectors δ_k = x_k − base are sparsified (sparsify.ts), weighted, optionally
// sign-elected (TIES: keep w_k·δ_k whose sign matches that of Σ_k w_k·δ_k), summed, divided by the
// kept weights when `normalize`, scaled by `lambda` and added to the base.

import { TASK_ARITHMETIC_VARIANTS, type TaskArithmeticVariant } from "../../recipe/merge-methods.js";
import { rounder, type Rounder } from "../float.js";
import { lastDim, type MergeInputs, type MergeKernel } from "../kernel.js";
import { keyedStream } from "../rng.js";
import { sparsify } from "../sparsify.js";
import { sign, subtractBase } from "../task-vectors.js";

export function taskArithmeticKernel(name: string): MergeKernel {
  const variant = TASK_ARITHMETIC_VARIANTS[name];
  if (variant === undefined) throw new Error(`not a task arithmetic method: ${name}`);
  return (m) => taskArithmetic(m, variant);
}

function taskArithmetic(m: MergeInputs, v: TaskArithmeticVariant): Float32Array {
  const r = rounder(m.dtype);
  const baseIndex = m.base!;
  const base = m.tensors[baseIndex]!;
  const deltas: Float32Array[] = [];
  const weights: number[] = [];
  m.tensors.forEach((x, k) => {
    if (k === baseIndex) return;
    const p = m.perInput[k]!;
    const delta = subtractBase(x, base, r);
    if (v.sparsify !== null) {
      sparsify(delta, {
        method: v.sparsify,
        density: Number(p.density),
        rescale: m.params.rescale === true,
        ...(p.gamma !== undefined ? { gamma: Number(p.gamma) } : {}),
        ...(p.epsilon !== undefined ? { epsilon: Number(p.epsilon) } : {}),
        cols: m.shape.length < 2 ? delta.length : lastDim(m.shape),
        dtype: m.dtype,
        stream: keyedStream(m.seed, m.key, k),
      });
    }
    deltas.push(delta);
    weights.push(r(Number(p.weight)));
  });
  if (deltas.length === 0) return base;
  return combine(base, deltas, weights, v.consensus === "sum", m.params.normalize === true, Number(m.params.lambda), r);
}

/** base + λ·(Σ kept w_k·δ_k) / (Σ kept w_k), one element at a time; sums accumulate in float32. */
export function combine(base: Float32Array, deltas: Float32Array[], w: number[], consensus: boolean, normalize: boolean, lambda: number, r: Rounder, out = new Float32Array(base.length), start = 0, end = base.length): Float32Array {
  const K = deltas.length;
  const lam = r(lambda);
  const wd = new Float64Array(K);
  let plainDivisor = 0;
  for (let k = 0; k < K; k++) plainDivisor = Math.fround(plainDivisor + w[k]!);
  plainDivisor = r(plainDivisor);
  if (Math.abs(plainDivisor) < 1e-8) plainDivisor = 1;
  for (let i = start; i < end; i++) {
    let mixed = 0;
    let divisor: number;
    if (consensus) {
      let total = 0;
      for (let k = 0; k < K; k++) {
        wd[k] = r(deltas[k]![i]! * w[k]!);
        total = Math.fround(total + wd[k]!);
      }
      const majority = r(total) >= 0 ? 1 : -1;
      let kept = 0;
      for (let k = 0; k < K; k++) {
        if (sign(wd[k]!) === majority) {
          mixed = Math.fround(mixed + wd[k]!);
          kept = Math.fround(kept + w[k]!);
        }
      }
      mixed = r(mixed);
      divisor = r(kept);
      if (divisor === 0) divisor = 1;
    } else {
      for (let k = 0; k < K; k++) mixed = Math.fround(mixed + r(deltas[k]![i]! * w[k]!));
      mixed = r(mixed);
      divisor = plainDivisor;
    }
    if (normalize) mixed = r(mixed / divisor);
    if (lambda !== 1) mixed = r(mixed * lam);
    out[i] = r(base[i]! + mixed);
  }
  return out;
}
