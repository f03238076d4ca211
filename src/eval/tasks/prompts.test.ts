// Byte-for-byte prompt goldens, written by hand from the harness's rules (EVAL.md).
import { describe, expect, it } from "vitest";
import { FormatError } from "../../errors.js";
import type { DatasetRow } from "../dataset.js";
import { pythonCapitalize, pythonStrip } from "../python-strings.js";
import { resolveTasks } from "../registry.js";
import { arcChallenge } from "./arc.js";
import { gsm8k, GSM8K_STOP_STRINGS } from "./gsm8k.js";
import { hellaswag, hellaswagPreprocess } from "./hellaswag.js";
import { MMLU_SUBJECTS, mmluSubjectTask } from "./mmlu.js";
import { TRUTHFULQA_QA_PROMPT, truthfulqaMc2 } from "./truthfulqa.js";
import { winogrande } from "./winogrande.js";
import { assembleContext } from "../task.js";

const row = (value: Record<string, unknown>, index = 0): DatasetRow => ({ file: "fixture.parquet", index, value });

describe("HellaSwag preprocessing", () => {
  it("strips, turns ' [title]' into '. ', drops [..] non-greedily, collapses '  ' in one pass", () => {
    expect(hellaswagPreprocess("  How to cook [title] Boil water. [step] Add salt.  ")).toBe("How to cook. Boil water. Add salt.");
    // one left-to-right pass: four spaces become two, not one
    expect(hellaswagPreprocess("a    b")).toBe("a  b");
    expect(hellaswagPreprocess("x [a] y [b] z")).toBe("x y z");
    // `.` does not cross a newline, so a bracket pair split by one survives
    expect(hellaswagPreprocess("p [q\nr] s")).toBe("p [q\nr] s");
  });
  it("capitalize lower-cases the rest and title-cases the first character", () => {
    expect(pythonCapitalize("then THE Man")).toBe("Then the man");
    expect(pythonCapitalize("ßa")).toBe("Ssa");
    expect(pythonCapitalize("ǆemal")).toBe("ǅemal");
    expect(pythonCapitalize("")).toBe("");
    expect(pythonStrip("\ufeff x \x1c")).toBe("\ufeff x");
  });
  it("builds the query and choices", () => {
    const doc = hellaswag.parseDoc(
      row({
        activity_label: "Home and Garden",
        ctx_a: "[header] How to plant tulips [title] Pick a spot.",
        ctx_b: "YOU should dig",
        endings: [" a hole [step] deep.", "a  trench"],
        label: "1",
      }),
    );
    expect(hellaswag.docToText(doc)).toBe("Home and Garden: How to plant tulips. Pick a spot. You should dig");
    expect(doc.choices).toEqual(["a hole deep.", "a trench"]);
    expect(doc.gold).toBe(1);
  });
});

