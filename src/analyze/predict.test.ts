// The predictor's arithmetic on data whose answers are known by hand: tie-averaged ranks, Spearman's
// ρ, top-k overlap, non-negative ridge, and the fitted model's guarantees (the base predicted 0, more
// of every feature never predicted better).

import { describe, expect, it } from "vitest";
import { FEATURE_NAMES, type LayoutFeatures } from "./layout-features.js";
import { fitPredictor, nonNegativeRidge, predictPenalty, ranks, spearman, topOverlap } from "./predict.js";
import { measureFirst } from "./search-predict.js";

const zero = (): LayoutFeatures => Object.fromEntries(FEATURE_NAMES.map((k) => [k, 0])) as unknown as LayoutFeatures;

describe("rank statistics", () => {
  it("averages tied ranks", () => {
    expect(ranks([10, 30, 20, 30])).toEqual([1, 3.5, 2, 3.5]);
  });

  it("Spearman's ρ: worked example, ±1 for monotone data, NaN for a constant", () => {
    // ranks [1..5] against [1, 2, 3.5, 5, 3.5]: Σ(dx·dy) = 8, Σdx² = 10, Σdy² = 9.5
    expect(spearman([1, 2, 3, 4, 5], [5, 6, 7, 8, 7])).toBeCloseTo(8 / Math.sqrt(95), 12);
    expect(spearman([1, 2, 3, 4], [1, 4, 9, 16])).toBe(1);
    expect(spearman([1, 2, 3, 4], [0.4, 0.3, 0.2, -7])).toBe(-1);
    expect(spearman([1, 2, 3], [2, 2, 2])).toBeNaN();
    expect(() => spearman([1, 2], [1])).toThrow(RangeError);
  });

  it("top-k overlap counts shared members of the k lowest", () => {
    expect(topOverlap([1, 2, 3, 4, 5, 6], [6, 5, 4, 3, 2, 1], 3)).toBe(0);
    expect(topOverlap([1, 2, 3, 4, 5, 6], [1, 3, 2, 9, 8, 0], 3)).toBe(2);
    expect(topOverlap([3, 1, 2], [30, 10, 20], 2)).toBe(2);
  });
});

describe("fitting", () => {
  it("non-negative ridge: recovers exact non-negative weights, clips a negative one to 0", () => {
    const X = [[1, 0], [0, 1], [1, 1], [2, 1]];
    expect(nonNegativeRidge(X, X.map(([a, b]) => 2 * a! + 0.5 * b!), 0).map((w) => +w.toFixed(9))).toEqual([2, 0.5]);
    const w = nonNegativeRidge(X, X.map(([a, b]) => 2 * a! - 1 * b!), 0);
    expect(w[1]).toBe(0);
    expect(w[0]).toBeGreaterThan(0);
  });

  it("predicts the base 0 and never predicts more of every feature as better", () => {
    const rows = [0.01, 0.05, 0.2, 1, 3].map((p, i) => ({ features: { ...zero(), seams: i + 1, seam_sum: p * (1 + (i % 2) * 0.1), drift_sum: Math.sqrt(p) }, penalty: p }));
    const m = fitPredictor(rows);
    expect(m.weights.every((w) => w >= 0)).toBe(true);
    expect(predictPenalty(m, zero())).toBe(0);
    const predicted = rows.map((r) => predictPenalty(m, r.features));
    expect(spearman(predicted, rows.map((r) => r.penalty))).toBe(1);
    const more = { ...rows[2]!.features, seam_sum: rows[2]!.features.seam_sum * 2, seams: 9 };
    expect(predictPenalty(m, more)).toBeGreaterThanOrEqual(predicted[2]!);
  });
});

describe("measureFirst", () => {
  it("takes the best predicted of each layer multiset first, then the next best", () => {
    const ranked = [[0, 1, 1, 2], [0, 1, 2, 1], [0, 2, 2, 1], [1, 0, 2, 1], [0, 0, 1, 2]].map((layers) => ({ layers }));
    expect(measureFirst(ranked, 3).map((c) => c.layers)).toEqual([[0, 1, 1, 2], [0, 2, 2, 1], [0, 0, 1, 2]]);
    expect(measureFirst(ranked, 4).map((c) => c.layers)).toEqual([[0, 1, 1, 2], [0, 2, 2, 1], [0, 0, 1, 2], [0, 1, 2, 1]]);
    expect(measureFirst(ranked.slice(0, 2), 5)).toHaveLength(2);
  });
});
