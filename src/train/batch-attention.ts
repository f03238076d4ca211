// Causal GQA attention over a batch of packed sequences, forward and backward, reading q/k/v from
// the fused projection rows qkv [N = B·S, qDim + 2·kvDim]. The forward keeps only the log-sum-exp
// per query (flash-attention style); the backward recomputes probabilities transposed, Pᵀ [keys,
// queries], so all five of its matmuls take operands as laid out (the kernel has no fast
// transposed path) and no [T, T] matrix is ever transposed. Not for KV caches or padding masks.

import type { MatmulKernel } from "../engine/index.js";
import { fastExp } from "./fast-ops.js";

export interface AttnDims {
  /** sequences and tokens per sequence: rows are b·S + t */
  B: number;
  S: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** query positions per block: keys past the block's end are never scored (causal) */
  queryBlock: number;
}

/** Blocks of query positions [t0, t1). */
function blocks(S: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t0 = 0; t0 < S; t0 += size) out.push([t0, Math.min(S, t0 + size)]);
  return out;
}

/** out [N, H·d] = softmax(q·kᵀ/√d + causal)·v per sequence; lse [B, H, S] = log Σ exp of each row. */
export function attentionForwardBatch(kernel: MatmulKernel, qkv: Float32Array, a: AttnDims, out: Float32Array, lse: Float32Array): void {
  const { B, S, heads: H, kvHeads: KV, headDim: d } = a;
  const group = H / KV;
  const qDim = H * d;
  const stride = qDim + 2 * KV * d;
  const scale = 1 / Math.sqrt(d);
  for (const [t0, t1] of blocks(S, a.queryBlock)) {
    const per = t1 - t0;
    const R = group * per; // rows (head j, position t) → j·per + t − t0
    const keys = t1;
    const qb = new Float32Array(R * d);
    const kT = new Float32Array(d * keys);
    const vb = new Float32Array(keys * d);
    for (let b = 0; b < B; b++) {
      const base = b * S;
      for (let g = 0; g < KV; g++) {
        for (let j = 0; j < group; j++) {
          const col = (g * group + j) * d;
          for (let t = t0; t < t1; t++) {
            const src = (base + t) * stride + col;
            const dst = (j * per + t - t0) * d;
            for (let i = 0; i < d; i++) qb[dst + i] = qkv[src + i]! * scale;
          }
        }
        const kc = qDim + g * d;
        const vc = qDim + KV * d + g * d;
        for (let u = 0; u < keys; u++) {
          const src = (base + u) * stride;
          for (let i = 0; i < d; i++) {
            kT[i * keys + u] = qkv[src + kc + i]!;
            vb[u * d + i] = qkv[src + vc + i]!;
          }
        }
        const p = kernel.matmul(qb, kT, R, d, keys); // scores [R, keys] → probabilities
        for (let j = 0; j < group; j++) {
          const h = g * group + j;
          for (let t = t0; t < t1; t++) {
            const o = (j * per + t - t0) * keys;
            let max = -Infinity;
            for (let u = 0; u <= t; u++) if (p[o + u]! > max) max = p[o + u]!;
            let sum = 0;
            for (let u = 0; u <= t; u++) {
              const e = fastExp(p[o + u]! - max);
              p[o + u] = e;
              sum += e;
            }
            const inv = 1 / sum;
            for (let u = 0; u <= t; u++) p[o + u]! *= inv;
            p.fill(0, o + t + 1, o + keys);
            lse[(b * H + h) * S + t] = max + Math.log(sum);
          }
        }
        const ob = kernel.matmul(p, vb, R, keys, d); // [R, d]
        for (let j = 0; j < group; j++) {
          const col = (g * group + j) * d;
          for (let t = t0; t < t1; t++) out.set(ob.subarray((j * per + t - t0) * d, (j * per + t - t0 + 1) * d), (base + t) * qDim + col);
        }
      }
    }
  }
}

/**
 * Backward: dAtt [N, H·d] (gradient of `att`, the forward's output) → dqkv [N, stride], every
 * element written (q rows post-RoPE, as the forward saw them; RoPE's backward is the caller's).
 * With Pᵀ[u,r] = exp(Sᵀ[u,r] − lse[r]) and D[r] = ⟨dO[r], O[r]⟩:
 * dV = Pᵀ·dO, dPᵀ = V·dOᵀ, dSᵀ = Pᵀ ⊙ (dPᵀ − D), dK = dSᵀ·(Q/√d), dQᵀ = Kᵀ·dSᵀ/√d.
 */
