// The contract between evaluation tasks and a model backend (llama.cpp, the TS engine, an
// OpenAI-compatible server). Tasks produce requests; a Scorer answers them in batches.
// Not here: any backend; tokenisers; prompt building (tasks own the strings, byte for byte).

import { pythonRstrip } from "./python-strings.js";

/**
 * Score `continuation` given `context`.
 *
 * Tokenisation contract (lm-eval b281b09, what moves numbers):
 * 1. Move all trailing whitespace of `context` (Python's `rstrip()`: spaces, newlines, tabs, …)
 *    onto the front of `continuation` first (`"Answer: "` + `"A"` is scored as `"Answer:"` +
 *    `" A"`, and `"Line\n"` + `"Next"` as `"Line"` + `"\nNext"`). See `splitTrailingSpaces`.
 * 2. Encode context + continuation as one string → `whole`; encode the context alone → `ctx`.
 *    The continuation tokens are `whole.slice(ctx.length)` (never encode the continuation alone:
 *    merges across the boundary would differ).
 * 3. Prepend BOS only when the scorer was configured to (v1 used no BOS for Llama/Mistral);
 *    report the choice in `describe().bos`.
 * 4. If the tokens exceed the context window, drop tokens from the left and set `truncated`.
 * 5. `logprob` is the sum of log p(token | prefix) over the continuation tokens (natural log);
 *    `greedy` is true when every continuation token is the argmax at its position.
 */
export interface LoglikelihoodRequest {
  readonly kind: "loglikelihood";
  readonly context: string;
  readonly continuation: string;
}

/** Greedy generation from `context`; the completion is cut before the first of `until` or EOS. */
export interface GenerateRequest {
  readonly kind: "generate";
  readonly context: string;
  readonly until: readonly string[];
  readonly maxTokens: number;
}

export type EvalRequest = LoglikelihoodRequest | GenerateRequest;

export interface LoglikelihoodResult {
  logprob: number;
  greedy: boolean;
  /** the prompt did not fit and was cut from the left */
  truncated?: boolean;
}

export interface GenerateResult {
  /** the completion without the stop string */
  text: string;
  truncated?: boolean;
}

export interface ScorerDescription {
  model: string;
  backend: string;
  /** whether a BOS token was prepended to every request */
  bos: boolean;
  contextLength?: number;
  /** weights' precision as scored, e.g. "f16", "q8_0" */
  dtype?: string;
  [extra: string]: unknown;
}

/**
 * A backend. Both methods answer one result per request, in request order; the runner sends
 * batches of any size (it never mixes kinds in one call) and checks the count.
 */
export interface Scorer {
  readonly name: string;
  loglikelihood(requests: readonly LoglikelihoodRequest[]): Promise<LoglikelihoodResult[]>;
  generate(requests: readonly GenerateRequest[]): Promise<GenerateResult[]>;
  describe(): ScorerDescription;
}

/**
 * Step 1 of the contract: `("Answer: ", "A")` → `("Answer:", " A")`. Every trailing character
 * Python's `str.isspace()` accepts moves, not only U+0020: lm-eval computes the split as
 * `len(context) - len(context.rstrip())`.
 */
export function splitTrailingSpaces(context: string, continuation: string): { context: string; continuation: string } {
  const end = pythonRstrip(context).length;
  return { context: context.slice(0, end), continuation: context.slice(end) + continuation };
}

/** Cut a completion before the earliest occurrence of any stop string (lm-eval's `until`). */
export function cutAtStopStrings(text: string, until: readonly string[]): string {
  let cut = text.length;
  for (const stop of until) {
    if (stop.length === 0) continue;
    const at = text.indexOf(stop);
    if (at !== -1 && at < cut) cut = at;
  }
  return text.slice(0, cut);
}
