// The llama.cpp scorer spreading loglikelihood requests over several KV-cache sequences of one
// context: the same numbers, greedy flags and truncation flags as one sequence, results in request
// order, groups really spread over the sequences, generation still working in between, and the
// grouping rule on token prefixes shaped like ARC, MMLU and Winogrande calls.
import type { Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalError } from "../src/errors.js";
import type { LoglikelihoodRequest } from "../src/eval/scorer.js";
import { LlamaScorer } from "../src/runtime/score.js";
import { groupBySharedPrefix, scoreGroups, type PreparedRequest } from "../src/runtime/score-groups.js";
import { ScoringSequence } from "../src/runtime/score-sequence.js";
import { makeTinyGguf } from "./helpers/models.js";

let gguf: string;
let one: LlamaScorer;
let four: LlamaScorer;
beforeAll(async () => {
  ({ gguf } = await makeTinyGguf({ layers: 2, hidden: 64, seed: 11, std: 0.08, maxPositions: 256 }, "f32"));
  one = await LlamaScorer.open(gguf, { contextSize: 128, sequences: 1, threads: 1 });
  four = await LlamaScorer.open(gguf, { contextSize: 128, sequences: 4, threads: 1 });
}, 60_000);
afterAll(async () => {
  await one?.close();
  await four?.close();
});

const ll = (context: string, continuation: string): LoglikelihoodRequest => ({ kind: "loglikelihood", context, continuation });
const shots = "Question: who is the king?\nAnswer: the king\n\nQuestion: what is the sea?\nAnswer: a sea of troubles\n\n";
const questions = ["who speaks to the lord?", "what is the question?", "who weeps for his son?", "where is the crown?", "who art thou?", "what did the queen say?"];
const requests: LoglikelihoodRequest[] = [
  // ARC-shaped items: one context, four choices each, shared few-shot prefix.
  ...questions.flatMap((q) => [" the king", " my good lord", " a sea of troubles", " thou art"].map((c) => ll(`${shots}Question: ${q}\nAnswer:`, c))),
  // Winogrande-shaped: two contexts differing in the option, one continuation.
  ll("The king gave the lord a crown because the king", " was generous."),
  ll("The king gave the lord a crown because the lord", " was generous."),
  // Longer than the 128-token window: truncated from the left.
  ll("the king and the queen ".repeat(60), " my lord"),
  ll("to be or not to be ".repeat(60), " that is the question"),
  // Empty continuation, and trailing spaces moving onto the continuation.
  ll("Answer:", ""),
  ll("Answer: ", "the king"),
];

describe("loglikelihood over several sequences", () => {
  it("matches one sequence request for request (log-probs within 1e-5, same greedy and truncated flags)", async () => {
    const a = await one.loglikelihood(requests);
    const b = await four.loglikelihood(requests);
    expect(b).toHaveLength(requests.length);
    let maxDiff = 0;
    for (let i = 0; i < requests.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(a[i]!.logprob - b[i]!.logprob));
      expect(b[i]!.greedy).toBe(a[i]!.greedy);
      expect(b[i]!.truncated).toBe(a[i]!.truncated);
    }
    expect(maxDiff).toBeLessThan(1e-5);
    // Request order: distinct choices score differently, and the flags land on the right requests.
    expect(a[0]!.logprob).not.toBeCloseTo(a[1]!.logprob, 3);
    expect(a[24]!.logprob).not.toBeCloseTo(a[25]!.logprob, 3);
    expect(b.map((r) => r.truncated === true)).toEqual(requests.map((_, i) => i === 26 || i === 27));
    expect(b[28]).toEqual({ logprob: 0, greedy: true });
    expect(b[29]!.logprob).toBeLessThan(0);
  });

  it("gives the same numbers in any order and after generation used the first sequence", async () => {
    const base = await four.loglikelihood(requests);
    const [gen] = await four.generate([{ kind: "generate", context: "Question: what is the answer?\nAnswer:", until: ["Question"], maxTokens: 8 }]);
    const [genOne] = await one.generate([{ kind: "generate", context: "Question: what is the answer?\nAnswer:", until: ["Question"], maxTokens: 8 }]);
    expect(gen!.text).toBe(genOne!.text);
    const order = requests.map((_, i) => i).reverse();
    const reversed = await four.loglikelihood(order.map((i) => requests[i]!));
    order.forEach((i, j) => expect(Math.abs(reversed[j]!.logprob - base[i]!.logprob)).toBeLessThan(1e-5));
  });

  it("spreads the groups over the sequences, each keeping its last prefix cached", async () => {
    const model = four.model;
    const context = await model.createContext({ contextSize: 128, batchSize: 128, sequences: 3, flashAttention: false, threads: 1 });
    try {
      const seqs = Array.from({ length: 3 }, () => new ScoringSequence(context.getSequence()));
      const prepared: PreparedRequest[] = questions.map((q, index) => {
        const tokens = model.tokenize(`Question: ${q}\nAnswer: the king`);
        return { index, prefix: tokens.slice(0, -2), tail: tokens.slice(-2) };
      });
      const groups = groupBySharedPrefix(prepared);
      expect(groups).toHaveLength(questions.length);
      const scores = await scoreGroups(groups, seqs, prepared.length);
      expect(scores.every((s) => s.length === 2 && s.every((p) => p.logprob < 0))).toBe(true);
      expect(seqs.map((s) => s.sequence.nextTokenIndex > 0)).toEqual([true, true, true]);
    } finally {
      await context.dispose();
    }
  });

  it("rejects a sequence count outside 1..64 with a typed error", async () => {
    for (const sequences of [0, 1.5, 65]) {
      const err = await LlamaScorer.open(gguf, { contextSize: 128, sequences }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EvalError);
      expect((err as EvalError).code).toBe("EVAL_BAD_SEQUENCES");
      expect((err as EvalError).hint).toBeTruthy();
    }
  });
});

describe("grouping by shared prefix", () => {
  const req = (index: number, prefix: number[]): PreparedRequest => ({ index, prefix: prefix as Token[], tail: [1 as Token] });
  const shared = [10, 11, 12, 13, 14, 15, 16, 17];

  it("keeps an item's choices together and splits items that share only the call-wide prefix", () => {
    // MMLU-shaped: fixed shots for every item, four choices per item.
    const items = [[40, 41, 42, 43], [40, 51, 52, 53], [60, 61, 62, 63]];
    const reqs = items.flatMap((q, i) => [0, 1, 2, 3].map((c) => req(i * 4 + c, [...shared, ...q])));
    const groups = groupBySharedPrefix(reqs);
    expect(groups.map((g) => g.map((r) => r.index))).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]);
  });

  it("keeps Winogrande's options together though their contexts differ at the end", () => {
    const item = (shots: number[], sentence: number[]) => [req(0, [...shots, ...sentence, 90]), req(1, [...shots, ...sentence, 91, 92])];
    const reqs = [...item([20, 21, 22, 23, 24], [30, 31, 32]), ...item([25, 26, 27, 28, 29], [33, 34, 35])].map((r, index) => ({ ...r, index }));
    expect(groupBySharedPrefix(reqs).map((g) => g.map((r) => r.index))).toEqual([[0, 1], [2, 3]]);
  });

  it("treats a one-item call as one group and an empty call as none", () => {
    expect(groupBySharedPrefix([req(0, shared), req(1, shared)])).toHaveLength(1);
    expect(groupBySharedPrefix([])).toEqual([]);
  });
});
