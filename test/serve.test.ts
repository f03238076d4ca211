// `dusk serve` through the official `openai` npm client over loopback, on real llama.cpp with a
// generated tiny model: models, completions (prompt arrays, n, seeds, stop, echo, logprobs of
// prompt and generated tokens), chat (template, stream ending in [DONE], logprobs, usage in the
// last chunk), presets with request overrides, /health, /metrics, API keys, and the bind rule.

import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeError } from "../src/errors.js";
import { BUILTIN_PRESETS, ChatSession, generate, openModel, type LoadedModel } from "../src/runtime/index.js";
import { startServer, type RunningServer } from "../src/server/index.js";
import { makeTinyGguf } from "./helpers/models.js";

const KEY = "sk-test-0123456789";
const greedy = BUILTIN_PRESETS.find((p) => p.name === "greedy")!.sampling;
let served: LoadedModel;
let direct: LoadedModel;
let server: RunningServer;
let client: OpenAI;

beforeAll(async () => {
  const { gguf } = await makeTinyGguf({ layers: 2, hidden: 64, seed: 11, std: 0.08, maxPositions: 512 }, "f32");
  // One thread each: on a shared 2-core machine, two llama.cpp threads spin-wait on each other.
  served = await openModel(gguf, { contextSize: 256, sequences: 4, threads: 1, flashAttention: false });
  direct = await openModel(gguf, { contextSize: 256, threads: 1, flashAttention: false });
  server = await startServer(served, { modelName: "tiny", port: 0, apiKey: KEY, presets: BUILTIN_PRESETS, defaultPreset: "greedy" });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
}, 60_000);
afterAll(async () => {
  await server?.close(0);
  await served?.dispose();
  await direct?.dispose();
});