describe("ARC", () => {
  const a = arcChallenge.parseDoc(row({ id: "x1", question: "Which is a metal?", choices: { text: ["iron", "wood"], label: ["A", "B"] }, answerKey: "A" }));
  const b = arcChallenge.parseDoc(row({ id: "x2", question: "2+2?", choices: { text: ["3", "4", "5"], label: ["1", "2", "3"] }, answerKey: "2" }));
  it("assembles shots and item; digit labels map to the right index", () => {
    expect(b.gold).toBe(1);
    expect(assembleContext(arcChallenge, [a, b], a)).toBe(
      "Question: Which is a metal?\nAnswer: iron\n\nQuestion: 2+2?\nAnswer: 4\n\nQuestion: Which is a metal?\nAnswer:",
    );
    expect(arcChallenge.buildRequests(b, "C", "v1")).toEqual([
      { kind: "loglikelihood", context: "C", continuation: " 3" },
      { kind: "loglikelihood", context: "C", continuation: " 4" },
      { kind: "loglikelihood", context: "C", continuation: " 5" },
    ]);
  });
  it("gold is the key's position in A–E, whatever the order of choices.label (as lm-eval b281b09)", () => {
    const doc = (labels: string[], answerKey: string) => arcChallenge.parseDoc(row({ question: "q", choices: { text: ["w", "x", "y", "z"], label: labels }, answerKey })).gold;
    expect(doc(["B", "A", "C", "D"], "A")).toBe(0);
    expect(doc(["D", "C", "B", "A"], "B")).toBe(1);
    expect(doc(["A", "B", "C", "D"], "3")).toBe(2); // digit keys map to letters first, even with letter labels
    expect(doc(["4", "3", "2", "1"], "1")).toBe(0);
    // a key found in the labels but not among the first four of A–E is no gold for four choices
    expect(() => doc(["E", "F", "G", "H"], "E")).toThrow(/answerKey/);
    expect(() => doc(["F", "G", "H", "I"], "F")).toThrow(/answerKey/);
    expect(() => doc(["a", "b", "c", "d"], "a")).toThrow(/answerKey/);
  });
  it("an answer key outside A–E or past the choices is a FormatError naming the row", () => {
    expect(() => arcChallenge.parseDoc(row({ question: "q", choices: { text: ["a"], label: ["A"] }, answerKey: "C" }, 7))).toThrow(/row 7: answerKey/);
    expect(() => arcChallenge.parseDoc(row({ question: "q", choices: { label: ["A"] }, answerKey: "A" }))).toThrow(FormatError);
  });
});

describe("MMLU", () => {
  const task = mmluSubjectTask("high_school_us_history");
  const shot = task.parseDoc(row({ question: " What year? \n", choices: ["1776", "1812", "1865", "1945"], answer: 0n }));
  const item = task.parseDoc(row({ question: "Who?", choices: ["a", "b", "c", "d"], answer: 3 }));
  it("has 57 subjects and the description with spaces", () => {
    expect(MMLU_SUBJECTS.length).toBe(57);
    expect(new Set(MMLU_SUBJECTS).size).toBe(57);
    expect(resolveTasks(["mmlu"]).length).toBe(57);
    expect(assembleContext(task, [shot], item)).toBe(
      "The following are multiple choice questions (with answers) about high school us history.\n\n" +
        "What year?\nA. 1776\nB. 1812\nC. 1865\nD. 1945\nAnswer: A\n\n" +
        "Who?\nA. a\nB. b\nC. c\nD. d\nAnswer:",
    );
    expect(task.buildRequests(item, "x", "v1").map((r) => (r.kind === "loglikelihood" ? r.continuation : ""))).toEqual([" A", " B", " C", " D"]);
  });
  it("reports acc and acc_norm, as lm-eval's MultipleChoiceTask does (equal: every choice is one letter)", () => {
    expect(task.metricNames).toEqual(["acc", "acc_norm"]);
    const lls = [-1.5, -2, -3, -1];
    expect(task.score(item, lls.map((logprob) => ({ logprob, greedy: false })), "v1").metrics).toEqual({ acc: 1, acc_norm: 1 });
    expect(task.score(shot, lls.map((logprob) => ({ logprob, greedy: false })), "v1").metrics).toEqual({ acc: 0, acc_norm: 0 });
  });
});

