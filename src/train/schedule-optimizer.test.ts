// The learning-rate schedule, token budgets and AdamW against a plain f64 reference written here
// (PyTorch's AdamW: decay first, bias-corrected moments), with clipping and the no-decay set.

import { describe, expect, it } from "vitest";
import { adamwStep, newAdamWState } from "./optimizer.js";
import { allocF32, gradLayout, paramLayout, trainableSpecs } from "./param-store.js";
import { learningRate, parseCount, stepsForTokens } from "./schedule.js";
import type { EngineConfig } from "../engine/index.js";

describe("schedule", () => {
  const s = { lr: 1e-3, minLrRatio: 0.1, warmupSteps: 10, totalSteps: 110 };
  it("warms up linearly, then decays by a cosine to the floor", () => {
    expect(learningRate(s, 0)).toBeCloseTo(1e-4, 12);
    expect(learningRate(s, 9)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 10)).toBeCloseTo(1e-3, 12);
    expect(learningRate(s, 60)).toBeCloseTo(1e-4 + 0.5 * 9e-4, 12);
    expect(learningRate(s, 110)).toBeCloseTo(1e-4, 12);
    for (let i = 11; i < 110; i++) expect(learningRate(s, i)).toBeLessThan(learningRate(s, i - 1));
  });
  it("budgets: k/M/G suffixes, whole steps", () => {
    expect(parseCount("2M", "--tokens")).toBe(2_000_000);
    expect(parseCount("500k", "--tokens")).toBe(500_000);
    expect(parseCount("1.5M", "--tokens")).toBe(1_500_000);
    expect(() => parseCount("2X", "--tokens")).toThrow(/--tokens must be a positive count/);
    expect(stepsForTokens(2_000_000, 4096)).toBe(489);
  });
});

describe("AdamW", () => {
  const c: EngineConfig = { vocabSize: 8, hiddenSize: 4, intermediateSize: 6, numLayers: 1, numHeads: 2, numKvHeads: 1, headDim: 2, rmsNormEps: 1e-5, ropeTheta: 1e4, tiedEmbeddings: false, maxPositions: 8 };
  it("matches an f64 reference over three steps, decaying linear weights only, clipping by the global norm", () => {
    const L = paramLayout(c);
    const g = gradLayout(L, trainableSpecs(L, { layers: [true], embed: true, head: false }));
    const p = allocF32(L.total, false).map((_, i) => Math.sin(i) * 0.5);
    const ref = Array.from(p);
    const st = newAdamWState(g);
    const set = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, clip: 0.5 };
    const m = new Float64Array(g.total);
    const v = new Float64Array(g.total);
    for (let t = 1; t <= 3; t++) {
      const grad = new Float32Array(g.total).map((_, i) => Math.cos(i * t) * 0.3);
      const norm = Math.sqrt(grad.reduce((a, x) => a + x * x, 0));
      const f = norm > set.clip ? set.clip / norm : 1;
      const want = Float32Array.from(grad, (x) => x * f);
      expect(adamwStep(L, g, p, grad, st, 1e-2, set)).toBeCloseTo(norm, 4);
      L.specs.forEach((s, i) => {
        const go = g.offsets[i]!;
        if (go < 0) return;
        const decay = s.kind === "linear" || s.kind === "head";
        for (let j = 0; j < s.size; j++) {
          const gi = want[go + j]!;
          m[go + j] = 0.9 * m[go + j]! + 0.1 * gi;
          v[go + j] = 0.95 * v[go + j]! + 0.05 * gi * gi;
          const mh = m[go + j]! / (1 - 0.9 ** t);
          const vh = v[go + j]! / (1 - 0.95 ** t);
          ref[s.offset + j] = ref[s.offset + j]! * (decay ? 1 - 1e-2 * 0.1 : 1) - (1e-2 * mh) / (Math.sqrt(vh) + 1e-8);
        }
      });
    }
    for (let i = 0; i < p.length; i++) expect(Math.abs(p[i]! - ref[i]!), `param ${i}`).toBeLessThan(2e-6);
    // the frozen head did not move and holds no state
    const head = L.specs[L.lmHead]!;
    expect(g.offsets[L.lmHead]).toBe(-1);
    expect(p[head.offset]).toBe(Math.fround(Math.sin(head.offset) * 0.5));
    expect(st.m.length).toBe(L.total - head.size - L.specs[L.finalNorm]!.size);
  });
});
