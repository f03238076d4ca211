// Every leaderboard task on a small fixture written by us in its dataset's real Hub schema and
// column types, once as parquet (hyparquet-writer, nested structs and lists as pyarrow writes
// them) and once as JSONL, in the Hub layout: the real loaders and runTask with the real
// CharBigramScorer under v1 must give identical docs, prompts, sample logs and metrics from both.
// Also: a parquet file missing a required column, and the dataset revision that `dusk data pull`
// records and `dusk eval` reports (against a local Hub-layout server).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parquetMetadata, parquetReadObjects } from "hyparquet";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalError, FormatError } from "../src/errors.js";
import { CharBigramScorer } from "../src/eval/char-ngram-scorer.js";
import { manifestPath, readDatasetManifest, taskDatasetSource, type DatasetManifest } from "../src/eval/dataset-manifest.js";
import { loadSplit, taskDataFiles } from "../src/eval/dataset.js";
import { buildResults } from "../src/eval/results.js";
import { runTask, type EvalEvent, type TaskResult } from "../src/eval/runner.js";
import type { SampleRecord } from "../src/eval/sample-log.js";
import { arcChallenge } from "../src/eval/tasks/arc.js";
import { gsm8k } from "../src/eval/tasks/gsm8k.js";
import { hellaswag } from "../src/eval/tasks/hellaswag.js";
import { mmluSubjectTask } from "../src/eval/tasks/mmlu.js";
import { TRUTHFULQA_QA_PROMPT, truthfulqaMc2 } from "../src/eval/tasks/truthfulqa.js";
import { winogrande } from "../src/eval/tasks/winogrande.js";
import type { EvalTask, TaskDataset } from "../src/eval/task.js";
import { runCli } from "./helpers/cli.js";
import { startHubServer } from "./helpers/hub-server.js";
import { fullCorpus } from "../src/fixtures/corpus.js";

// ---- the real schemas (HF `features`, as the Hub's parquet conversion stores them) ----------

/** A column of a Hub parquet file: string, int32/int64 value, list<string|int32>, or a struct. */
type Column =
  | { name: string; kind: "string" | "int32" | "int64" | "list<string>" | "list<int32>" }
  | { name: string; kind: "struct"; fields: Column[] };
type Row = Record<string, unknown>;

const S = (name: string): Column => ({ name, kind: "string" });
const SCHEMAS = {
  // allenai/ai2_arc: choices is Sequence({text, label}) → struct<text: list<string>, label: list<string>>
  arc: [S("id"), S("question"), { name: "choices", kind: "struct", fields: [{ name: "text", kind: "list<string>" }, { name: "label", kind: "list<string>" }] }, S("answerKey")],
  // Rowan/hellaswag: ind int32, endings list<string>, label a *string* ("0".."3")
  hellaswag: [{ name: "ind", kind: "int32" }, S("activity_label"), S("ctx_a"), S("ctx_b"), S("ctx"), { name: "endings", kind: "list<string>" }, S("source_id"), S("split"), S("split_type"), S("label")],
  // cais/mmlu: answer is ClassLabel(A..D) → int64
  mmlu: [S("question"), S("subject"), { name: "choices", kind: "list<string>" }, { name: "answer", kind: "int64" }],
  // truthfulqa/truthful_qa multiple_choice: {choices: list<string>, labels: list<int32>} twice
  truthfulqa: [
    S("question"),
    { name: "mc1_targets", kind: "struct", fields: [{ name: "choices", kind: "list<string>" }, { name: "labels", kind: "list<int32>" }] },
    { name: "mc2_targets", kind: "struct", fields: [{ name: "choices", kind: "list<string>" }, { name: "labels", kind: "list<int32>" }] },
  ],
  // allenai/winogrande winogrande_xl: answer a string "1"/"2"
  winogrande: [S("sentence"), S("option1"), S("option2"), S("answer")],
  // openai/gsm8k main
  gsm8k: [S("question"), S("answer")],
} satisfies Record<string, Column[]>;

