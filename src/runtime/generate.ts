// Text generation on a LoadedModel: a prompt (text or tokens) and sampling in, streamed text
// pieces out, ending in a result with token counts and speed. Uses the sequence API directly
// (as node-llama-cpp's LlamaCompletion does), reusing the KV cache of a shared prompt prefix.
// Not presets (presets.ts) and not chat templates (chat-template.ts).

import type { LlamaContextSequence, Token } from "node-llama-cpp";
import { RuntimeError } from "../errors.js";
import type { LoadedModel } from "./loaded-model.js";
import { randomSeed, validateLimits, validateSampling, type Sampling } from "./sampling.js";
import { StopStringMatcher } from "./stop-strings.js";
import { completeTokens } from "./token-bytes.js";

export interface GenerateOptions {
  /** default 256 */
  maxTokens?: number;
  stop?: readonly string[];
  /** default: a random seed, reported in the result */
  seed?: number;
  /** called with each piece of text as soon as it is final (stop strings held back) */
  onToken?: (text: string) => void;
  signal?: AbortSignal;
  /** generate on this sequence, which the caller owns for the call (a server slot), instead of the model's queued one */
  sequence?: LlamaContextSequence;
  /**
   * Report each generated token's log-probability and this many most likely alternatives (0: the
   * chosen token only) through `onGenerated`. They are of the distribution the token was sampled
   * from (after penalties, top-k/top-p/min-p and temperature): the model's own under greedy.
   */
  logprobs?: number;
  /** keep generating past end-of-generation tokens (fixed-length runs for benchmarks and tests) */
  ignoreEos?: boolean;
  /** called with every generated token as it arrives (before stop strings are looked for) */
  onGenerated?: (t: GeneratedToken) => void;
}

export interface GeneratedToken {
  token: Token;
  /** with `logprobs` */
  logprob?: number;
  /** with `logprobs` > 0: the most likely tokens, best first */
  top?: { token: Token; logprob: number }[];
}

export type StopReason = "eos" | "stop" | "max-tokens" | "context" | "aborted";

export interface GenerationResult {
  text: string;
  /** generated tokens (a stop string's tokens included, EOS not) */
  tokens: number;
  promptTokens: number;
  stopReason: StopReason;
  seed: number;
  /** start → first generated token (prompt evaluation) */
  promptSeconds: number;
  seconds: number;
  /** generated tokens after the first / time after the first (llama.cpp's "eval" rate) */
  tokensPerSecond: number;
}

export const DEFAULT_MAX_TOKENS = 256;
/**
 * Vocabularies whose token bytes are not known (token-bytes.ts): text ending in U+FFFD is held back
 * for at most 4 tokens. Why 4: a UTF-8 character is at most 4 bytes, so 4 byte-tokens complete one.
 */
const MAX_PARTIAL_TOKENS = 4;
/** tokens of context given to the detokenizer so SentencePiece spacing comes out right */
const DETOKENIZE_CONTEXT = 8;