export function attentionBackwardBatch(kernel: MatmulKernel, qkv: Float32Array, att: Float32Array, lse: Float32Array, dAtt: Float32Array, a: AttnDims, dqkv: Float32Array): void {
  const { B, S, heads: H, kvHeads: KV, headDim: d } = a;
  const group = H / KV;
  const qDim = H * d;
  const kvDim = KV * d;
  const stride = qDim + 2 * kvDim;
  const scale = 1 / Math.sqrt(d);
  dqkv.fill(0);
  for (const [t0, t1] of blocks(S, a.queryBlock)) {
    const per = t1 - t0;
    const R = group * per;
    const keys = t1;
    const qb = new Float32Array(R * d);
    const qbT = new Float32Array(d * R);
    const dob = new Float32Array(R * d);
    const dobT = new Float32Array(d * R);
    const kb = new Float32Array(keys * d);
    const kbT = new Float32Array(d * keys);
    const vb = new Float32Array(keys * d);
    const Dr = new Float64Array(R);
    const lr = new Float32Array(R);
    for (let b = 0; b < B; b++) {
      const base = b * S;
      for (let g = 0; g < KV; g++) {
        for (let j = 0; j < group; j++) {
          const h = g * group + j;
          for (let t = t0; t < t1; t++) {
            const r = j * per + t - t0;
            const src = (base + t) * stride + h * d;
            const ao = (base + t) * qDim + h * d;
            let dot = 0;
            for (let i = 0; i < d; i++) {
              const qv = qkv[src + i]! * scale;
              qb[r * d + i] = qv;
              qbT[i * R + r] = qv;
              const g2 = dAtt[ao + i]!;
              dob[r * d + i] = g2;
              dobT[i * R + r] = g2;
              dot += g2 * att[ao + i]!;
            }
            Dr[r] = dot;
            lr[r] = lse[(b * H + h) * S + t]!;
          }
        }
        const kc = qDim + g * d;
        const vc = qDim + kvDim + g * d;
        for (let u = 0; u < keys; u++) {
          const src = (base + u) * stride;
          for (let i = 0; i < d; i++) {
            const kv = qkv[src + kc + i]!;
            kb[u * d + i] = kv;
            kbT[i * keys + u] = kv;
            vb[u * d + i] = qkv[src + vc + i]!;
          }
        }
        const pT = kernel.matmul(kb, qbT, keys, d, R); // Sᵀ [keys, R] → Pᵀ
        const dsT = kernel.matmul(vb, dobT, keys, d, R); // dPᵀ [keys, R] → dSᵀ
        for (let u = 0; u < keys; u++) {
          const o = u * R;
          for (let j = 0; j < group; j++) {
            // column r = j·per + t − t0 sees key u only when t ≥ u
            const r0 = j * per;
            const first = Math.max(0, u - t0);
            for (let c = r0; c < r0 + first; c++) {
              pT[o + c] = 0;
              dsT[o + c] = 0;
            }
            for (let c = r0 + first; c < r0 + per; c++) {
              const p = fastExp(pT[o + c]! - lr[c]!);
              pT[o + c] = p;
              dsT[o + c] = p * (dsT[o + c]! - Dr[c]!);
            }
          }
        }
        const dvb = kernel.matmul(pT, dob, keys, R, d); // [keys, d]
        const dkb = kernel.matmul(dsT, qb, keys, R, d); // [keys, d], qb carries 1/√d
        const dqT = kernel.matmul(kbT, dsT, d, keys, R); // [d, R], × 1/√d below
        for (let u = 0; u < keys; u++) {
          const dst = (base + u) * stride;
          for (let i = 0; i < d; i++) {
            dqkv[dst + kc + i]! += dkb[u * d + i]!;
            dqkv[dst + vc + i]! += dvb[u * d + i]!;
          }
        }
        for (let j = 0; j < group; j++) {
          const h = g * group + j;
          for (let t = t0; t < t1; t++) {
            const r = j * per + t - t0;
            const dst = (base + t) * stride + h * d;
            for (let i = 0; i < d; i++) dqkv[dst + i] = dqT[i * R + r]! * scale;
          }
        }
      }
    }
  }
}
