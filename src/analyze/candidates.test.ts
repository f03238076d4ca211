// Layout candidates and durations: the families each depth gets, the seam-placement DP against brute
// force, and the --budget parser.

import { describe, expect, it } from "vitest";
import { AnalyzeError } from "../errors.js";
import { guidedLayout, layerSpec, layoutCandidates, seamCost } from "./candidates.js";
import { parseDuration } from "./duration.js";

/** A symmetric "distance" with a zero diagonal, irregular enough that the optimum is unique. */
function fakeDistance(n: number): number[][] {
  return Array.from({ length: n + 1 }, (_, i) => Array.from({ length: n + 1 }, (_, j) => (i === j ? 0 : Math.abs(i - j) / n + ((i * 7 + j * 7 + i * j) % 11) / 100)));
}

describe("layoutCandidates", () => {
  it("holds DUS, every iDUS group, the two-copy family and guided layouts, each of the depth, without duplicates", () => {
    const n = 8;
    const c = layoutCandidates(n, 12, { distance: fakeDistance(n) });
    expect(c.every((x) => x.layers.length === 12 && x.layers.every((l) => l >= 0 && l < n))).toBe(true);
    expect(new Set(c.map((x) => x.spec)).size).toBe(c.length);
    expect(c.find((x) => x.name === "dus m=2")).toMatchObject({ spec: "0-5,2-7", seams: 1, preset: ["--preset", "dus", "--drop", "2"] });
    expect(c.filter((x) => x.kind === "idus").map((x) => x.name)).toEqual(expect.arrayContaining(["idus g=1 m=2", "idus g=5 m=2"]));
    expect(c.find((x) => x.name === "idus g=1 m=2")!.layers).toEqual([0, 2, 1, 3, 2, 4, 3, 5, 4, 6, 5, 7]);
    // two copies A[0,a) + B[b,n) for a = 4 … 8 (b = a − 4)
    expect(c.filter((x) => ["dus", "two-copy"].includes(x.kind))).toHaveLength(5);
    expect(c.some((x) => x.kind === "guided")).toBe(true);
    // most promising first
    expect(c.map((x) => x.predicted)).toEqual([...c.map((x) => x.predicted)].sort((a, b) => a - b));
  });

  it("reaches every depth from 1 to 2n, with pruning and ShortGPT below n and the identity at n", () => {
    const n = 6;
    for (let s = 1; s <= 2 * n; s++) expect(layoutCandidates(n, s).length).toBeGreaterThan(0);
    expect(layoutCandidates(n, n).map((x) => x.kind)).toContain("identity");
    const below = layoutCandidates(n, 4, { blockInfluence: [0.5, 0.1, 0.4, 0.05, 0.3, 0.6] });
    expect(below.find((x) => x.kind === "shortgpt")!.layers).toEqual([0, 2, 4, 5]);
    expect(below.find((x) => x.name === "prune 2:4")).toMatchObject({ layers: [0, 1, 4, 5], preset: ["--preset", "prune", "--drop-range", "2:4"] });
    for (const s of [0, 13, 1.5]) {
      expect(() => layoutCandidates(n, s)).toThrow(AnalyzeError);
      expect(() => layoutCandidates(n, s)).toThrow(/no candidate layout has depth/);
    }
  });

  it("guidedLayout finds the cheapest k-seam layout (brute force agrees)", () => {
    const n = 6;
    const d = fakeDistance(n);
    for (const [depth, k] of [[9, 2], [8, 3], [4, 2]] as const) {
      let best = Infinity;
      // brute force: all lists of `depth` layers starting at 0 and ending at n−1 with k seams
      const walk = (list: number[]) => {
        if (list.length === depth) {
          const c = seamCost(list, d);
          if (list[depth - 1] === n - 1 && c.seams === k) best = Math.min(best, c.predicted);
          return;
        }
        for (let l = 0; l < n; l++) walk([...list, l]);
      };
      walk([0]);
      const g = guidedLayout(n, depth, k, d)!;
      expect(g).toHaveLength(depth);
      const cost = seamCost(g, d);
      expect(cost.seams).toBe(k);
      expect(cost.predicted).toBeCloseTo(best, 12);
    }
    expect(guidedLayout(4, 2, 3, fakeDistance(4))).toBeUndefined(); // 3 seams need 4 segments
  });

  it("writes layer lists in --layers syntax", () => {
    expect(layerSpec([0, 1, 2, 1, 2, 3, 7])).toBe("0-2,1-3,7");
    expect(layerSpec([0, 8, 1, 9])).toBe("0,8,1,9");
  });
});

describe("parseDuration", () => {
  it("reads units and sums of them", () => {
    expect(parseDuration("90s")).toBe(90_000);
    expect(parseDuration("10m")).toBe(600_000);
    expect(parseDuration("1h30m")).toBe(5_400_000);
    expect(parseDuration("2.5h")).toBe(9_000_000);
    expect(parseDuration("500ms")).toBe(500);
  });

  it("refuses what is not a duration", () => {
    for (const bad of ["", "10", "ten minutes", "10 m", "-5m", "0s", "1y", "m", "99999d"]) {
      expect(() => parseDuration(bad), bad).toThrow(/--budget must be a duration such as 90s, 10m or 1h30m/);
    }
  });
});
