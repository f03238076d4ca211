// The README's main job, as CI runs it: `dusk experiment --quick` on the embedded default model,
// end to end. The report's structure is checked, and every number of its table is recomputed
// here from results.json. Also: the same study on another base (healing exported as axolotl jobs,
// a leaderboard task scored; measured through a server started per model, with llama.cpp's
// scores), and the output rules (an earlier report is replaced, a foreign
// directory is not).

import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readdir } from "node:fs/promises";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import type { ExperimentResults, LayoutResult } from "../src/experiment/results.js";
import { exists, runCli, tempDirs } from "./helpers/cli.js";
import { tinyTokenizerFiles } from "./helpers/models.js";

const dirs = tempDirs("dusk-experiment-");
afterAll(() => dirs.cleanup());

/** The markdown table under "## Results": header and rows of cells. */
function resultsTable(md: string): { header: string[]; rows: string[][] } {
  const lines = md.split("## Results")[1]!.split("\n");
  const start = lines.findIndex((l) => l.startsWith("|"));
  const table: string[] = [];
  for (let i = start; i < lines.length && lines[i]!.startsWith("|"); i++) table.push(lines[i]!);
  const cells = (l: string) => l.slice(1, -1).split("|").map((c) => c.trim());
  return { header: cells(table[0]!), rows: table.slice(2).map(cells) };
}

const f2 = (x: number) => x.toFixed(2);
const f3 = (x: number) => x.toFixed(3);
const pct = (x: number) => (100 * x).toFixed(2);

/** Each row recomputed independently from results.json, in the order the report prints them. */
function expectedRow(l: LayoutResult, nextword: boolean, tasks: string[]): string[] {
  const row = [
    l.also ? `${l.name} (= search best)` : l.name,
    String(l.depth),
    String(l.seams?.count ?? 0),
    l.seams ? f3(l.seams.mean) : "—",
    l.seams ? f3(l.seams.drift) : "—",
    f2(l.before.ppl),
    l.after ? f2(l.after.ppl) : "—",
  ];
  if (nextword) row.push(l.before.nextword ? pct(l.before.nextword.metrics.acc_norm!) : "—", l.after?.nextword ? pct(l.after.nextword.metrics.acc_norm!) : "—");
  const scores: number[] = [];
  for (const t of tasks) {
    const m = l.before.tasks[t]!.metrics;
    const v = m.acc_norm ?? m.acc!;
    scores.push(v);
    row.push(pct(v));
  }
  if (tasks.length) row.push(pct(scores.reduce((a, b) => a + b, 0) / scores.length));
  return row;
}

