// Backward twins of the per-op forwards in ops.ts and rope.ts, plus one decoder layer's backward
// from its recorded LayerActivations (forward tape). Same buffer conventions: row-major, one row
// per token. For continued pretraining later; not an optimizer and not a loss (see loss.ts).

import type { MatmulKernel } from "./matmul-kernel.js";
import { attentionBackward } from "./attention-backward.js";
import type { LayerActivations } from "./forward.js";
import { transpose } from "./ops.js";
import type { RopeTables } from "./rope.js";
import type { EngineConfig, LayerWeights } from "./types.js";

/** For y = x·Wᵀ + b: dx [T,in] = dy·W, dW [out,in] = dyᵀ·x, db [out] = Σ_t dy (all on the kernel). */
export function linearBackward(
  kernel: MatmulKernel,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  tokens: number,
  inFeatures: number,
  outFeatures: number,
): { dx: Float32Array; dw: Float32Array; db: Float32Array } {
  const dx = kernel.matmul(dy, w, tokens, outFeatures, inFeatures);
  const dw = kernel.matmul(transpose(dy, tokens, outFeatures), x, outFeatures, tokens, inFeatures);
  const db = new Float32Array(outFeatures);
  for (let t = 0; t < tokens; t++) for (let j = 0; j < outFeatures; j++) db[j]! += dy[t * outFeatures + j]!;
  return { dx, dw, db };
}

/** For y = w ⊙ x·r with r = (mean(x²)+eps)^-½ (r saved by the forward):
 * dw = Σ_t dy ⊙ x·r;  dx = r·(w⊙dy) − r³·x·⟨w⊙dy, x⟩/D. */
export function rmsnormBackward(
  x: Float32Array,
  weight: Float32Array,
  invRms: Float32Array,
  dy: Float32Array,
  tokens: number,
  dim: number,
): { dx: Float32Array; dw: Float32Array } {
  const dx = new Float32Array(tokens * dim);
  const dw = new Float32Array(dim);
  for (let t = 0; t < tokens; t++) {
    const o = t * dim;
    const r = invRms[t]!;
    let dot = 0;
    for (let i = 0; i < dim; i++) {
      dot += weight[i]! * dy[o + i]! * x[o + i]!;
      dw[i]! += dy[o + i]! * x[o + i]! * r;
    }
    const c = (r * r * r * dot) / dim;
    for (let i = 0; i < dim; i++) dx[o + i] = r * weight[i]! * dy[o + i]! - c * x[o + i]!;
  }
  return { dx, dw };
}

/** For a = silu(g)·u: du = da·silu(g); dg = da·u·σ(g)(1 + g(1 − σ(g))). */
export function swigluBackward(gate: Float32Array, up: Float32Array, dact: Float32Array): { dgate: Float32Array; dup: Float32Array } {
  const dgate = new Float32Array(gate.length);
  const dup = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    const s = 1 / (1 + Math.exp(-g));
    dup[i] = dact[i]! * g * s;
    dgate[i] = dact[i]! * up[i]! * s * (1 + g * (1 - s));
  }
  return { dgate, dup };
}

/** RoPE is a (scaled) rotation per pair, so its backward rotates by the opposite angle, in place. */
export function ropeBackward(dx: Float32Array, seqLen: number, heads: number, r: RopeTables): void {
  const { half, cos, sin } = r;
  const headDim = 2 * half;
  for (let t = 0; t < seqLen; t++) {
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[t * half + i]!;
        const s = sin[t * half + i]!;
        const d1 = dx[o + i]!;
        const d2 = dx[o + half + i]!;
        dx[o + i] = d1 * c + d2 * s;
        dx[o + half + i] = d2 * c - d1 * s;
      }
    }
  }
}

/** Gradients of one layer's weights, same names and shapes as LayerWeights. */
export type LayerGrads = { [K in keyof LayerWeights]-?: Float32Array };

/** Backward through one decoder layer: dy [T,D] (gradient of its output) → dx [T,D] and weight grads. */
export function layerBackward(
  kernel: MatmulKernel,
  c: EngineConfig,
  w: LayerWeights,
  a: LayerActivations,
  dy: Float32Array,
  T: number,
  rope: RopeTables,
): { dx: Float32Array; grads: LayerGrads } {
  const D = c.hiddenSize;
  const F = c.intermediateSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  // MLP: y = mid + down(silu(gate(n2))·up(n2)), n2 = norm(mid)
  const down = linearBackward(kernel, a.act, w.wDown, dy, T, F, D);
  const sw = swigluBackward(a.gate, a.up, down.dx);
  const gate = linearBackward(kernel, a.ffnNormed, w.wGate, sw.dgate, T, D, F);
  const up = linearBackward(kernel, a.ffnNormed, w.wUp, sw.dup, T, D, F);
  for (let i = 0; i < gate.dx.length; i++) gate.dx[i]! += up.dx[i]!;
  const n2 = rmsnormBackward(a.residualMid, w.ffnNorm, a.ffnInvRms, gate.dx, T, D);
  const dMid = dy.slice();
  for (let i = 0; i < dMid.length; i++) dMid[i]! += n2.dx[i]!;
  // attention: mid = x + o(attn(rope(q(n1)), rope(k(n1)), v(n1))), n1 = norm(x)
  const o = linearBackward(kernel, a.attnMixed, w.wo, dMid, T, qDim, D);
  const att = attentionBackward(kernel, a.q, a.k, a.v, o.dx, { tokens: T, heads: c.numHeads, kvHeads: c.numKvHeads, headDim: c.headDim });
  ropeBackward(att.dq, T, c.numHeads, rope);
  ropeBackward(att.dk, T, c.numKvHeads, rope);
  const q = linearBackward(kernel, a.attnNormed, w.wq, att.dq, T, D, qDim);
  const k = linearBackward(kernel, a.attnNormed, w.wk, att.dk, T, D, kvDim);
  const v = linearBackward(kernel, a.attnNormed, w.wv, att.dv, T, D, kvDim);
  for (let i = 0; i < q.dx.length; i++) q.dx[i]! += k.dx[i]! + v.dx[i]!;
  const n1 = rmsnormBackward(a.input, w.attnNorm, a.attnInvRms, q.dx, T, D);
  for (let i = 0; i < dMid.length; i++) dMid[i]! += n1.dx[i]!;
  return {
    dx: dMid,
    grads: {
      attnNorm: n1.dw, wq: q.dw, wk: k.dw, wv: v.dw, wo: o.dw, bq: q.db, bk: k.db, bv: v.db,
      ffnNorm: n2.dw, wGate: gate.dw, wUp: up.dw, wDown: down.dw,
    },
  };
}
