// `dusk serve`: an OpenAI-compatible HTTP server over one llama.cpp model — GET /v1/models,
// POST /v1/completions (with vLLM-style echo + logprobs for prompt tokens, which lm-eval-style
// scoring needs) and POST /v1/chat/completions (chat template; JSON or SSE stream). Requests are
// served one at a time (one KV sequence). Not here: auth, batching across requests, embeddings.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Template } from "@huggingface/jinja";
import type { Token } from "node-llama-cpp";
import type { LlamaScorer } from "./score.js";

export interface ServeOptions {
  /** the name /v1/models lists and responses carry */
  modelName: string;
  /** default 127.0.0.1 (loopback only) */
  host?: string;
  /** 0 = ephemeral; default 8000 */
  port?: number;
  /** prepend BOS to prompts; default: what the model's tokenizer asks for */
  bos?: boolean;
  /** request bodies above this many bytes are refused; default 8 MiB */
  maxBodyBytes?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

class HttpFailure extends Error {
  constructor(readonly status: number, message: string, readonly type = "invalid_request_error") {
    super(message);
  }
}

export async function startServer(scorer: LlamaScorer, opts: ServeOptions): Promise<RunningServer> {
  const model = scorer.model;
  const bos = opts.bos ?? model.tokens.shouldPrependBosToken;
  const created = Math.floor(Date.now() / 1000);
  let queue: Promise<unknown> = Promise.resolve();
  /** One request at a time touches the sequence. */
  const exclusive = <T>(work: () => Promise<T>): Promise<T> => {
    const run = queue.then(work, work);
    queue = run.catch(() => undefined);
    return run;
  };
  const withBos = (tokens: Token[]): Token[] => (bos && model.tokens.bos !== null ? [model.tokens.bos, ...tokens] : tokens);
  let requestId = 0;
  const newId = (prefix: string) => `${prefix}-${created.toString(36)}-${(++requestId).toString(36)}`;

  const completions = async (body: Record<string, unknown>) => {
    const p = readSampling(body);
    const prompt = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
    if (typeof prompt !== "string") throw new HttpFailure(400, "prompt must be a string (or an array of one string)");
    const echo = body.echo === true;
    const logprobs = body.logprobs === null || body.logprobs === undefined ? undefined : Number(body.logprobs);
    if (logprobs !== undefined && (!Number.isInteger(logprobs) || logprobs < 0 || logprobs > 5)) throw new HttpFailure(400, "logprobs must be an integer in [0, 5]");
    const tokens = withBos(model.tokenize(prompt));
    return exclusive(async () => {
      let lp: Record<string, unknown> | null = null;
      if (echo && logprobs !== undefined) lp = await promptLogprobs(scorer, tokens, bos);
      const gen = p.maxTokens > 0 ? await scorer.complete(tokens, { maxTokens: p.maxTokens, until: p.stop, temperature: p.temperature, ...(p.topP !== undefined ? { topP: p.topP } : {}), ...(p.seed !== undefined ? { seed: p.seed } : {}) }) : { text: "", tokens: 0, finish: "length" as const };
      return {
        id: newId("cmpl"),
        object: "text_completion",
        created: Math.floor(Date.now() / 1000),
        model: opts.modelName,
        choices: [{ index: 0, text: (echo ? prompt : "") + gen.text, logprobs: lp, finish_reason: gen.finish }],
        usage: { prompt_tokens: tokens.length, completion_tokens: gen.tokens, total_tokens: tokens.length + gen.tokens },
      };
    });
  };

  const chatPrompt = (body: Record<string, unknown>): Token[] => {
    const messages = body.messages;
    if (!Array.isArray(messages) || messages.length === 0 || !messages.every((m) => m && typeof m === "object" && typeof (m as { role?: unknown }).role === "string" && typeof (m as { content?: unknown }).content === "string")) {
      throw new HttpFailure(400, "messages must be a non-empty array of {role, content} with string fields");
    }
    const template = model.fileInfo.metadata.tokenizer?.chat_template;
    if (typeof template === "string") {
      const text = new Template(template).render({
        messages,
        add_generation_prompt: true,
        bos_token: model.tokens.bosString ?? "",
        eos_token: model.tokens.eosString ?? "",
      });
      // The template writes BOS itself when it wants one; special tokens in it are parsed.
      return model.tokenize(text, true);
    }
    const plain = (messages as { role: string; content: string }[]).map((m) => `${m.role}: ${m.content}\n`).join("") + "assistant:";
    return withBos(model.tokenize(plain));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? "/").split("?")[0]!;
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, { object: "list", data: [{ id: opts.modelName, object: "model", created, owned_by: "dusk" }] });
    }
    if (req.method !== "POST" || (path !== "/v1/completions" && path !== "/v1/chat/completions")) {
      throw new HttpFailure(404, `no route ${req.method} ${path}; routes: GET /v1/models, POST /v1/completions, POST /v1/chat/completions`, "not_found_error");
    }
    const body = await readJsonBody(req, opts.maxBodyBytes ?? 8 << 20);
    if (path === "/v1/completions") return sendJson(res, 200, await completions(body));

    const p = readSampling(body);
    const prompt = chatPrompt(body);
    const id = newId("chatcmpl");
    const sampling = { maxTokens: p.maxTokens, until: p.stop, temperature: p.temperature, ...(p.topP !== undefined ? { topP: p.topP } : {}), ...(p.seed !== undefined ? { seed: p.seed } : {}) };
    if (body.stream === true) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      const chunk = (delta: Record<string, unknown>, finish: string | null) =>
        res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: opts.modelName, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      chunk({ role: "assistant", content: "" }, null);
      const gen = await exclusive(() => scorer.complete(prompt, { ...sampling, onText: (t) => void chunk({ content: t }, null) }));
      chunk({}, gen.finish);
      res.end("data: [DONE]\n\n");
      return;
    }
    const gen = await exclusive(() => scorer.complete(prompt, sampling));
    return sendJson(res, 200, {
      id,
      object: "chat.completion",
      created: Math.floor(Date.now() / 1000),
      model: opts.modelName,
      choices: [{ index: 0, message: { role: "assistant", content: gen.text }, finish_reason: gen.finish }],
      usage: { prompt_tokens: prompt.length, completion_tokens: gen.tokens, total_tokens: prompt.length + gen.tokens },
    });
  };

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      const status = e instanceof HttpFailure ? e.status : 500;
      const type = e instanceof HttpFailure ? e.type : "server_error";
      if (res.headersSent) res.end();
      else sendJson(res, status, { error: { message: (e as Error).message ?? String(e), type, code: status } });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8000, opts.host ?? "127.0.0.1", () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/**
 * vLLM's echo logprobs: one entry per prompt token — the token's text, log p given the tokens
 * before it (null for the first), its offset in the prompt in code points, and the top-1 token.
 */
