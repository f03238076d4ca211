// Streaming never splits a character: on a byte-fallback tokenizer, CJK and emoji are written as
// several byte tokens, and /v1/completions and /v1/chat/completions hold an incomplete UTF-8
// sequence back until it completes (as llama.cpp's server does), in plain streams and with stop
// strings. The model is made to write an exact byte-token sequence (makeSuccessorGguf).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openModel, type LoadedModel } from "../src/runtime/index.js";
import { startServer, type RunningServer } from "../src/server/index.js";
import { textTokenizerFromFiles } from "../src/tokenizer/text-tokenizer.js";
import { makeSuccessorGguf, tinyTokenizer } from "./helpers/models.js";

/** every byte of it distinct, so each byte token has one successor */
const TEXT = "漢字🙂é語";
/** "の" (E3 81 AE) cut before its last byte, then TEXT from its second character */
const BROKEN = [0xe3, 0x81, ...new TextEncoder().encode(TEXT.slice(1))];
const EOS = 2;
let model: LoadedModel;
let server: RunningServer;
let start: number; // the prompt's last token
let startBroken: number; // the prompt's last token for BROKEN

function byteToken(b: number): number {
  const id = tinyTokenizer().pieces.findIndex((p) => p.piece === `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  if (id < 0) throw new Error(`no byte token for ${b}`);
  return id;
}

beforeAll(async () => {
  const bytes = [...new TextEncoder().encode(TEXT)].map(byteToken);
  expect(new Set(bytes).size).toBe(bytes.length);
  start = tinyTokenizer().pieces.findIndex((p) => p.piece === "\u2581the");
  // the chat template's prompt ends in " [/INST]": its last token continues the same way
  const t = tinyTokenizer();
  const chatEnd = textTokenizerFromFiles({ tokenizerJson: t.tokenizerJson, tokenizerConfig: t.tokenizerConfig }, { vocabSize: t.pieces.length, llamaVocab: true, where: "tiny" }).encode("hi [/INST]").at(-1)!;
  expect(start).toBeGreaterThan(0);
  startBroken = tinyTokenizer().pieces.findIndex((p) => p.piece === "\u2581and");
  expect(startBroken).toBeGreaterThan(0);
  const next = new Map<number, number>([[start, bytes[0]!], [chatEnd, bytes[0]!], [startBroken, byteToken(0xe3)], [byteToken(0xe3), byteToken(0x81)], [byteToken(0x81), bytes[3]!]]);
  bytes.forEach((b, i) => next.set(b, bytes[i + 1] ?? EOS));
  const { gguf } = await makeSuccessorGguf(next);
  model = await openModel(gguf, { contextSize: 128, sequences: 1, threads: 1, flashAttention: false });
  server = await startServer(model, { modelName: "bytes", port: 0 });
}, 120_000);
afterAll(async () => {
  await server?.close(0);
  await model?.dispose();
});

/** POSTs with stream: true; the content deltas of the SSE chunks, in order. */
async function stream(path: string, body: Record<string, unknown>, delta: (chunk: any) => string | undefined): Promise<string[]> {
  const res = await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  expect(res.status).toBe(200);
  const out: string[] = [];
  for (const line of (await res.text()).split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    const d = delta(JSON.parse(line.slice(6)));
    if (d) out.push(d);
  }
  return out;
}

const completion = (extra: Record<string, unknown> = {}) =>
  stream("/v1/completions", { prompt: [1, start], max_tokens: 32, temperature: 0, ...extra }, (c) => c.choices[0]?.text);
const chat = (extra: Record<string, unknown> = {}) =>
  stream("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 32, temperature: 0, ...extra }, (c) => c.choices[0]?.delta?.content);

describe("streaming text made of byte tokens", () => {
  it("the model writes the text (non-streaming), one byte token at a time", async () => {
    const res = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: [1, start], max_tokens: 32, temperature: 0 }) });
    const j = (await res.json()) as { choices: { text: string; finish_reason: string }[]; usage: { completion_tokens: number } };
    expect(j.choices[0]!.text).toBe(TEXT);
    expect(j.usage.completion_tokens).toBe(new TextEncoder().encode(TEXT).length);
  });

  it("/v1/completions: every chunk is whole characters, and the chunks make the text", async () => {
    const deltas = await completion();
    expect(deltas.join("")).toBe(TEXT);
    for (const d of deltas) expect(d).not.toContain("\uFFFD");
  });

  it("/v1/chat/completions: every delta is whole characters, and the deltas make the text", async () => {
    const deltas = await chat();
    expect(deltas.join("")).toBe(TEXT);
    for (const d of deltas) expect(d).not.toContain("\uFFFD");
  });

  it("bytes that break off a character: one U+FFFD for them, and the characters after them whole", async () => {
    const expected = new TextDecoder().decode(new Uint8Array(BROKEN)); // "\uFFFD字🙂é語"
    expect(expected.startsWith("\uFFFD字")).toBe(true);
    const res = await fetch(`${server.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: [1, startBroken], max_tokens: 32, temperature: 0 }) });
    expect(((await res.json()) as { choices: { text: string }[] }).choices[0]!.text).toBe(expected);
    const deltas = await completion({ prompt: [1, startBroken] });
    expect(deltas.join("")).toBe(expected);
    expect(deltas.filter((d) => d.includes("\uFFFD"))).toEqual(["\uFFFD"]);
    // and stop strings find the characters after the broken bytes
    expect((await completion({ prompt: [1, startBroken], stop: ["字"] })).join("")).toBe("\uFFFD");
    expect((await completion({ prompt: [1, startBroken], stop: ["🙂"] })).join("")).toBe("\uFFFD字");
  });

  it("logprobs: an entry per byte token, at the offset of its character; chat's bytes are the tokens' own", async () => {
    const post = async (path: string, body: Record<string, unknown>) =>
      (await (await fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ max_tokens: 32, temperature: 0, ...body }) })).json()) as any;
    const n = new TextEncoder().encode(TEXT).length;
    const c = await post("/v1/completions", { prompt: [1, start], logprobs: 0 });
    expect(c.choices[0].logprobs.tokens).toHaveLength(n);
    // code points: 漢 0, 字 1, 🙂 2, é 3, 語 4; one offset per byte of each
    expect(c.choices[0].logprobs.text_offset).toEqual([0, 0, 0, 1, 1, 1, 2, 2, 2, 2, 3, 3, 4, 4, 4]);
    const chat = await post("/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], logprobs: true });
    const content = chat.choices[0].logprobs.content as { bytes: number[] }[];
    expect(content).toHaveLength(n);
    expect(content.flatMap((e) => e.bytes)).toEqual([...new TextEncoder().encode(TEXT)]);
  });

  it("stop strings cut at whole characters, streamed and not", async () => {
    for (const [stop, cut] of [["é", "漢字🙂"], ["🙂é", "漢字"], ["語", "漢字🙂é"], ["字", "漢"]] as const) {
      const deltas = await completion({ stop: [stop] });
      expect(deltas.join(""), stop).toBe(cut);
      for (const d of deltas) expect(d).not.toContain("\uFFFD");
      const chatDeltas = await chat({ stop: [stop] });
      expect(chatDeltas.join(""), stop).toBe(cut);
      for (const d of chatDeltas) expect(d).not.toContain("\uFFFD");
    }
  });
});
