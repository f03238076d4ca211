// The OpenAI-compatible path: `dusk serve`'s server started in-process on an ephemeral port, the
// OpenAI scorer against it giving the llama.cpp scorer's log-likelihoods, chat (JSON and SSE), and
// the scorer's retries against a local faulty server (500 twice then OK, 429 + Retry-After, 500 forever).
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EvalError } from "../src/errors.js";
import { OpenAiScorer, retryAfterMs } from "../src/eval/backend-openai.js";
import type { LoglikelihoodRequest } from "../src/eval/scorer.js";
import { openModel, type LoadedModel } from "../src/runtime/index.js";
import { LlamaScorer } from "../src/runtime/score.js";
import { startServer, type RunningServer } from "../src/server/index.js";
import { makeTinyGguf } from "./helpers/models.js";

let direct: LlamaScorer;
let served: LoadedModel;
let server: RunningServer;
beforeAll(async () => {
  const { gguf } = await makeTinyGguf({ layers: 2, hidden: 64, seed: 11, std: 0.08, maxPositions: 256 }, "f32");
  direct = await LlamaScorer.open(gguf, { contextSize: 256, bos: true });
  served = await openModel(gguf, { contextSize: 256, sequences: 2, flashAttention: false });
  server = await startServer(served, { modelName: "tiny", port: 0 });
}, 60_000);
afterAll(async () => {
  await server?.close();
  await direct?.close();
  await served?.dispose();
});

const reqs: LoglikelihoodRequest[] = [
  { kind: "loglikelihood", context: "Question: who is the king?\nAnswer:", continuation: " the king" },
  { kind: "loglikelihood", context: "Question: who is the king?\nAnswer:", continuation: " my good lord" },
  { kind: "loglikelihood", context: "The following are questions.\n\nQ: where?\nA: ", continuation: "in the house" },
];

