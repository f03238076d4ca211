import { describe, expect, it } from "vitest";
import { findings, headlineAccuracy, indistinguishable, nearChance, spearman } from "./findings.js";
import type { Measurement } from "./measure.js";
import { reportTable } from "./report.js";
import type { ExperimentResults, LayoutResult } from "./results.js";

const m = (ppl: number, accNorm?: number): Measurement => ({
  ppl, nll: Math.log(ppl), tokens: 1000, tasks: {}, continuation: "", device: "CPU", seconds: 1,
  ...(accNorm === undefined ? {} : { nextword: { metrics: { acc: accNorm, acc_norm: accNorm }, stderr: { acc: 0.03, acc_norm: 0.03 }, n: 200 } }),
});

function row(name: string, before: number, after: number | undefined, seams?: { count: number; mean: number; max: number; drift: number }): LayoutResult {
  return {
    name, analog: name, spec: "", depth: 24, flags: [], static: null,
    seams: seams ? { ...seams, positions: [] } : null, calibration_ppl: before, model: name,
    before: m(before, 0.5), ...(after === undefined ? {} : { after: m(after, 0.55) }),
  };
}

function results(layouts: LayoutResult[]): ExperimentResults {
  return {
    layouts, settings: { heal_tokens: 40960, tasks: [] },
  } as unknown as ExperimentResults;
}

describe("spearman", () => {
  it("is 1 for the same order, -1 for the reverse, and averages ties", () => {
    expect(spearman([1, 2, 3, 4], [10, 20, 30, 40])).toBeCloseTo(1, 12);
    expect(spearman([1, 2, 3, 4], [4, 3, 2, 1])).toBeCloseTo(-1, 12);
    // ranks a = [0, 1, 2], b = [0.5, 0.5, 2]: Pearson of the ranks
    expect(spearman([1, 2, 3], [5, 5, 9])).toBeCloseTo(0.8660254, 6);
  });
});

