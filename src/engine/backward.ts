// Backward twins of the per-op forwards in ops.ts and rope.ts, plus one decoder layer's backward
// from its recorded LayerActivations (forward tape). Same buffer conventions: row-major, one row
// per token. For continued pretraining later; not an optimizer and not a loss (see loss.ts).

import type { MatmulKernel } from "./matmul-kernel.js";
import { attentionBackward } from "./attention-backward.js";
import { layerAttentionShape, type LayerActivations } from "./forward.js";
import { GELU_A, GELU_C, normGain, transpose } from "./ops.js";
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

/** For a = gelu_tanh(g)·u with gelu(g) = ½g(1 + tanh(c(g + a·g³))):
 * du = da·gelu(g); dg = da·u·(½(1 + t) + ½g(1 − t²)·c(1 + 3a·g²)). */
export function gegluBackward(gate: Float32Array, up: Float32Array, dact: Float32Array): { dgate: Float32Array; dup: Float32Array } {
  const dgate = new Float32Array(gate.length);
  const dup = new Float32Array(gate.length);
  for (let i = 0; i < gate.length; i++) {
    const g = gate[i]!;
    const t = Math.tanh(GELU_C * (g + GELU_A * g * g * g));
    dup[i] = dact[i]! * 0.5 * g * (1 + t);
    dgate[i] = dact[i]! * up[i]! * (0.5 * (1 + t) + 0.5 * g * (1 - t * t) * GELU_C * (1 + 3 * GELU_A * g * g));
  }
  return { dgate, dup };
}

/** Softcap z = cap·tanh(s/cap): ds = dz·(1 − (z/cap)²), in place on dz given z. */
export function softcapBackwardInPlace(z: Float32Array, dz: Float32Array, cap: number): void {
  for (let i = 0; i < dz.length; i++) {
    const t = z[i]! / cap;
    dz[i]! *= 1 - t * t;
  }
}

/** RoPE is a (scaled) rotation per pair, so its backward rotates by the opposite angle, in place. */
export function ropeBackward(dx: Float32Array, seqLen: number, heads: number, r: RopeTables): void {
  const { half, cos, sin, headDim } = r;
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

const EMPTY = new Float32Array(0);

/** Through a branch's post norm (sandwich norms) when the tape has its input: dy → d(branch
 * output) and the norm's weight gradient; without one, dy itself and an empty gradient. */
function postNormBackward(x: Float32Array | undefined, w: Float32Array | undefined, invRms: Float32Array | undefined, dy: Float32Array, T: number, D: number, off: 0 | 1): { dx: Float32Array; dw: Float32Array } {
  return x ? rmsnormBackward(x, normGain(w!, off), invRms!, dy, T, D) : { dx: dy, dw: EMPTY };
}

/** Gradients of one layer's weights, same names and shapes as LayerWeights. */
export type LayerGrads = { [K in keyof LayerWeights]-?: Float32Array };

/** Backward through decoder layer `layer`: dy [T,D] (gradient of its output) → dx [T,D] and weight
 * grads (fields the config does not use come back empty). */
export function layerBackward(
  kernel: MatmulKernel,
  c: EngineConfig,
  w: LayerWeights,
  a: LayerActivations,
  dy: Float32Array,
  T: number,
  rope: RopeTables,
  layer: number,
): { dx: Float32Array; grads: LayerGrads } {
  const D = c.hiddenSize;
  const F = c.intermediateSize;
  const d = c.headDim;
  const qDim = c.numHeads * d;
  const kvDim = c.numKvHeads * d;
  const off = c.normWeightOffset ?? 0;
  const none = EMPTY;
  // MLP: y = mid + post(down(act(gate(n2))·up(n2))), n2 = norm(mid)
  const postFfn = postNormBackward(a.ffnOut, w.postFfnNorm, a.ffnOutInvRms, dy, T, D, off);
  const down = linearBackward(kernel, a.act, w.wDown, postFfn.dx, T, F, D);
  const sw = c.activation === "gelu_tanh" ? gegluBackward(a.gate, a.up, down.dx) : swigluBackward(a.gate, a.up, down.dx);
  const gate = linearBackward(kernel, a.ffnNormed, w.wGate, sw.dgate, T, D, F);
  const up = linearBackward(kernel, a.ffnNormed, w.wUp, sw.dup, T, D, F);
  for (let i = 0; i < gate.dx.length; i++) gate.dx[i]! += up.dx[i]!;
  const n2 = rmsnormBackward(a.residualMid, normGain(w.ffnNorm, off), a.ffnInvRms, gate.dx, T, D);
  const dMid = dy.slice();
  for (let i = 0; i < dMid.length; i++) dMid[i]! += n2.dx[i]!;
  // attention: mid = x + post(o(attn(rope(qn(q(n1))), rope(kn(k(n1))), v(n1)))), n1 = norm(x)
  const postAttn = postNormBackward(a.attnOut, w.postAttnNorm, a.attnOutInvRms, dMid, T, D, off);
  const o = linearBackward(kernel, a.attnMixed, w.wo, postAttn.dx, T, qDim, D);
  const att = attentionBackward(kernel, a.q, a.k, a.v, o.dx, layerAttentionShape(c, layer, T));
  ropeBackward(att.dq, T, c.numHeads, rope);
  ropeBackward(att.dk, T, c.numKvHeads, rope);
  let dq: Float32Array = att.dq;
  let dk: Float32Array = att.dk;
  let qNorm: Float32Array = none;
  let kNorm: Float32Array = none;
  if (c.qkNorm) {
    const qn = rmsnormBackward(a.qRaw!, normGain(w.qNorm!, off), a.qInvRms!, dq, T * c.numHeads, d);
    const kn = rmsnormBackward(a.kRaw!, normGain(w.kNorm!, off), a.kInvRms!, dk, T * c.numKvHeads, d);
    [dq, dk, qNorm, kNorm] = [qn.dx, kn.dx, qn.dw, kn.dw];
  }
  const q = linearBackward(kernel, a.attnNormed, w.wq, dq, T, D, qDim);
  const k = linearBackward(kernel, a.attnNormed, w.wk, dk, T, D, kvDim);
  const v = linearBackward(kernel, a.attnNormed, w.wv, att.dv, T, D, kvDim);
  for (let i = 0; i < q.dx.length; i++) q.dx[i]! += k.dx[i]! + v.dx[i]!;
  const n1 = rmsnormBackward(a.input, normGain(w.attnNorm, off), a.attnInvRms, q.dx, T, D);
  for (let i = 0; i < dMid.length; i++) dMid[i]! += n1.dx[i]!;
  return {
    dx: dMid,
    grads: {
      attnNorm: n1.dw, wq: q.dw, wk: k.dw, wv: v.dw, wo: o.dw,
      bq: c.attentionBias ? q.db : none, bk: c.attentionBias ? k.db : none, bv: c.attentionBias ? v.db : none,
      qNorm, kNorm, postAttnNorm: postAttn.dw, postFfnNorm: postFfn.dw,
      ffnNorm: n2.dw, wGate: gate.dw, wUp: up.dw, wDown: down.dw,
    },
  };
}
