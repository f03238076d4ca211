// `dusk search --predict` end to end on a generated model: a pool of the asked size ranked by the
// predictor, only the best K measured (each number `dusk ppl`'s), the 7B estimate, --help, bad K.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fullCorpus } from "../src/fixtures/corpus.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf } from "./helpers/models.js";

const dirs = tempDirs("dusk-predict-");
let hf: string;
let text: string;
const W = ["--ctx", "128", "--stride", "128"];

beforeAll(async () => {
  const work = await dirs.make();
  hf = await makeTinyHf({ layers: 6, hidden: 32, heads: 4, kvHeads: 2, std: 0.08, seed: 11 });
  text = join(work, "calib.txt");
  await writeFile(text, fullCorpus().slice(400_000, 401_000));
});
afterAll(() => dirs.cleanup());

describe("dusk search --predict", () => {
  it("ranks the pool by prediction and measures only the best K, each the perplexity dusk ppl prints", async () => {
    const r = await runCli(["search", hf, "--depth", "8", "--text", text, ...W, "--predict", "3", "--count", "60", "--json", "--quiet"]);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.stdout);
    expect(s.candidates).toBe(60);
    expect(s.measured).toHaveLength(3);
    // the best predicted of each layer multiset first
    expect(s.measured.map((m: { predicted_rank: number }) => m.predicted_rank)).toContain(1);
    expect(new Set(s.measured.map((m: { layers: number[] }) => [...m.layers].sort().join(","))).size).toBe(3);
    const ppls = s.measured.map((m: { ppl: number }) => m.ppl);
    expect([...ppls].sort((a, b) => a - b)).toEqual(ppls);
    expect(s.predicted.map((p: { predicted_rank: number }) => p.predicted_rank)).toEqual(s.predicted.map((_: unknown, i: number) => i + 1));
    expect(s.best.spec).toBe(s.measured[0].spec);
    expect(s.estimate.flops_ratio).toBeGreaterThan(1000);
    expect(s.estimate.seven_b_measure_all_seconds).toBeGreaterThan(s.estimate.seven_b_predict_seconds);
    const p = await runCli(["ppl", hf, "--backend", "engine", "--text", text, ...W, ...s.best.preset, "--json", "--quiet"]);
    expect(JSON.parse(p.stdout).ppl).toBe(s.best.ppl);
  });

  it("prints the ranking, the measured best and the 7B estimate; refuses a bad K; has --help", async () => {
    const r = await runCli(["search", hf, "--depth", "8", "--text", text, ...W, "--count", "40", "--predict"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/40 candidates ranked by predicted penalty/);
    expect(r.stdout).toMatch(/for a 7B base \(estimate/);
    expect(r.stderr).toMatch(/search --predict: 40 candidates ranked in/);
    const bad = await runCli(["search", hf, "--depth", "8", "--text", text, "--predict", "0"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/--predict must be a positive integer/);
    const help = await runCli(["search", "--help"]);
    expect(help.stdout).toMatch(/--predict/);
  });
});