/** pyarrow's layout: optional fields; a list is `optional group (LIST) { repeated group list { optional element } }`. */
function schemaElements(columns: Column[]): object[] {
  const out: object[] = [];
  for (const c of columns) {
    if (c.kind === "struct") {
      out.push({ name: c.name, repetition_type: "OPTIONAL", num_children: c.fields.length }, ...schemaElements(c.fields));
    } else if (c.kind === "list<string>" || c.kind === "list<int32>") {
      out.push(
        { name: c.name, repetition_type: "OPTIONAL", num_children: 1, converted_type: "LIST" },
        { name: "list", repetition_type: "REPEATED", num_children: 1 },
        c.kind === "list<string>" ? { name: "element", type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" } : { name: "element", type: "INT32", repetition_type: "OPTIONAL" },
      );
    } else if (c.kind === "string") {
      out.push({ name: c.name, type: "BYTE_ARRAY", converted_type: "UTF8", repetition_type: "OPTIONAL" });
    } else {
      out.push({ name: c.name, type: c.kind === "int32" ? "INT32" : "INT64", repetition_type: "OPTIONAL" });
    }
  }
  return out;
}

function parquetBytes(columns: Column[], rows: Row[]): Uint8Array {
  return new Uint8Array(
    parquetWriteBuffer({
      columnData: columns.map((c) => ({ name: c.name, data: rows.map((r) => r[c.name]) })),
      schema: [{ name: "schema", num_children: columns.length }, ...schemaElements(columns)] as never,
    }),
  );
}

/** JSONL as `datasets`' to_json writes it: int64 values become plain JSON numbers. */
function jsonlText(rows: Row[]): string {
  return rows.map((r) => JSON.stringify(r, (_k, v: unknown) => (typeof v === "bigint" ? Number(v) : v))).join("\n") + "\n";
}

// ---- rows (with non-ASCII text, digit ARC labels and HellaSwag's WikiHow artefacts) -----------

const arcRow = (split: string, i: number): Row => {
  const labels = i % 4 === 1 ? ["1", "2", "3", "4"] : i % 5 === 0 ? ["A", "B", "C"] : ["A", "B", "C", "D"];
  const text = ["the king", "my lord", "good sir — naïve", `thou art ${i}`].slice(0, labels.length);
  return { id: `Mercury_${split}_${i}`, question: `${split} question ${i}: who speaks first, in café or court?`, choices: { text, label: labels }, answerKey: labels[i % labels.length]! };
};
const hellaswagRow = (split: string, i: number): Row => ({
  ind: 100 + i,
  activity_label: i % 2 ? "Making a sandwich" : "Personal Care and Style",
  ctx_a: `[header] How to speak ${i} [title] Stand  up straight.`,
  ctx_b: i % 3 ? "then, THE man speaks." : "",
  ctx: "unused by the task",
  endings: [`He bows [step] low.`, " She laughs — loudly.", `They leave ${i}.`, "The end [substeps] here"],
  source_id: `wikihow~${i}`,
  split,
  split_type: i % 2 ? "indomain" : "zeroshot",
  label: String(i % 4),
});
const mmluRow = (subject: string, split: string, i: number): Row => ({
  question: `  ${split} ${subject} question ${i}: what is ${i} + ${i}?\n`,
  subject,
  choices: [`${2 * i}`, `${2 * i + 1}`, `${i}`, "None of these — ∅"],
  answer: BigInt(i % 4),
});
const truthfulqaRow = (i: number): Row => ({
  question: `What happens if you say "${i}" at midnight?`,
  mc1_targets: { choices: ["Nothing happens.", `You turn into ${i} frogs.`, "A ghost appears."], labels: [1, 0, 0] },
  mc2_targets: { choices: ["Nothing happens.", "Nothing in particular.", `You turn into ${i} frogs.`, "A ghost appears — boo!"], labels: i % 2 ? [1, 1, 0, 0] : [1, 0, 0, 0] },
});
const winograndeRow = (i: number): Row => ({
  sentence: `The lord gave the king a crown — a gift — because _ was generous ${i} times.`,
  option1: "the lord",
  option2: "the king",
  answer: String((i % 2) + 1),
});
const gsm8kRow = (i: number): Row => ({
  question: `If I have ${i} apples — and buy 2, how many?`,
  answer: `${i} + 2 = <<${i}+2=${i + 2}>>${i + 2}\n#### ${(i + 2) * 1000 > 9999 ? ((i + 2) * 1000).toLocaleString("en-US") : i + 2}`,
});

interface Fixture {
  task: EvalTask<unknown>;
  columns: Column[];
  /** split → rows */
  splits: Record<string, Row[]>;
}
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const MMLU_SUBJECTS_USED = ["abstract_algebra", "high_school_us_history"] as const;
const FIXTURES: Fixture[] = [
  { task: arcChallenge as EvalTask<unknown>, columns: SCHEMAS.arc, splits: { test: range(7).map((i) => arcRow("test", i)), train: range(30).map((i) => arcRow("train", i)) } },
  { task: hellaswag as EvalTask<unknown>, columns: SCHEMAS.hellaswag, splits: { validation: range(6).map((i) => hellaswagRow("val", i)), train: range(14).map((i) => hellaswagRow("train", i)) } },
  ...MMLU_SUBJECTS_USED.map((s) => ({ task: mmluSubjectTask(s) as EvalTask<unknown>, columns: SCHEMAS.mmlu, splits: { test: range(6).map((i) => mmluRow(s, "test", i)), dev: range(5).map((i) => mmluRow(s, "dev", i)) } })),
  { task: truthfulqaMc2 as EvalTask<unknown>, columns: SCHEMAS.truthfulqa, splits: { validation: range(5).map(truthfulqaRow) } },
  { task: winogrande as EvalTask<unknown>, columns: SCHEMAS.winogrande, splits: { validation: range(6).map(winograndeRow), train: range(12).map((i) => winograndeRow(i + 50)) } },
  { task: gsm8k as EvalTask<unknown>, columns: SCHEMAS.gsm8k, splits: { test: range(3).map(gsm8kRow), train: range(8).map((i) => gsm8kRow(i + 9995)) } },
];

// ---- the data directories --------------------------------------------------------------------

const shakespeare = fullCorpus();
let root = "";
let parquetDir = "";
let jsonlDir = "";
let scorer: CharBigramScorer;

/** Hub layout: DIR/<repo>/<dir>/<split>-00000-of-00001.<ext> — the very paths taskDataFiles names. */
function splitPath(dataDir: string, task: EvalTask<unknown>, split: string, ext: string): string {
  const file = taskDataFiles(task).find((f) => f.split === split);
  expect(file, `${task.name} reads a ${split} split`).toBeDefined();
  return join(dataDir, (task.dataset as TaskDataset).repo, file!.pathInRepo.replace(/\.parquet$/, ext));
}
function put(file: string, content: string | Uint8Array): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, content);
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), "dusk-eval-datasets-"));
  parquetDir = join(root, "parquet");
  jsonlDir = join(root, "jsonl");
  for (const f of FIXTURES) {
    for (const [split, rows] of Object.entries(f.splits)) {
      put(splitPath(parquetDir, f.task, split, ".parquet"), parquetBytes(f.columns, rows));
      put(splitPath(jsonlDir, f.task, split, ".jsonl"), jsonlText(rows));
    }
  }
  scorer = new CharBigramScorer(shakespeare);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function drain(gen: AsyncGenerator<EvalEvent, TaskResult>): Promise<{ samples: SampleRecord[]; result: TaskResult }> {
  const samples: SampleRecord[] = [];
  for (;;) {
    const next = await gen.next();
    if (next.done) return { samples, result: next.value };
    if (next.value.type === "sample") samples.push(next.value.record);
  }
}

