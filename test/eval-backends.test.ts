// The llama.cpp and engine scorers on the same tiny F32 model: same log-likelihoods and greedy flags
// under the tokenisation contract, KV-prefix reuse giving the same numbers as fresh evaluation,
// left truncation, and perplexity windows agreeing between the two backends.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openCheckpoint, type Checkpoint } from "../src/checkpoint/open-checkpoint.js";
import { checkpointWeights } from "../src/engine/checkpoint-weights.js";
import { EngineScorer } from "../src/eval/backend-engine.js";
import { loadTextTokenizer } from "../src/tokenizer/load-text-tokenizer.js";
import { perplexity, slidingWindows, type PerplexityResult } from "../src/eval/perplexity.js";
import type { LoglikelihoodRequest } from "../src/eval/scorer.js";
import { LlamaScorer } from "../src/runtime/score.js";
import { makeTinyGguf } from "./helpers/models.js";

let llama: LlamaScorer;
let engine: EngineScorer;
let ckpt: Checkpoint;
beforeAll(async () => {
  const { hf, gguf } = await makeTinyGguf({ layers: 2, hidden: 64, seed: 7, std: 0.08, maxPositions: 256 }, "f32");
  llama = await LlamaScorer.open(gguf, { contextSize: 128 });
  ckpt = await openCheckpoint(hf);
  engine = new EngineScorer(checkpointWeights(ckpt), await loadTextTokenizer(hf), { model: hf, contextLength: 128 });
}, 60_000);
afterAll(async () => {
  await llama?.close();
  await ckpt?.close();
});

const reqs: LoglikelihoodRequest[] = [
  { kind: "loglikelihood", context: "Question: who is the king?\nAnswer:", continuation: " the king" },
  { kind: "loglikelihood", context: "Question: who is the king?\nAnswer:", continuation: " my good lord" },
  { kind: "loglikelihood", context: "Question: who is the king?\nAnswer: ", continuation: "thou art" },
  { kind: "loglikelihood", context: "To be, or not to be", continuation: ", that is the question" },
];

describe("llama.cpp vs engine scorer", () => {
  it("agree on log-likelihoods and greedy flags", async () => {
    const a = await llama.loglikelihood(reqs);
    const b = await engine.loglikelihood(reqs);
    expect(a).toHaveLength(reqs.length);
    for (let i = 0; i < reqs.length; i++) {
      expect(a[i]!.logprob).toBeLessThan(0);
      expect(Math.abs(a[i]!.logprob - b[i]!.logprob)).toBeLessThan(2e-3 * Math.max(1, Math.abs(b[i]!.logprob)));
      expect(a[i]!.greedy).toBe(b[i]!.greedy);
    }
    // Choices differ, so the scores must too (a constant answer would pass the comparison above).
    expect(a[0]!.logprob).not.toBeCloseTo(a[1]!.logprob, 3);
  });

  it("reusing the cached prefix gives the same numbers as scoring each request alone", async () => {
    const batched = await llama.loglikelihood(reqs);
    const alone = [];
    for (const r of [...reqs].reverse()) alone.unshift((await llama.loglikelihood([{ ...r, context: r.context }]))[0]!);
    // Evaluate something unrelated in between so the cache holds other tokens.
    await llama.loglikelihood([{ kind: "loglikelihood", context: "Romeo", continuation: " and Juliet" }]);
    const again = await llama.loglikelihood(reqs);
    for (let i = 0; i < reqs.length; i++) {
      expect(alone[i]!.logprob).toBeCloseTo(batched[i]!.logprob, 4);
      expect(again[i]!.logprob).toBeCloseTo(batched[i]!.logprob, 4);
    }
  });

  it("trailing whitespace of the context (spaces, newlines, tabs) moves onto the continuation, on both backends", async () => {
    for (const scorer of [llama, engine]) {
      const [moved, plain, movedNl, plainNl] = await scorer.loglikelihood([
        { kind: "loglikelihood", context: "Answer: ", continuation: "the king" },
        { kind: "loglikelihood", context: "Answer:", continuation: " the king" },
        // lm-eval's rstrip() moves "\n\t " too: the newline is scored as part of the continuation
        { kind: "loglikelihood", context: "To be, or not to be\n\t ", continuation: "that is" },
        { kind: "loglikelihood", context: "To be, or not to be", continuation: "\n\t that is" },
      ]);
      expect(moved!.logprob).toBe(plain!.logprob);
      expect(movedNl!.logprob).toBe(plainNl!.logprob);
    }
  });

  it("left-truncates long inputs and says so, on both backends", async () => {
    const long: LoglikelihoodRequest = { kind: "loglikelihood", context: "the king and the queen ".repeat(80), continuation: " my lord" };
    const [a] = await llama.loglikelihood([long]);
    const [b] = await engine.loglikelihood([long]);
    expect(a!.truncated).toBe(true);
    expect(b!.truncated).toBe(true);
    expect(Math.abs(a!.logprob - b!.logprob)).toBeLessThan(5e-3);
  });

  it("generate: greedy text agrees and stops at the stop strings", async () => {
    const req = { kind: "generate" as const, context: "Question: what is the answer?\nAnswer:", until: ["Question"], maxTokens: 12 };
    const [a] = await llama.generate([req]);
    const [b] = await engine.generate([req]);
    expect(a!.text).toBe(b!.text);
    expect(a!.text).not.toContain("Question");
  });
});

describe("perplexity", () => {
  it("windows score every token after the first exactly once", () => {
    for (const [T, ctx, stride] of [[10, 4, 2], [100, 16, 16], [7, 8, 3], [33, 10, 1]] as const) {
      const seen = new Array<number>(T).fill(0);
      for (const w of slidingWindows(T, ctx, stride)) {
        expect(w.end - w.start).toBeLessThanOrEqual(ctx);
        expect(w.from).toBeGreaterThanOrEqual(1);
        for (let t = w.start + w.from; t < w.end; t++) seen[t]!++;
      }
      expect(seen.slice(1).every((n, i) => n === (stride === ctx && (i + 1) % ctx === 0 ? 0 : 1))).toBe(true);
      expect(seen[0]).toBe(0);
    }
  });

  it("llama.cpp and engine agree on ppl of the same text", async () => {
    const text = "To be, or not to be, that is the question: whether 'tis nobler in the mind to suffer the slings and arrows of outrageous fortune, or to take arms against a sea of troubles.";
    const run = async (s: typeof llama | typeof engine): Promise<PerplexityResult> => {
      const g = perplexity(s, text, { ctx: 24, stride: 12 });
      for (;;) {
        const n = await g.next();
        if (n.done) return n.value;
      }
    };
    const a = await run(llama);
    const b = await run(engine);
    expect(a.tokens).toBe(b.tokens);
    expect(a.tokens).toBe(llama.tokenize(text).length - 1);
    expect(a.windows).toBeGreaterThan(1);
    expect(Math.abs(a.nll - b.nll)).toBeLessThan(1e-3);
    expect(a.ppl).toBeGreaterThan(1);
  });
});
