// The nextline task: its documents against an independent CPython build of them
// (test/fixtures/nextline-golden.json, from the .py beside it), the exact prompt strings, the
// builder's rules, and accuracies through the same runner as ARC: a scorer that memorised the
// text far above chance, a constant one at chance.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { EvalError } from "../../errors.js";
import { fullCorpus } from "../../fixtures/corpus.js";
import { CharBigramScorer, CharNgramScorer } from "../char-ngram-scorer.js";
import { resolveTasks } from "../registry.js";
import { runTask, type EvalEvent, type TaskResult } from "../runner.js";
import type { Scorer } from "../scorer.js";
import { buildNextLineDocs, cutLine, nextLineTask, type NextLineDoc } from "./nextline.js";
import { assembleContext, type BuiltDataset } from "../task.js";

interface Golden {
  python: string;
  textStart: number;
  items: number;
  seed: number;
  contextLines: number;
  docs: NextLineDoc[];
  wordDocs: NextLineDoc[];
}
const golden = JSON.parse(readFileSync(fileURLToPath(new URL("../../../test/fixtures/nextline-golden.json", import.meta.url)), "utf8")) as Golden;
// The last ~65 kB of the corpus stands in for a held-out text here.
const heldOut = fullCorpus().slice(golden.textStart);

async function run(task: ReturnType<typeof nextLineTask>, scorer: Scorer): Promise<TaskResult> {
  const gen: AsyncGenerator<EvalEvent, TaskResult> = runTask(task, scorer, { protocol: "v1" });
  for (;;) {
    const next = await gen.next();
    if (next.done) return next.value;
  }
}

/** Every choice equally likely: argmax picks the first, so acc is the share of items whose gold is 0. */
const constant: Scorer = {
  name: "constant",
  loglikelihood: async (requests) => requests.map(() => ({ logprob: 0, greedy: false })),
  generate: async () => [],
  describe: () => ({ model: "constant", backend: "constant", bos: false }),
};

describe(`nextline documents vs CPython ${golden.python}'s random`, () => {
  it("are the golden's, draw for draw", () => {
    const docs = buildNextLineDocs({ text: heldOut, items: golden.items, seed: golden.seed, contextLines: golden.contextLines });
    expect(docs).toEqual(golden.docs);
  });

  it("nextword: the golden's too, each query ending in the true line's head, each choice a word after a space", () => {
    const docs = buildNextLineDocs({ text: heldOut, items: golden.items, seed: golden.seed, contextLines: golden.contextLines, unit: "word" });
    expect(docs).toEqual(golden.wordDocs);
    const task = nextLineTask({ text: heldOut, items: golden.items, seed: golden.seed, unit: "word" });
    expect(task.name).toBe("nextword");
    const doc = (task.dataset as BuiltDataset<NextLineDoc>).docs[0]!;
    const context = assembleContext(task, [], doc);
    expect(context.endsWith("\nOr else you get no")).toBe(true);
    expect(task.buildRequests(doc, context, "v1").map((r) => (r as { continuation: string }).continuation)).toEqual([" beef", " Lucentio;", " business:", " that"]);
  });

  it("cutLine: at the run of spaces nearest the middle, the earlier on a tie; at least 4 words", () => {
    expect(cutLine("Or else you get no beef of Grumio.")).toEqual({ head: "Or else you get no", word: " beef" });
    expect(cutLine("aa bb cc dd")).toEqual({ head: "aa bb", word: " cc" });
    expect(cutLine("a  b c  d")).toEqual({ head: "a  b", word: " c" });
    expect(cutLine("  lead space and more")).toEqual({ head: "  lead space", word: " and" });
    expect(cutLine("three words only   ")).toBeUndefined();
    expect(cutLine("")).toBeUndefined();
  });

  it("prompt format: the window's lines each ending in \\n, each choice the bare next line", () => {
    const task = nextLineTask({ text: heldOut, items: golden.items, seed: golden.seed });
    const doc = (task.dataset as BuiltDataset<NextLineDoc>).docs[0]!;
    const context = assembleContext(task, [], doc);
    expect(context).toBe("Why then, the beef, and let the mustard rest.\n\nGRUMIO:\nNay then, I will not: you shall have the mustard,\n");
    expect(task.buildRequests(doc, context, "v1")).toEqual([
      { kind: "loglikelihood", context, continuation: "Safely in harbour" },
      { kind: "loglikelihood", context, continuation: "Or else you get no beef of Grumio." },
      { kind: "loglikelihood", context, continuation: "The spouse of any noble gentleman." },
      { kind: "loglikelihood", context, continuation: "And therefore, if you say no more than this," },
    ]);
    expect(doc.gold).toBe(1);
    expect(task.docToTarget(doc)).toBe("Or else you get no beef of Grumio.");
    // acc_norm divides by each line's own length (17, 34, 34, 44 code points), the newline the
    // split moves onto it not counted: -15.2/17 < -30/34, but -15.2/18 > -30/35
    const lls = [-15.2, -30, -40, -80];
    expect(task.score(doc, lls.map((logprob) => ({ logprob, greedy: false })), "v1").metrics).toEqual({ acc: 0, acc_norm: 1 });
  });
});

