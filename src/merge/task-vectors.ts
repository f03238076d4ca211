// Task vectors and TIES sign consensus (mergekit generalized_task_arithmetic.py get_task_vectors
// and get_mask): δ_k = x_k − base, and per element the sign of Σ_k w_k·δ_k (≥ 0 counts as +)
// against which each weighted delta is kept or dropped.

import type { Rounder } from "./float.js";

/** δ = x − base in place in `x`. */
export function subtractBase(x: Float32Array, base: Float32Array, r: Rounder): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = r(x[i]! - base[i]!);
  return x;
}

/** torch.sign as mergekit's mask compares it: −1, 0 or 1 (±0 → 0). */
export function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}
