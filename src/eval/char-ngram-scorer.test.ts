// The character n-gram scorer is a real language model: each next-character distribution sums to
// one at every order, and a high order reproduces the text it memorised.
import { describe, expect, it } from "vitest";
import { fullCorpus } from "../fixtures/corpus.js";
import { CharBigramScorer, CharNgramScorer } from "./char-ngram-scorer.js";

const text = fullCorpus().slice(0, 20_000);
const alphabet = [...new Set(text)];

describe("CharNgramScorer", () => {
  it("p(next | history) sums to 1 over the characters seen plus one unseen, for orders 1–6 and any history", async () => {
    for (const order of [1, 2, 3, 6]) {
      const scorer = new CharNgramScorer(text, { order });
      for (const context of ["First Citizen", "zzqx", "x"]) {
        const lls = await scorer.loglikelihood([...alphabet, "\u2603"].map((c) => ({ kind: "loglikelihood" as const, context, continuation: c })));
        expect(lls.reduce((s, r) => s + Math.exp(r.logprob), 0)).toBeCloseTo(1, 10);
      }
    }
  });

  it("a high order continues a memorised line greedily; the bigram is order 2", async () => {
    const scorer = new CharNgramScorer(text, { order: 8 });
    const [g] = await scorer.generate([{ kind: "generate", context: "First Citizen:\nBefore we proceed", until: ["\n"], maxTokens: 40 }]);
    expect(g!.text).toBe(" any further, hear me speak.");
    const [ll] = await scorer.loglikelihood([{ kind: "loglikelihood", context: "First Citizen:\nBefore we proceed", continuation: " any further, hear me speak." }]);
    expect(ll!.greedy).toBe(true);
    expect(new CharBigramScorer(text).describe()).toMatchObject({ backend: "char-bigram", model: `char-2gram(${alphabet.length} symbols)` });
    expect(() => new CharNgramScorer(text, { order: 0 })).toThrow(/order/);
  });
});