describe("findings", () => {
  const stacks = (one: number, quarter: number) => [
    row("base", 20, 18),
    row("DUS", 30, 22, { count: 1, mean: 0.3, max: 0.3, drift: 0.05 }),
    row("iDUS-4", quarter, 23, { count: 5, mean: 0.15, max: 0.2, drift: 0.08 }),
    row("iDUS-1", one, 40, { count: 23, mean: 0.12, max: 0.18, drift: 0.2 }),
  ];

  it("reproduced when iDUS-1 ≥ 2× DUS and iDUS-4 within 1.25× of it; healing's gap closure; the control", () => {
    const f = findings(results(stacks(90, 33)));
    expect(f.map((x) => x.topic)).toEqual(["reproduced", "healing", "control", "seams"]);
    expect(f[0]!.holds).toBe(true);
    expect(f[0]!.text).toMatch(/iDUS-1 is 3\.00× DUS \(90\.00 vs 30\.00\), iDUS-4 is 1\.10×/);
    // gap: log(90/30) before, log(40/22) after: closed 1 - log(40/22)/log(3)
    const closed = 1 - Math.log(40 / 22) / Math.log(3);
    expect(f[1]!.text).toContain(`closed ${(100 * closed).toFixed(1)}%`);
    expect(f[1]!.holds).toBe(true);
    expect(f[2]!.text).toContain("improved by 10.0% (20.00 → 18.00)");
    expect(f[2]!.holds).toBe(false);
    // drift ranks DUS < iDUS-4 < iDUS-1, as the perplexity gaps do
    expect(f[3]!.holds).toBe(true);
    expect(f[3]!.text).toContain("ρ = 1.00");
    expect(f[3]!.text).toMatch(/A single iDUS-1 seam is no larger than DUS's one seam/);
  });

  it("not reproduced when iDUS-1 is close to DUS, or iDUS-4 far from it", () => {
    expect(findings(results(stacks(40, 33)))[0]!.holds).toBe(false);
    expect(findings(results(stacks(90, 45)))[0]!.holds).toBe(false);
  });

  it("without healing there is no healing finding; without rows nothing is claimed", () => {
    const noHeal = stacks(90, 33).map((l) => ({ ...l, after: undefined }));
    expect(findings(results(noHeal)).map((x) => x.topic)).toEqual(["reproduced", "seams"]);
    expect(findings(results([row("base", 20, 18)]))).toEqual([]);
  });

  it("the headline accuracy is next-word acc_norm, or the mean over tasks", () => {
    expect(headlineAccuracy(m(10, 0.4))).toBe(0.4);
    const tasks = { ...m(10), tasks: { a: { metrics: { acc: 0.5, acc_norm: 0.6 }, stderr: {}, n: 5 }, b: { metrics: { mc2: 0.4 }, stderr: {}, n: 5 } } };
    expect(headlineAccuracy(tasks)).toBeCloseTo(0.5, 12);
  });

  it("the report table prints each row's numbers from the results", () => {
    const r = { ...results(stacks(90, 33)), settings: { tasks: [] } } as unknown as ExperimentResults;
    const t = reportTable(r);
    expect(t.header).toEqual(["model", "layers", "seams", "mean seam dist.", "drift", "ppl before", "ppl after", "next-word acc_norm before", "next-word acc_norm after"]);
    expect(t.rows[3]).toEqual(["iDUS-1", "24", "23", "0.120", "0.200", "90.00", "40.00", "50.00", "55.00"]);
    expect(t.rows[0]!.slice(2, 5)).toEqual(["0", "—", "—"]);
  });
});

describe("nearChance", () => {
  const at = (accNorm: number, se = 0.03): LayoutResult => ({ ...row("x", 20, undefined), before: { ...m(20, accNorm), nextword: { metrics: { acc: accNorm, acc_norm: accNorm }, stderr: { acc: se, acc_norm: se }, n: 150 } } });
  it("holds only when every model is within two standard errors of 1/4", () => {
    expect(nearChance([at(0.25), at(0.3), at(0.19)])).toBe(true);
    expect(nearChance([at(0.25), at(0.32)])).toBe(false);
    expect(nearChance([at(0.31, 0.01)])).toBe(false);
    expect(nearChance([row("no task", 20, undefined)].map((l) => ({ ...l, before: m(20) })))).toBe(false);
  });
  it("is said in the finding when it holds", () => {
    const layouts = ["base", "DUS", "iDUS-4", "iDUS-1"].map((name) => ({ ...at(0.27), name, seams: name === "base" ? null : { count: 1, mean: 0.1, max: 0.1, drift: 0.05, positions: [] } }));
    expect(findings(results(layouts))[0]!.text).toMatch(/within two standard errors of chance/);
  });
});

describe("indistinguishable", () => {
  const at = (accNorm: number, se = 0.03): LayoutResult => ({ ...row("x", 20, undefined), before: { ...m(20, accNorm), nextword: { metrics: { acc: accNorm, acc_norm: accNorm }, stderr: { acc: se, acc_norm: se }, n: 300 } } });
  it("holds when the spread of the scores is at most two standard errors", () => {
    expect(indistinguishable([at(0.47), at(0.49), at(0.5)])).toBe(true);
    expect(indistinguishable([at(0.47), at(0.6)])).toBe(false);
    expect(indistinguishable([at(0.47)])).toBe(false);
  });
  it("is said in the finding, with the range", () => {
    const layouts = ["base", "DUS", "iDUS-4", "iDUS-1"].map((name, i) => ({ ...at(0.47 + i * 0.01), name, seams: name === "base" ? null : { count: 1, mean: 0.1, max: 0.1, drift: 0.05, positions: [] } }));
    expect(findings(results(layouts))[0]!.text).toMatch(/within two standard errors of the others \(47\.0%–50\.0%\)/);
  });
});
