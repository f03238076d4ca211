// The committed study (docs/study, written by a real `dusk study` run): every number of report.md
// recomputed from results.json (test/helpers/study-check.ts), the charts it links present, and the
// results covering what issue 18 asks: ≥ 5 checkpoints plus the final model per base, two depths,
// several overlaps, and the predictor validated on ≥ 40 held-out layouts per base.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { StudyResults } from "../src/study/results.js";
import { checkStudyReport } from "./helpers/study-check.js";

const dir = fileURLToPath(new URL("../docs/study/", import.meta.url));
const results = JSON.parse(readFileSync(`${dir}results.json`, "utf8")) as StudyResults;
const md = readFileSync(`${dir}report.md`, "utf8");

describe("docs/study", () => {
  it("prints only numbers recomputable from results.json", () => {
    expect(checkStudyReport(results, md)).toBeGreaterThan(400);
  });

  it("covers the factors the issue asks for, from a full run", () => {
    expect(results.mode).toBe("full");
    expect(results.bases.map((b) => b.layers).sort((a, b) => a - b)).toEqual([16, 32]);
    for (const b of results.bases) {
      const runs = results.runs.filter((r) => r.base === b.name);
      expect(runs.filter((r) => !r.final).length).toBeGreaterThanOrEqual(5);
      expect(runs.filter((r) => r.final)).toHaveLength(1);
      expect(b.overlaps.length).toBeGreaterThanOrEqual(4);
    }
    // the seed's exact layouts on the 32-layer base
    const final32 = results.runs.find((r) => r.layers === 32 && r.final)!;
    expect(final32.layouts.find((l) => l.name === "DUS")!.spec).toBe("0-23,8-31");
    expect(final32.layouts.find((l) => l.name === "iDUS-8")!.depth).toBe(48);
    expect(final32.layouts.find((l) => l.name === "iDUS-1")!.spec.startsWith("0,8,1,9,2,10")).toBe(true);
    for (const p of results.predictor) {
      expect(p.held_out_layouts).toBeGreaterThanOrEqual(40);
      expect(p.layouts.every((l) => Number.isFinite(l.measured) && Number.isFinite(l.predicted))).toBe(true);
    }
    expect(results.predictor.map((p) => p.base).sort()).toEqual(results.bases.map((b) => b.name).sort());
  });

  it("links charts that exist, as SVG and PNG", () => {
    const stems = [...md.matchAll(/\]\(([a-z-]+)\.svg\)/g)].map((m) => m[1]!);
    expect(stems).toEqual(expect.arrayContaining(["training", "depth", "overlap", "predictor"]));
    for (const s of stems) {
      expect(readFileSync(`${dir}${s}.svg`, "utf8")).toContain("<svg");
      expect(readFileSync(`${dir}${s}.png`).subarray(1, 4).toString()).toBe("PNG");
    }
  });
});
