// Server-sent events as OpenAI streams them: `data: {json}\n\n` per chunk, `data: [DONE]\n\n` at
// the end (an error after the stream began is one `data: {"error": {...}}` event, written by
// server.ts). A client that stops reading while the server writes is cut off, not buffered.

import type { ServerResponse } from "node:http";

/** Why 4 MiB: far beyond any honest backlog of token chunks, small enough to bound a stuck reader. */
const MAX_BUFFERED_BYTES = 4 << 20;

export class SseStream {
  private started = false;

  constructor(private readonly res: ServerResponse) {}

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
    // The request is then cancelled like any whose client went away (server.ts).
    if (this.res.writableLength > MAX_BUFFERED_BYTES) this.res.destroy();
  }

  end(): void {
    if (!this.open) return;
    this.begin();
    this.res.end("data: [DONE]\n\n");
  }
}
