// Token log-probabilities for `dusk serve`, in both of OpenAI's shapes: the completions shape
// (`tokens`, `token_logprobs`, `top_logprobs`, `text_offset`, with echoed prompt tokens first) and
// the chat shape (`content: [{token, logprob, bytes, top_logprobs}]`). Prompt tokens are scored on
// the request's own sequence; generated ones come from generate()'s `onGenerated`.

import type { LlamaContextSequence, Token } from "node-llama-cpp";
import type { GeneratedToken } from "../runtime/generate.js";
import type { LoadedModel } from "../runtime/loaded-model.js";

/** One token's entry; `offset` is in UTF-16 units of the choice's text (see codePointOffsets). */
export interface TokenEntry {
  text: string;
  /** null for the first prompt token, which nothing predicts */
  logprob: number | null;
  top: { text: string; logprob: number }[] | null;
  offset: number;
}

/** The smallest positive float32: a probability llama.cpp rounded to 0 is at most this. */
const MIN_PROB = 1.4e-45;
/** tokens of context for detokenising one token (SentencePiece's leading space) */
const DETOKENIZE_CONTEXT = 8;

/**
 * Scores every prompt token after the ones before it (vLLM's echo logprobs): entry i is token i's
 * text, log p(token i | tokens < i), `top` alternatives, and its offset in the prompt text. The
 * sequence's cache is cleared first: every position's distribution is needed, cached or not.
 */
export async function promptEntries(model: LoadedModel, sequence: LlamaContextSequence, tokens: readonly Token[], top: number): Promise<{ entries: TokenEntry[]; text: string }> {
  await sequence.clearHistory();
  const dists = tokens.length > 1 ? await sequence.controlledEvaluate(tokens.slice(0, -1).map((t) => [t, { generateNext: { probabilities: true } }] as [Token, { generateNext: { probabilities: true } }])) : [];
  // BOS (and other special tokens) has no text in the prompt; SentencePiece's leading space shows once, at the start.
  const bos = model.model.tokens.bos;
  const skip = tokens[0] === bos && bos !== null ? 1 : 0;
  const entries: TokenEntry[] = [];
  let prev = "";
  for (let i = 0; i < tokens.length; i++) {
    const dist = i === 0 ? undefined : dists[i - 1]?.next.probabilities;
    const p = dist?.get(tokens[i]!) ?? 0;
    const text = i < skip ? model.model.detokenize([tokens[i]!], true) : cumulativePiece(model, tokens.slice(skip, i + 1), prev);
    entries.push({ text, logprob: i === 0 ? null : logp(p), top: i === 0 ? null : alternatives(model, dist, top, tokens.slice(0, i)), offset: i < skip ? 0 : prev.length });
    if (i >= skip) prev += text;
  }
  return { entries, text: prev };
}

function cumulativePiece(model: LoadedModel, upTo: readonly Token[], before: string): string {
  const all = model.detokenize(upTo);
  return all.startsWith(before) ? all.slice(before.length) : model.detokenize(upTo.slice(-1), upTo.slice(-1 - DETOKENIZE_CONTEXT, -1));
}

function alternatives(model: LoadedModel, dist: Map<Token, number> | undefined, count: number, before: readonly Token[]): { text: string; logprob: number }[] {
  const out: { text: string; logprob: number }[] = [];
  if (!dist) return out;
  const context = before.slice(-DETOKENIZE_CONTEXT);
  // node-llama-cpp's map is sorted, most likely first.
  for (const [token, p] of dist) {
    if (out.length >= count) break;
    out.push({ text: model.detokenize([token], context), logprob: logp(p) });
  }
  return out;
}

const logp = (p: number) => Math.log(Math.max(p, MIN_PROB));

/** Generated tokens as they arrive, with their text and offset in the generated text. */
export class TokenLog {
  private readonly entries: TokenEntry[] = [];
  private readonly history: Token[];
  private length = 0;
  private taken = 0;

  constructor(
    private readonly model: LoadedModel,
    prompt: readonly Token[],
  ) {
    this.history = prompt.slice(-DETOKENIZE_CONTEXT);
  }

  add(t: GeneratedToken): void {
    const context = this.history.slice(-DETOKENIZE_CONTEXT);
    const text = this.model.detokenize([t.token], context);
    const top = t.top?.map((a) => ({ text: this.model.detokenize([a.token], context), logprob: a.logprob })) ?? null;
    this.entries.push({ text, logprob: t.logprob ?? null, top, offset: this.length });
    this.length += text.length;
    this.history.push(t.token);
    if (this.history.length > 4 * DETOKENIZE_CONTEXT) this.history.splice(0, this.history.length - DETOKENIZE_CONTEXT);
  }

  /** Entries not yet taken that start before `end` (UTF-16 units of the text shown so far). */
  take(end: number): TokenEntry[] {
    const from = this.taken;
    while (this.taken < this.entries.length && this.entries[this.taken]!.offset < end) this.taken++;
    return this.entries.slice(from, this.taken);
  }
}

/** OpenAI's completions logprobs object; offsets shifted by `base` and counted in code points. */
export function completionLogprobs(entries: readonly TokenEntry[], text: string, base = 0): Record<string, unknown> {
  return {
    tokens: entries.map((e) => e.text),
    token_logprobs: entries.map((e) => e.logprob),
    // OpenAI: the `logprobs` most likely tokens, plus the chosen one when it is not among them.
    top_logprobs: entries.map((e) => (e.logprob === null ? null : topDict(e))),
    text_offset: entries.map((e) => [...text.slice(0, base + e.offset)].length),
  };
}

/** text → logprob, most likely first; a null prototype, so a token spelled "__proto__" is just a key. */
function topDict(e: TokenEntry): Record<string, number> {
  const d = Object.create(null) as Record<string, number>;
  for (const a of e.top ?? []) if (!(a.text in d)) d[a.text] = a.logprob;
  if (!(e.text in d)) d[e.text] = e.logprob!;
  return d;
}

/** OpenAI's chat logprobs object. */
export function chatLogprobs(entries: readonly TokenEntry[]): Record<string, unknown> {
  const bytes = (s: string) => [...Buffer.from(s, "utf8")];
  return {
    content: entries.map((e) => ({ token: e.text, logprob: e.logprob, bytes: bytes(e.text), top_logprobs: (e.top ?? []).map((a) => ({ token: a.text, logprob: a.logprob, bytes: bytes(a.text) })) })),
    refusal: null,
  };
}