describe("dusk serve + OpenAI scorer", () => {
  it("binds loopback and lists the model", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const body = (await (await fetch(`${server.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(body.data.map((m) => m.id)).toEqual(["tiny"]);
  });

  it("gives the llama.cpp scorer's log-likelihoods through echo + logprobs (within 1e-4)", async () => {
    const openai = new OpenAiScorer({ baseUrl: `${server.url}/v1`, model: "tiny", concurrency: 2 });
    const a = await direct.loglikelihood(reqs);
    const b = await openai.loglikelihood(reqs);
    for (let i = 0; i < reqs.length; i++) {
      expect(Math.abs(a[i]!.logprob - b[i]!.logprob)).toBeLessThan(1e-4);
      expect(b[i]!.greedy).toBe(a[i]!.greedy);
    }
    expect(a[0]!.logprob).not.toBeCloseTo(a[1]!.logprob, 3);
  });

  it("bos: false asks for no BOS (add_special_tokens) and matches the scorer without BOS; token windows too", async () => {
    const noBos = await LlamaScorer.open(direct.describe().model, { contextSize: 256, bos: false });
    try {
      const openai = new OpenAiScorer({ baseUrl: `${server.url}/v1`, model: "tiny", bos: false });
      expect(openai.describe()).toMatchObject({ bos: false, bosDecidedByServer: false });
      const a = await noBos.loglikelihood(reqs);
      const b = await openai.loglikelihood(reqs);
      const withBos = await direct.loglikelihood(reqs);
      for (let i = 0; i < reqs.length; i++) {
        expect(Math.abs(a[i]!.logprob - b[i]!.logprob)).toBeLessThan(1e-4);
        expect(Math.abs(a[i]!.logprob - withBos[i]!.logprob)).toBeGreaterThan(1e-3);
      }
      const window = noBos.tokenize("To be, or not to be, that is the question");
      const x = await noBos.scoreWindow(window, 3);
      const y = await openai.scoreTokenWindow(window, 3);
      expect(y.length).toBe(window.length - 3);
      for (let i = 0; i < y.length; i++) expect(Math.abs(x[i]! - y[i]!)).toBeLessThan(1e-4);
    } finally {
      await noBos.close();
    }
  });

  it("echo returns per-token logprobs with offsets into the prompt", async () => {
    const prompt = "To be, or not to be";
    const res = await fetch(`${server.url}/v1/completions`, { method: "POST", body: JSON.stringify({ model: "tiny", prompt, echo: true, logprobs: 1, max_tokens: 0 }) });
    const body = (await res.json()) as { choices: { text: string; logprobs: { tokens: string[]; token_logprobs: (number | null)[]; text_offset: number[] } }[] };
    const lp = body.choices[0]!.logprobs;
    expect(body.choices[0]!.text).toBe(prompt);
    expect(lp.token_logprobs[0]).toBeNull();
    expect(lp.tokens.slice(1).join("")).toBe(prompt);
    for (let i = 1; i < lp.tokens.length; i++) expect(prompt.slice(lp.text_offset[i], lp.text_offset[i]! + lp.tokens[i]!.length)).toBe(lp.tokens[i]);
  });

  it("generation agrees with the direct scorer and honours stop", async () => {
    const openai = new OpenAiScorer({ baseUrl: `${server.url}/v1`, model: "tiny" });
    const req = { kind: "generate" as const, context: "Question: what?\nAnswer:", until: ["Question", ":"], maxTokens: 10 };
    // The server detokenises after the prompt, as vLLM does, so a leading space stays; the direct
    // scorer decodes the continuation alone (as HF's decode), which drops it.
    expect((await openai.generate([req]))[0]!.text.trimStart()).toBe((await direct.generate([req]))[0]!.text);
  });

  it("chat completions: JSON and an SSE stream with the same text", async () => {
    const payload = { model: "tiny", messages: [{ role: "user", content: "Who is the king?" }], max_tokens: 8, temperature: 0 };
    const json = (await (await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify(payload) })).json()) as { choices: { message: { content: string } }[] };
    const text = json.choices[0]!.message.content;
    const sse = await (await fetch(`${server.url}/v1/chat/completions`, { method: "POST", body: JSON.stringify({ ...payload, stream: true }) })).text();
    const events = sse.split("\n\n").filter((e) => e.startsWith("data: "));
    expect(events.at(-1)).toBe("data: [DONE]");
    const streamed = events.slice(0, -1).map((e) => (JSON.parse(e.slice(6)) as { choices: { delta: { content?: string } }[] }).choices[0]!.delta.content ?? "").join("");
    expect(streamed).toBe(text);
  });

  it("answers bad requests with 400 and a message", async () => {
    const res = await fetch(`${server.url}/v1/completions`, { method: "POST", body: JSON.stringify({ prompt: 3 }) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/prompt/);
  });
});

describe("OpenAI scorer retries", () => {
  let faulty: Server;
  let url = "";
  let script: { status: number; headers?: Record<string, string> }[] = [];
  let hits: number[] = [];
  beforeAll(async () => {
    faulty = createServer((req, res) => {
      req.resume();
      hits.push(Date.now());
      const step = script.shift() ?? { status: 200 };
      if (step.status !== 200) {
        res.writeHead(step.status, step.headers ?? {});
        res.end(JSON.stringify({ error: { message: "busy" } }));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ choices: [{ text: "ctx cont", logprobs: { tokens: ["ctx", " cont"], token_logprobs: [null, -1.5], text_offset: [0, 3], top_logprobs: [null, { " cont": -1.5 }] } }] }));
    });
    await new Promise<void>((r) => faulty.listen(0, "127.0.0.1", () => r()));
    url = `http://127.0.0.1:${(faulty.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((r) => faulty.close(() => r())));
  const req: LoglikelihoodRequest = { kind: "loglikelihood", context: "ctx", continuation: " cont" };

  it("retries 500 twice, then succeeds", async () => {
    script = [{ status: 500 }, { status: 503 }];
    hits = [];
    const notices: number[] = [];
    const s = new OpenAiScorer({ baseUrl: url, model: "m", backoffMs: 10, onRetry: (n) => notices.push(n.attempt) });
    expect(await s.loglikelihood([req])).toEqual([{ logprob: -1.5, greedy: true }]);
    expect(hits).toHaveLength(3);
    expect(notices).toEqual([1, 2]);
  });

  it("waits as long as Retry-After says on 429", async () => {
    script = [{ status: 429, headers: { "retry-after": "1" } }];
    hits = [];
    const s = new OpenAiScorer({ baseUrl: url, model: "m", backoffMs: 1 });
    await s.loglikelihood([req]);
    expect(hits).toHaveLength(2);
    expect(hits[1]! - hits[0]!).toBeGreaterThanOrEqual(950);
    expect(retryAfterMs("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("Wed, 21 Oct 2015 07:27:58 GMT"))).toBe(2000);
  });

  it("a permanent 500 ends in a clear EvalError naming the URL and status", async () => {
    script = Array.from({ length: 10 }, () => ({ status: 500 }));
    const s = new OpenAiScorer({ baseUrl: url, model: "m", backoffMs: 1, retries: 3 });
    const err = await s.loglikelihood([req]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EvalError);
    expect((err as EvalError).message).toMatch(/failed 4 times; last: HTTP 500/);
    expect((err as EvalError).hint).toBeTruthy();
    script = [];
  });

  it("a 401 fails at once with a hint about the API key", async () => {
    script = [{ status: 401 }];
    hits = [];
    const err = await new OpenAiScorer({ baseUrl: url, model: "m", backoffMs: 1 }).loglikelihood([req]).catch((e: unknown) => e);
    expect(hits).toHaveLength(1);
    expect((err as EvalError).hint).toMatch(/api-key/);
  });
});
