// `dusk serve` under bad input, over real loopback HTTP: every case of the list answers with
// an OpenAI-style error object (or, for a client that leaves, a freed sequence), and after each
// one the server still serves a good request. One sequence and a queue of one make the flood and
// the disconnect cases deterministic.

import { connect } from "node:net";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { BUILTIN_PRESETS, openModel, type LoadedModel } from "../src/runtime/index.js";
import { startServer, type RunningServer } from "../src/server/index.js";
import { makeTinyGguf } from "./helpers/models.js";

const KEY = "sk-bad-input";
const CONTEXT = 2048;
let model: LoadedModel;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  const { gguf } = await makeTinyGguf({ layers: 2, hidden: 64, seed: 5, std: 0.08, maxPositions: CONTEXT }, "f32");
  model = await openModel(gguf, { contextSize: CONTEXT, sequences: 1, threads: 1, flashAttention: false });
  server = await startServer(model, { modelName: "tiny", port: 0, apiKey: KEY, presets: BUILTIN_PRESETS, queueLimit: 1, maxBodyBytes: 64 * 1024, bodyTimeoutMs: 1500 });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await server?.close(0);
  await model?.dispose();
});

interface ErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

const post = (path: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
  fetch(`${server.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json", ...headers }, body });

async function expectError(res: Response, status: number, o: { param?: string; code?: string; message?: RegExp } = {}): Promise<ErrorBody> {
  const body = (await res.json()) as ErrorBody;
  expect(res.status, JSON.stringify(body)).toBe(status);
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof body.error.message).toBe("string");
  if (o.param !== undefined) expect(body.error.param).toBe(o.param);
  if (o.code !== undefined) expect(body.error.code).toBe(o.code);
  if (o.message) expect(body.error.message).toMatch(o.message);
  return body;
}

const metric = async (name: string): Promise<number> => {
  const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
};

// After every case the server still answers a good request.
afterEach(async () => {
  const r = await client.completions.create({ model: "tiny", prompt: "Friends, Romans", max_tokens: 4, temperature: 0 });
  expect(r.choices[0]!.text.length).toBeGreaterThan(0);
});

describe("bad requests get OpenAI-style errors", () => {
  it("malformed JSON, and a body that is not an object", async () => {
    await expectError(await post("/v1/completions", '{"prompt": "x",'), 400, { code: "invalid_json" });
    await expectError(await post("/v1/chat/completions", "[1, 2]"), 400, { code: "invalid_json" });
  });

  it.each([
    [{ prompt: 3 }, "prompt"],
    [{ prompt: "x", temperature: "hot" }, "temperature"],
    [{ prompt: "x", top_p: 0 }, "top_p"],
    [{ prompt: "x", n: 0 }, "n"],
    [{ prompt: "x", stop: [1] }, "stop"],
    [{ prompt: "x", seed: 1.5 }, "seed"],
    [{ prompt: "x", echo: "yes" }, "echo"],
    [{ prompt: "x", logprobs: 99 }, "logprobs"],
    [{ prompt: "x", max_tokens: -1 }, "max_tokens"],
    [{ prompt: "x", max_tokens: 10_000_000 }, "max_tokens"],
    [{ prompt: "x", max_tokens: 1.5 }, "max_tokens"],
    [{ prompt: [999_999_999] }, "prompt"],
  ])("completions %j → 400 naming %s", async (body, param) => {
    await expectError(await post("/v1/completions", JSON.stringify({ model: "tiny", ...body })), 400, { param });
  });

  it.each([
    [{ messages: "hi" }, "messages"],
    [{ messages: [] }, "messages"],
    [{ messages: [{ role: "wizard", content: "hi" }] }, "messages[0].role"],
    [{ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "x" } }] }] }, "messages[0].content"],
    [{ messages: [{ role: "user", content: "hi" }], top_logprobs: 2 }, "top_logprobs"],
    [{ messages: [{ role: "user", content: "hi" }], tools: [{ type: "function" }] }, "tools"],
  ])("chat %j → 400 naming %s", async (body, param) => {
    await expectError(await post("/v1/chat/completions", JSON.stringify({ model: "tiny", ...body })), 400, { param });
  });

  it("a prompt over the context is 400 context_length_exceeded", async () => {
    const long = "the king ".repeat(CONTEXT);
    await expectError(await post("/v1/completions", JSON.stringify({ model: "tiny", prompt: long, max_tokens: 1 })), 400, { param: "prompt", code: "context_length_exceeded", message: /context holds 2048/ });
    await expectError(await post("/v1/chat/completions", JSON.stringify({ model: "tiny", messages: [{ role: "user", content: long }] })), 400, { code: "context_length_exceeded" });
  });

  it("an unknown model is 404 model_not_found; an unknown preset is 400 naming the known ones", async () => {
    const err = await client.completions.create({ model: "gpt-9", prompt: "x" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.NotFoundError>).code).toBe("model_not_found");
    const body = await expectError(await post("/v1/completions", JSON.stringify({ model: "tiny", prompt: "x", preset: "wild" })), 400, { param: "preset", code: "unknown_preset" });
    expect(body.error.message).toMatch(/greedy, precise, balanced, creative/);
  });

  it("a missing or wrong API key is 401; an unknown route is 404", async () => {
    await expectError(await fetch(`${server.url}/v1/completions`, { method: "POST", body: "{}" }), 401, { code: "invalid_api_key" });
    await expectError(await post("/v1/completions", "{}", { authorization: "Bearer nope" }), 401, { code: "invalid_api_key" });
    await expectError(await post("/v1/embeddings", "{}"), 404, { code: "unknown_route" });
  });

  it("a body over the limit is 413, declared or streamed", async () => {
    const big = JSON.stringify({ model: "tiny", prompt: "x".repeat(100 * 1024) });
    await expectError(await post("/v1/completions", big), 413, { code: "request_too_large" });
    // Without a content-length: chunks counted as they arrive.
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 20; i++) c.enqueue(new TextEncoder().encode("x".repeat(8 * 1024)));
        c.close();
      },
    });
    const res = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: chunked, duplex: "half" } as RequestInit);
    await expectError(res, 413, { code: "request_too_large" });
  });
});

/** Sends an HTTP request over a raw socket, its body one byte every `delayMs`; resolves with the raw response. */
function slowClient(body: string, delayMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, "127.0.0.1");
    let response = "";
    socket.on("data", (d) => (response += d.toString()));
    socket.on("end", () => resolve(response));
    socket.on("close", () => resolve(response));
    socket.on("error", reject);
    socket.write(`POST /v1/completions HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer ${KEY}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n`);
    let i = 0;
    const timer = setInterval(() => {
      if (i >= body.length || socket.destroyed) return clearInterval(timer);
      socket.write(body[i++]!);
    }, delayMs);
  });
}

describe("clients that misbehave", () => {
  it("a slow client sending its body byte by byte is served, and others are served meanwhile", async () => {
    const body = JSON.stringify({ model: "tiny", prompt: "Now is", max_tokens: 3, temperature: 0 });
    const slow = slowClient(body, 15); // ~60 bytes: about 0.9 s
    const started = Date.now();
    for (let i = 0; i < 3; i++) await client.completions.create({ model: "tiny", prompt: "All the world", max_tokens: 3, temperature: 0 });
    expect(Date.now() - started).toBeLessThan(800); // not stuck behind the slow body
    const raw = await slow;
    expect(raw).toMatch(/^HTTP\/1\.1 200 /);
    expect(raw).toMatch(/"object":"text_completion"/);
  });

  it("a client too slow for the body timeout gets 408", async () => {
    const raw = await slowClient(JSON.stringify({ model: "tiny", prompt: "Now is the winter of our discontent" }), 100);
    expect(raw).toMatch(/^HTTP\/1\.1 408 /);
    expect(raw).toMatch(/"code":"body_timeout"/);
  });

  it("a client that disconnects mid-stream is cancelled at once and its sequence freed", async () => {
    const before = await metric("dusk_generated_tokens_total");
    const res = await post("/v1/completions", JSON.stringify({ model: "tiny", prompt: "To be", max_tokens: 2000, ignore_eos: true, temperature: 0.8, seed: 1, stream: true }), {});
    const reader = res.body!.getReader();
    await reader.read(); // the first chunk: generation is under way
    await reader.cancel();
    // The one sequence is free again: a new request (with a queue of one) is served at once.
    const t = Date.now();
    await client.completions.create({ model: "tiny", prompt: "Friends", max_tokens: 2, temperature: 0 });
    expect(Date.now() - t).toBeLessThan(1500);
    expect(await metric("dusk_requests_running")).toBe(0);
    const generated = (await metric("dusk_generated_tokens_total")) - before;
    expect(generated).toBeLessThan(500); // of the 2000 asked for
    expect(await metric('dusk_errors_total\\{type="client_closed"\\}')).toBeGreaterThanOrEqual(1);
  });

  it("a waiting request whose client leaves is taken out of the queue", async () => {
    const running = await post("/v1/completions", JSON.stringify({ model: "tiny", prompt: "To be", max_tokens: 2000, ignore_eos: true, stream: true }));
    const reader = running.body!.getReader();
    await reader.read(); // the one sequence is busy
    const leaving = new AbortController();
    const queued = fetch(`${server.url}/v1/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify({ prompt: "Friends", max_tokens: 2 }), signal: leaving.signal }).catch((e: unknown) => e);
    const depth = async (want: number) => {
      for (let i = 0; i < 200 && (await metric("dusk_queue_depth")) !== want; i++) await new Promise((r) => setTimeout(r, 10));
      return metric("dusk_queue_depth");
    };
    expect(await depth(1)).toBe(1);
    leaving.abort();
    expect(((await queued) as Error).name).toBe("AbortError");
    expect(await depth(0)).toBe(0); // left the line while the first still runs
    expect(await metric("dusk_requests_running")).toBe(1);
    await reader.cancel();
  });

  it("a flood past the queue limit gets 429 with Retry-After; the others complete", async () => {
    const body = JSON.stringify({ model: "tiny", prompt: "To be", max_tokens: 300, ignore_eos: true, temperature: 0 });
    const answers = await Promise.all(Array.from({ length: 6 }, () => post("/v1/completions", body)));
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429, 429, 429]); // one running, one waiting
    for (const r of answers.filter((a) => a.status === 429)) {
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      await expectError(r, 429, { code: "rate_limit_exceeded" });
    }
    for (const r of answers.filter((a) => a.status === 200)) expect(((await r.json()) as { choices: unknown[] }).choices).toHaveLength(1);
  });
});

describe("timeouts", () => {
  it("a request past the request timeout is cancelled: 408 as JSON, or an error event once streaming", async () => {
    // A second server on the same model, used only while the first is idle.
    const quick = await startServer(model, { modelName: "tiny", port: 0, requestTimeoutMs: 150 });
    try {
      const ask = (stream: boolean) => fetch(`${quick.url}/v1/completions`, { method: "POST", body: JSON.stringify({ prompt: "To be", max_tokens: 2000, ignore_eos: true, temperature: 0.8, seed: 2, stream }) });
      const t = Date.now();
      await expectError(await ask(false), 408, { code: "request_timeout" });
      expect(Date.now() - t).toBeLessThan(2000);
      const events = (await (await ask(true)).text()).split("\n\n").filter(Boolean);
      expect(events.at(-1)).toBe("data: [DONE]");
      expect(JSON.parse(events.at(-2)!.slice(6))).toMatchObject({ error: { code: "request_timeout" } });
    } finally {
      await quick.close(0);
    }
  });
});
