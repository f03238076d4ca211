// AdamW over the compact buffers of the trainable tensors: f32 master weights (in the shared
// param buffer), f32 first and second moments, decoupled weight decay (PyTorch's AdamW: the
// weights shrink by lr·wd before the Adam step) on linear weights only, and clipping by the
// global gradient norm. Deterministic: the same inputs give the same bits on any run.

import { decays, type GradLayout, type ParamLayout } from "./param-store.js";

export interface AdamWSettings {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  /** clip the global L2 norm of the gradient to this (0 = no clipping) */
  clip: number;
}

export const ADAMW_DEFAULTS: AdamWSettings = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 1.0 };

/** Moments of every trainable element, in the compact gradient layout. */
export interface AdamWState {
  m: Float32Array;
  v: Float32Array;
  /** optimizer steps taken so far (bias correction uses step + 1) */
  step: number;
}

export function newAdamWState(g: GradLayout): AdamWState {
  return { m: new Float32Array(g.total), v: new Float32Array(g.total), step: 0 };
}

/** √Σg² over the whole compact gradient, accumulated in f64 tensor by tensor. */
export function globalNorm(grads: Float32Array): number {
  let ss = 0;
  for (let i = 0; i < grads.length; i++) ss += grads[i]! * grads[i]!;
  return Math.sqrt(ss);
}

/**
 * One AdamW step with learning rate `lr` on the params that `g` marks trainable. `grads` is the
 * mean gradient (already divided by the token count); it is clipped in place. Returns the norm
 * before clipping.
 */
export function adamwStep(layout: ParamLayout, g: GradLayout, params: Float32Array, grads: Float32Array, state: AdamWState, lr: number, s: AdamWSettings): number {
  const norm = globalNorm(grads);
  if (s.clip > 0 && norm > s.clip) {
    const f = s.clip / norm;
    for (let i = 0; i < grads.length; i++) grads[i]! *= f;
  }
  const t = state.step + 1;
  const bc1 = 1 - Math.pow(s.beta1, t);
  const bc2 = 1 - Math.pow(s.beta2, t);
  const { m, v } = state;
  const b1 = s.beta1;
  const b2 = s.beta2;
  const stepSize = lr / bc1;
  const sqrtBc2 = Math.sqrt(bc2);
  layout.specs.forEach((spec, i) => {
    const go = g.offsets[i]!;
    if (go < 0) return;
    const shrink = decays(spec) ? 1 - lr * s.weightDecay : 1;
    const po = spec.offset;
    for (let j = 0; j < spec.size; j++) {
      const gi = grads[go + j]!;
      const mi = (m[go + j] = b1 * m[go + j]! + (1 - b1) * gi);
      const vi = (v[go + j] = b2 * v[go + j]! + (1 - b2) * gi * gi);
      const denom = Math.sqrt(vi) / sqrtBc2 + s.eps;
      params[po + j] = params[po + j]! * shrink - (stepSize * mi) / denom;
    }
  });
  state.step = t;
  return norm;
}
