// `dusk eval|ppl|compare|data pull` end to end, in-process, on a tiny generated model with small
// fixtures in each dataset's real schema: all three backends (llama.cpp, engine, OpenAI through an
// in-process `dusk serve`), resume after an interruption, compare's Markdown/SVG and protocol flag,
// unknown tasks, and pulling task files from a local Hub-layout server.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResultsFile } from "../src/eval/results.js";
import { buildNextLineDocs } from "../src/eval/tasks/nextline.js";
import { fullCorpus } from "../src/fixtures/corpus.js";
import { LlamaScorer } from "../src/runtime/score.js";
import { openModel } from "../src/runtime/index.js";
import { startServer, type RunningServer } from "../src/server/index.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { startHubServer } from "./helpers/hub-server.js";
import { makeTinyGguf } from "./helpers/models.js";

const dirs = tempDirs("dusk-eval-cli-");
let hf = "";
let gguf = "";
let data = "";
let work = "";

const str = (name: string) => ({ name, type: "BYTE_ARRAY" as const, converted_type: "UTF8" as const, repetition_type: "OPTIONAL" as const });
const listOf = (name: string) => [
  { name, repetition_type: "OPTIONAL" as const, num_children: 1, converted_type: "LIST" as const },
  { name: "list", repetition_type: "REPEATED" as const, num_children: 1 },
  { name: "element", type: "BYTE_ARRAY" as const, converted_type: "UTF8" as const, repetition_type: "OPTIONAL" as const },
];
function arcRow(split: string, i: number) {
  const labels = i % 3 === 0 ? ["1", "2", "3", "4"] : ["A", "B", "C", "D"];
  return { id: `${split}-${i}`, question: `who speaks ${i} words first?`, choices: { text: ["the king", "my lord", "good sir", `thou art ${i}`], label: labels }, answerKey: labels[i % 4]! };
}
function arcParquet(rows: ReturnType<typeof arcRow>[]): Uint8Array {
  return new Uint8Array(parquetWriteBuffer({
    columnData: [
      { name: "id", data: rows.map((r) => r.id) },
      { name: "question", data: rows.map((r) => r.question) },
      { name: "choices", data: rows.map((r) => r.choices) },
      { name: "answerKey", data: rows.map((r) => r.answerKey) },
    ],
    schema: [{ name: "schema", num_children: 4 }, str("id"), str("question"), { name: "choices", repetition_type: "OPTIONAL", num_children: 2 }, ...listOf("text"), ...listOf("label"), str("answerKey")],
  }));
}
const arcFiles = (): Record<string, Uint8Array> => ({
  "ARC-Challenge/test-00000-of-00001.parquet": arcParquet(Array.from({ length: 6 }, (_, i) => arcRow("test", i))),
  "ARC-Challenge/train-00000-of-00001.parquet": arcParquet(Array.from({ length: 10 }, (_, i) => arcRow("train", i))),
});
function write(file: string, content: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

beforeAll(async () => {
  ({ hf, gguf } = await makeTinyGguf({ layers: 2, hidden: 64, seed: 5, std: 0.08, maxPositions: 512 }, "f32"));
  data = await dirs.make();
  work = await dirs.make();
  for (const [p, bytes] of Object.entries(arcFiles())) write(join(data, "allenai/ai2_arc", p), bytes);
  const wino = (i: number) => ({ sentence: `The king gave the lord a crown because _ was generous ${i}.`, option1: "the king", option2: "the lord", answer: String((i % 2) + 1) });
  write(join(data, "allenai/winogrande/winogrande_xl/validation-00000-of-00001.jsonl"), Array.from({ length: 4 }, (_, i) => JSON.stringify(wino(i))).join("\n"));
  write(join(data, "allenai/winogrande/winogrande_xl/train-00000-of-00001.jsonl"), Array.from({ length: 8 }, (_, i) => JSON.stringify(wino(i + 10))).join("\n"));
  const gsm = (i: number) => ({ question: `If I have ${i} apples and buy 2, how many?`, answer: `${i}+2=${i + 2}\n#### ${i + 2}` });
  write(join(data, "openai/gsm8k/main/test-00000-of-00001.jsonl"), Array.from({ length: 3 }, (_, i) => JSON.stringify(gsm(i))).join("\n"));
  write(join(data, "openai/gsm8k/main/train-00000-of-00001.jsonl"), Array.from({ length: 4 }, (_, i) => JSON.stringify(gsm(i + 10))).join("\n"));
}, 60_000);
afterAll(() => dirs.cleanup());

const readResults = (p: string) => JSON.parse(readFileSync(p, "utf8")) as ResultsFile;
const samples = (p: string) => readFileSync(p, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { type: string; docId?: number; loglikelihoods?: number[] });

describe("dusk eval", () => {
  it("llama.cpp backend: two tasks with --limit, results JSON, sample logs, a table", async () => {
    const out = join(work, "llama.json");
    const r = await runCli(["eval", gguf, "--tasks", "arc_challenge,winogrande", "--data", data, "--limit", "3", "--shots", "1", "-o", out, "--samples", join(work, "llama.jsonl"), "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/arc_challenge\s+acc_norm/);
    const res = readResults(out);
    expect(res.config.backend).toBe("llamacpp");
    expect(res.bos).toBe(false);
    // hand-made data: no pull manifest, so no known revision
    expect(res.config.datasetRevision).toBe("unknown");
    expect(res.config.datasets?.winogrande).toMatchObject({ repo: "allenai/winogrande", commit: "unknown" });
    expect(res["n-samples"].arc_challenge).toEqual({ original: 6, effective: 3 });
    expect(typeof res.results.winogrande!.acc).toBe("number");
    expect(samples(join(work, "llama.arc_challenge.jsonl")).filter((s) => s.type === "sample")).toHaveLength(3);
  }, 60_000);

  it("engine backend on the HF directory gives the same log-likelihoods", async () => {
    const r = await runCli(["eval", hf, "--backend", "engine", "--tasks", "arc_challenge", "--data", data, "--limit", "3", "--shots", "1", "--samples", join(work, "engine.jsonl"), "--quiet"]);
    expect(r.code).toBe(0);
    const a = samples(join(work, "llama.arc_challenge.jsonl")).filter((s) => s.type === "sample");
    const b = samples(join(work, "engine.jsonl")).filter((s) => s.type === "sample");
    expect(b).toHaveLength(3);
    for (let i = 0; i < 3; i++) b[i]!.loglikelihoods!.forEach((v, j) => expect(Math.abs(v - a[i]!.loglikelihoods![j]!)).toBeLessThan(5e-3));
  }, 60_000);

  it("engine backend over a preset layout run virtually", async () => {
    const r = await runCli(["eval", "--preset", "idus", "--group", "1", "--drop", "0", hf, "--backend", "engine", "--tasks", "arc_challenge", "--data", data, "--limit", "2", "--shots", "0", "--json", "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).config.model).toMatch(/^idus/);
  }, 60_000);

  it("OpenAI backend through an in-process dusk serve", async () => {
    const served = await openModel(gguf, { contextSize: 512, sequences: 2, flashAttention: false });
    let server: RunningServer | undefined;
    try {
      server = await startServer(served, { modelName: "tiny", port: 0 });
      const out = join(work, "openai.json");
      const r = await runCli(["eval", "--backend", "openai", "--base-url", `${server.url}/v1`, "--model", "tiny", "--tasks", "arc_challenge,winogrande", "--data", data, "--limit", "2", "--shots", "1", "-o", out, "--quiet"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const res = readResults(out);
      expect(res.config.backend).toBe("openai");
      expect(Object.keys(res.results).sort()).toEqual(["arc_challenge", "winogrande"]);
    } finally {
      await server?.close();
      await served.dispose();
    }
  }, 90_000);

  it("resume after an interruption scores only the missing docs and does not double count", async () => {
    const log = join(work, "resume.jsonl");
    const base = ["eval", gguf, "--tasks", "arc_challenge", "--data", data, "--limit", "5", "--shots", "0", "--samples", log, "--json", "--quiet"];
    const full = JSON.parse((await runCli(base)).stdout) as ResultsFile;
    const lines = readFileSync(log, "utf8").split("\n");
    writeFileSync(log, lines.slice(0, 3).join("\n") + "\n" + lines[3]!.slice(0, 20)); // header, 2 samples, a torn line
    const r = await runCli([...base, "--resume"]);
    expect(r.code).toBe(0);
    const resumed = JSON.parse(r.stdout) as ResultsFile;
    expect(resumed.results.arc_challenge).toEqual(full.results.arc_challenge);
    const recs = samples(log).filter((s) => s.type === "sample");
    expect(recs.map((s) => s.docId).sort()).toEqual([0, 1, 2, 3, 4]);
  }, 60_000);

  it("an unknown task lists the known ones", async () => {
    const r = await runCli(["eval", gguf, "--tasks", "arc_easy", "--data", data]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/unknown task "arc_easy"/);
    expect(r.stderr).toMatch(/hellaswag/);
  });
});

describe("dusk ppl / compare / data pull", () => {
  it("nextline: built from --text with no --data, --limit N builds N items, llama.cpp and engine agree", async () => {
    const textFile = join(work, "held-out.txt");
    const text = fullCorpus().slice(1_050_000, 1_080_000);
    writeFileSync(textFile, text);
    const out = join(work, "nextline.json");
    const r = await runCli(["eval", gguf, "--tasks", "nextline", "--text", textFile, "--limit", "6", "-o", out, "--samples", join(work, "nextline.jsonl"), "--quiet"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nextline\s+acc_norm/);
    const res = readResults(out);
    expect(res["n-samples"].nextline).toEqual({ original: 6, effective: 6 });
    expect(res.config.datasets?.nextline).toMatchObject({ repo: "dusk:nextline", commit: "unknown", built: expect.stringMatching(/^6 items .*seed 1234/) });
    // the items the library builds for items: 6, in the runner's v1 order
    const docs = buildNextLineDocs({ text, items: 6 });
    const recs = readFileSync(join(work, "nextline.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((x) => x.type === "sample");
    expect(recs).toHaveLength(6);
    for (const rec of recs) {
      expect(rec.prompt).toBe(docs[rec.datasetIndex]!.query);
      expect(rec.choices).toEqual(docs[rec.datasetIndex]!.choices);
      expect(rec.loglikelihoods.every((v: number) => Number.isFinite(v) && v < 0)).toBe(true);
    }
    const e = await runCli(["eval", hf, "--backend", "engine", "--tasks", "nextline", "--text", textFile, "--limit", "6", "--samples", join(work, "nextline-engine.jsonl"), "--quiet"]);
    expect(e.code).toBe(0);
    const erecs = readFileSync(join(work, "nextline-engine.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((x) => x.type === "sample");
    erecs.forEach((er, i) => er.loglikelihoods.forEach((v: number, j: number) => expect(Math.abs(v - recs[i].loglikelihoods[j])).toBeLessThan(5e-3)));
  }, 90_000);

  it("nextline without --text, and a file task without --data, are refused before loading the model", async () => {
    const noText = await runCli(["eval", gguf, "--tasks", "nextline"]);
    expect(noText.code).toBe(1);
    expect(noText.stderr).toMatch(/--text/);
    const noData = await runCli(["eval", "missing.gguf", "--tasks", "nextline,arc_challenge", "--text", join(work, "held-out.txt")]);
    expect(noData.code).toBe(1);
    expect(noData.stderr).toMatch(/arc_challenge reads its documents from a data directory: pass --data DIR/);
  });

  it("ppl: llama.cpp and engine agree", async () => {
    const text = join(work, "text.txt");
    writeFileSync(text, "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and arrows of outrageous fortune. ".repeat(3));
    const a = JSON.parse((await runCli(["ppl", gguf, "--text", text, "--ctx", "32", "--stride", "16", "--json", "--quiet"])).stdout);
    const b = JSON.parse((await runCli(["ppl", hf, "--backend", "engine", "--text", text, "--ctx", "32", "--stride", "16", "--json", "--quiet"])).stdout);
    expect(a.tokens).toBe(b.tokens);
    expect(Math.abs(a.nll - b.nll)).toBeLessThan(1e-3);
  }, 60_000);

  it("compare writes Markdown, SVG and PNG and flags another protocol", async () => {
    const v04 = join(work, "v04.json");
    const e = await runCli(["eval", gguf, "--tasks", "arc_challenge", "--data", data, "--limit", "2", "--shots", "1", "--protocol", "v0.4", "-o", v04, "--quiet"]);
    expect(e.stderr).toBe("");
    expect(e.code).toBe(0);
    const md = join(work, "table.md");
    const svg = join(work, "table.svg");
    const r = await runCli(["compare", join(work, "llama.json"), v04, "-o", md, "--chart", svg]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/v04\.json was scored under protocol v0\.4/);
    expect(readFileSync(md, "utf8")).toMatch(/\| ARC \|/);
    expect(readFileSync(svg, "utf8")).toMatch(/^<svg/);
    expect([...readFileSync(join(work, "table.png")).subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  }, 60_000);

  it("data pull downloads the task files into DIR/org/name/…", async () => {
    const hub = await startHubServer({ datasets: { "allenai/ai2_arc": { files: { ...arcFiles(), "README.md": "arc" } } } });
    try {
      const to = await dirs.make();
      const r = await runCli(["data", "pull", "--tasks", "arc_challenge", "--to", to, "--endpoint", hub.url, "--quiet"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      for (const [p, bytes] of Object.entries(arcFiles())) expect(new Uint8Array(readFileSync(join(to, "allenai/ai2_arc", p)))).toEqual(bytes);
      // The commit it fetched is recorded beside the data…
      const sha = hub.sha("dataset", "allenai/ai2_arc");
      const manifest = JSON.parse(readFileSync(join(to, "allenai/ai2_arc/.dusk-dataset.json"), "utf8"));
      expect(manifest).toMatchObject({ repo: "allenai/ai2_arc", revision: "main", commit: sha });
      // …and eval reads what was pulled and reports that commit.
      const e = await runCli(["eval", gguf, "--tasks", "arc_challenge", "--data", to, "--limit", "1", "--shots", "1", "--json", "--quiet"]);
      expect(e.stderr).toBe("");
      expect(e.code).toBe(0);
      const res = JSON.parse(e.stdout) as ResultsFile;
      expect(res.config.datasets?.arc_challenge).toEqual({ repo: "allenai/ai2_arc", commit: sha, revision: "main" });
      expect(res.config.datasetRevision).toBe(`allenai/ai2_arc@${sha}`);
    } finally {
      await hub.close();
    }
  }, 60_000);
});
