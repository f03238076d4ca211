import { describe, expect, it } from "vitest";
import {
  accuracy, argmax, codePointLength, extractGsm8kAnswer, flexibleExtractFilter, gsm8kExactMatch, mc1, mc2, meanStderr,
  normalizedAccuracy, strictMatchFilter,
} from "./metrics.js";
import { arcChallenge } from "./tasks/arc.js";

describe("accuracies", () => {
  it("argmax takes the first of ties, like numpy", () => {
    expect(argmax([-1, -0.5, -0.5])).toBe(1);
    expect(argmax([-3, NaN, 0])).toBe(1);
  });
  it("acc_norm divides by code points, not UTF-16 units", () => {
    // "😀😀" is 2 code points (4 UTF-16 units): -3/2 = -1.5 beats "abc" at -4.8/3 = -1.6.
    expect(codePointLength("😀😀")).toBe(2);
    expect(normalizedAccuracy([-4.8, -3], ["abc", "😀😀"], 1)).toBe(1);
    expect(accuracy([-4.8, -3], 0)).toBe(0);
    // by raw ll the short one wins; normalised the long one does
    expect(accuracy([-2, -3], 0)).toBe(1);
    expect(normalizedAccuracy([-2, -3], ["ab", "abcdef"], 1)).toBe(1);
  });
});

describe("acc_norm's divisor (lm-eval b281b09 MultipleChoiceTask: len(choice), a Python str)", () => {
  const scored = (lls: number[]) => lls.map((logprob) => ({ logprob, greedy: false }));
  it("is the choice's length without the leading space the continuation carries", () => {
    // /len: -1/1 = -1 < -3.5/4 = -0.875 → choice 1; /(len+1): -0.5 > -0.7 → choice 0
    expect(normalizedAccuracy([-1, -3.5], ["a", "abcd"], 1)).toBe(1);
    // the same through a task: ARC scores " a" and " abcd" but divides by 1 and 4
    const doc = arcChallenge.parseDoc({ file: "f", index: 0, value: { question: "q", choices: { text: ["a", "abcd"], label: ["A", "B"] }, answerKey: "B" } });
    expect(arcChallenge.buildRequests(doc, "Q", "v1").map((r) => (r.kind === "loglikelihood" ? r.continuation : ""))).toEqual([" a", " abcd"]);
    expect(arcChallenge.score(doc, scored([-1, -3.5]), "v1").metrics).toEqual({ acc: 0, acc_norm: 1 });
  });
  it("counts code points, not UTF-8 bytes (acc_bytes is a later harness's separate metric)", () => {
    // code points: -1.5/1 < -2.5/2 → choice 1; UTF-8 bytes: -1.5/2 > -2.5/2 → choice 0
    expect(normalizedAccuracy([-1.5, -2.5], ["é", "ab"], 1)).toBe(1);
  });
});

describe("TruthfulQA", () => {
  it("mc1 is 1 when the first choice is most likely", () => {
    expect(mc1([-1, -2])).toBe(1);
    expect(mc1([-2, -1])).toBe(0);
  });
  it("mc2 = Σ p(true)/Σ p(all), in log space", () => {
    const lls = [Math.log(0.2), Math.log(0.1), Math.log(0.3), Math.log(0.4)];
    expect(mc2(lls, [1, 1, 0, 0])).toBeCloseTo(0.3, 12);
    // everything before the FIRST 0 counts as true, as lm-eval splits it
    expect(mc2(lls, [1, 0, 1, 0])).toBeCloseTo(0.2, 12);
    // very small probabilities do not underflow to 0/0
    expect(mc2([-2000, -2001], [1, 0])).toBeCloseTo(1 / (1 + Math.exp(-1)), 12);
  });
});

describe("GSM8K extraction", () => {
  it("v1: first '#### N', commas removed", () => {
    expect(extractGsm8kAnswer("so 3 apples\n#### 1,234\n#### 5")).toBe("1234");
    expect(extractGsm8kAnswer("#### -7.5")).toBe("-7.5");
    expect(extractGsm8kAnswer("The answer is 12")).toBe("[invalid]");
  });
  it("v0.4 strict-match keeps commas until exact_match drops them", () => {
    expect(strictMatchFilter("x #### 1,000.")).toBe("1,000.");
    expect(gsm8kExactMatch("1,000.", "Natalia sold...\n#### 1000")).toBe(1);
    expect(gsm8kExactMatch("$18", "blah #### 18")).toBe(1);
    expect(gsm8kExactMatch("[invalid]", "#### 18")).toBe(0);
  });
  it("v0.4 flexible-extract takes the last number", () => {
    expect(flexibleExtractFilter("3 + 4 = 7 so $1,200.")).toBe("$1,200.");
    expect(gsm8kExactMatch(flexibleExtractFilter("3 + 4 = 7 so $1,200."), "#### 1200")).toBe(1);
    expect(flexibleExtractFilter("x is 5")).toBe("5");
    expect(flexibleExtractFilter("none")).toBe("[invalid]");
  });
});

describe("stderr", () => {
  it("is the sample stdev (n-1) over sqrt(n), as lm-eval's mean_stderr", () => {
    // [1,0,1,1]: mean .75, Σ(x-μ)² = 3·.0625 + .5625 = .75, var .25, sd .5, /2 = .25
    expect(meanStderr([1, 0, 1, 1])).toBeCloseTo(0.25, 12);
    // [2,4,4,4,5,5,7,9]: Σ(x-5)² = 32, var 32/7, /sqrt(8)
    expect(meanStderr([2, 4, 4, 4, 5, 5, 7, 9])).toBeCloseTo(Math.sqrt(32 / 7) / Math.sqrt(8), 12);
    expect(meanStderr([1])).toBeNull();
  });
});
