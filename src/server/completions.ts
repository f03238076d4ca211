// POST /v1/completions: a prompt (text, token ids, or an array of them) × n choices, generated one
// after another on the request's sequence; echo with per-token prompt logprobs (what lm-eval-style
// scoring sends: echo, logprobs, max_tokens 0); JSON or an SSE stream of text_completion chunks.

import type { ServerResponse } from "node:http";
import type { Token } from "node-llama-cpp";
import { checkPromptFits, choiceSeed, runChoice, withSlot, type RequestScope, type ServeState } from "./choice.js";
import { badRequest, sendJson } from "./http.js";
import { completionLogprobs, promptEntries, type TokenEntry } from "./logprobs.js";
import { SseStream } from "./sse.js";
import { completionRequest, type CompletionRequest } from "./validate.js";

/** OpenAI's default for /v1/completions */
const DEFAULT_COMPLETION_TOKENS = 16;

export async function completions(state: ServeState, scope: RequestScope, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const { model } = state;
  const req = completionRequest(body, state.presets, state.defaultPreset, model.contextSize);
  const maxTokens = req.maxTokens ?? DEFAULT_COMPLETION_TOKENS;
  const prompts: { tokens: Token[]; text: string }[] = req.prompts.map((p, i) => {
    const param = req.prompts.length > 1 ? `prompt[${i}]` : "prompt";
    let tokens: Token[];
    if (typeof p === "string") {
      tokens = model.tokenize(p, { addBos: req.addSpecialTokens && model.addBos });
    } else {
      if (p.some((t) => t >= state.vocabSize)) throw badRequest(param, `${param} holds a token id outside the vocabulary (${state.vocabSize} tokens)`);
      tokens = p as Token[];
    }
    checkPromptFits(state, tokens, maxTokens > 0, param);
    return { tokens, text: typeof p === "string" ? p : model.detokenize(tokens) };
  });
  state.metrics.tokens(prompts.reduce((n, p) => n + p.tokens.length, 0), 0);
  const id = state.newId("cmpl");
  const created = Math.floor(Date.now() / 1000);
  const head = { id, object: "text_completion", created, model: state.name };
  const sse = req.stream ? new SseStream(res) : undefined;
  const usage = { prompt_tokens: prompts.reduce((n, p) => n + p.tokens.length, 0), completion_tokens: 0, total_tokens: 0 };

  const choices = await withSlot(state, scope, async (sequence) => {
    const out: Record<string, unknown>[] = [];
    for (const [p, prompt] of prompts.entries()) {
      for (let c = 0; c < req.n; c++) {
        const index = p * req.n + c;
        const echoed = req.echo && req.logprobs !== undefined ? await promptEntries(model, sequence, prompt.tokens, req.logprobs) : undefined;
        const prefix = req.echo ? prompt.text : "";
        // Streamed deltas: the echoed prompt first, then the text as it is final.
        let sent = "";
        const send = (text: string, entries: TokenEntry[], finish: string | null) => {
          sse?.send({ ...head, choices: [{ index, text, logprobs: req.logprobs === undefined ? null : completionLogprobs(entries, sent + text, sent.length), finish_reason: finish }] });
          sent += text;
        };
        if (sse && prefix) send(prefix, [], null);
        const gen = maxTokens === 0
          ? { text: "", tokens: 0, finish: "length" as const, rest: [] }
          : await runChoice(state, scope, sequence, prompt.tokens, req, { maxTokens, seed: choiceSeed(req.seed, c), ...(sse ? { onDelta: (t: string, e: TokenEntry[]) => send(t, e, null) } : {}) });
        usage.completion_tokens += gen.tokens;
        if (sse) {
          send("", gen.rest, gen.finish);
          continue;
        }
        const text = prefix + gen.text;
        out.push({ index, text, logprobs: logprobsOf(req, echoed?.entries ?? [], gen, text, prefix.length), finish_reason: gen.finish });
      }
    }
    return out;
  });
  usage.total_tokens = usage.prompt_tokens + usage.completion_tokens;
  if (sse) {
    if (req.includeUsage) sse.send({ ...head, choices: [], usage });
    return sse.end();
  }
  sendJson(res, 200, { ...head, choices, usage });
}

function logprobsOf(req: CompletionRequest, echoed: TokenEntry[], gen: { rest: TokenEntry[] }, text: string, promptChars: number): Record<string, unknown> | null {
  if (req.logprobs === undefined) return null;
  // Prompt entries' offsets are in the prompt; generated ones' in the generated text, after it.
  const shifted = gen.rest.map((e) => ({ ...e, offset: e.offset + promptChars }));
  return completionLogprobs([...echoed, ...shifted], text);
}
