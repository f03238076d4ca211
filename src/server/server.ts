// `dusk serve`: an OpenAI-compatible HTTP server over one llama.cpp model with N parallel
// sequences. This file routes (GET /v1/models, /health, /metrics; POST /v1/completions,
// /v1/chat/completions), checks the API key, gives each request its cancellation (client gone,
// timeout, shutdown), counts it, and shuts down gracefully. The routes live in the sibling files.
// Not here: TLS, embeddings, tools, several models.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LlamaContextSequence } from "node-llama-cpp";
import { RuntimeError } from "../errors.js";
import { compileChatTemplate } from "../runtime/chat-template.js";
import type { LoadedModel } from "../runtime/loaded-model.js";
import type { Preset } from "../runtime/presets.js";
import { checkApiKey, checkBind } from "./auth.js";
import { chatCompletions } from "./chat.js";
import type { RequestScope, ServeState } from "./choice.js";
import { completions } from "./completions.js";
import { HttpError, readJsonBody, sendError, sendJson } from "./http.js";
import { ServerMetrics } from "./metrics.js";
import { SlotQueue } from "./queue.js";

export interface ServeOptions {
  /** the name /v1/models lists and responses carry */
  modelName: string;
  /** default 127.0.0.1 (loopback only) */
  host?: string;
  /** 0 = ephemeral; default 8000 */
  port?: number;
  /** requests may wait for a sequence beyond the running ones; more get 429 (default 64) */
  queueLimit?: number;
  /** request bodies above this many bytes get 413; default 8 MiB */
  maxBodyBytes?: number;
  /** a body must arrive within this (ms); default 30 s */
  bodyTimeoutMs?: number;
  /** a request (queue wait + generation) is cancelled after this (ms); default 10 min */
  requestTimeoutMs?: number;
  /** bearer key every request but /health must carry; undefined: none (loopback only) */
  apiKey?: string;
  /** allow a non-loopback host without a key */
  insecure?: boolean;
  /** presets a request may name (`preset`); default: none */
  presets?: readonly Preset[];
  /** the preset of requests that name none; default: OpenAI's defaults */
  defaultPreset?: string;
  /** a Jinja chat template instead of the model's */
  chatTemplate?: string;
  /** where it came from, for messages (default "the --chat-template file") */
  chatTemplateOrigin?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  /** "loading" until the model is ready, then "ready"; "draining" once close() began */
  readonly status: "loading" | "ready" | "failed" | "draining";
  /** resolves once the model is ready; rejects with why it is not */
  ready: Promise<void>;
  /** Stops accepting, lets in-flight requests finish for `graceMs` (default 10 s), cancels the rest. */
  close(graceMs?: number): Promise<void>;
}

const ROUTES = "GET /v1/models, GET /health, GET /metrics, POST /v1/completions, POST /v1/chat/completions";

/**
 * Listens at once; `/health` says "loading" until `model` (a LoadedModel or the promise of one,
 * opened with `sequences` = the parallel requests) resolves. The caller keeps ownership of the model.
 */
