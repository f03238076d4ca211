// One llama.cpp context sequence used for scoring: it remembers which tokens its KV cache holds so
// a shared prefix is evaluated once, then each continuation is evaluated after it and erased.
// Probabilities are asked for only at scored positions. Not here: tokenisation, truncation,
// grouping requests over several sequences (score-groups.ts), generation (score.ts).
// The context must be created without flash attention (see score.ts): only then does a token's score
// not depend on how its sequence's tokens were cut into llama.cpp batches.

import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { EvalError } from "../errors.js";

/** One token's score at a position: log p of the actual token and the argmax token. */
export interface PositionScore {
  logprob: number;
  top: number;
  topLogprob: number;
}

/** The smallest positive float32: a probability llama.cpp rounded to 0 is at most this. */
const MIN_PROB = 1.4e-45;

export class ScoringSequence {
  /** tokens now held by the sequence's KV cache, from position 0 */
  private state: Token[] = [];
  /** the distribution after the last token of `state` when it was computed for it */
  private lastScore: Map<Token, number> | undefined;

  constructor(readonly sequence: LlamaContextSequence) {}

  /** Empties the KV cache (before generation, which manages the sequence itself). */
  async reset(): Promise<void> {
    await this.sequence.clearHistory();
    this.state = [];
    this.lastScore = undefined;
  }

  /**
   * Makes the KV cache hold exactly `prefix` and returns the distribution after its last token.
   * Reuses the longest common token prefix with what the cache holds (few-shot prompts share most).
   */
  private async loadPrefix(prefix: readonly Token[]): Promise<Map<Token, number>> {
    if (this.lastScore && sameTokens(this.state, prefix)) return this.lastScore;
    let common = 0;
    const limit = Math.min(this.state.length, prefix.length - 1);
    while (common < limit && this.state[common] === prefix[common]) common++;
    if (common < this.sequence.nextTokenIndex) await this.sequence.eraseContextTokenRanges([{ start: common, end: this.sequence.nextTokenIndex }]);
    // Until the evaluation below succeeds the cache holds only the common part.
    this.state = prefix.slice(0, common);
    this.lastScore = undefined;
    const [probs] = await this.evaluate(prefix.slice(common), prefix.length - 1 - common);
    this.state = [...prefix];
    this.lastScore = probs;
    return probs!;
  }

  /** Evaluates `tokens` after the cached ones; returns the distributions after those from index `probsFrom` on (computed only there). */
  private async evaluate(tokens: readonly Token[], probsFrom: number): Promise<Map<Token, number>[]> {
    const input = tokens.map((t, i) => (i >= probsFrom ? ([t, { generateNext: { probabilities: true } }] as const) : t));
    const res = await this.sequence.controlledEvaluate(input as never);
    const dists: Map<Token, number>[] = [];
    for (let i = probsFrom; i < tokens.length; i++) {
      const p = res[i]?.next.probabilities;
      if (!p) throw new EvalError("EVAL_LLAMA_NO_PROBS", `llama.cpp returned no probabilities at position ${this.sequence.nextTokenIndex - tokens.length + i}`, { hint: "this is a bug; report it with the model" });
      dists.push(p);
    }
    return dists;
  }

  /** Scores `cont` after `prefix`: one position from the prefix's cached distribution, the rest evaluated and then erased. */
  async scoreAfter(prefix: readonly Token[], cont: readonly Token[]): Promise<PositionScore[]> {
    const first = await this.loadPrefix(prefix);
    const dists: Map<Token, number>[] = [first];
    if (cont.length > 1) {
      dists.push(...(await this.evaluate(cont.slice(0, -1), 0)));
      await this.sequence.eraseContextTokenRanges([{ start: prefix.length, end: this.sequence.nextTokenIndex }]);
    }
    return cont.map((t, i) => positionScore(dists[i]!, t));
  }
}

/** node-llama-cpp returns the distribution sorted by probability, so its first entry is the argmax. */
function positionScore(dist: Map<Token, number>, token: Token): PositionScore {
  const first = dist.entries().next().value as [Token, number] | undefined;
  const p = dist.get(token) ?? 0;
  return { logprob: Math.log(Math.max(p, MIN_PROB)), top: first?.[0] ?? token, topLogprob: Math.log(Math.max(first?.[1] ?? 0, MIN_PROB)) };
}

function sameTokens(a: readonly Token[], b: readonly Token[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
