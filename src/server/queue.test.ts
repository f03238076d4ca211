// The serving pieces that need no model: the fair queue (FIFO grants, the limit's 429 with
// Retry-After, waiters leaving), the step barrier, request validation (presets under request
// values, OpenAI's defaults, seeds), the API-key check and the loopback rule, and /metrics' text.

import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { BUILTIN_PRESETS } from "../runtime/presets.js";
import { checkApiKey, checkBind, isLoopback } from "./auth.js";
import { HttpError } from "./http.js";
import { ServerMetrics } from "./metrics.js";
import { SlotQueue } from "./queue.js";
import { completionRequest, OPENAI_DEFAULTS } from "./validate.js";
import { StepBarrier } from "../runtime/step-barrier.js";

const tick = () => new Promise((r) => setImmediate(r));

describe("SlotQueue", () => {
  it("grants slots first come, first served, and refuses past the limit with Retry-After", async () => {
    const q = new SlotQueue(["a", "b"], 2);
    const never = new AbortController().signal;
    expect([await q.acquire(never), await q.acquire(never)].sort()).toEqual(["a", "b"]);
    const order: string[] = [];
    const w1 = q.acquire(never).then((s) => order.push(`1:${s}`));
    const w2 = q.acquire(never).then((s) => order.push(`2:${s}`));
    const refused = await q.acquire(never).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(HttpError);
    expect((refused as HttpError).status).toBe(429);
    expect(Number((refused as HttpError).o.headers?.["retry-after"])).toBeGreaterThanOrEqual(1);
    expect(q.waiting).toBe(2);
    q.release("b", 2);
    q.release("a", 2);
    await Promise.all([w1, w2]);
    expect(order).toEqual(["1:b", "2:a"]);
    expect([q.running, q.waiting]).toEqual([2, 0]);
  });

  it("a waiter whose request is cancelled leaves the line; rejectWaiting empties it", async () => {
    const q = new SlotQueue(["a"], 8);
    const never = new AbortController().signal;
    await q.acquire(never);
    const gone = new AbortController();
    const left = q.acquire(gone.signal).catch((e: unknown) => e);
    const stays = q.acquire(never).catch((e: unknown) => e);
    gone.abort(new Error("client closed"));
    expect(((await left) as Error).message).toBe("client closed");
    expect(q.waiting).toBe(1);
    q.rejectWaiting(new Error("shutting down"));
    expect(((await stays) as Error).message).toBe("shutting down");
    q.release("a");
    expect([q.running, q.waiting, q.slots]).toEqual([0, 0, 1]);
  });
});

describe("StepBarrier", () => {
  it("a member waits until every other member has its token, and not for one that left", async () => {
    const b = new StepBarrier();
    const [x, y] = [{}, {}];
    expect(b.arrive(x)).toBeUndefined(); // alone: no wait
    let yGo = false;
    void b.arrive(y)!.then(() => (yGo = true)); // y joins and waits for x's next token
    await tick();
    expect(yGo).toBe(false);
    expect(b.arrive(x)).toBeUndefined(); // the last to arrive releases everyone
    await tick();
    expect(yGo).toBe(true);
    let xGo = false;
    void b.arrive(x)!.then(() => (xGo = true));
    await tick();
    expect(xGo).toBe(false);
    b.leave(y); // y's generation ended: x no longer waits for it
    await tick();
    expect(xGo).toBe(true);
  });
});

describe("request validation", () => {
  const presets = new Map(BUILTIN_PRESETS.map((p) => [p.name, p]));
  it("OpenAI's defaults without a preset; a preset under the request's own values", () => {
    expect(completionRequest({ prompt: "x" }, presets, undefined, 512).sampling).toEqual(OPENAI_DEFAULTS);
    const r = completionRequest({ prompt: "x", preset: "precise", temperature: 0.7, top_k: -1 }, presets, undefined, 512);
    expect(r.sampling).toEqual({ ...presets.get("precise")!.sampling, temperature: 0.7, topK: 0 });
    expect(completionRequest({ prompt: "x" }, presets, "greedy", 512).sampling.temperature).toBe(0);
  });

  it("a penalty without a window gets llama.cpp's 64; seeds keep their low 32 bits", () => {
    const r = completionRequest({ prompt: "x", preset: "greedy", presence_penalty: 0.5, seed: -1 }, presets, undefined, 512);
    expect(r.sampling.repeatLastN).toBe(64);
    expect(r.seed).toBe(2 ** 32 - 1);
    expect(completionRequest({ prompt: ["a", [1, 2]], n: 3 }, presets, undefined, 512)).toMatchObject({ prompts: ["a", [1, 2]], n: 3 });
  });
});

describe("API key and bind", () => {
  const req = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  it("accepts the key as a bearer token or x-api-key, refuses others", () => {
    expect(() => checkApiKey(req({ authorization: "Bearer s3cret" }), "s3cret")).not.toThrow();
    expect(() => checkApiKey(req({ "x-api-key": "s3cret" }), "s3cret")).not.toThrow();
    expect(() => checkApiKey(req({}), undefined)).not.toThrow();
    for (const h of [{}, { authorization: "Bearer s3cre" }, { authorization: "Basic s3cret" }] as Record<string, string>[]) {
      expect(() => checkApiKey(req(h), "s3cret")).toThrow(HttpError);
    }
  });

  it("loopback is 127/8, ::1 and localhost; anything else needs a key or --insecure", () => {
    for (const h of ["127.0.0.1", "127.3.2.1", "::1", "[::1]", "localhost", "::ffff:127.0.0.1"]) expect(isLoopback(h), h).toBe(true);
    for (const h of ["0.0.0.0", "::", "10.0.0.1", "example.com"]) expect(isLoopback(h), h).toBe(false);
    expect(() => checkBind("0.0.0.0", undefined, false)).toThrow(/refusing/);
    expect(() => checkBind("0.0.0.0", "k", false)).not.toThrow();
    expect(() => checkBind("0.0.0.0", undefined, true)).not.toThrow();
    expect(() => checkBind("127.0.0.1", "", false)).toThrow(/empty/);
  });
});

describe("metrics", () => {
  it("renders counters, gauges and cumulative histogram buckets", () => {
    const m = new ServerMetrics(() => ({ waiting: 3, running: 2, slots: 4, ready: true }));
    m.request("/v1/completions", 200, 0.3);
    m.request("/v1/completions", 429, 0.001);
    m.firstToken(0.02);
    m.firstToken(2);
    m.tokens(10, 5);
    const text = m.render();
    expect(text).toContain('dusk_requests_total{endpoint="/v1/completions",status="429"} 1');
    expect(text).toContain('dusk_errors_total{type="rate_limited"} 1');
    expect(text).toContain('dusk_time_to_first_token_seconds_bucket{le="0.025"} 1');
    expect(text).toContain('dusk_time_to_first_token_seconds_bucket{le="+Inf"} 2');
    expect(text).toContain("dusk_queue_depth 3");
    expect(text).toContain("dusk_prompt_tokens_total 10");
  });
});
