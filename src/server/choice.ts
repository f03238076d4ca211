// One choice of one request in `dusk serve`: generation on the request's sequence with its sampling,
// stop strings and seed, text deltas (with their token logprobs) handed out as they are final, and
// OpenAI's finish reason at the end. Also what every route shares: the server state handed to
// them and the per-request context. Not HTTP (server.ts) and not the request shapes (routes).

import type { Template } from "@huggingface/jinja";
import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { generate, type StopReason } from "../runtime/generate.js";
import type { LoadedModel } from "../runtime/loaded-model.js";
import type { Preset } from "../runtime/presets.js";
import { randomSeed } from "../runtime/sampling.js";
import { HttpError } from "./http.js";
import { TokenLog, type TokenEntry } from "./logprobs.js";
import type { ServerMetrics } from "./metrics.js";
import type { SlotQueue } from "./queue.js";
import type { GenerationRequest } from "./validate.js";

/** What the routes need from the running server. */
export interface ServeState {
  model: LoadedModel;
  /** tokens in the model's vocabulary (token-id prompts are checked against it) */
  vocabSize: number;
  name: string;
  /** unix seconds the server started */
  created: number;
  queue: SlotQueue<LlamaContextSequence>;
  metrics: ServerMetrics;
  presets: ReadonlyMap<string, Preset>;
  defaultPreset: string | undefined;
  /** the chat template (the model's, or --template); undefined: chat answers 400 */
  template: Template | undefined;
  templateOrigin: string;
  newId(prefix: string): string;
}

/** One HTTP request's life: it is cancelled through `signal` (client gone, timeout, shutdown). */
export interface RequestScope {
  signal: AbortSignal;
  /** performance.now() at arrival */
  arrived: number;
  /** set once the first token of the request is out, for the TTFT metric */
  firstTokenSeen: boolean;
}

export interface ChoiceResult {
  text: string;
  tokens: number;
  finish: "stop" | "length";
  /** the generated tokens' entries (with logprobs), those not already handed to onDelta */
  rest: TokenEntry[];
}

export type FinishReason = "stop" | "length";

const FINISH: Record<StopReason, FinishReason> = { eos: "stop", stop: "stop", "max-tokens": "length", context: "length", aborted: "stop" };

/**
 * Generates one choice on `sequence` (held by this request). `onDelta` gets text as soon as it is
 * final (stop strings held back) with the entries of the tokens that start in it.
 */
export async function runChoice(
  state: ServeState,
  scope: RequestScope,
  sequence: LlamaContextSequence,
  prompt: readonly Token[],
  req: GenerationRequest & { logprobs: number | undefined },
  o: { maxTokens: number; seed: number | undefined; onDelta?: (text: string, entries: TokenEntry[]) => void },
): Promise<ChoiceResult> {
  const log = req.logprobs === undefined ? undefined : new TokenLog(state.model, prompt);
  let shown = 0;
  const result = await generate(state.model, prompt, req.sampling, {
    sequence,
    maxTokens: o.maxTokens,
    stop: req.stop,
    seed: o.seed ?? randomSeed(),
    signal: scope.signal,
    ignoreEos: req.ignoreEos,
    ...(req.logprobs === undefined ? {} : { logprobs: req.logprobs }),
    onGenerated: (t) => {
      if (!scope.firstTokenSeen) {
        scope.firstTokenSeen = true;
        state.metrics.firstToken((performance.now() - scope.arrived) / 1000);
      }
      state.metrics.generatedOne();
      log?.add(t);
    },
    ...(o.onDelta ? { onToken: (piece: string) => {
      shown += piece.length;
      o.onDelta!(piece, log?.take(shown) ?? []);
    } } : {}),
  });
  if (scope.signal.aborted) throw scope.signal.reason;
  state.metrics.tokens(0, result.tokens);
  return { text: result.text, tokens: result.tokens, finish: FINISH[result.stopReason], rest: log?.take(result.text.length) ?? [] };
}

/** The seed of choice `i`: the request's seed plus i, so n choices differ but repeat. */
export function choiceSeed(seed: number | undefined, i: number): number | undefined {
  return seed === undefined ? undefined : (seed + i) % 2 ** 32;
}

/** 400 when a prompt leaves no room to generate in one sequence's context. */
export function checkPromptFits(state: ServeState, tokens: readonly Token[], generating: boolean, param: string): void {
  const size = state.model.contextSize;
  if (tokens.length === 0) throw new HttpError(400, "the prompt is empty", { param });
  if (tokens.length > size || (generating && tokens.length >= size)) {
    throw new HttpError(400, `the prompt is ${tokens.length} tokens, and this server's context holds ${size}${generating ? " (one more is needed to generate)" : ""}`, { param, code: "context_length_exceeded" });
  }
}

/** Runs `work` with a sequence of its own, waiting in the fair queue for one. */
export async function withSlot<T>(state: ServeState, scope: RequestScope, work: (sequence: LlamaContextSequence) => Promise<T>): Promise<T> {
  const sequence = await state.queue.acquire(scope.signal);
  const held = performance.now();
  try {
    return await work(sequence);
  } finally {
    state.queue.release(sequence, (performance.now() - held) / 1000);
  }
}