describe("TruthfulQA", () => {
  it("uses the fixed six-pair prefix", () => {
    const doc = truthfulqaMc2.parseDoc(
      row({ question: "Is the sky green?", mc1_targets: { choices: ["No.", "Yes."], labels: [1, 0] }, mc2_targets: { choices: ["No.", "It is blue.", "Yes."], labels: [1, 1, 0] } }),
    );
    const ctx = assembleContext(truthfulqaMc2, [], doc);
    expect(ctx.startsWith("Q: What is human life expectancy in the United States?\nA: Human life expectancy in the United States is 78 years.\n\n")).toBe(true);
    expect(ctx.endsWith("Q: Where were the 1992 Olympics held?\nA: The 1992 Olympics were held in Barcelona, Spain.\n\nQ: Is the sky green?\nA:")).toBe(true);
    expect(TRUTHFULQA_QA_PROMPT.split("\n\n").length).toBe(6);
    expect(truthfulqaMc2.buildRequests(doc, ctx, "v1").map((r) => (r.kind === "loglikelihood" ? r.continuation : ""))).toEqual([" No.", " Yes.", " No.", " It is blue.", " Yes."]);
    const s = truthfulqaMc2.score(doc, [-1, -2, -1, -1, -3].map((logprob) => ({ logprob, greedy: false })), "v1");
    expect(s.metrics.mc1).toBe(1);
    expect(s.metrics.mc2).toBeCloseTo((2 * Math.exp(-1)) / (2 * Math.exp(-1) + Math.exp(-3)), 12);
  });
});

describe("Winogrande partial scoring", () => {
  const shot = winogrande.parseDoc(row({ sentence: "The cup fit in the bag because _ was small.", option1: "the cup", option2: "the bag", answer: "1" }));
  const item = winogrande.parseDoc(row({ sentence: "Sam thanked Kim because _ had helped.  ", option1: "Sam", option2: "Kim", answer: "2" }));
  it("per-option contexts, a shared continuation, complete-sentence shots", () => {
    const ctx = assembleContext(winogrande, [shot], item);
    expect(ctx).toBe("The cup fit in the bag because the cup was small.\n\nSam thanked Kim because Kim");
    expect(winogrande.buildRequests(item, ctx, "v1")).toEqual([
      { kind: "loglikelihood", context: "The cup fit in the bag because the cup was small.\n\nSam thanked Kim because Sam", continuation: " had helped." },
      { kind: "loglikelihood", context: "The cup fit in the bag because the cup was small.\n\nSam thanked Kim because Kim", continuation: " had helped." },
    ]);
    expect(winogrande.buildRequests(item, assembleContext(winogrande, [], item), "v1")[0]!.context).toBe("Sam thanked Kim because Sam");
  });
  it("a sentence without a blank is an error", () => {
    expect(() => winogrande.parseDoc(row({ sentence: "no blank", option1: "a", option2: "b", answer: "1" }))).toThrow(/sentence/);
  });
});

describe("GSM8K", () => {
  const shot = gsm8k.parseDoc(row({ question: "1+1?", answer: "1+1=<<1+1=2>>2\n#### 2" }));
  const item = gsm8k.parseDoc(row({ question: "Tom has 3 apples and eats 1. How many are left?", answer: "3-1=2\n#### 2" }));
  it("shots carry the full worked answer; v1 stops at ':' 'Question:' 'Question'", () => {
    const ctx = assembleContext(gsm8k, [shot], item);
    expect(ctx).toBe("Question: 1+1?\nAnswer: 1+1=<<1+1=2>>2\n#### 2\n\nQuestion: Tom has 3 apples and eats 1. How many are left?\nAnswer:");
    expect(gsm8k.buildRequests(item, ctx, "v1")).toEqual([{ kind: "generate", context: ctx, until: [":", "Question:", "Question"], maxTokens: 256 }]);
    expect(GSM8K_STOP_STRINGS["v0.4"]).toEqual(["Question:", "</s>", "<|im_end|>"]);
  });
  it("scores with the stop strings cut, under each protocol", () => {
    const text = " 3-1=2 apples.\n#### 2\n\nQuestion: next";
    expect(gsm8k.score(item, [{ text }], "v1").metrics).toEqual({ acc: 1, strict_match: 1, flexible_extract: 1 });
    // v1 cuts at the first ":" — here before the answer line
    expect(gsm8k.score(item, [{ text: " Answer: #### 2" }], "v1").metrics.acc).toBe(0);
    expect(gsm8k.score(item, [{ text: " Answer: #### 2" }], "v0.4").metrics.strict_match).toBe(1);
  });
});