describe("dusk experiment --quick on the embedded default", () => {
  let out: string;
  let results: ExperimentResults;
  let md: string;

  beforeAll(async () => {
    out = join(await dirs.make(), "report");
    const r = await runCli(["experiment", "--quick", "-o", out, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/report: .*report\.md \(quick mode, \d+ s\)/);
    results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ExperimentResults;
    md = readFileSync(join(out, "report.md"), "utf8");
  }, 600_000);

  it("measures the base, DUS, iDUS-4, iDUS-1 and the search's best, before and after healing", () => {
    expect(results.mode).toBe("quick");
    expect(results.base.embedded).toBe(true);
    expect(results.base.layers).toBe(16);
    const names = results.layouts.map((l) => l.name);
    expect(names.slice(0, 5)).toEqual(["base", "DUS", "iDUS-4", "iDUS-1", "DUS-blend"]);
    expect(names.length === 6 ? names[5] : results.layouts.find((l) => l.also)?.name).toBeDefined();
    expect(results.search.depth).toBe(24);
    for (const l of results.layouts) {
      expect(l.depth).toBe(l.name === "base" ? 16 : 24);
      expect(l.before.ppl).toBeGreaterThan(1);
      expect(l.after!.ppl).toBeGreaterThan(1);
      expect(l.before.nextword!.n).toBe(results.settings.nextword_items);
      expect(l.heal!.tokens).toBeGreaterThanOrEqual(results.settings.heal_tokens);
      expect(l.heal!.curve.length).toBe(l.heal!.steps);
      expect(l.before.continuation.length).toBeGreaterThan(0);
    }
    const by = (n: string) => results.layouts.find((l) => l.name === n)!;
    expect(by("DUS").seams!.count).toBe(1);
    expect(by("iDUS-1").seams!.count).toBe(23);
    expect(by("iDUS-4").seams!.count).toBe(2);
    // the trained default is a language model: far below the unigram baseline (~e^5.5 ≈ 245)
    expect(by("base").before.ppl).toBeLessThan(60);
  });

  it("report.md's table is results.json, number for number", () => {
    const tasks = results.settings.tasks;
    const { header, rows } = resultsTable(md);
    expect(header[0]).toBe("model");
    expect(rows).toEqual(results.layouts.map((l) => expectedRow(l, true, tasks)));
    expect(md).toMatch(/\*\*Quick mode\*\*/);
    expect(md).toContain("## What the numbers say");
    expect(md).toMatch(/The toy (does not )?reproduce/);
    expect(md).toContain("## The same prompt, greedy");
    expect(md).toContain(results.settings.prompt.trimEnd());
  });

  it("writes every chart as SVG and PNG, and the healed models", async () => {
    for (const stem of ["results", "heal-loss", "seam-distance", "base-distance"]) {
      expect(readFileSync(join(out, `${stem}.svg`), "utf8")).toMatch(/^<svg /);
      const png = readFileSync(join(out, `${stem}.png`));
      expect([...png.subarray(1, 4)].map((b) => String.fromCharCode(b)).join("")).toBe("PNG");
      expect(md).toContain(`(${stem}.png)`);
    }
    for (const l of results.layouts) expect(await exists(join(out, l.heal!.model, "model.safetensors"))).toBe(true);
    expect(Object.keys(results.timings).sort()).toEqual(["analyze", "build", "heal", "measure", "report", "search", "total"]);
  });

  it("replaces an earlier report, and refuses a directory that is not one", async () => {
    const foreign = await dirs.make();
    writeFileSync(join(foreign, "notes.txt"), "mine");
    const r = await runCli(["experiment", "--quick", "-o", foreign, "--quiet"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/already exists/);
    expect(readFileSync(join(foreign, "notes.txt"), "utf8")).toBe("mine");
  });
});

describe("dusk experiment on another base", () => {
  let base = "";
  let data = "";
  let local: ExperimentResults | undefined;
  const common = ["--quick", "--tasks", "winogrande", "--limit", "4", "--items", "6", "--search-budget", "2s", "--ctx", "128", "--quiet"];
  beforeAll(async () => {
    const root = await dirs.make();
    base = join(root, "base");
    await writeTinyHfModel(base, { layers: 8, hidden: 32, heads: 2, kvHeads: 1, seed: 3, std: 0.05, maxPositions: 256, vocabSize: 512, tokenizerFiles: tinyTokenizerFiles() });
    data = join(root, "data");
    const wino = (i: number) => JSON.stringify({ sentence: `The king gave the lord a crown because _ was generous ${i}.`, option1: "the king", option2: "the lord", answer: String((i % 2) + 1) });
    const write = (p: string, s: string) => (mkdirSync(dirname(p), { recursive: true }), writeFileSync(p, s));
    write(join(data, "allenai/winogrande/winogrande_xl/validation-00000-of-00001.jsonl"), Array.from({ length: 4 }, (_, i) => wino(i)).join("\n"));
    write(join(data, "allenai/winogrande/winogrande_xl/train-00000-of-00001.jsonl"), Array.from({ length: 8 }, (_, i) => wino(i + 10)).join("\n"));
  });

  it("exports a healing job per model and scores the leaderboard task it is given", { timeout: 300_000 }, async () => {
    const out = join(await dirs.make(), "report");
    const r = await runCli(["experiment", base, ...common, "--data", data, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ExperimentResults;
    local = res;
    expect(res.base.embedded).toBe(false);
    expect(res.settings.heal).toBe("export");
    expect(res.layouts.map((l) => l.name).slice(0, 4)).toEqual(["base", "DUS", "iDUS-2", "iDUS-1"]);
    for (const l of res.layouts) {
      expect(l.after).toBeUndefined();
      expect(l.before.tasks.winogrande!.n).toBe(4);
      expect((await readdir(join(out, l.job!))).sort()).toEqual(["README.md", "config.yml", "launch.sh"]);
    }
    const md = readFileSync(join(out, "report.md"), "utf8");
    expect(resultsTable(md).rows).toEqual(res.layouts.map((l) => expectedRow(l, true, ["winogrande"])));
    expect(md).toContain("## Healing jobs");
  });

  it("measures through an OpenAI-compatible server started per model, with the same scores as llama.cpp here", { timeout: 300_000 }, async () => {
    expect(local, "the llama.cpp run above").toBeDefined();
    const out = join(await dirs.make(), "report");
    const server = `${JSON.stringify(process.execPath)} ${JSON.stringify(join(process.cwd(), "bin/dusk.js"))} serve {gguf} --port {port} --name {name} --parallel 2 --threads 1 --quiet`;
    const r = await runCli(["experiment", base, ...common, "--data", data, "--heal", "none", "--server", server, "-o", out]);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as ExperimentResults;
    expect(res.settings.server).toBe(server);
    expect(res.layouts[0]!.before.device).toMatch(/^server: base /);
    for (const name of ["base", "DUS", "iDUS-2", "iDUS-1"]) {
      const a = local!.layouts.find((l) => l.name === name)!.before;
      const b = res.layouts.find((l) => l.name === name)!.before;
      expect(b.tokens).toBe(a.tokens);
      expect(Math.abs(b.nll - a.nll), name).toBeLessThan(1e-6);
      expect(b.tasks.winogrande!.metrics).toEqual(a.tasks.winogrande!.metrics);
      expect(b.nextword!.metrics).toEqual(a.nextword!.metrics);
    }
    expect(readFileSync(join(out, "report.md"), "utf8")).toContain("measured through a server started per model");
  });

  it("names the server's command and its last output when it fails to start", async () => {
    const out = join(await dirs.make(), "report");
    const r = await runCli(["experiment", base, ...common, "--data", data, "--heal", "none", "--server", "echo no such server {name} >&2; exit 3 # {port}", "-o", out]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/exited before it answered/);
    expect(r.stderr).toContain("no such server base");
    expect(await exists(out)).toBe(false);
    const bad = await runCli(["experiment", base, ...common, "--data", data, "--server", "vllm serve {model}", "-o", out]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/has no \{port\}/);
  });
});