describe("fixtures in the real schema", () => {
  it("the parquet files carry the Hub's column types, nested structs and lists included", async () => {
    const types = (file: string) => parquetMetadata(new Uint8Array(readFileSync(file)).buffer).schema.map((e) => `${e.name}:${e.type ?? ""}:${e.converted_type ?? ""}`);
    expect(types(splitPath(parquetDir, arcChallenge as EvalTask<unknown>, "test", ".parquet"))).toEqual([
      "schema::", "id:BYTE_ARRAY:UTF8", "question:BYTE_ARRAY:UTF8", "choices::", "text::LIST", "list::", "element:BYTE_ARRAY:UTF8", "label::LIST", "list::", "element:BYTE_ARRAY:UTF8", "answerKey:BYTE_ARRAY:UTF8",
    ]);
    const tqa = types(splitPath(parquetDir, truthfulqaMc2 as EvalTask<unknown>, "validation", ".parquet"));
    expect(tqa.filter((t) => t.startsWith("element:"))).toEqual(["element:BYTE_ARRAY:UTF8", "element:INT32:", "element:BYTE_ARRAY:UTF8", "element:INT32:"]);
    // Read back as the loaders see them: int64 → bigint, int32 → number, string labels stay strings.
    const read = async (task: EvalTask<unknown>, split: string) =>
      (await parquetReadObjects({ file: new Uint8Array(readFileSync(splitPath(parquetDir, task, split, ".parquet"))).buffer }))[0] as Row;
    const mmlu = await read(FIXTURES[2]!.task, "test");
    expect(typeof mmlu.answer).toBe("bigint");
    const hs = await read(hellaswag as EvalTask<unknown>, "validation");
    expect([typeof hs.ind, typeof hs.label, Array.isArray(hs.endings)]).toEqual(["number", "string", true]);
    const arc = await read(arcChallenge as EvalTask<unknown>, "test");
    expect(arc.choices).toEqual(arcRow("test", 0).choices);
    expect((await read(truthfulqaMc2 as EvalTask<unknown>, "validation")).mc2_targets).toEqual(truthfulqaRow(0).mc2_targets);
    expect((await read(winogrande as EvalTask<unknown>, "validation")).answer).toBe("1");
  });
});

