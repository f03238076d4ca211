import { describe, expect, it } from "vitest";
import { layoutMetrics } from "./metrics.js";
import type { PlannedLayer } from "./types.js";

const counts = { parameterCount: 150, baseParameterCount: 100, outputBytes: 600 };
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
/** layers of one source (index 0) */
const of = (source: number, layers: number[]): PlannedLayer[] => layers.map((layer) => ({ source, layer, slice: 0 }));
const oneModel = () => true;
const distinct = (a: number, b: number) => a === b;

describe("layoutMetrics", () => {
  it("DUS 32/8: one seam (23 → 8), largest backward 15, layers 8..23 used twice", () => {
    const m = layoutMetrics([...of(0, range(0, 24)), ...of(0, range(8, 32))], oneModel, counts);
    expect(m.numLayers).toBe(48);
    expect(m.jumps).toHaveLength(47);
    expect(m.seams).toBe(1);
    expect(m.largestBackwardJump).toBe(15);
    expect(m.largestForwardJump).toBe(1);
    // 46 steps of +1 and one of −15
    expect(m.meanAbsJump).toBeCloseTo((46 + 15) / 47, 12);
    expect(m.jumps[23]).toEqual({ at: 24, from: { source: 0, layer: 23 }, to: { source: 0, layer: 8 }, jump: -15 });
    expect(m.reusedLayers).toEqual(range(8, 24).map((layer) => ({ source: 0, layer, count: 2 })));
    expect(m).toMatchObject(counts);
  });

  it("iDUS-8: two seams of −7; iDUS-1: every pair is a seam, +8 / −7 alternating", () => {
    const idus8 = [...range(0, 8), ...range(8, 16), ...range(8, 16), ...range(16, 24), ...range(16, 24), ...range(24, 32)];
    const m8 = layoutMetrics(of(0, idus8), oneModel, counts);
    expect(m8.seams).toBe(2);
    expect(m8.largestBackwardJump).toBe(7);
    expect(m8.largestForwardJump).toBe(1);

    const idus1 = range(0, 24).flatMap((k) => [k, k + 8]);
    const m1 = layoutMetrics(of(0, idus1), oneModel, counts);
    expect(m1.seams).toBe(47);
    expect(m1.largestBackwardJump).toBe(7);
    expect(m1.largestForwardJump).toBe(8);
    expect(m1.meanAbsJump).toBeCloseTo((24 * 8 + 23 * 7) / 47, 12);
    expect(m1.reusedLayers.map((u) => u.layer)).toEqual(range(8, 24));
  });

  it("a +1 step from one model into another is a seam; across two copies of one model it is not", () => {
    const layers = [...of(0, range(0, 16)), ...of(1, range(16, 32))];
    expect(layoutMetrics(layers, distinct, counts).seams).toBe(1);
    expect(layoutMetrics(layers, oneModel, counts).seams).toBe(0);
  });

  it("reuse counts merge copies of one model, and not different models", () => {
    const layers = [...of(0, [0, 1, 2]), ...of(1, [1, 2, 3])];
    expect(layoutMetrics(layers, oneModel, counts).reusedLayers).toEqual([
      { source: 0, layer: 1, count: 2 },
      { source: 0, layer: 2, count: 2 },
    ]);
    expect(layoutMetrics(layers, distinct, counts).reusedLayers).toEqual([]);
  });

  it("an identity stack has no seams; one layer has no jumps", () => {
    const id = layoutMetrics(of(0, range(0, 32)), oneModel, counts);
    expect(id.seams).toBe(0);
    expect(id.largestBackwardJump).toBe(0);
    expect(id.meanAbsJump).toBe(1);
    expect(id.reusedLayers).toEqual([]);
    const single = layoutMetrics(of(0, [5]), oneModel, counts);
    expect(single).toMatchObject({ numLayers: 1, jumps: [], seams: 0, largestBackwardJump: 0, largestForwardJump: 0, meanAbsJump: 0 });
  });

  it("a repeated layer (jump 0) is a seam", () => {
    const m = layoutMetrics(of(0, [0, 1, 1, 2]), oneModel, counts);
    expect(m.seams).toBe(1);
    expect(m.jumps.map((j) => j.jump)).toEqual([1, 0, 1]);
    expect(m.reusedLayers).toEqual([{ source: 0, layer: 1, count: 2 }]);
  });
});
