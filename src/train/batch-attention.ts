// Causal GQA attention over a batch of packed sequences, forward and backward, reading q/k/v from
// the fused projection rows qkv [N = B·S, qDim + 2·kvDim]. The forward keeps only the log-sum-exp
// per query (flash-attention style); the backward recomputes probabilities transposed, Pᵀ [keys,
// queries], so all five of its matmuls take operands as laid out (the kernel has no fast
// transposed path) and no [T, T] matrix is ever transposed. The scale (1/√d, or Gemma's
// query_pre_attn_scalar^-½) is applied to the scores (not to q), so row gathers are plain copies;
// Gemma 2's softcap and sliding windows (keys before a block's first window are never gathered)
// follow the engine's attention. Not for KV caches or padding masks.

import { firstKey } from "../engine/attention.js";
import { fastExp, fastTanh } from "./fast-ops.js";
import type { TrainKernel } from "./train-kernel.js";
import type { Workspace } from "./workspace.js";

export interface AttnDims {
  /** sequences and tokens per sequence: rows are b·S + t */
  B: number;
  S: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  /** query positions per block: keys past the block's end are never scored (causal) */
  queryBlock: number;
  /** multiplies q·k (default headDim^-½) */
  scale?: number;
  /** scores s become cap·tanh(s/cap) */
  softcap?: number;
  /** sliding window: query t sees keys u with t − window < u ≤ t */
  window?: number;
}

/** Blocks of query positions [t0, t1). */
function blocks(S: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let t0 = 0; t0 < S; t0 += size) out.push([t0, Math.min(S, t0 + size)]);
  return out;
}

/** Copies the d-wide column block at `col` of rows [base+t0, base+t1) of src [*, stride] into
 * dst rows (j·per + t − t0) — row j·per.. for head j — or, transposed, into dst [d, R] columns. */
function gatherRows(src: Float32Array, stride: number, col: number, d: number, base: number, t0: number, t1: number, dst: Float32Array, r0: number): void {
  for (let t = t0; t < t1; t++) {
    const s = (base + t) * stride + col;
    dst.set(src.subarray(s, s + d), (r0 + t - t0) * d);
  }
}

function gatherCols(src: Float32Array, stride: number, col: number, d: number, base: number, t0: number, t1: number, dst: Float32Array, r0: number, R: number): void {
  for (let t = t0; t < t1; t++) {
    const s = (base + t) * stride + col;
    const r = r0 + t - t0;
    for (let i = 0; i < d; i++) dst[i * R + r] = src[s + i]!;
  }
}

/** out [N, H·d] = softmax(q·kᵀ/√d + causal)·v per sequence; lse [B, H, S] = log Σ exp of each row. */
export function attentionForwardBatch(kernel: TrainKernel, ws: Workspace, qkv: Float32Array, a: AttnDims, out: Float32Array, lse: Float32Array): void {
  const { B, S, heads: H, kvHeads: KV, headDim: d } = a;
  const group = H / KV;
  const qDim = H * d;
  const stride = qDim + 2 * KV * d;
  const scale = a.scale ?? 1 / Math.sqrt(d);
  const cap = a.softcap;
  const W = a.window;
  for (const [t0, t1] of blocks(S, a.queryBlock)) {
    const per = t1 - t0;
    const R = group * per; // rows (head j, position t) → j·per + t − t0
    const k0 = firstKey(t0, W);
    const keys = t1 - k0; // block columns are keys k0..t1-1
    const qb = ws.get("af.qb", R * d);
    const kT = ws.get("af.kT", d * keys);
    const vb = ws.get("af.vb", keys * d);
    const p = ws.get("af.p", R * keys);
    const ob = ws.get("af.ob", R * d);
    for (let b = 0; b < B; b++) {
      const base = b * S;
      for (let g = 0; g < KV; g++) {
        for (let j = 0; j < group; j++) gatherRows(qkv, stride, (g * group + j) * d, d, base, t0, t1, qb, j * per);
        gatherCols(qkv, stride, qDim + g * d, d, base, k0, t1, kT, 0, keys);
        gatherRows(qkv, stride, qDim + KV * d + g * d, d, base, k0, t1, vb, 0);
        kernel.matmulInto(qb, kT, R, d, keys, p); // raw scores [R, keys] → probabilities
        for (let j = 0; j < group; j++) {
          const h = g * group + j;
          for (let t = t0; t < t1; t++) {
            const o = (j * per + t - t0) * keys;
            const lo = W === undefined ? 0 : Math.max(0, t - W + 1 - k0);
            const hi = t - k0;
            let m = 1; // what the row's scores are multiplied by inside the exp
            if (cap !== undefined) {
              for (let u = lo; u <= hi; u++) p[o + u] = cap * fastTanh((p[o + u]! * scale) / cap);
            } else m = scale;
            let max = -Infinity;
            for (let u = lo; u <= hi; u++) if (p[o + u]! > max) max = p[o + u]!;
            let sum = 0;
            for (let u = lo; u <= hi; u++) {
              const e = fastExp((p[o + u]! - max) * m);
              p[o + u] = e;
              sum += e;
            }
            const inv = 1 / sum;
            for (let u = lo; u <= hi; u++) p[o + u]! *= inv;
            p.fill(0, o, o + lo);
            p.fill(0, o + hi + 1, o + keys);
            lse[(b * H + h) * S + t] = max * m + Math.log(sum);
          }
        }
        kernel.matmulInto(p, vb, R, keys, d, ob); // [R, d]
        for (let j = 0; j < group; j++) {
          const col = (g * group + j) * d;
          for (let t = t0; t < t1; t++) {
            const src = (j * per + t - t0) * d;
            out.set(ob.subarray(src, src + d), (base + t) * qDim + col);
          }
        }
      }
    }
  }
}

