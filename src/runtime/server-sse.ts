// Server-sent events as OpenAI streams them: `data: {json}\n\n` per chunk, `data: [DONE]\n\n` at
// the end, an error as `data: {"error": {...}}` when the stream has already begun. A client that
// stops reading while the server writes is cut off rather than buffered without bound.

import type { ServerResponse } from "node:http";
import type { HttpError } from "./server-http.js";

/** Why 4 MiB: far beyond any honest backlog of token chunks, small enough to bound a stuck reader. */
const MAX_BUFFERED_BYTES = 4 << 20;

export class SseStream {
  private started = false;

  constructor(
    private readonly res: ServerResponse,
    /** called when the client stopped reading and the stream was cut */
    private readonly onStuck: () => void,
  ) {}

  get open(): boolean {
    return !this.res.writableEnded && !this.res.destroyed;
  }

  private begin(): void {
    if (this.started) return;
    this.started = true;
    // no-transform and X-Accel-Buffering: proxies must pass each event on at once.
    this.res.writeHead(200, { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache, no-transform", connection: "keep-alive", "x-accel-buffering": "no" });
    this.res.flushHeaders();
  }

  send(chunk: unknown): void {
    if (!this.open) return;
    this.begin();
    this.res.write(`data: ${JSON.stringify(chunk)}\n\n`);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.res.destroy();
      this.onStuck();
    }
  }

  /** An error after the stream began: one error event, then the end. */
  fail(e: HttpError): void {
    this.send(e.body);
    this.end();
  }

  end(): void {
    if (!this.open) return;
    this.begin();
    this.res.end("data: [DONE]\n\n");
  }
}