describe("the builder", () => {
  const text = heldOut.slice(0, 20_000);
  const lines = text.split("\n");
  const docs = buildNextLineDocs({ text, seed: 7 });

  it("takes every eligible line by default; distractors differ from the truth, from each other and come from outside the window", () => {
    const eligible = lines.filter((l, i) => i >= 4 && l.trim() !== "" && !l.trimEnd().endsWith(":")).length;
    expect(docs.length).toBe(eligible);
    for (const d of docs) {
      expect(d.choices[d.gold]).toBe(lines[d.line]);
      expect(new Set(d.choices).size).toBe(4);
      expect(d.query).toBe(lines.slice(d.line - 4, d.line).join("\n") + "\n");
      for (const c of d.choices) {
        expect(c.trim()).not.toBe("");
        expect(c.trimEnd().endsWith(":")).toBe(false);
      }
    }
    // gold is spread over the four positions
    const perPosition = [0, 1, 2, 3].map((g) => docs.filter((d) => d.gold === g).length / docs.length);
    for (const share of perPosition) expect(Math.abs(share - 0.25)).toBeLessThan(0.05);
  });

  it("is deterministic in the seed; items picks a subset in text order; CRLF reads like LF", () => {
    expect(buildNextLineDocs({ text, seed: 7 })).toEqual(docs);
    expect(buildNextLineDocs({ text, seed: 8 })).not.toEqual(docs);
    const some = buildNextLineDocs({ text, seed: 7, items: 30 });
    expect(some.length).toBe(30);
    expect(some.map((d) => d.line)).toEqual([...some.map((d) => d.line)].sort((a, b) => a - b));
    expect(buildNextLineDocs({ text, seed: 7, items: 1e6 })).toEqual(docs);
    expect(buildNextLineDocs({ text: text.replaceAll("\n", "\r\n"), seed: 7, items: 30 })).toEqual(some);
  });

  it("refuses a text too short or too repetitive to draw from, and bad options", () => {
    expect(() => buildNextLineDocs({ text: "a\nb\nc\nd\ne\nf" })).toThrow(EvalError);
    expect(() => buildNextLineDocs({ text: "x\n".repeat(100) })).toThrow(/distinct/);
    expect(() => buildNextLineDocs({ text, items: 0 })).toThrow(/items/);
    expect(() => buildNextLineDocs({ text, contextLines: 0 })).toThrow(/contextLines/);
  });

  it("the registry builds it from a text and says so without one", () => {
    const [task] = resolveTasks(["nextline"], { text, items: 5 });
    expect(task!.name).toBe("nextline");
    expect((task!.dataset as BuiltDataset<unknown>).docs.length).toBe(5);
    const both = resolveTasks(["nextline", "nextword", "nextword"], { text, items: 5 });
    expect(both.map((t) => t.name)).toEqual(["nextline", "nextword"]);
    expect((both[1]!.dataset as BuiltDataset<NextLineDoc>).docs.every((d) => d.choices.every((c) => /^ +[^ ]+$/.test(c)))).toBe(true);
    const err = (() => {
      try {
        return resolveTasks(["nextline"]);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(EvalError);
    expect((err as EvalError).hint).toMatch(/--text/);
  });
});

describe("nextline sample logs", () => {
  it("resume only into the same built items (another --limit builds others)", async () => {
    const log = join(mkdtempSync(join(tmpdir(), "dusk-nextline-")), "samples.jsonl");
    const drain = async (items: number, resume: boolean) => {
      const gen = runTask(nextLineTask({ text: heldOut, items }), constant, { protocol: "v1", sampleLog: log, resume });
      for (;;) if ((await gen.next()).done) return;
    };
    await drain(5, false);
    await drain(5, true);
    await expect(drain(6, true)).rejects.toThrow(/cannot resume, built was "5 items/);
  });
});

describe("nextline through the runner (chance is 25%)", () => {
  const task = nextLineTask({ text: heldOut, items: 200, seed: golden.seed });

  it("a scorer that memorised the text (char 8-gram) scores far above chance, on acc and acc_norm", async () => {
    const r = await run(task, new CharNgramScorer(heldOut, { order: 8 }));
    expect(r.nSamples).toEqual({ original: 200, effective: 200 });
    // measured: acc 0.825, acc_norm 0.865 (stderr ≈ 0.026)
    expect(r.metrics.acc).toBeGreaterThan(0.7);
    expect(r.metrics.acc_norm).toBeGreaterThan(0.7);
    expect(r.stderr.acc).toBeGreaterThan(0);
  });

  it("a constant scorer, and a bigram that knows only which letter follows which, score at chance", async () => {
    const flat = await run(task, constant);
    // measured: 0.20 (40 of 200 items have gold 0), 1.8 stderr below 0.25
    expect(Math.abs(flat.metrics.acc! - 0.25)).toBeLessThan(3 * flat.stderr.acc!);
    expect(flat.metrics.acc_norm).toBe(flat.metrics.acc);
    // measured: acc 0.24, acc_norm 0.245 — local statistics do not tell the next line
    const bigram = await run(task, new CharBigramScorer(heldOut));
    expect(Math.abs(bigram.metrics.acc_norm! - 0.25)).toBeLessThan(3 * bigram.stderr.acc_norm!);
  });
});