export async function startServer(model: LoadedModel | Promise<LoadedModel>, opts: ServeOptions): Promise<RunningServer> {
  const host = opts.host ?? "127.0.0.1";
  checkBind(host, opts.apiKey, opts.insecure ?? false);
  const presets = new Map((opts.presets ?? []).map((p) => [p.name, p]));
  if (opts.defaultPreset !== undefined && !presets.has(opts.defaultPreset)) {
    throw new RuntimeError("runtime.preset", `unknown preset "${opts.defaultPreset}"`, { hint: `presets are ${[...presets.keys()].join(", ")}; see dusk presets` });
  }
  let state: ServeState | undefined;
  let status: RunningServer["status"] = "loading";
  let loadError: unknown;
  const inflight = new Set<AbortController>();
  let requestId = 0;
  const created = Math.floor(Date.now() / 1000);
  const metrics = new ServerMetrics(() => ({ waiting: state?.queue.waiting ?? 0, running: state?.queue.running ?? 0, slots: state?.queue.slots ?? 0, ready: status === "ready" }));

  const ready = Promise.resolve(model).then((m) => {
    const source = opts.chatTemplate ?? m.chatTemplate;
    const origin = opts.chatTemplate === undefined ? `${m.path}: tokenizer.chat_template` : (opts.chatTemplateOrigin ?? "the --chat-template file");
    state = {
      model: m,
      vocabSize: vocabularySize(m),
      name: opts.modelName,
      created,
      queue: new SlotQueue<LlamaContextSequence>(m.sequences, opts.queueLimit ?? 64),
      metrics,
      presets,
      defaultPreset: opts.defaultPreset,
      template: source === undefined ? undefined : compileChatTemplate(source, origin),
      templateOrigin: origin,
      newId: (prefix) => `${prefix}-${created.toString(36)}${(++requestId).toString(36).padStart(6, "0")}`,
    };
    if (status === "loading") status = "ready";
  });
  ready.catch((e: unknown) => {
    loadError = e;
    status = "failed";
  });

  const route = async (req: IncomingMessage, res: ServerResponse, scope: RequestScope, path: string): Promise<void> => {
    if (req.method === "GET" && path === "/health") {
      const code = status === "ready" ? 200 : 503;
      return sendJson(res, code, { status, ...(status === "failed" ? { error: String((loadError as Error)?.message ?? loadError) } : {}) }, code === 503 ? { "retry-after": "1" } : {});
    }
    checkApiKey(req, opts.apiKey);
    if (req.method === "GET" && path === "/metrics") {
      const text = metrics.render();
      res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "content-length": String(Buffer.byteLength(text)) });
      return void res.end(text);
    }
    if (req.method === "GET" && path === "/v1/models") {
      return sendJson(res, 200, { object: "list", data: [{ id: opts.modelName, object: "model", created, owned_by: "dusk", ...(state ? { max_model_len: state.model.contextSize } : {}) }] });
    }
    const handler = req.method === "POST" ? (path === "/v1/completions" ? completions : path === "/v1/chat/completions" ? chatCompletions : undefined) : undefined;
    if (!handler) throw new HttpError(404, `no route ${req.method} ${path}; routes: ${ROUTES}`, { code: "unknown_route" });
    if (status !== "ready" || !state) {
      throw new HttpError(503, status === "loading" ? "the model is still loading" : status === "draining" ? "the server is shutting down" : "the model failed to load", { code: status === "loading" ? "model_loading" : "unavailable", headers: { "retry-after": "1" } });
    }
    const body = await readJsonBody(req, { maxBytes: opts.maxBodyBytes ?? 8 << 20, timeoutMs: opts.bodyTimeoutMs ?? 30_000 });
    if (body.model !== undefined && body.model !== opts.modelName) {
      throw new HttpError(404, `the model ${JSON.stringify(body.model)} does not exist; this server serves ${JSON.stringify(opts.modelName)}`, { param: "model", code: "model_not_found", type: "invalid_request_error" });
    }
    await handler(state, scope, body, res);
  };

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0]!;
    const endpoint = ["/v1/models", "/v1/completions", "/v1/chat/completions", "/health", "/metrics"].includes(path) ? path : "other";
    const abort = new AbortController();
    const scope: RequestScope = { signal: abort.signal, arrived: performance.now(), firstTokenSeen: false };
    inflight.add(abort);
    // The client went away before the answer ended: cancel at once (its sequence is freed on the next token).
    res.on("close", () => {
      inflight.delete(abort);
      if (!res.writableFinished) abort.abort(new HttpError(499, "the client closed the connection", { code: "client_closed" }));
    });
    const timer = setTimeout(() => abort.abort(new HttpError(408, `the request took longer than ${(opts.requestTimeoutMs ?? 600_000) / 1000} s`, { code: "request_timeout" })), opts.requestTimeoutMs ?? 600_000);
    route(req, res, scope, path)
      .catch((e: unknown) => {
        const err = e instanceof HttpError ? e : new HttpError(500, (e as Error)?.message ?? String(e), { code: "internal_error" });
        if (res.headersSent) {
          // A stream already began: one error event, then [DONE].
          if (!res.writableEnded && !res.destroyed) res.end(`data: ${JSON.stringify(err.body)}\n\ndata: [DONE]\n\n`);
          return;
        }
        if (!res.destroyed) sendError(res, err, !req.complete);
      })
      .finally(() => {
        clearTimeout(timer);
        const reason = abort.signal.reason as HttpError | undefined;
        const code = abort.signal.aborted && reason instanceof HttpError && (reason.status === 499 || res.headersSent) ? reason.status : res.statusCode;
        metrics.request(endpoint, code, (performance.now() - scope.arrived) / 1000);
      });
  });
  // Our own body and request timers answer with JSON; Node's are a backstop for headers that never end.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8000, host, () => resolve());
  });
  const addr = server.address() as AddressInfo;
  const shown = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;

  const close = async (graceMs = 10_000): Promise<void> => {
    status = "draining";
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    state?.queue.rejectWaiting(new HttpError(503, "the server is shutting down", { code: "shutting_down" }));
    const deadline = Date.now() + graceMs;
    while (inflight.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    for (const a of inflight) a.abort(new HttpError(503, "the server is shutting down", { code: "shutting_down" }));
    // Cancelled generations stop at their next token; then every connection can go.
    const settle = Date.now() + 5_000;
    while ((state?.queue.running ?? 0) > 0 && Date.now() < settle) await new Promise((r) => setTimeout(r, 10));
    server.closeAllConnections();
    await closed;
  };
  return {
    url: `http://${shown}:${addr.port}`,
    port: addr.port,
    ready,
    get status() {
      return status;
    },
    close,
  };
}

/** Tokens in the vocabulary, from the GGUF's token list (undefined → no check beyond non-negative ids). */
function vocabularySize(m: LoadedModel): number {
  const tokens = m.model.fileInfo.metadata.tokenizer?.ggml?.tokens;
  return Array.isArray(tokens) && tokens.length > 0 ? tokens.length : Number.MAX_SAFE_INTEGER;
}
