// Causal grouped-query attention over one sequence, with both matmuls (QKᵀ and PV) on the
// MatmulKernel: the query heads sharing one KV head are stacked so each group is two matmuls.
// Queries go in blocks so only keys ≤ the block's last position are scored (skips ~half the causal
// triangle for long T) and the score buffer stays bounded; a sliding window also skips the keys
// before the block's first window. Gemma's score softcapping and attention scale are options.
// Not for KV caches or padding masks.

import type { MatmulKernel } from "./matmul-kernel.js";
import { bufferElements } from "./validate.js";

export interface AttentionShape {
  tokens: number; // T
  heads: number; // H query heads
  kvHeads: number; // KV heads; heads / kvHeads query heads share one
  headDim: number;
  /** query positions per block (default: sized so scores stay near 4M floats); tests force small blocks. */
  queryBlock?: number;
  /** multiplies q·k (default headDim^-½; Gemma: query_pre_attn_scalar^-½) */
  scale?: number;
  /** scores s become cap·tanh(s/cap) before the softmax (Gemma 2) */
  softcap?: number;
  /** sliding window: query t sees keys u with t − window < u ≤ t */
  window?: number;
}

/** Query positions per block: keeps the score buffer [group·block, T] near 4M floats. */
export function queryBlockSize(s: AttentionShape): number {
  if (s.queryBlock !== undefined) return Math.max(1, Math.floor(s.queryBlock));
  const group = s.heads / s.kvHeads;
  const block = Math.floor((1 << 22) / Math.max(1, group * s.tokens));
  return Math.max(16, Math.min(s.tokens, block));
}

/** First key position any query of [t0, t1) sees: 0, or t0 − window + 1 under a sliding window. */
export function firstKey(t0: number, window: number | undefined): number {
  return window === undefined ? 0 : Math.max(0, t0 - window + 1);
}

/** softmax(scale·q·kᵀ (softcapped) + causal/window mask)·v. q [T, H·d], k and v [T, KV·d] (after
 * RoPE) → [T, H·d]. Probabilities are not kept: a backward pass recomputes them per block. */
export function attentionForward(
  kernel: MatmulKernel,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  s: AttentionShape,
): Float32Array {
  const { tokens: T, heads: H, kvHeads: KV, headDim: d } = s;
  const group = H / KV;
  const scale = s.scale ?? 1 / Math.sqrt(d);
  const out = new Float32Array(bufferElements("attention output", T, H * d));
  const block = queryBlockSize(s);
  for (let g = 0; g < KV; g++) {
    for (let t0 = 0; t0 < T; t0 += block) {
      const t1 = Math.min(T, t0 + block);
      const rowsPerHead = t1 - t0;
      const rows = group * rowsPerHead;
      const k0 = firstKey(t0, s.window);
      const keys = t1 - k0; // causal: no query in this block sees past t1-1 (nor before k0)
      // Q block [rows = (head j, position t), d], pre-scaled
      const qb = new Float32Array(rows * d);
      for (let j = 0; j < group; j++) {
        const h = g * group + j;
        for (let t = t0; t < t1; t++) {
          const src = (t * H + h) * d;
          const dst = (j * rowsPerHead + (t - t0)) * d;
          for (let i = 0; i < d; i++) qb[dst + i] = q[src + i]! * scale;
        }
      }
      // Kᵀ [d, keys] and V [keys, d] for this KV head, keys k0..t1-1
      const kT = new Float32Array(d * keys);
      const vb = new Float32Array(keys * d);
      for (let u = 0; u < keys; u++) {
        const src = ((u + k0) * KV + g) * d;
        for (let i = 0; i < d; i++) {
          kT[i * keys + u] = k[src + i]!;
          vb[u * d + i] = v[src + i]!;
        }
      }
      const scores = kernel.matmul(qb, kT, rows, d, keys); // [rows, keys]
      maskedSoftmaxInPlace(scores, group, t0, t1, k0, keys, s.window, s.softcap);
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

/** Keys [lo, hi] (block-relative columns) visible to query t of a block starting at key k0. */
export function visibleKeys(t: number, k0: number, window: number | undefined): [number, number] {
  return [window === undefined ? 0 : Math.max(0, t - window + 1 - k0), t - k0];
}

/** Row (head j, position t) keeps its visible keys, softcapped (cap·tanh(s/cap)) when `cap` is
 * given and softmaxed; the others become exactly 0. */
function maskedSoftmaxInPlace(scores: Float32Array, group: number, t0: number, t1: number, k0: number, keys: number, window: number | undefined, cap: number | undefined): void {
  const rowsPerHead = t1 - t0;
  for (let j = 0; j < group; j++) {
    for (let t = t0; t < t1; t++) {
      const o = (j * rowsPerHead + (t - t0)) * keys;
      const [lo, hi] = visibleKeys(t, k0, window);
      if (cap !== undefined) for (let u = lo; u <= hi; u++) scores[o + u] = cap * Math.tanh(scores[o + u]! / cap);
      let max = -Infinity;
      for (let u = lo; u <= hi; u++) if (scores[o + u]! > max) max = scores[o + u]!;
      let sum = 0;
      for (let u = lo; u <= hi; u++) {
        const e = Math.exp(scores[o + u]! - max);
        scores[o + u] = e;
        sum += e;
      }
      const inv = 1 / sum;
      for (let u = lo; u <= hi; u++) scores[o + u]! *= inv;
      scores.fill(0, o, o + lo);
      scores.fill(0, o + hi + 1, o + keys);
    }
  }
}
