// `dusk study` end to end on two generated bases (8 and 6 layers, each with two checkpoints and a
// training log), on a short test text: the report directory's files, every report number recomputed
// from results.json (test/helpers/study-check.ts), invariants any measurement must keep (DUS at
// m = n/2 is the base itself: penalty exactly 0; the same numbers on worker threads as in one
// thread), the predictor's validation sets kept apart, --json, and bad input refused before any output.

import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StudyResults } from "../src/study/results.js";
import { exists, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf } from "./helpers/models.js";
import { checkStudyReport } from "./helpers/study-check.js";
import { openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { namedBase } from "../src/fixtures/default-model.js";
import { baseCheckpoints } from "../src/study/bases.js";

const dirs = tempDirs("dusk-study-");
afterAll(() => dirs.cleanup());

/** A base of n layers with checkpoints at steps 1 and 2 (other seeds: a stand-in run) and a log ending at step 3. */
async function makeBase(root: string, name: string, layers: number): Promise<string> {
  const dir = join(root, name);
  const tiny = { layers, hidden: 32, heads: 2, kvHeads: 1, intermediate: 64, std: 0.08 };
  await makeTinyHf({ ...tiny, seed: 30 + layers }, dir);
  for (const step of [1, 2]) await makeTinyHf({ ...tiny, seed: step * 100 + layers, dtype: "BF16" }, join(dir, "checkpoints", `step-000${step}`));
  const log = [1, 2, 3].flatMap((step) => [
    { type: "step", step, loss: 5 - step, tokens: step * 2048 },
    { type: "eval", step, loss: 5.5 - step },
  ]);
  await writeFile(join(dir, "train_log.jsonl"), log.map((e) => JSON.stringify(e)).join("\n") + "\n");
  return dir;
}

describe("dusk study on generated bases", () => {
  let root: string;
  let bases: string;
  let out: string;
  let results: StudyResults;
  let md: string;

  beforeAll(async () => {
    root = await dirs.make();
    bases = [await makeBase(root, "deep", 8), await makeBase(root, "shallow", 6)].join(",");
    out = join(root, "study");
    const r = await runCli(["study", "--quick", "--bases", bases, "--test-chars", "300", "--workers", "1", "-o", out]);
    expect(r.stderr).not.toContain("internal error");
    expect(r.code).toBe(0);
    results = JSON.parse(await readFile(join(out, "results.json"), "utf8")) as StudyResults;
    md = await readFile(join(out, "report.md"), "utf8");
  }, 120_000);

  it("writes the report, results and one chart per factor as SVG and PNG", async () => {
    for (const stem of ["training", "depth", "overlap", "predictor"]) {
      expect(await exists(join(out, `${stem}.svg`))).toBe(true);
      expect((await readFile(join(out, `${stem}.png`))).subarray(1, 4).toString()).toBe("PNG");
      expect(md).toContain(`](${stem}.svg)`);
    }
    for (const h of ["## Findings", "## Training length", "## Depth", "## Overlap m", "## What the data do not show", "## Reproduce"]) expect(md).toContain(h);
  });

  it("measures every checkpoint in training order, each against its own base", () => {
    expect(results.runs.map((r) => `${r.base}@${r.step}`)).toEqual(["deep@1", "deep@2", "deep@3", "shallow@1", "shallow@2", "shallow@3"]);
    expect(results.runs.map((r) => r.dtype)).toEqual(["BF16", "BF16", "F32", "BF16", "BF16", "F32"]);
    expect(results.runs.map((r) => r.tokens)).toEqual([2048, 4096, 6144, 2048, 4096, 6144]);
    const deep = results.bases.find((b) => b.name === "deep")!;
    expect([deep.m, deep.g, deep.overlaps]).toEqual([2, 2, [1, 2, 3, 4]]);
    const final = results.runs.find((r) => r.base === "deep" && r.final)!;
    // the seed's layouts scaled to n = 8, m = 2: DUS A0-5 + B2-7, iDUS-2 (A0-1 B2-3 A2-3 B4-5 A4-5 B6-7), iDUS-1
    expect(final.layouts.slice(0, 3).map((l) => l.spec)).toEqual(["0-5,2-7", "0-3,2-5,4-7", "0,2,1,3,2,4,3,5,4,6,5,7"]);
    expect(final.layouts).toHaveLength(3 * deep.overlaps.length);
    for (const r of results.runs) for (const l of r.layouts) {
      expect(l.penalty.lo).toBeLessThanOrEqual(l.penalty.hi);
      expect(l.penalty.se).toBeGreaterThanOrEqual(0);
      expect(l.ppl_ratio).toBeCloseTo(l.ppl / r.ppl, 10);
    }
  });

  it("validates the predictor on each base: fitted on one set, ranked on ≥ 40 other layouts", () => {
    expect(results.predictor.map((p) => p.base)).toEqual(["deep", "shallow"]);
    for (const p of results.predictor) {
      expect(p.held_out_layouts).toBeGreaterThanOrEqual(40);
      expect(p.fit_layouts).toBeGreaterThan(5);
      const fit = new Set(p.layouts.filter((l) => l.set === "fit").map((l) => `${l.spec}|${l.scales ?? ""}`));
      expect(p.layouts.filter((l) => l.set === "held-out").some((l) => fit.has(`${l.spec}|${l.scales ?? ""}`))).toBe(false);
      expect(Math.abs(p.rho)).toBeLessThanOrEqual(1);
    }
  });

  it("finds DUS at m = n/2 (the base's own layers) exactly as good as the base", () => {
    for (const b of results.bases) {
      const final = results.runs.find((r) => r.base === b.name && r.final)!;
      const dus = final.layouts.find((l) => l.kind === "dus" && l.m === b.layers / 2)!;
      expect(dus.window_nll).toEqual(final.window_nll);
      expect(dus.penalty).toEqual({ value: 0, se: 0, lo: 0, hi: 0 });
    }
  });

  it("prints only numbers recomputable from results.json", () => {
    expect(checkStudyReport(results, md)).toBeGreaterThan(100);
  });

  it("--from writes the same report again from results.json alone, and refuses what is not one", async () => {
    const again = join(root, "again");
    let r = await runCli(["study", "--from", join(out, "results.json"), "-o", again, "--quiet"]);
    expect(r.code).toBe(0);
    expect(await readFile(join(again, "report.md"), "utf8")).toBe(md);
    expect(await readFile(join(again, "depth.svg"), "utf8")).toBe(await readFile(join(out, "depth.svg"), "utf8"));
    const bad = join(root, "bad.json");
    await writeFile(bad, JSON.stringify({ version: 99 }));
    r = await runCli(["study", "--from", bad, "-o", join(root, "refused-from")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.json, version: not the results of this version/);
    expect(await exists(join(root, "refused-from"))).toBe(false);
  });

  it("gives the same numbers in one thread as on worker threads; --json prints them; an earlier report is replaced", async () => {
    const r = await runCli(["study", "--quick", "--bases", bases.split(",")[1]!, "--test-chars", "300", "--skip-predictor", "--workers", "0", "--json", "-o", out]);
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as StudyResults;
    expect(printed.settings.workers).toBe(0);
    expect(JSON.parse(await readFile(join(out, "results.json"), "utf8"))).toEqual(printed);
    const numbers = (x: StudyResults) => JSON.parse(JSON.stringify(x.runs.filter((run) => run.base === "shallow"), (k, v) => (k === "seconds" ? undefined : v)));
    expect(numbers(printed)).toEqual(numbers(results));
    expect(printed.bases).toEqual(results.bases.filter((b) => b.name === "shallow"));
  }, 60_000);

  it("refuses bad bases before writing anything", async () => {
    const missing = join(root, "no-such-base");
    const o = join(root, "refused");
    let r = await runCli(["study", "--bases", missing, "-o", o]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("no-such-base");
    expect(await exists(o)).toBe(false);
    r = await runCli(["study", "--bases", `${bases.split(",")[0]},${bases.split(",")[0]}`, "-o", o]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/names deep twice/);
    // a checkpoint of another depth is not a checkpoint of this run
    const odd = join(root, "odd");
    await makeTinyHf({ layers: 8, hidden: 32, heads: 2, kvHeads: 1 }, odd);
    await mkdir(join(odd, "checkpoints"));
    await makeTinyHf({ layers: 6, hidden: 32, heads: 2, kvHeads: 1 }, join(odd, "checkpoints", "step-0001"));
    r = await runCli(["study", "--quick", "--bases", odd, "--skip-predictor", "-o", o]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/step-0001 has 6 layers, its base .* has 8/);
    expect(await exists(o)).toBe(false);
  }, 60_000);

  it("knows the shipped bases by name: the seed-scale model and its 16-layer sibling, with their checkpoints", async () => {
    for (const [name, layers] of [["seed-scale", 32], ["seed-scale-16", 16]] as const) {
      const points = await baseCheckpoints(namedBase(name)!);
      expect(points.map((p) => p.step)).toEqual([25, 50, 100, 200, 350, 489]);
      expect(points.at(-1)!.tokens).toBe(489 * 2048);
      const c = await openCheckpoint(namedBase(name)!);
      expect(c.numLayers).toBe(layers);
      await c.close();
    }
    expect((await runCli(["experiment", "--help"])).stdout).toContain("seed-scale");
  });

  it("--help lists the options", async () => {
    const r = await runCli(["study", "--help"]);
    expect(r.code).toBe(0);
    for (const f of ["--quick", "--output", "--bases", "--json", "--test-chars"]) expect(r.stdout).toContain(f);
  });
});
