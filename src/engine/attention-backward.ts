// Backward of causal GQA attention (attention.ts), recomputing the probabilities block by block
// from q and k instead of storing [H, T, T] (flash-attention style), with all four matmuls per
// block on the kernel; softcapped scores and sliding windows as in the forward. Not for KV caches
// or padding masks.

import { firstKey, queryBlockSize, visibleKeys, type AttentionShape } from "./attention.js";
import type { MatmulKernel } from "./matmul-kernel.js";
import { transpose } from "./ops.js";

/** Given q [T,H·d], k, v [T,KV·d] (post-RoPE, as the forward saw them) and dOut [T,H·d] →
 * dq [T,H·d], dk and dv [T,KV·d]. With S = scale·q·kᵀ, C = cap·tanh(S/cap) (or S), P = softmax(C),
 * out = P·v: dv = Pᵀ·dOut, dP = dOut·vᵀ, dC = P ⊙ (dP − rowsum(dP ⊙ P)), dS = dC ⊙ (1 − tanh²),
 * dq = dS·k·scale, dk = dSᵀ·q·scale. */
export function attentionBackward(
  kernel: MatmulKernel,
  q: Float32Array,
  k: Float32Array,
  v: Float32Array,
  dOut: Float32Array,
  s: AttentionShape,
): { dq: Float32Array; dk: Float32Array; dv: Float32Array } {
  const { tokens: T, heads: H, kvHeads: KV, headDim: d } = s;
  const group = H / KV;
  const scale = s.scale ?? 1 / Math.sqrt(d);
  const cap = s.softcap;
  const dq = new Float32Array(T * H * d);
  const dk = new Float32Array(T * KV * d);
  const dv = new Float32Array(T * KV * d);
  const block = queryBlockSize(s);
  for (let g = 0; g < KV; g++) {
    for (let t0 = 0; t0 < T; t0 += block) {
      const t1 = Math.min(T, t0 + block);
      const per = t1 - t0;
      const rows = group * per;
      const k0 = firstKey(t0, s.window);
      const keys = t1 - k0;
      const qb = new Float32Array(rows * d); // scaled q rows (head j, position t)
      const dob = new Float32Array(rows * d);
      for (let j = 0; j < group; j++) {
        const h = g * group + j;
        for (let t = t0; t < t1; t++) {
          const src = (t * H + h) * d;
          const dst = (j * per + (t - t0)) * d;
          for (let i = 0; i < d; i++) {
            qb[dst + i] = q[src + i]! * scale;
            dob[dst + i] = dOut[src + i]!;
          }
        }
      }
      const kb = new Float32Array(keys * d); // [keys, d], keys k0..t1-1
      const vb = new Float32Array(keys * d);
      for (let u = 0; u < keys; u++) {
        const src = ((u + k0) * KV + g) * d;
        kb.set(k.subarray(src, src + d), u * d);
        vb.set(v.subarray(src, src + d), u * d);
      }
      const p = kernel.matmul(qb, transpose(kb, keys, d), rows, d, keys); // scores → probabilities
      const dp = kernel.matmul(dob, transpose(vb, keys, d), rows, d, keys); // [rows, keys]
      const slope = cap === undefined ? undefined : new Float32Array(rows * keys); // 1 − tanh²
      for (let j = 0; j < group; j++) {
        for (let t = t0; t < t1; t++) {
          const o = (j * per + (t - t0)) * keys;
          const [lo, hi] = visibleKeys(t, k0, s.window);
          if (slope) {
            for (let u = lo; u <= hi; u++) {
              const th = Math.tanh(p[o + u]! / cap!);
              p[o + u] = cap! * th;
              slope[o + u] = 1 - th * th;
            }
          }
          let max = -Infinity;
          for (let u = lo; u <= hi; u++) max = Math.max(max, p[o + u]!);
          let sum = 0;
          for (let u = lo; u <= hi; u++) sum += p[o + u] = Math.exp(p[o + u]! - max);
          let dot = 0;
          for (let u = lo; u <= hi; u++) {
            p[o + u]! /= sum;
            dot += p[o + u]! * dp[o + u]!;
          }
          for (let u = lo; u <= hi; u++) dp[o + u] = p[o + u]! * (dp[o + u]! - dot) * (slope ? slope[o + u]! : 1); // dS
          p.fill(0, o, o + lo);
          p.fill(0, o + hi + 1, o + keys);
          dp.fill(0, o, o + lo);
          dp.fill(0, o + hi + 1, o + keys);
        }
      }
      const pT = transpose(p, rows, keys);
      const dsT = transpose(dp, rows, keys);
      const dvb = kernel.matmul(pT, dob, keys, rows, d); // [keys, d]
      const dkb = kernel.matmul(dsT, qb, keys, rows, d); // qb already carries the scale
      const dqb = kernel.matmul(dp, kb, rows, keys, d); // [rows, d], × scale below
      for (let u = 0; u < keys; u++) {
        const dst = ((u + k0) * KV + g) * d;
        for (let i = 0; i < d; i++) {
          dv[dst + i]! += dvb[u * d + i]!;
          dk[dst + i]! += dkb[u * d + i]!;
        }
      }
      for (let j = 0; j < group; j++) {
        const h = g * group + j;
        for (let t = t0; t < t1; t++) {
          const src = (j * per + (t - t0)) * d;
          const dst = (t * H + h) * d;
          for (let i = 0; i < d; i++) dq[dst + i] = dqb[src + i]! * scale;
        }
      }
    }
  }
  return { dq, dk, dv };
}
