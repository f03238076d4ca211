// HTTP plumbing of `dusk serve`: OpenAI-style error objects, JSON responses, and reading a request
// body within a size limit and a time limit (a client that sends its body byte by byte is served
// when it finishes in time and answered 408 when not). Not routing or generation (server.ts).

import type { IncomingMessage, ServerResponse } from "node:http";

/**
 * An answer other than 200, in OpenAI's shape:
 * `{"error": {"message": "...", "type": "invalid_request_error", "param": "max_tokens", "code": null}}`.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly o: { type?: string; param?: string | null; code?: string | null; headers?: Record<string, string> } = {},
  ) {
    super(message);
  }

  get body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.o.type ?? defaultType(this.status), param: this.o.param ?? null, code: this.o.code ?? null } };
  }
}

function defaultType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status === 408) return "timeout_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

/** 400 naming the field the client got wrong. */
export function badRequest(param: string | null, message: string, code: string | null = null): HttpError {
  return new HttpError(400, message, { param, code });
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

/** Answers with the error; after a body that was not read to its end the connection is closed. */
export function sendError(res: ServerResponse, e: HttpError, closeConnection = false): void {
  if (res.headersSent) return void res.end();
  sendJson(res, e.status, e.body, { ...(e.o.headers ?? {}), ...(closeConnection ? { connection: "close" } : {}) });
}

export interface BodyLimits {
  /** bytes; larger bodies get 413 */
  maxBytes: number;
  /** the whole body must arrive within this; slower clients get 408 */
  timeoutMs: number;
}

/** Reads and parses a JSON object body, or throws an HttpError (413, 408, 400). */
export async function readJsonBody(req: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limits.maxBytes) throw tooLarge(limits.maxBytes);
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => finish(new HttpError(408, `the request body did not arrive within ${limits.timeoutMs / 1000} s`, { code: "body_timeout" })), limits.timeoutMs);
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limits.maxBytes) return finish(tooLarge(limits.maxBytes));
      chunks.push(c);
    };
    const onEnd = () => finish(undefined);
    const onAborted = () => finish(new HttpError(400, "the client closed the connection before sending the whole body", { code: "client_closed" }));
    const finish = (e: HttpError | undefined) => {
      clearTimeout(timer);
      req.off("data", onData).off("end", onEnd).off("aborted", onAborted).off("error", onAborted);
      if (e) {
        req.pause(); // stop reading the rest; the connection is closed after the answer
        reject(e);
      } else resolve(Buffer.concat(chunks));
    };
    req.on("data", onData).on("end", onEnd).on("aborted", onAborted).on("error", onAborted);
  });
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString("utf8"));
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON (${(e as Error).message})`, { code: "invalid_json" });
  }
  if (!body || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "the request body must be a JSON object", { code: "invalid_json" });
  return body as Record<string, unknown>;
}

function tooLarge(max: number): HttpError {
  return new HttpError(413, `the request body is larger than ${max} bytes`, { code: "request_too_large" });
}