describe("completions", () => {
  it("lists the model, and a greedy completion equals the library's generation", async () => {
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(["tiny"]);
    const r = await client.completions.create({ model: "tiny", prompt: "To be, or not to be", max_tokens: 12 });
    const lib = await generate(direct, "To be, or not to be", greedy, { maxTokens: 12 });
    expect(r.choices[0]!.text).toBe(lib.text);
    expect(r.choices[0]!.finish_reason).toBe(lib.stopReason === "max-tokens" ? "length" : "stop");
    expect(r.usage).toEqual({ prompt_tokens: lib.promptTokens, completion_tokens: lib.tokens, total_tokens: lib.promptTokens + lib.tokens });
  });

  it("a prompt array × n: choices in order, each equal to its single request with seed + i", async () => {
    const prompts = ["Now is the winter", "Friends, Romans"];
    const r = await client.completions.create({ model: "tiny", prompt: prompts, n: 2, max_tokens: 10, temperature: 1.3, seed: 40 });
    expect(r.choices.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    for (const [p, prompt] of prompts.entries()) {
      for (let i = 0; i < 2; i++) {
        const one = await client.completions.create({ model: "tiny", prompt, max_tokens: 10, temperature: 1.3, seed: 40 + i });
        expect(r.choices[p * 2 + i]!.text).toBe(one.choices[0]!.text);
      }
    }
    expect(r.choices[0]!.text).not.toBe(r.choices[1]!.text); // different seeds, different samples
  });

  it("a seed repeats a sampled completion, and stop cuts before the stop text", async () => {
    // top_k is llama.cpp's extension of the API: the client's types do not name it
    const body = (seed: number): OpenAI.CompletionCreateParamsNonStreaming & { top_k: number } => ({ model: "tiny", prompt: "All the world", max_tokens: 16, temperature: 1.5, top_k: 0, seed });
    const ask = (seed: number) => client.completions.create(body(seed));
    const a = (await ask(3)).choices[0]!.text;
    expect((await ask(3)).choices[0]!.text).toBe(a);
    expect((await ask(4)).choices[0]!.text).not.toBe(a);
    const full = (await client.completions.create({ model: "tiny", prompt: "All the world", max_tokens: 24 })).choices[0]!.text;
    const stop = full.slice(6, 8);
    const cut = await client.completions.create({ model: "tiny", prompt: "All the world", max_tokens: 24, stop: [stop] });
    expect(cut.choices[0]!.text).toBe(full.slice(0, full.indexOf(stop)));
    expect(cut.choices[0]!.finish_reason).toBe("stop");
  });

  it("ignore_eos generates exactly max_tokens", async () => {
    const r = await client.completions.create({ model: "tiny", prompt: "To be", max_tokens: 40, ignore_eos: true } as never);
    expect((r as OpenAI.Completion).usage!.completion_tokens).toBe(40);
    expect((r as OpenAI.Completion).choices[0]!.finish_reason).toBe("length");
  });

  it("echo + logprobs: prompt tokens then generated ones, and greedy logprobs agree with scoring the whole text", async () => {
    const prompt = "Question: who is the king?\nAnswer:";
    const r = await client.completions.create({ model: "tiny", prompt, max_tokens: 6, echo: true, logprobs: 2 });
    const c = r.choices[0]!;
    const lp = c.logprobs!;
    expect(c.text.startsWith(prompt)).toBe(true);
    expect(lp.tokens![0]).toBe("<s>"); // BOS: no text in the prompt, offset 0
    expect(lp.tokens!.slice(1).join("")).toBe(c.text);
    expect(lp.token_logprobs![0]).toBeNull();
    for (let i = 1; i < lp.tokens!.length; i++) {
      expect(c.text.slice(lp.text_offset![i], lp.text_offset![i]! + lp.tokens![i]!.length)).toBe(lp.tokens![i]);
      const top = lp.top_logprobs![i]!;
      expect(Object.keys(top).length).toBeLessThanOrEqual(3); // 2 alternatives + the chosen token
      expect(top[lp.tokens![i]!]).toBeCloseTo(lp.token_logprobs![i]!, 6);
    }
    // Greedy generated tokens are argmax: their logprob is the top one.
    const generated = lp.tokens!.length - lp.tokens!.findIndex((_, i) => lp.text_offset![i]! >= prompt.length);
    expect(generated).toBe(r.usage!.completion_tokens);
    for (let i = lp.tokens!.length - generated; i < lp.tokens!.length; i++) expect(Math.max(...Object.values(lp.top_logprobs![i]!))).toBeCloseTo(lp.token_logprobs![i]!, 6);
    // The library generates the same tokens with the same logprobs; scored as a prompt of token ids
    // (echo, max_tokens 0) they get the same log-probabilities again.
    const ids: number[] = [];
    const libLogprobs: number[] = [];
    await generate(direct, prompt, greedy, { maxTokens: 6, logprobs: 0, onGenerated: (t) => void (ids.push(t.token), libLogprobs.push(t.logprob!)) });
    const tail = lp.token_logprobs!.slice(-generated) as number[];
    tail.forEach((v, i) => expect(v).toBeCloseTo(libLogprobs[i]!, 6));
    const scored = await client.completions.create({ model: "tiny", prompt: [...direct.tokenize(prompt), ...ids], max_tokens: 0, echo: true, logprobs: 0 });
    const s = scored.choices[0]!.logprobs!;
    expect(s.tokens!.slice(-generated)).toEqual(lp.tokens!.slice(-generated));
    (s.token_logprobs!.slice(-generated) as number[]).forEach((v, i) => expect(Math.abs(v - tail[i]!)).toBeLessThan(1e-4));
  });

  it("streams completions as text_completion chunks, the same text as JSON", async () => {
    const body = { model: "tiny", prompt: "Friends, Romans", max_tokens: 12 };
    const json = (await client.completions.create(body)).choices[0]!.text;
    let streamed = "";
    let finish: string | null = null;
    for await (const chunk of await client.completions.create({ ...body, stream: true })) {
      streamed += chunk.choices[0]?.text ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(streamed).toBe(json);
    expect(finish).toBe("length");
  });
});

describe("chat completions", () => {
  const messages = [{ role: "user" as const, content: "Who is the king?" }];

  it("uses the model's chat template: the reply equals a ChatSession's", async () => {
    const r = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 10 });
    const session = new ChatSession(direct, greedy);
    const lib = await session.send("Who is the king?", { maxTokens: 10 });
    expect(r.choices[0]!.message.content).toBe(lib.text);
    expect(r.choices[0]!.message.role).toBe("assistant");
    expect(r.usage!.prompt_tokens).toBe(lib.promptTokens);
  });

  it("streams chunks ending in [DONE], with usage in the last chunk when asked", async () => {
    const json = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 10 });
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    for await (const c of await client.chat.completions.create({ model: "tiny", messages, max_tokens: 10, stream: true, stream_options: { include_usage: true } })) chunks.push(c);
    expect(chunks[0]!.choices[0]!.delta.role).toBe("assistant");
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? "").join("")).toBe(json.choices[0]!.message.content);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe(json.choices[0]!.finish_reason);
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.at(-1)!.usage).toEqual(json.usage);
    expect(chunks.every((c) => c.object === "chat.completion.chunk" && c.id === chunks[0]!.id)).toBe(true);
    // The raw stream ends with the [DONE] sentinel.
    const raw = await (await fetch(`${server.url}/v1/chat/completions`, { method: "POST", headers: { authorization: `Bearer ${KEY}` }, body: JSON.stringify({ model: "tiny", messages, max_tokens: 3, stream: true }) })).text();
    expect(raw.trimEnd().endsWith("data: [DONE]")).toBe(true);
  });

  it("logprobs and top_logprobs, in JSON and in the stream", async () => {
    const r = await client.chat.completions.create({ model: "tiny", messages, max_tokens: 8, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0]!.logprobs!.content!;
    expect(content.map((t) => t.token).join("")).toBe(r.choices[0]!.message.content);
    expect(content).toHaveLength(r.usage!.completion_tokens);
    for (const t of content) {
      expect(t.top_logprobs).toHaveLength(3);
      expect(t.top_logprobs[0]!.logprob).toBeCloseTo(t.logprob, 6); // greedy: the chosen token is the top one
      expect(Buffer.from(t.bytes!).toString("utf8")).toBe(t.token);
    }
    const streamed = [];
    for await (const c of await client.chat.completions.create({ model: "tiny", messages, max_tokens: 8, logprobs: true, top_logprobs: 3, stream: true })) streamed.push(...(c.choices[0]?.logprobs?.content ?? []));
    expect(streamed.map((t) => [t.token, t.logprob])).toEqual(content.map((t) => [t.token, t.logprob]));
  });

  it("a template that refuses the conversation is a 400 naming messages", async () => {
    const err = await client.chat.completions.create({ model: "tiny", messages: [{ role: "system", content: "Be brief." }, ...messages] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("messages");
  });
});

describe("presets", () => {
  const ask = (extra: Record<string, unknown>) => client.completions.create({ model: "tiny", prompt: "Now is the winter", max_tokens: 12, seed: 9, ...extra } as never) as Promise<OpenAI.Completion>;

  it("the server's default preset (greedy here) applies when the request names none", async () => {
    expect((await ask({})).choices[0]!.text).toBe((await ask({ temperature: 0 })).choices[0]!.text);
  });

  it("a request's preset is used, and its own values override the preset's", async () => {
    const creative = (await ask({ preset: "creative", temperature: 1.5 })).choices[0]!.text;
    expect((await ask({ preset: "creative", temperature: 1.5 })).choices[0]!.text).toBe(creative); // seeded
    expect(creative).not.toBe((await ask({})).choices[0]!.text);
    // creative with temperature 0 is greedy apart from its penalties; with them off too, exactly greedy.
    const overridden = await ask({ preset: "creative", temperature: 0, repetition_penalty: 1, presence_penalty: 0 });
    expect(overridden.choices[0]!.text).toBe((await ask({})).choices[0]!.text);
  });
});

describe("health, metrics, keys", () => {
  it("/health is ready without a key; /metrics is Prometheus text", async () => {
    const health = await fetch(`${server.url}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: "ready" });
    const text = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
    expect(text).toMatch(/^# HELP dusk_requests_total /m);
    expect(text).toMatch(/^dusk_requests_total\{endpoint="\/v1\/completions",status="200"\} [1-9]\d*$/m);
    expect(text).toMatch(/^dusk_generated_tokens_total [1-9]\d*$/m);
    expect(text).toMatch(/^dusk_prompt_tokens_total [1-9]\d*$/m);
    expect(text).toMatch(/^dusk_time_to_first_token_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^dusk_generated_tokens_per_second [\d.e+-]+$/m);
    expect(text).toMatch(/^dusk_queue_depth 0$/m);
    expect(text).toMatch(/^dusk_errors_total\{type="invalid_request"\} [1-9]\d*$/m); // the refused template above
    for (const line of text.trim().split("\n")) expect(line).toMatch(/^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [\d.e+-]+)$/);
  });

  it("a missing or wrong key is 401 with an OpenAI-style error", async () => {
    for (const apiKey of ["wrong", KEY.slice(0, -1)]) {
      const err = await new OpenAI({ baseURL: `${server.url}/v1`, apiKey, maxRetries: 0 }).models.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(OpenAI.AuthenticationError);
      expect((err as InstanceType<typeof OpenAI.AuthenticationError>).code).toBe("invalid_api_key");
    }
    const none = await fetch(`${server.url}/v1/models`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { type: string; message: string } }).error.message).toMatch(/Bearer/);
  });

  it("refuses a non-loopback bind without a key unless insecure; /health says loading until the model is in", async () => {
    const never = new Promise<LoadedModel>(() => undefined);
    const refused = await startServer(never, { modelName: "x", host: "0.0.0.0", port: 0 }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(RuntimeError);
    expect((refused as RuntimeError).hint).toMatch(/--api-key.*--insecure/);
    for (const o of [{ insecure: true }, { apiKey: "k" }]) {
      const s = await startServer(never, { modelName: "x", host: "0.0.0.0", port: 0, ...o });
      const health = await fetch(`http://127.0.0.1:${s.port}/health`);
      expect([health.status, await health.json()]).toEqual([503, { status: "loading" }]);
      const early = await fetch(`http://127.0.0.1:${s.port}/v1/completions`, { method: "POST", headers: { authorization: "Bearer k" }, body: "{}" });
      expect([early.status, ((await early.json()) as { error: { code: string } }).error.code]).toEqual([503, "model_loading"]);
      await s.close(0);
    }
  });
});