async function promptLogprobs(scorer: LlamaScorer, tokens: Token[], bos: boolean): Promise<Record<string, unknown>> {
  const model = scorer.model;
  const scores = await scorer.promptScores(tokens);
  const skip = bos && model.tokens.bos !== null ? 1 : 0; // BOS has no text in the prompt
  const texts: string[] = [];
  const offsets: number[] = [];
  let prev = "";
  for (let i = 0; i < tokens.length; i++) {
    if (i < skip) {
      texts.push(model.detokenize([tokens[i]!], true));
      offsets.push(0);
      continue;
    }
    // Cumulative detokenisation, so SentencePiece's leading-space rule applies once, at the start.
    const upTo = model.detokenize(tokens.slice(skip, i + 1));
    texts.push(upTo.startsWith(prev) ? upTo.slice(prev.length) : pieceText(scorer, tokens[i]!));
    offsets.push([...prev].length);
    prev = upTo;
  }
  const top = scores.map((s) => ({ [pieceText(scorer, s.top as Token)]: s.topLogprob }));
  return {
    tokens: texts,
    token_logprobs: [null, ...scores.map((s) => s.logprob)],
    text_offset: offsets,
    top_logprobs: [null, ...top],
  };
}

/** A token's text as it appears mid-text (a leading-space piece keeps its space). */
function pieceText(scorer: LlamaScorer, token: Token): string {
  const model = scorer.model;
  const anchor = model.tokenize("a");
  const withAnchor = model.detokenize([...anchor, token]);
  return withAnchor.slice(model.detokenize(anchor).length);
}

interface Sampling {
  maxTokens: number;
  temperature: number;
  topP: number | undefined;
  seed: number | undefined;
  stop: string[];
}

function readSampling(body: Record<string, unknown>): Sampling {
  const num = (key: string, lo: number, hi: number): number | undefined => {
    const v = body[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi) throw new HttpFailure(400, `${key} must be a number in [${lo}, ${hi}], got ${JSON.stringify(v)}`);
    return v;
  };
  const maxTokens = num("max_tokens", 0, 1 << 20) ?? num("max_completion_tokens", 0, 1 << 20) ?? 16;
  if (!Number.isInteger(maxTokens)) throw new HttpFailure(400, "max_tokens must be an integer");
  const seed = num("seed", -(2 ** 53), 2 ** 53);
  const stopRaw = body.stop;
  const stop = stopRaw === undefined || stopRaw === null ? [] : typeof stopRaw === "string" ? [stopRaw] : stopRaw;
  if (!Array.isArray(stop) || stop.length > 16 || !stop.every((s) => typeof s === "string")) throw new HttpFailure(400, "stop must be a string or an array of at most 16 strings");
  return { maxTokens, temperature: num("temperature", 0, 2) ?? 1, topP: num("top_p", 0, 1), seed: seed === undefined ? undefined : Math.trunc(Math.abs(seed)) % 2 ** 32, stop: stop as string[] };
}

async function readJsonBody(req: IncomingMessage, limit: number): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpFailure(413, `request body exceeds ${limit} bytes`);
    chunks.push(c as Buffer);
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new HttpFailure(400, "the request body is not valid JSON");
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new HttpFailure(400, "the request body must be a JSON object");
  return body as Record<string, unknown>;
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