describe.each(FIXTURES.map((f) => [f.task.name, f] as const))("%s: parquet and JSONL agree (v1, char-bigram)", (_name, fixture) => {
  it("same parsed docs, prompts, sample logs and metrics", async () => {
    const task = fixture.task;
    for (const split of Object.keys(fixture.splits)) {
      const fromParquet = await loadSplit(parquetDir, task, split);
      const fromJsonl = await loadSplit(jsonlDir, task, split);
      expect(fromParquet[0]!.file.endsWith(".parquet") && fromJsonl[0]!.file.endsWith(".jsonl")).toBe(true);
      expect(fromParquet.length).toBe(fixture.splits[split]!.length);
      expect(fromParquet.map((r) => task.parseDoc(r))).toEqual(fromJsonl.map((r) => task.parseDoc(r)));
    }
    const logP = join(root, `${task.name}.parquet-samples.jsonl`);
    const logJ = join(root, `${task.name}.jsonl-samples.jsonl`);
    const a = await drain(runTask(task, scorer, { dataDir: parquetDir, protocol: "v1", sampleLog: logP }));
    const b = await drain(runTask(task, scorer, { dataDir: jsonlDir, protocol: "v1", sampleLog: logJ }));
    expect(a.samples.length).toBe(fixture.splits[(task.dataset as TaskDataset).evalSplit]!.length);
    expect(a.samples.map((s) => s.prompt)).toEqual(b.samples.map((s) => s.prompt));
    expect(a.samples.map((s) => s.contexts ?? null)).toEqual(b.samples.map((s) => s.contexts ?? null));
    expect(a.samples).toEqual(b.samples);
    expect(readFileSync(logP, "utf8")).toBe(readFileSync(logJ, "utf8"));
    expect(a.result).toEqual(b.result);
    // The run did real work: the task's default shots, finite metrics, real log-likelihoods.
    expect(a.result.shots).toBe(task.defaultShots);
    for (const m of task.metricNames) expect(Number.isFinite(a.result.metrics[m])).toBe(true);
    for (const s of a.samples) {
      if (s.loglikelihoods) expect(s.loglikelihoods.every((ll) => ll < 0 && Number.isFinite(ll))).toBe(true);
      else expect(typeof s.generation).toBe("string");
    }
  });
});

