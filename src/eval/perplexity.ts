// Token-level perplexity over a text with a llama.cpp-perplexity-style sliding window, for any
// backend that can score a token window (llama.cpp, the TS engine). An async generator of progress
// events that returns {ppl, nll, tokens}. Not here: tokenisers or model loading (the backends own them).

import { EvalError } from "../errors.js";

/** What a backend offers perplexity: its tokens and log p(window[t] | window[..t-1]) for t ≥ from. */
export interface WindowScorer {
  tokenize(text: string): number[];
  /** natural-log probabilities of window[from..], one per token, from a fresh context */
  scoreWindow(window: readonly number[], from: number): Promise<ArrayLike<number>>;
  /** the longest window it accepts */
  readonly maxWindow: number;
}

export interface PerplexityOptions {
  /** window length in tokens */
  ctx: number;
  /** tokens the window advances by (≤ ctx) */
  stride: number;
}

export interface PerplexityResult {
  ppl: number;
  /** mean negative log-likelihood per scored token (nats) */
  nll: number;
  /** tokens scored (every token but the first) */
  tokens: number;
  windows: number;
  ctx: number;
  stride: number;
}

export type PerplexityEvent = { type: "progress"; done: number; total: number };

/**
 * Window w covers tokens [w·stride, w·stride + ctx). The first window scores all of its tokens but
 * the first; each later window scores only the tokens past the previous window's end, so with
 * stride < ctx every token from index 1 on is scored exactly once (with stride = ctx, each window's
 * first token is skipped, as it has no context).
 */
export function slidingWindows(total: number, ctx: number, stride: number): { start: number; end: number; from: number }[] {
  const windows: { start: number; end: number; from: number }[] = [];
  let scoredUpTo = 1; // tokens [0, scoredUpTo) need no more scoring (token 0 has no prediction)
  for (let start = 0; scoredUpTo < total; start += stride) {
    const end = Math.min(total, start + ctx);
    // With stride = ctx the windows do not overlap and each window's first token has no context.
    windows.push({ start, end, from: Math.max(1, scoredUpTo - start) });
    scoredUpTo = end;
  }
  return windows;
}

export async function* perplexity(scorer: WindowScorer, text: string, opts: PerplexityOptions): AsyncGenerator<PerplexityEvent, PerplexityResult> {
  const { ctx, stride } = opts;
  if (!Number.isSafeInteger(ctx) || ctx < 2) throw new EvalError("EVAL_PPL_CTX", `--ctx must be an integer ≥ 2, got ${ctx}`, { hint: "e.g. --ctx 512" });
  if (!Number.isSafeInteger(stride) || stride < 1 || stride > ctx) {
    throw new EvalError("EVAL_PPL_STRIDE", `--stride must be an integer in [1, ctx=${ctx}], got ${stride}`, { hint: "a stride of ctx/2 gives every scored token at least ctx/2 tokens of context" });
  }
  if (ctx > scorer.maxWindow) {
    throw new EvalError("EVAL_PPL_CTX", `--ctx ${ctx} exceeds the model's window of ${scorer.maxWindow} tokens`, { hint: `use --ctx ${scorer.maxWindow} or less` });
  }
  const tokens = scorer.tokenize(text);
  if (tokens.length < 2) throw new EvalError("EVAL_PPL_SHORT", `the text has ${tokens.length} token(s); perplexity needs at least 2`, { hint: "pass a longer --text file" });
  const windows = slidingWindows(tokens.length, ctx, stride);
  let sum = 0;
  let count = 0;
  yield { type: "progress", done: 0, total: windows.length };
  for (let w = 0; w < windows.length; w++) {
    const { start, end, from } = windows[w]!;
    const lps = await scorer.scoreWindow(tokens.slice(start, end), from);
    for (let i = 0; i < lps.length; i++) sum -= lps[i]!;
    count += lps.length;
    yield { type: "progress", done: w + 1, total: windows.length };
  }
  const nll = sum / count;
  return { ppl: Math.exp(nll), nll, tokens: count, windows: windows.length, ctx, stride };
}