/**
 * Backward: dAtt [N, H·d] (gradient of `att`, the forward's output) → dqkv [N, stride], every
 * element written (q rows post-RoPE, as the forward saw them; RoPE's backward is the caller's).
 * With Pᵀ[u,r] = exp(Sᵀ[u,r]/√d − lse[r]) and D[r] = ⟨dO[r], O[r]⟩:
 * dV = Pᵀ·dO, dPᵀ = V·dOᵀ, G = Pᵀ ⊙ (dPᵀ − D)/√d, dK = G·Q, dQᵀ = Kᵀ·G.
 */
export function attentionBackwardBatch(kernel: TrainKernel, ws: Workspace, qkv: Float32Array, att: Float32Array, lse: Float32Array, dAtt: Float32Array, a: AttnDims, dqkv: Float32Array): void {
  const { B, S, heads: H, kvHeads: KV, headDim: d } = a;
  const group = H / KV;
  const qDim = H * d;
  const kvDim = KV * d;
  const stride = qDim + 2 * kvDim;
  const scale = a.scale ?? 1 / Math.sqrt(d);
  const cap = a.softcap;
  const W = a.window;
  dqkv.fill(0);
  for (const [t0, t1] of blocks(S, a.queryBlock)) {
    const per = t1 - t0;
    const R = group * per;
    const k0 = firstKey(t0, W);
    const keys = t1 - k0;
    const qb = ws.get("ab.qb", R * d);
    const qbT = ws.get("ab.qbT", d * R);
    const dob = ws.get("ab.dob", R * d);
    const dobT = ws.get("ab.dobT", d * R);
    const kb = ws.get("ab.kb", keys * d);
    const kbT = ws.get("ab.kbT", d * keys);
    const vb = ws.get("ab.vb", keys * d);
    const pT = ws.get("ab.pT", keys * R);
    const dsT = ws.get("ab.dsT", keys * R);
    const dvb = ws.get("ab.dvb", keys * d);
    const dkb = ws.get("ab.dkb", keys * d);
    const dqT = ws.get("ab.dqT", d * R);
    const Dr = new Float64Array(R);
    const lr = ws.get("ab.lse", R);
    for (let b = 0; b < B; b++) {
      const base = b * S;
      for (let g = 0; g < KV; g++) {
        for (let j = 0; j < group; j++) {
          const h = g * group + j;
          gatherRows(qkv, stride, h * d, d, base, t0, t1, qb, j * per);
          gatherCols(qkv, stride, h * d, d, base, t0, t1, qbT, j * per, R);
          gatherRows(dAtt, qDim, h * d, d, base, t0, t1, dob, j * per);
          gatherCols(dAtt, qDim, h * d, d, base, t0, t1, dobT, j * per, R);
          for (let t = t0; t < t1; t++) {
            const r = j * per + t - t0;
            const ao = (base + t) * qDim + h * d;
            let dot = 0;
            for (let i = 0; i < d; i++) dot += dAtt[ao + i]! * att[ao + i]!;
            Dr[r] = dot;
            lr[r] = lse[(b * H + h) * S + t]!;
          }
        }
        const kc = qDim + g * d;
        const vc = qDim + kvDim + g * d;
        gatherRows(qkv, stride, kc, d, base, k0, t1, kb, 0);
        gatherCols(qkv, stride, kc, d, base, k0, t1, kbT, 0, keys);
        gatherRows(qkv, stride, vc, d, base, k0, t1, vb, 0);
        kernel.matmulInto(kb, qbT, keys, d, R, pT); // raw Sᵀ [keys, R] → Pᵀ
        kernel.matmulInto(vb, dobT, keys, d, R, dsT); // dPᵀ [keys, R] → G
        for (let u = 0; u < keys; u++) {
          const o = u * R;
          const key = u + k0;
          // column r = j·per + t − t0 sees this key when t ≥ key (and t < key + window)
          const first = Math.min(per, Math.max(0, key - t0));
          const last = W === undefined ? per : Math.max(first, Math.min(per, key + W - t0));
          for (let j = 0; j < group; j++) {
            const r0 = j * per;
            pT.fill(0, o + r0, o + r0 + first);
            dsT.fill(0, o + r0, o + r0 + first);
            pT.fill(0, o + r0 + last, o + r0 + per);
            dsT.fill(0, o + r0 + last, o + r0 + per);
            if (cap === undefined) {
              for (let c = r0 + first; c < r0 + last; c++) {
                const p = fastExp(pT[o + c]! * scale - lr[c]!);
                pT[o + c] = p;
                dsT[o + c] = p * (dsT[o + c]! - Dr[c]!) * scale;
              }
            } else {
              for (let c = r0 + first; c < r0 + last; c++) {
                const th = fastTanh((pT[o + c]! * scale) / cap);
                const p = fastExp(cap * th - lr[c]!);
                pT[o + c] = p;
                dsT[o + c] = p * (dsT[o + c]! - Dr[c]!) * scale * (1 - th * th);
              }
            }
          }
        }
        kernel.matmulInto(pT, dob, keys, R, d, dvb); // [keys, d]
        kernel.matmulInto(dsT, qb, keys, R, d, dkb); // [keys, d]
        kernel.matmulInto(kbT, dsT, d, keys, R, dqT); // [d, R]
        for (let u = 0; u < keys; u++) {
          const dst = (base + u + k0) * stride;
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
            for (let i = 0; i < d; i++) dqkv[dst + i] = dqT[i * R + r]!;
          }
        }
      }
    }
  }
}
