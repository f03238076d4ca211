// The study's pure parts: the seed's exact layouts on 32 layers, the overlaps, and the window
// bootstrap (paired, seeded, percentile intervals that behave as intervals must).

import { describe, expect, it } from "vitest";
import { bootstrapDraws, differenceInterval, penaltyInterval, quantile } from "./bootstrap.js";
import { overlapValues, studyLayouts } from "./factors.js";
import { unigramLevel } from "./unigram.js";

describe("study layouts", () => {
  it("are the seed's exact layouts on a 32-layer base", () => {
    const [dus, idus8, idus1] = studyLayouts(32);
    expect(dus!.spec).toBe("0-23,8-31");
    expect(dus!.layers).toHaveLength(48);
    // iDUS-8layer: A[0,8) B[8,16) A[8,16) B[16,24) A[16,24) B[24,32)
    expect(idus8!.name).toBe("iDUS-8");
    const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
    expect(idus8!.layers).toEqual([...range(0, 8), ...range(8, 16), ...range(8, 16), ...range(16, 24), ...range(16, 24), ...range(24, 32)]);
    expect(idus1!.layers.slice(0, 6)).toEqual([0, 8, 1, 9, 2, 10]);
    expect(idus1!.layers.slice(-2)).toEqual([23, 31]);
    expect(studyLayouts(32, 12).map((l) => l.name)).toEqual(["DUS m=12", "iDUS-8 m=12", "iDUS-1 m=12"]);
  });

  it("vary the overlap over n/8 … n/2", () => {
    expect(overlapValues(32)).toEqual([4, 8, 12, 16]);
    expect(overlapValues(16)).toEqual([2, 4, 6, 8]);
    expect(studyLayouts(32, 16)[0]!.spec).toBe("0-31"); // DUS at m = n/2 is the base
  });
});

describe("window bootstrap", () => {
  const base = { window_nll: [10, 12, 9, 11, 30], window_tokens: [5, 6, 4, 5, 10] };
  const draws = bootstrapDraws(5, { samples: 400, seed: 7, confidence: 0.9 });

  it("is deterministic for a seed and differs across seeds", () => {
    expect(bootstrapDraws(5, { samples: 3, seed: 7, confidence: 0.9 })).toEqual(draws.slice(0, 3));
    expect(bootstrapDraws(5, { samples: 3, seed: 8, confidence: 0.9 })).not.toEqual(draws.slice(0, 3));
  });

  it("gives a penalty of exactly 0 for the base itself and a constant shift exactly", () => {
    expect(penaltyInterval(base, base, draws, 0.9)).toEqual({ value: 0, se: 0, lo: 0, hi: 0 });
    // 0.5 nats more on every token: every resample sees the same penalty
    const worse = { window_nll: base.window_nll.map((s, i) => s + 0.5 * base.window_tokens[i]!), window_tokens: base.window_tokens };
    const p = penaltyInterval(worse, base, draws, 0.9);
    for (const v of [p.value, p.lo, p.hi]) expect(v).toBeCloseTo(0.5, 12);
    expect(p.se).toBeLessThan(1e-12);
  });

  it("widens with noise between windows, contains its estimate, and pairs differences", () => {
    const noisy = { window_nll: [11, 12, 13, 11, 31], window_tokens: base.window_tokens };
    const p = penaltyInterval(noisy, base, draws, 0.9);
    expect(p.value).toBeCloseTo((78 - 72) / 30, 12);
    expect(p.lo).toBeLessThan(p.value);
    expect(p.hi).toBeGreaterThan(p.value);
    expect(p.se).toBeGreaterThan(0);
    // iDUS-1 − DUS is the difference of their NLLs on the same draws
    const d = differenceInterval(noisy, base, draws, 0.9);
    expect(d).toEqual(p);
    expect(() => penaltyInterval({ window_nll: [1], window_tokens: [1] }, base, draws, 0.9)).toThrow(/different windows/);
  });

  it("takes percentiles as numpy's linear method does", () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([1, 2, 3, 4], 0.025)).toBeCloseTo(1.075, 12);
    expect(quantile([5], 0.9)).toBe(5);
  });
});

describe("unigram level", () => {
  it("scores each window's scored tokens with the text's own frequencies", () => {
    const tokens = [1, 1, 2, 1, 3, 1];
    const windows = [{ start: 0, end: 3, from: 1, countFrom: 0 }, { start: 3, end: 6, from: 0, countFrom: 0 }];
    const u = unigramLevel(tokens, windows);
    // scored: 1, 2 | 1, 3, 1 → p(1) = 3/5, p(2) = p(3) = 1/5
    expect(u.window_tokens).toEqual([2, 3]);
    expect(u.window_nll[0]).toBeCloseTo(-Math.log(3 / 5) - Math.log(1 / 5), 12);
    expect(u.nll).toBeCloseTo((-3 * Math.log(3 / 5) - 2 * Math.log(1 / 5)) / 5, 12);
  });
});