/** Generates from a text prompt (BOS added when the model wants it) or from ready tokens. */
export async function generate(model: LoadedModel, prompt: string | readonly Token[], sampling: Sampling, o: GenerateOptions = {}): Promise<GenerationResult> {
  validateSampling(sampling);
  const limits = validateLimits({ maxTokens: o.maxTokens ?? DEFAULT_MAX_TOKENS, stop: o.stop ?? [], seed: o.seed ?? randomSeed() });
  const promptTokens = typeof prompt === "string" ? model.tokenize(prompt) : [...prompt];
  if (promptTokens.length === 0) throw new RuntimeError("runtime.prompt", "the prompt is empty", { hint: "give some text to continue" });
  const room = model.contextSize - promptTokens.length;
  if (room < 1) {
    throw new RuntimeError("runtime.prompt-too-long", `the prompt is ${promptTokens.length} tokens, but the context holds ${model.contextSize}`, {
      hint: `raise the context with --ctx ${nextPow2(promptTokens.length + limits.maxTokens)} (the model was trained on ${model.model.trainContextSize}), or shorten the prompt`,
    });
  }
  const maxTokens = Math.min(limits.maxTokens, room);

  const run = async (sequence: LlamaContextSequence): Promise<GenerationResult> => {
    const started = performance.now();
    let firstAt = 0;
    const input = promptTokens.slice();
    // Keep the cached prefix; always decode at least the last prompt token to get logits.
    const last = input.pop()!;
    await sequence.adaptStateToTokens(input, false);
    input.push(last);
    input.splice(0, sequence.nextTokenIndex);

    const history: Token[] = promptTokens.slice();
    const penaltyOn = sampling.repeatLastN > 0 && (sampling.repeatPenalty !== 1 || sampling.presencePenalty !== 0 || sampling.frequencyPenalty !== 0);
    const stops = new StopStringMatcher(limits.stop);
    const pending: Token[] = [];
    let text = "";
    let count = 0;
    let stopReason: StopReason = "eos";
    const emit = (piece: string) => {
      if (piece === "") return;
      text += piece;
      o.onToken?.(piece);
    };
    // The first `count` pending tokens as text, after the tokens before them (SentencePiece spacing).
    const release = (count = pending.length) => {
      const piece = model.detokenize(pending.slice(0, count), history.slice(-DETOKENIZE_CONTEXT - pending.length, history.length - pending.length));
      pending.splice(0, count);
      const r = stops.push(piece);
      emit(r.text);
      return r.stopped;
    };
    // How many pending tokens end where a character does: the rest is held back until it completes.
    const bytesOf = model.tokenBytes;
    const ready = (): number => {
      const pieces = bytesOf ? pending.map((t) => bytesOf(t)) : [];
      if (bytesOf && pieces.every((p) => p !== undefined)) return completeTokens(pieces as Uint8Array[]);
      const partial = pending.length < MAX_PARTIAL_TOKENS && model.detokenize(pending).endsWith("\uFFFD");
      return partial ? 0 : pending.length;
    };

    const options = {
      temperature: sampling.temperature,
      topK: sampling.topK,
      topP: sampling.topP,
      minP: sampling.minP,
      seed: limits.seed,
      ...(penaltyOn
        ? {
            repeatPenalty: {
              punishTokens: () => history.slice(-sampling.repeatLastN),
              maxPunishTokens: sampling.repeatLastN,
              penalty: sampling.repeatPenalty,
              presencePenalty: sampling.presencePenalty,
              frequencyPenalty: sampling.frequencyPenalty,
            },
          }
        : {}),
      yieldEogToken: o.ignoreEos ?? false,
    };
    const top = o.logprobs ?? 0;
    // (node-llama-cpp's evaluate() is this without metadata.)
    const outputs = sequence.evaluateWithMetadata(input, o.logprobs === undefined ? {} : { confidence: true, probabilities: top > 0 }, options);
    try {
      for await (const out of outputs) {
        const token = out.token;
        if (count === 0) firstAt = performance.now();
        if (o.onGenerated) o.onGenerated(o.logprobs === undefined ? { token } : withLogprobs(out as { token: Token; confidence?: number; probabilities?: Map<Token, number> }, top));
        count++;
        history.push(token);
        pending.push(token);
        const complete = ready();
        if (complete > 0 && release(complete)) {
          stopReason = "stop";
          break;
        }
        if (o.signal?.aborted) {
          stopReason = "aborted";
          break;
        }
        if (count >= maxTokens) {
          stopReason = maxTokens < limits.maxTokens ? "context" : "max-tokens";
          break;
        }
        // In step with the model's other generating sequences, so the next batch holds them all.
        const wait = model.steps?.arrive(sequence);
        if (wait) await wait;
      }
    } finally {
      model.steps?.leave(sequence);
    }
    if (stopReason !== "stop") {
      if (pending.length > 0 && release()) stopReason = "stop";
      emit(stops.flush());
    }
    const ended = performance.now();
    return {
      text,
      tokens: count,
      promptTokens: promptTokens.length,
      stopReason,
      seed: limits.seed,
      promptSeconds: ((firstAt || ended) - started) / 1000,
      seconds: (ended - started) / 1000,
      tokensPerSecond: count > 1 ? ((count - 1) * 1000) / (ended - firstAt) : 0,
    };
  };
  return o.sequence ? run(o.sequence) : model.withSequence(run);
}

/** The smallest positive float32: a probability llama.cpp rounded to 0 is at most this. */
const MIN_PROB = 1.4e-45;
const logp = (p: number) => Math.log(Math.max(p, MIN_PROB));

function withLogprobs(out: { token: Token; confidence?: number; probabilities?: Map<Token, number> }, top: number): GeneratedToken {
  const t: GeneratedToken = { token: out.token, logprob: logp(out.confidence ?? out.probabilities?.get(out.token) ?? 0) };
  if (top > 0 && out.probabilities) {
    // node-llama-cpp's map is sorted, most likely first.
    t.top = [];
    for (const [token, p] of out.probabilities) {
      if (t.top.length >= top) break;
      t.top.push({ token, logprob: logp(p) });
    }
  }
  return t;
}


function nextPow2(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(n, 32)));
}
