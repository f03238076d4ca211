// POST /v1/chat/completions: the conversation rendered with the model's chat template (as HF's
// apply_chat_template), n choices generated on the request's sequence, logprobs/top_logprobs in
// the chat shape, and JSON or an SSE stream of chat.completion.chunk events ending in [DONE].

import type { ServerResponse } from "node:http";
import { renderChat } from "../runtime/chat-template.js";
import { checkPromptFits, choiceSeed, runChoice, withSlot, type RequestScope, type ServeState } from "./choice.js";
import { HttpError, sendJson } from "./http.js";
import { chatLogprobs, type TokenEntry } from "./logprobs.js";
import { SseStream } from "./sse.js";
import { chatRequest } from "./validate.js";

export async function chatCompletions(state: ServeState, scope: RequestScope, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
  const { model } = state;
  const req = chatRequest(body, state.presets, state.defaultPreset, model.contextSize);
  if (!state.template) {
    throw new HttpError(400, `${model.path} has no chat template, so /v1/chat/completions cannot build a prompt`, { param: "messages", code: "no_chat_template" });
  }
  let text: string;
  try {
    text = renderChat(state.template, req.messages, { bosToken: model.bosText, eosToken: model.eosText, addBos: model.addBos }, { origin: state.templateOrigin });
  } catch (e) {
    // The template refuses the conversation (a system message it does not take, roles out of order).
    throw new HttpError(400, (e as Error).message, { param: "messages", code: "chat_template_error" });
  }
  // HF tokenizes a rendered template with add_special_tokens=False: the template writes BOS itself.
  const prompt = model.tokenize(text, { addBos: false, special: true });
  checkPromptFits(state, prompt, true, "messages");
  // No max_tokens: generate until the model stops or the context is full.
  const maxTokens = req.maxTokens ?? model.contextSize;
  if (maxTokens === 0) throw new HttpError(400, "max_tokens must be at least 1 for chat", { param: "max_tokens" });
  state.metrics.tokens(prompt.length, 0);

  const id = state.newId("chatcmpl");
  const head = { id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: state.name, system_fingerprint: null };
  const sse = req.stream ? new SseStream(res) : undefined;
  const withUsage = req.includeUsage ? { usage: null } : {};
  const chunk = (index: number, delta: Record<string, unknown>, entries: TokenEntry[] | null, finish: string | null) =>
    sse?.send({ ...head, choices: [{ index, delta, logprobs: entries === null || req.logprobs === undefined ? null : chatLogprobs(entries), finish_reason: finish }], ...withUsage });
  let completionTokens = 0;

  const choices = await withSlot(state, scope, async (sequence) => {
    const out: Record<string, unknown>[] = [];
    for (let c = 0; c < req.n; c++) {
      chunk(c, { role: "assistant", content: "" }, null, null);
      const gen = await runChoice(state, scope, sequence, prompt, req, {
        maxTokens,
        seed: choiceSeed(req.seed, c),
        ...(sse ? { onDelta: (t: string, e: TokenEntry[]) => chunk(c, { content: t }, e, null) } : {}),
      });
      completionTokens += gen.tokens;
      if (sse) {
        if (gen.rest.length > 0) chunk(c, {}, gen.rest, null);
        chunk(c, {}, null, gen.finish);
        continue;
      }
      const entries = req.logprobs === undefined ? [] : [...gen.rest];
      out.push({ index: c, message: { role: "assistant", content: gen.text, refusal: null }, logprobs: req.logprobs === undefined ? null : chatLogprobs(entries), finish_reason: gen.finish });
    }
    return out;
  });
  const usage = { prompt_tokens: prompt.length, completion_tokens: completionTokens, total_tokens: prompt.length + completionTokens };
  if (sse) {
    if (req.includeUsage) sse.send({ ...head, choices: [], usage });
    return sse.end();
  }
  sendJson(res, 200, { ...head, object: "chat.completion", choices, usage });
}
