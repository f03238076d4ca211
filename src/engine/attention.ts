// Causal grouped-query attention over one sequence, with both matmuls (QKᵀ and PV) on the
// MatmulKernel: the query heads sharing one KV head are stacked so each group is two matmuls.
// Queries go in blocks so only keys ≤ the block's last position are scored (skips ~half the causal
// triangle for long T) and the score buffer stays bounded. Not for KV caches or padding masks.

import type { MatmulKernel } from "./matmul-kernel.js";
import { bufferElements } from "./validate.js";

export interface AttentionShape {
  tokens: number; // T
  heads: number; // H query heads
  kvHeads: number; // KV heads; heads / kvHeads query heads share one
  headDim: number;
  /** query positions per block (default: sized so scores stay near 4M floats); tests force small blocks. */
  queryBlock?: number;
}

/** Query positions per block: keeps the score buffer [group·block, T] near 4M floats. */
function queryBlock(tokens: number, groupSize: number): number {
  const block = Math.floor((1 << 22) / Math.max(1, groupSize * tokens));
  return Math.max(16, Math.min(tokens, block));
}

/** softmax(q·kᵀ/√d + causal mask)·v. q [T, H·d], k and v [T, KV·d] (after RoPE) → [T, H·d].
 * Probabilities are not kept: a backward pass recomputes them per block from q and k. */
export function attentionForward(
  kernel: MatmulKernel,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  s: AttentionShape,
): Float32Array {
  const { tokens: T, heads: H, kvHeads: KV, headDim: d } = s;
  const group = H / KV;
  const scale = 1 / Math.sqrt(d);
  const out = new Float32Array(bufferElements("attention output", T, H * d));
  const block = Math.max(1, Math.floor(s.queryBlock ?? queryBlock(T, group)));
  for (let g = 0; g < KV; g++) {
    for (let t0 = 0; t0 < T; t0 += block) {
      const t1 = Math.min(T, t0 + block);
      const rowsPerHead = t1 - t0;
      const rows = group * rowsPerHead;
      const keys = t1; // causal: no query in this block sees past t1-1
      // Q block [rows = (head j, position t), d], pre-scaled by 1/√d
      const qb = new Float32Array(rows * d);
      for (let j = 0; j < group; j++) {
        const h = g * group + j;
        for (let t = t0; t < t1; t++) {
          const src = (t * H + h) * d;
          const dst = (j * rowsPerHead + (t - t0)) * d;
          for (let i = 0; i < d; i++) qb[dst + i] = q[src + i]! * scale;
        }
      }
      // Kᵀ [d, keys] and V [keys, d] for this KV head
      const kT = new Float32Array(d * keys);
      const vb = new Float32Array(keys * d);
      for (let u = 0; u < keys; u++) {
        const src = (u * KV + g) * d;
        for (let i = 0; i < d; i++) {
          kT[i * keys + u] = k[src + i]!;
          vb[u * d + i] = v[src + i]!;
        }
      }
      const scores = kernel.matmul(qb, kT, rows, d, keys); // [rows, keys]
      causalSoftmaxInPlace(scores, group, t0, t1, keys);
      const ob = kernel.matmul(scores, vb, rows, keys, d); // [rows, d]
      for (let j = 0; j < group; j++) {
        const h = g * group + j;
        for (let t = t0; t < t1; t++) {
          const src = (j * rowsPerHead + (t - t0)) * d;
          out.set(ob.subarray(src, src + d), (t * H + h) * d);
        }
      }
    }
  }
  return out;
}

/** Row (head j, position t) keeps keys 0..t, softmaxed; keys > t become exactly 0. */
function causalSoftmaxInPlace(scores: Float32Array, group: number, t0: number, t1: number, keys: number): void {
  const rowsPerHead = t1 - t0;
  for (let j = 0; j < group; j++) {
    for (let t = t0; t < t1; t++) {
      const o = (j * rowsPerHead + (t - t0)) * keys;
      let max = -Infinity;
      for (let u = 0; u <= t; u++) if (scores[o + u]! > max) max = scores[o + u]!;
      let sum = 0;
      for (let u = 0; u <= t; u++) {
        const e = Math.exp(scores[o + u]! - max);
        scores[o + u] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let u = 0; u <= t; u++) scores[o + u]! *= inv;
      scores.fill(0, o + t + 1, o + keys);
    }
  }
}
