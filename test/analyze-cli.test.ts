// `dusk analyze` and `dusk search` end to end on generated models: JSON shape and output files, a
// built stack analysed = its virtual analysis, GGUF inputs (F32 = HF, Q8_0 close, other types
// refused), search rankings that are exactly `dusk ppl`'s numbers, and every bad input a typed error.

import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileSink, FileSource } from "../src/formats/byte-source.js";
import { parseGguf } from "../src/formats/gguf.js";
import { GgufWriter } from "../src/formats/gguf-writer.js";
import { tensorType } from "../src/formats/tensor-types.js";
import { fullCorpus } from "../src/fixtures/corpus.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf, toGguf } from "./helpers/models.js";

const dirs = tempDirs("dusk-analyze-");
let work: string;
let hf: string;
let text: string;
const N = 6;
const W = ["--ctx", "128", "--stride", "64"];

beforeAll(async () => {
  work = await dirs.make();
  hf = await makeTinyHf({ layers: N, hidden: 32, heads: 4, kvHeads: 2, std: 0.08, seed: 11 });
  text = join(work, "calib.txt");
  await writeFile(text, fullCorpus().slice(400_000, 401_000));
});
afterAll(() => dirs.cleanup());

async function json(argv: string[]): Promise<Record<string, any>> {
  const r = await runCli([...argv, "--json"]);
  expect(r.stderr).not.toMatch(/error/);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout);
}

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe("dusk analyze", () => {
  it("prints the map as JSON and writes analysis.json with SVG and PNG charts; prints time and peak memory", async () => {
    const out = join(work, "map");
    const r = await runCli(["analyze", hf, "--text", text, ...W, "-o", out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/layer\s+BI/);
    expect(r.stderr).toMatch(/analyze: \d+ tokens × 7 boundaries in [\d.]+ s, peak memory \d+ MiB/);
    const a = JSON.parse(await readFile(join(out, "analysis.json"), "utf8"));
    expect(a.boundaries).toBe(N + 1);
    expect(a.angular_distance_last).toHaveLength(N + 1);
    expect(a.angular_distance_mean.every((row: number[]) => row.length === N + 1)).toBe(true);
    expect(a.block_influence).toHaveLength(N);
    expect(a).toMatchObject({ model: hf, text, bos: false, ctx: 128, stride: 64 });
    expect(a.tokens).toBeGreaterThan(128);
    for (const name of ["distance-mean", "distance-last", "block-influence"]) {
      const svg = await readFile(join(out, `${name}.svg`), "utf8");
      expect(svg).toMatch(/^<svg/);
      expect(svg).toContain("model on calib.txt"); // the title names the model and the text
      expect([...(await readFile(join(out, `${name}.png`))).subarray(0, 8)]).toEqual(PNG);
    }
    const j = await json(["analyze", hf, "--text", text, ...W]);
    expect(j.angular_distance_mean).toEqual(a.angular_distance_mean);
    expect(j.run.peak_rss_bytes).toBeGreaterThan(0);
  });

  it("reports seams: DUS one, iDUS-1 many as large; its perplexity is dusk ppl's; -o adds the seam chart", async () => {
    const out = join(work, "idus");
    const idus = await runCli(["analyze", "--preset", "idus", "--group", "1", hf, "--text", text, ...W, "-o", out]);
    expect(idus.code).toBe(0);
    expect(idus.stdout).toMatch(/8 layers, 7 seam\(s\)/);
    expect([...(await readFile(join(out, "seam-distance.png"))).subarray(0, 8)]).toEqual(PNG);
    const i = JSON.parse(await readFile(join(out, "analysis.json"), "utf8")).layout;
    const d = (await json(["analyze", "--preset", "dus", hf, "--text", text, ...W])).layout;
    expect(d.seams).toBe(1);
    expect(i.seams).toBe(7);
    // every one of iDUS-1's seams is about as far as DUS's single one: far more distance in all
    expect(Math.min(...i.positions.filter((p: { seam: boolean }) => p.seam).map((p: { distance_mean: number }) => p.distance_mean))).toBeGreaterThan(d.seam_distance_max / 2);
    expect(i.seams * i.seam_distance_mean).toBeGreaterThan(4 * d.seam_distance_max);
    const ppl = await json(["ppl", "--preset", "idus", "--group", "1", hf, "--backend", "engine", "--text", text, ...W, "--quiet"]);
    expect(i.ppl).toBe(ppl.ppl);
    expect(i.nll).toBe(ppl.nll);
  });

  it("a built stack's analysis equals its virtual analysis", async () => {
    const built = join(work, "dus-built");
    expect((await runCli(["build", "--preset", "dus", hf, "-o", built, "--quiet"])).code).toBe(0);
    const b = await json(["analyze", built, "--text", text, ...W]);
    const v = await json(["analyze", "--preset", "dus", hf, "--text", text, ...W]);
    for (const k of ["angular_distance_last", "angular_distance_mean", "block_influence", "ppl", "nll", "tokens"]) expect(b[k]).toEqual(v[k]);
  });

  it("reads HF F16/BF16 and GGUF: F32 gives the HF map exactly (llama.cpp tokenizes), Q8_0/Q4_0 close ones; other types are refused", async () => {
    const h = await json(["analyze", hf, "--text", text, ...W]);
    const f32Path = await toGguf(hf, "f32");
    const f32 = await json(["analyze", f32Path, "--text", text, ...W]);
    expect(f32.tokenizer).toMatch(/llama\.cpp/);
    for (const k of ["angular_distance_mean", "block_influence", "ppl", "tokens"]) expect(f32[k]).toEqual(h[k]);
    const q8 = await json(["analyze", await toGguf(hf, "q8_0"), "--text", text, ...W]);
    const diff = Math.max(...q8.angular_distance_mean.flat().map((v: number, i: number) => Math.abs(v - h.angular_distance_mean.flat()[i])));
    expect(diff).toBeLessThan(0.02);
    expect(Math.abs(q8.nll - h.nll)).toBeLessThan(0.05);
    const q4 = await json(["analyze", await toGguf(hf, "q4_0"), "--text", text, ...W]);
    expect(q4.angular_distance_mean.flat().every((v: number) => v >= 0 && v <= 1)).toBe(true);
    expect(Math.abs(q4.nll - h.nll)).toBeLessThan(0.5);
    // HF in F16 and BF16: the same model rounded, so nearly the same map
    for (const dtype of ["F16", "BF16"] as const) {
      const m = await makeTinyHf({ layers: N, hidden: 32, heads: 4, kvHeads: 2, std: 0.08, seed: 11, dtype });
      const a = await json(["analyze", m, "--text", text, ...W]);
      const dd = Math.max(...a.angular_distance_mean.flat().map((v: number, i: number) => Math.abs(v - h.angular_distance_mean.flat()[i])));
      expect(dd, dtype).toBeLessThan(0.02);
    }
    // Q5_0: a type the engine does not widen
    const bad = join(work, "q5_0.gguf");
    await retype(f32Path, bad, "blk.0.ffn_down.weight", "Q5_0");
    const r = await runCli(["analyze", bad, "--text", text]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/blk\.0\.ffn_down\.weight: tensor type the engine cannot read \(expected F32, F16, BF16, Q8_0 or Q4_0, found Q5_0\)/);
    expect(r.stderr).toMatch(/hint: .*--type q8_0/);
  });

  it("refuses bad input with typed errors", async () => {
    const empty = join(work, "empty.txt");
    await writeFile(empty, "");
    const short = join(work, "short.txt");
    await writeFile(short, "I");
    const yaml = join(work, "past.yml");
    await writeFile(yaml, `merge_method: passthrough\nslices:\n  - sources:\n      - model: ${hf}\n        layer_range: [0, ${N + 2}]\n`);
    const cases: [string[], RegExp][] = [
      [["analyze", hf, "--text", empty], /calibration text .*empty\.txt is empty/],
      [["analyze", hf, "--text", short], /short\.txt is 1 token\(s\); analysis needs at least 2/],
      [["analyze", "--preset", "layers", "--layers", `0-${N + 3}`, hf, "--text", text], /reaches layer 9, but the model has layers 0\.\.5/],
      [["analyze", yaml, "--text", text], /layer_range \[0, 8\) is outside .* which has 6 layers/],
      [["search", hf, "--depth", "8", "--text", text, "--budget", "ten minutes"], /--budget must be a duration such as 90s, 10m or 1h30m, found "ten minutes"/],
      [["search", hf, "--depth", "13", "--text", text], /no candidate layout has depth 13: from 6 base layers, two copies reach 1 to 12/],
      [["analyze", hf, "--text", text, "--ctx", "4096"], /--ctx 4096 exceeds the model's window of 2048 tokens/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(" ")).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).toMatch(/\nhint: /);
    }
  });
});

describe("dusk search", () => {
  it("ranks candidates by the perplexity dusk ppl prints for each, and emits the best", async () => {
    const s = await json(["search", hf, "--depth", "8", "--text", text, ...W, "--quiet"]);
    expect(s.ranking.length).toBeGreaterThan(5);
    expect(s.not_ranked).toEqual([]);
    expect(s.resumed).toBe(true);
    const ppls = s.ranking.map((r: { ppl: number }) => r.ppl);
    expect([...ppls].sort((a, b) => a - b)).toEqual(ppls);
    expect(s.ranking.map((r: { kind: string }) => r.kind)).toEqual(expect.arrayContaining(["dus", "idus", "guided", "two-copy"]));
    // the ranking number is dusk ppl's: the best, DUS and iDUS-1 through their own presets
    const pick = [s.ranking[0], ...s.ranking.filter((r: { name: string }) => r.name === "dus m=2" || r.name === "idus g=1 m=2")];
    expect(pick).toHaveLength(3);
    for (const c of pick) {
      const p = await json(["ppl", hf, "--backend", "engine", "--text", text, ...W, ...c.preset, "--quiet"]);
      expect(p.ppl, c.name).toBe(c.ppl);
    }
    const list = await runCli(["search", hf, "--depth", "8", "--text", text, ...W, "--emit", "list", "--quiet"]);
    expect(list.stdout).toBe(`${s.best.spec}\n`);
    const yml = await runCli(["search", hf, "--depth", "8", "--text", text, ...W, "--emit", "mergekit"]);
    expect(yml.stdout).toBe(s.best.mergekit);
    expect(yml.stdout).toMatch(/merge_method: passthrough/);
    expect(yml.stderr).toMatch(/best so far \(1\/\d+\)/);
    expect(yml.stderr).toMatch(/rank\s+ppl/);
  });

  it("stops at the budget with at least one candidate ranked", async () => {
    const s = await json(["search", hf, "--depth", "8", "--text", text, ...W, "--budget", "1ms", "--quiet"]);
    expect(s.ranking).toHaveLength(1);
    expect(s.not_ranked.length).toBeGreaterThan(0);
    expect(s.budget_ms).toBe(1);
  });

  it("has --help for both commands", async () => {
    for (const cmd of ["analyze", "search"]) {
      const r = await runCli([cmd, "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/--text/);
    }
  });
});

/** Copies a GGUF with one tensor's type changed (its bytes zeroed to the new size). */
async function retype(src: string, out: string, name: string, type: string): Promise<void> {
  const source = await FileSource.open(src);
  try {
    const g = await parseGguf(source);
    const to = tensorType(type)!;
    const specs = g.tensors.map((t) => ({ name: t.name, type: t.name === name ? to : t.type, shape: t.shape }));
    const sink = await FileSink.create(out);
    const w = new GgufWriter(sink, { kv: g.kv, tensors: specs });
    for (const t of g.tensors) {
      const size = t.name === name ? (t.shape.reduce((a, b) => a * b, 1) / to.blockElems) * to.blockBytes : t.byteLength;
      await w.writeTensorData(t.name === name ? new Uint8Array(size) : await source.read(t.offset, t.byteLength));
    }
    await w.finish();
    await sink.close();
  } finally {
    await source.close();
  }
}
