// The tokenisation contract's first step (lm-eval's _encode_pair): what moves from the context to
// the continuation before either is encoded.
import { describe, expect, it } from "vitest";
import { CharBigramScorer } from "./char-ngram-scorer.js";
import { splitTrailingSpaces } from "./scorer.js";

describe("splitTrailingSpaces", () => {
  it("moves every trailing character Python's rstrip() removes, not only U+0020", () => {
    expect(splitTrailingSpaces("Answer: ", "A")).toEqual({ context: "Answer:", continuation: " A" });
    expect(splitTrailingSpaces("Line one\n", "Line two")).toEqual({ context: "Line one", continuation: "\nLine two" });
    expect(splitTrailingSpaces("x \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\xa0\u2000\u3000", "y")).toEqual({ context: "x", continuation: " \t\n\r\v\f\x1c\x1d\x1e\x1f\x85\xa0\u2000\u3000y" });
    // not whitespace to Python: zero-width space, BOM
    expect(splitTrailingSpaces("x\u200b", "y")).toEqual({ context: "x\u200b", continuation: "y" });
    expect(splitTrailingSpaces("x\ufeff", "y")).toEqual({ context: "x\ufeff", continuation: "y" });
    expect(splitTrailingSpaces("x", "y")).toEqual({ context: "x", continuation: "y" });
  });

  it("a context ending in a newline scores the newline as part of the continuation", async () => {
    // Per-character tokens: if only spaces moved, the "\n" would stay in the context and the
    // first score would lack log p("\n" | "e"), which is well below 0 in this text.
    const text = "To be, or not to be\nthat is the question\n".repeat(20) + "To be\nsure";
    const scorer = new CharBigramScorer(text);
    const [a, b] = await scorer.loglikelihood([
      { kind: "loglikelihood", context: "To be\n", continuation: "that" },
      { kind: "loglikelihood", context: "To be", continuation: "\nthat" },
    ]);
    expect(a!.logprob).toBe(b!.logprob);
  });
});
