// The eval Scorer over the TypeScript engine: an HF checkpoint (or a plan run virtually) scored with
// its own tokenizer (loadTextTokenizer: tokenizer.json, else tokenizer.model), following the
// contract in scorer.ts. Slow but exact; the reference that the llama.cpp backend is checked
// against. Not here: KV caching (each request is one forward over context + continuation) or GGUF
// tokenizers (use the llama.cpp backend).

import { forward, logSumExp, type EngineWeights, type ForwardOptions } from "../engine/index.js";
import { EvalError } from "../errors.js";
import type { TextTokenizer } from "../tokenizer/text-tokenizer.js";
import type { WindowScorer } from "./perplexity.js";
import { cutAtStopStrings, splitTrailingSpaces, type GenerateRequest, type GenerateResult, type LoglikelihoodRequest, type LoglikelihoodResult, type Scorer, type ScorerDescription } from "./scorer.js";

export interface EngineScorerOptions {
  /** prepend BOS to every request (v1: off) */
  bos?: boolean;
  /** window in tokens; default min(maxPositions, 2048) */
  contextLength?: number;
  /** shown in results */
  model: string;
  dtype?: string;
}

export class EngineScorer implements Scorer, WindowScorer {
  readonly name = "engine";
  readonly maxWindow: number;
  constructor(private readonly weights: EngineWeights, private readonly tokenizer: TextTokenizer, private readonly opts: EngineScorerOptions) {
    this.maxWindow = Math.min(weights.config.maxPositions, opts.contextLength ?? 2048);
  }

  describe(): ScorerDescription {
    return { model: this.opts.model, backend: "engine", bos: this.opts.bos ?? false, contextLength: this.maxWindow, ...(this.opts.dtype ? { dtype: this.opts.dtype } : {}) };
  }

  tokenize(text: string): number[] {
    return this.tokenizer.encode(text);
  }

  /** The token that stands before the first scored token when context and BOS give none (lm-eval: EOT). */
  private prefixTokens(ctx: number[]): number[] {
    const bos = this.opts.bos ? this.tokenizer.bos : undefined;
    const out = bos === undefined ? ctx : [bos, ...ctx];
    if (out.length > 0) return out;
    const fallback = this.tokenizer.bos ?? this.tokenizer.eos;
    if (fallback === undefined) throw new EvalError("EVAL_EMPTY_CONTEXT", "an empty context needs a BOS or EOS token to condition on, and the tokenizer has neither", { hint: "give the task a non-empty context" });
    return [fallback];
  }

  async loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]> {
    const out: LoglikelihoodResult[] = [];
    for (const r of requests) {
      const { context, continuation } = splitTrailingSpaces(r.context, r.continuation);
      const ctx = this.tokenizer.encode(context);
      const cont = this.tokenizer.encode(context + continuation).slice(ctx.length);
      const prefix = this.prefixTokens(ctx);
      let truncated = false;
      // Left-truncate: the forward sees at most maxWindow tokens.
      let all = [...prefix, ...cont];
      if (all.length > this.maxWindow) {
        all = all.slice(all.length - this.maxWindow);
        truncated = true;
      }
      const scored = Math.min(cont.length, all.length - 1);
      if (scored === 0) {
        out.push({ logprob: 0, greedy: true, ...(truncated ? { truncated } : {}) });
        continue;
      }
      const { logprobs, greedy } = await this.scoreTokens(all, all.length - scored);
      out.push({ logprob: logprobs.reduce((a, b) => a + b, 0), greedy, ...(truncated ? { truncated } : {}) });
    }
    return out;
  }

  private scoreTokens(tokens: readonly number[], from: number): Promise<{ logprobs: number[]; greedy: boolean }> {
    return scoreTokensOnEngine(this.weights, tokens, from);
  }

  async scoreWindow(window: readonly number[], from: number): Promise<number[]> {
    return (await this.scoreTokens(window, from)).logprobs;
  }

  /** Greedy decoding by repeated full forwards (no KV cache): fine for tiny models, slow for big ones. */
  async generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]> {
    const out: GenerateResult[] = [];
    for (const r of requests) {
      let tokens = this.prefixTokens(this.tokenizer.encode(r.context));
      let truncated = false;
      const generated: number[] = [];
      let text = "";
      for (let step = 0; step < r.maxTokens; step++) {
        if (tokens.length > this.maxWindow) {
          tokens = tokens.slice(tokens.length - this.maxWindow);
          truncated = true;
        }
        const { logits } = await forward(this.weights, tokens, { logitsFor: "last" });
        const next = argmax(logits);
        if (next === this.tokenizer.eos) break;
        generated.push(next);
        tokens = [...tokens, next];
        text = this.tokenizer.decode(generated);
        if (cutAtStopStrings(text, r.until).length < text.length) break;
      }
      out.push({ text: cutAtStopStrings(text, r.until), ...(truncated ? { truncated } : {}) });
    }
    return out;
  }
}

/**
 * log p(tokens[t] | …) for t ≥ from from one forward pass, and whether each was the argmax: the
 * engine's scoring, shared with layer analysis (which adds forward options such as a boundary
 * hook) so its perplexities are the very numbers `dusk ppl --backend engine` prints.
 */
export async function scoreTokensOnEngine(weights: EngineWeights, tokens: readonly number[], from: number, opts: ForwardOptions = {}): Promise<{ logprobs: number[]; greedy: boolean }> {
  const V = weights.config.vocabSize;
  const positions: number[] = [];
  for (let p = from - 1; p < tokens.length - 1; p++) positions.push(p);
  const { logits } = await forward(weights, tokens, { ...opts, logitsFor: positions });
  const logprobs: number[] = [];
  let greedy = true;
  positions.forEach((p, r) => {
    const row = logits.subarray(r * V, (r + 1) * V);
    const target = tokens[p + 1]!;
    logprobs.push(row[target]! - logSumExp(row));
    if (argmax(row) !== target) greedy = false;
  });
  return { logprobs, greedy };
}

/** First index of the largest value (ties → first, like torch.argmax on CPU). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