describe("prompts built from the fixtures", () => {
  // Spot checks that the schema-specific fields reached the prompts (not only that both formats agree).
  const firstSample = async (task: EvalTask<unknown>) => (await drain(runTask(task, scorer, { dataDir: parquetDir, protocol: "v1", limit: 1, shots: task.shotSelection === "none" ? 0 : 1 }))).samples[0]!;
  it("hellaswag preprocessing, MMLU's description and letters, TruthfulQA's fixed prefix, Winogrande's partial contexts", async () => {
    const hs = await firstSample(hellaswag as EvalTask<unknown>);
    expect(hs.prompt).not.toMatch(/\[|\]| {2}/);
    expect(hs.choices.every((c) => !c.includes("["))).toBe(true);
    const mmlu = await firstSample(FIXTURES[3]!.task);
    expect(mmlu.prompt.startsWith("The following are multiple choice questions (with answers) about high school us history.\n\n")).toBe(true);
    expect(mmlu.continuations).toEqual([" A", " B", " C", " D"]);
    const tqa = await firstSample(truthfulqaMc2 as EvalTask<unknown>);
    expect(tqa.prompt.startsWith(TRUTHFULQA_QA_PROMPT + "\n\nQ: What happens if you say")).toBe(true);
    const wg = await firstSample(winogrande as EvalTask<unknown>);
    expect(wg.contexts?.map((c) => c.split("\n\n").at(-1))).toEqual([
      expect.stringMatching(/because the lord$/),
      expect.stringMatching(/because the king$/),
    ]);
  });
});

