// Backward of causal GQA attention (attention.ts), recomputing the probabilities block by block
// from q and k instead of storing [H, T, T] (flash-attention style), with all four matmuls per
// block on the kernel. Not for KV caches or padding masks.

import type { AttentionShape } from "./attention.js";
import type { MatmulKernel } from "./matmul-kernel.js";
import { transpose } from "./ops.js";

/** Given q [T,H·d], k, v [T,KV·d] (post-RoPE, as the forward saw them) and dOut [T,H·d] →
 * dq [T,H·d], dk and dv [T,KV·d]. With S = (q/√d)kᵀ, P = softmax(S), out = P·v:
 * dv = Pᵀ·dOut, dP = dOut·vᵀ, dS = P ⊙ (dP − rowsum(dP ⊙ P)), dq = dS·k/√d, dk = dSᵀ·q/√d. */
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
  const scale = 1 / Math.sqrt(d);
  const dq = new Float32Array(T * H * d);
  const dk = new Float32Array(T * KV * d);
  const dv = new Float32Array(T * KV * d);
  const block = Math.max(1, Math.floor(s.queryBlock ?? Math.max(16, Math.min(T, (1 << 22) / Math.max(1, group * T)))));
  for (let g = 0; g < KV; g++) {
    for (let t0 = 0; t0 < T; t0 += block) {
      const t1 = Math.min(T, t0 + block);
      const per = t1 - t0;
      const rows = group * per;
      const keys = t1;
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
      const kb = new Float32Array(keys * d); // [keys, d]
      const vb = new Float32Array(keys * d);
      for (let u = 0; u < keys; u++) {
        const src = (u * KV + g) * d;
        kb.set(k.subarray(src, src + d), u * d);
        vb.set(v.subarray(src, src + d), u * d);
      }
      const p = kernel.matmul(qb, transpose(kb, keys, d), rows, d, keys); // scores → probabilities
      const dp = kernel.matmul(dob, transpose(vb, keys, d), rows, d, keys); // [rows, keys]
      for (let j = 0; j < group; j++) {
        for (let t = t0; t < t1; t++) {
          const o = (j * per + (t - t0)) * keys;
          let max = -Infinity;
          for (let u = 0; u <= t; u++) max = Math.max(max, p[o + u]!);
          let sum = 0;
          for (let u = 0; u <= t; u++) sum += p[o + u] = Math.exp(p[o + u]! - max);
          let dot = 0;
          for (let u = 0; u <= t; u++) {
            p[o + u]! /= sum;
            dot += p[o + u]! * dp[o + u]!;
          }
          for (let u = 0; u <= t; u++) dp[o + u] = p[o + u]! * (dp[o + u]! - dot); // dS
          p.fill(0, o + t + 1, o + keys);
          dp.fill(0, o + t + 1, o + keys);
        }
      }
      const pT = transpose(p, rows, keys);
      const dsT = transpose(dp, rows, keys);
      const dvb = kernel.matmul(pT, dob, keys, rows, d); // [keys, d]
      const dkb = kernel.matmul(dsT, qb, keys, rows, d); // qb already carries 1/√d
      const dqb = kernel.matmul(dp, kb, rows, keys, d); // [rows, d], × 1/√d below
      for (let u = 0; u < keys; u++) {
        const dst = (u * KV + g) * d;
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