describe("a parquet file without a required column", () => {
  it("names the column and the file (top-level and inside a struct)", async () => {
    const dir = join(root, "broken");
    const subject = mmluSubjectTask("anatomy") as EvalTask<unknown>;
    const noAnswer = SCHEMAS.mmlu.filter((c) => c.name !== "answer");
    const file = splitPath(dir, subject, "test", ".parquet");
    put(file, parquetBytes(noAnswer, range(3).map((i) => mmluRow("anatomy", "test", i))));
    put(splitPath(dir, subject, "dev", ".parquet"), parquetBytes(SCHEMAS.mmlu, range(5).map((i) => mmluRow("anatomy", "dev", i))));
    const err = await drain(runTask(subject, scorer, { dataDir: dir, protocol: "v1" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvalError);
    expect((err as EvalError).code).toBe("EVAL_DATASET_COLUMN");
    expect((err as EvalError).message).toContain(file);
    expect((err as EvalError).message).toContain('no column "answer"');
    expect((err as EvalError).message).toContain("question, subject, choices");
    expect((err as EvalError).hint).toMatch(/schema/);

    // (choices.label is not read: lm-eval takes gold from the answer key alone)
    const arcNoText = SCHEMAS.arc.map((c) => (c.kind === "struct" ? { ...c, fields: c.fields.filter((f) => f.name !== "text") } : c));
    const arcFile = splitPath(dir, arcChallenge as EvalTask<unknown>, "test", ".parquet");
    put(arcFile, parquetBytes(arcNoText, range(2).map((i) => arcRow("test", i))));
    const nested = await loadSplit(dir, arcChallenge as EvalTask<unknown>, "test").then((rows) => arcChallenge.parseDoc(rows[0]!)).catch((e: unknown) => e);
    expect(nested).toBeInstanceOf(EvalError);
    expect((nested as EvalError).message).toContain(arcFile);
    expect((nested as EvalError).message).toContain('no column "choices.text"');
  });
  it("a present column holding a wrong value is still a row error (FormatError with the row)", async () => {
    const dir = join(root, "badvalue");
    const file = splitPath(dir, winogrande as EvalTask<unknown>, "validation", ".parquet");
    put(file, parquetBytes(SCHEMAS.winogrande, [winograndeRow(0), { ...winograndeRow(1), answer: null }]));
    const rows = await loadSplit(dir, winogrande as EvalTask<unknown>, "validation");
    const err = (() => {
      try {
        rows.map((r) => winogrande.parseDoc(r));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).message).toMatch(/row 1: answer/);
  });
});

// ---- dataset revision: `dusk data pull` records it, eval reads it ------------------------------

describe("dataset revision", () => {
  const hubFiles = (fixture: Fixture): Record<string, Uint8Array> => {
    const out: Record<string, Uint8Array> = {};
    for (const f of taskDataFiles(fixture.task)) out[f.pathInRepo] = parquetBytes(fixture.columns, fixture.splits[f.split]!);
    return out;
  };
  const mmluFiles = (which: Fixture[], version: string): Record<string, Uint8Array> => {
    const out: Record<string, Uint8Array> = { "README.md": new TextEncoder().encode(`mmlu ${version}`) };
    for (const f of which) Object.assign(out, hubFiles(f));
    return out;
  };

  it("data pull writes .dusk-dataset.json per repo; eval-side lookup gives each task its commit", async () => {
    const [algebra, history] = [FIXTURES[2]!, FIXTURES[3]!];
    const hub = await startHubServer({
      datasets: {
        "allenai/ai2_arc": { files: { ...hubFiles(FIXTURES[0]!), "README.md": "arc" }, branches: ["v1.0"] },
        "cais/mmlu": { files: mmluFiles([algebra, history], "1") },
      },
    });
    const to = join(root, "pulled");
    try {
      const pull = await runCli(["data", "pull", "--tasks", "arc_challenge,mmlu_abstract_algebra", "--to", to, "--endpoint", hub.url, "--revision", "v1.0", "--json"]);
      // cais/mmlu has no v1.0 branch: the whole pull fails, naming the revision.
      expect(pull.code).toBe(1);
      expect(pull.stderr).toMatch(/v1\.0/);

      const arcPull = await runCli(["data", "pull", "--tasks", "arc_challenge", "--to", to, "--endpoint", hub.url, "--revision", "v1.0", "--json"]);
      expect(arcPull.stderr).toBe("");
      expect(arcPull.code).toBe(0);
      const arcSha = hub.sha("dataset", "allenai/ai2_arc");
      expect(JSON.parse(arcPull.stdout).datasets).toEqual([{ repo: "allenai/ai2_arc", revision: "v1.0", commit: arcSha, manifest: manifestPath(to, "allenai/ai2_arc") }]);
      const arcManifest = JSON.parse(readFileSync(manifestPath(to, "allenai/ai2_arc"), "utf8")) as DatasetManifest;
      expect(manifestPath(to, "allenai/ai2_arc")).toBe(join(to, "allenai/ai2_arc/.dusk-dataset.json"));
      expect(arcManifest).toMatchObject({ format: 1, repo: "allenai/ai2_arc", revision: "v1.0", commit: arcSha });
      expect(Date.parse(arcManifest.pulled_at)).toBeGreaterThan(Date.now() - 60_000);
      expect(Object.keys(arcManifest.files).sort()).toEqual(["ARC-Challenge/test-00000-of-00001.parquet", "ARC-Challenge/train-00000-of-00001.parquet"]);
      expect(arcManifest.files["ARC-Challenge/test-00000-of-00001.parquet"]).toMatchObject({ commit: arcSha, revision: "v1.0", size: hub.file("dataset", "allenai/ai2_arc", "ARC-Challenge/test-00000-of-00001.parquet").bytes.byteLength });
      expect(await taskDatasetSource(to, arcChallenge as EvalTask<unknown>)).toEqual({ repo: "allenai/ai2_arc", commit: arcSha, revision: "v1.0" });

      // Two subjects pulled one after the other, the second after the repo moved: each keeps its commit.
      expect((await runCli(["data", "pull", "--tasks", "mmlu_abstract_algebra", "--to", to, "--endpoint", hub.url, "--quiet"])).code).toBe(0);
      const firstSha = hub.sha("dataset", "cais/mmlu");
      hub.setRepo("dataset", "cais/mmlu", { files: mmluFiles([algebra, history], "2") });
      const secondSha = hub.sha("dataset", "cais/mmlu");
      expect(secondSha).not.toBe(firstSha);
      expect((await runCli(["data", "pull", "--tasks", "mmlu_high_school_us_history", "--to", to, "--endpoint", hub.url, "--quiet"])).code).toBe(0);
      const mmlu = await readDatasetManifest(to, "cais/mmlu");
      expect(mmlu?.commit).toBe(secondSha);
      expect(Object.keys(mmlu!.files).length).toBe(4);
      expect(await taskDatasetSource(to, algebra.task)).toEqual({ repo: "cais/mmlu", commit: firstSha, revision: "main" });
      expect(await taskDatasetSource(to, history.task)).toEqual({ repo: "cais/mmlu", commit: secondSha, revision: "main" });

      // The pulled data evaluates, and results carry per-task repo + commit.
      const runs: TaskResult[] = [];
      for (const f of [FIXTURES[0]!, algebra, history]) runs.push((await drain(runTask(f.task, scorer, { dataDir: to, protocol: "v1", limit: 2 }))).result);
      const datasets = Object.fromEntries(await Promise.all([FIXTURES[0]!, algebra, history].map(async (f) => [f.task.name, await taskDatasetSource(to, f.task)] as const)));
      const results = buildResults(runs, { scorer: scorer.describe(), protocol: "v1", seed: 42, datasets });
      expect(results.config.datasets?.arc_challenge).toEqual({ repo: "allenai/ai2_arc", commit: arcSha, revision: "v1.0" });
      expect(results.config.datasetRevision).toBe([`allenai/ai2_arc@${arcSha}`, `cais/mmlu@${firstSha}`, `cais/mmlu@${secondSha}`].sort().join(", "));

      // A file edited after the pull is no longer vouched for.
      const test = join(to, "allenai/ai2_arc/ARC-Challenge/test-00000-of-00001.parquet");
      writeFileSync(test, parquetBytes(SCHEMAS.arc, range(3).map((i) => arcRow("edited", i))));
      expect(await taskDatasetSource(to, arcChallenge as EvalTask<unknown>)).toMatchObject({ commit: "unknown", reason: expect.stringMatching(/changed since it was pulled/) });
    } finally {
      await hub.close();
    }
  });

  it("hand-made data is 'unknown'; a damaged manifest is a FormatError naming the field", async () => {
    expect(await taskDatasetSource(jsonlDir, gsm8k as EvalTask<unknown>)).toMatchObject({ repo: "openai/gsm8k", commit: "unknown" });
    const results = buildResults([], { scorer: scorer.describe(), protocol: "v1", seed: 42, datasets: { gsm8k: await taskDatasetSource(jsonlDir, gsm8k as EvalTask<unknown>) } });
    expect(results.config.datasetRevision).toBe("unknown");
    expect(results.config.datasets?.gsm8k?.commit).toBe("unknown");
    const dir = join(root, "damaged");
    put(manifestPath(dir, "openai/gsm8k"), JSON.stringify({ format: 1, repo: "openai/gsm8k", revision: "main", commit: "not-a-commit", pulled_at: "x", files: {} }));
    const err = await taskDatasetSource(dir, gsm8k as EvalTask<unknown>).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).message).toContain(manifestPath(dir, "openai/gsm8k"));
    expect((err as FormatError).field).toBe("commit");
    expect((err as FormatError).hint).toMatch(/pull again/);
  });
});
