// The runtime on real llama.cpp (CPU) with a generated tiny Llama model: deterministic greedy
// output, seeded sampling, stop strings, max tokens, context limits, missing files, the HF → GGUF
// conversion cache, the model's chat template, and `dusk run` / `dusk chat` in-process.

import { readFile, stat, utimes, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { FormatError, RuntimeError } from "../src/errors.js";
import { BUILTIN_PRESETS, cachedGguf, ChatSession, generate, openModel, type LoadedModel, type Sampling } from "../src/runtime/index.js";
import { runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyGguf } from "./helpers/models.js";

const preset = (name: string): Sampling => BUILTIN_PRESETS.find((p) => p.name === name)!.sampling;
const greedy = preset("greedy");
const temps = tempDirs("dusk-runtime-");
let hf: string;
let gguf: string;
let model: LoadedModel;

beforeAll(async () => {
  ({ hf, gguf } = await makeTinyGguf({ layers: 4, hidden: 64, seed: 11, std: 0.08 }, "f32"));
  // One thread: on a shared 2-core machine, two llama.cpp threads spin-wait on each other.
  model = await openModel(gguf, { contextSize: 512, threads: 1 });
}, 60_000);
afterAll(async () => {
  await model?.dispose();
  await temps.cleanup();
});

describe("generation", () => {
  it("greedy is deterministic: a second run gives the same text", async () => {
    const a = await generate(model, "To be, or not to be", greedy, { maxTokens: 24 });
    const b = await generate(model, "To be, or not to be", greedy, { maxTokens: 24, seed: 99 });
    expect(a.tokens).toBeGreaterThan(0);
    expect(a.text.length).toBeGreaterThan(0);
    expect(b.text).toBe(a.text);
    expect(b.tokens).toBe(a.tokens);
    expect(a.promptTokens).toBe(model.tokenize("To be, or not to be").length);
    expect(model.tokenize("To be")[0]).toBe(model.model.tokens.bos); // the GGUF asks for BOS
  });

  it("a sampled preset repeats with the same seed and differs with another", async () => {
    const sampling = { ...preset("creative"), temperature: 1.5 };
    const a = await generate(model, "Now is the winter", sampling, { maxTokens: 32, seed: 7 });
    const b = await generate(model, "Now is the winter", sampling, { maxTokens: 32, seed: 7 });
    const c = await generate(model, "Now is the winter", sampling, { maxTokens: 32, seed: 8 });
    expect(a.seed).toBe(7);
    expect(b.text).toBe(a.text);
    expect(c.text).not.toBe(a.text);
  });

  it("max tokens is respected, and pieces stream in order", async () => {
    const pieces: string[] = [];
    const r = await generate(model, "Friends, Romans", greedy, { maxTokens: 5, onToken: (t) => pieces.push(t) });
    expect(r.tokens).toBe(5);
    expect(r.stopReason).toBe("max-tokens");
    expect(pieces.join("")).toBe(r.text);
  });

  it("a stop string cuts the output before its first occurrence", async () => {
    const full = await generate(model, "All the world", greedy, { maxTokens: 48 });
    const at = full.text.slice(4).search(/[A-Za-z]{2}/) + 4;
    expect(at).toBeGreaterThanOrEqual(4);
    const stop = full.text.slice(at, at + 2);
    const cut = await generate(model, "All the world", greedy, { maxTokens: 48, stop: [stop] });
    expect(cut.stopReason).toBe("stop");
    expect(cut.text).toBe(full.text.slice(0, full.text.indexOf(stop)));
    expect(cut.tokens).toBeLessThan(full.tokens);
  });

  it.each([
    [{ temperature: -1 }, /temperature.*-1/],
    [{ topP: 0 }, /topP.*0.*\(0, 1\]/],
    [{ topK: -2 }, /topK.*-2/],
    [{ minP: 2 }, /minP.*2/],
    [{ repeatPenalty: -1 }, /repeatPenalty/],
  ] as [Partial<Sampling>, RegExp][])("invalid sampling %o is refused before generating", async (bad, message) => {
    await expect(generate(model, "x", { ...greedy, ...bad }, { maxTokens: 4 })).rejects.toThrow(message);
  });

  it("generation stops when the context is full", async () => {
    const prompt = "to be or not to be ".repeat(200);
    const promptTokens = model.tokenize(prompt).slice(0, model.contextSize - 3);
    const r = await generate(model, promptTokens, greedy, { maxTokens: 50 });
    expect(r).toMatchObject({ stopReason: "context", tokens: 3, promptTokens: model.contextSize - 3 });
  });

  it("invalid max tokens / seed are refused", async () => {
    await expect(generate(model, "x", greedy, { maxTokens: 0 })).rejects.toThrow(/maxTokens.*0/);
    await expect(generate(model, "x", greedy, { seed: 1.5 })).rejects.toThrow(/seed.*1\.5/);
  });

  it("a prompt longer than the context is an error with both numbers and a --ctx hint", async () => {
    const long = "to be or not to be, that is the question. ".repeat(200);
    const n = model.tokenize(long).length;
    expect(n).toBeGreaterThan(model.contextSize);
    const err = (await generate(model, long, greedy, { maxTokens: 4 }).catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toContain(`${n} tokens`);
    expect(err.message).toContain(`holds ${model.contextSize}`);
    expect(err.hint).toMatch(/--ctx \d+/);
  });
});

describe("loading", () => {
  it("a missing model file is an error naming the path", async () => {
    const missing = join(await temps.make(), "nope.gguf");
    await expect(openModel(missing)).rejects.toThrow(new RegExp(`model not found: ${missing}`));
    // A bare or org/name-looking .gguf name is a file, not a Hub id.
    await expect(openModel("some-org/missing.gguf")).rejects.toThrow(/model not found: \/.*some-org\/missing\.gguf/);
  });

  it("a truncated GGUF fails in dusk's own parser, naming the file, field and offset", async () => {
    const bad = join(await temps.make(), "truncated.gguf");
    await writeFile(bad, (await readFile(gguf)).subarray(0, 4096));
    const err = (await openModel(bad).catch((e: unknown) => e)) as FormatError;
    expect(err).toBeInstanceOf(FormatError);
    expect(err.file).toBe(bad);
    expect(err.message).toMatch(/offset \d+/);
  });

  it("a GGUF llama.cpp refuses reports llama.cpp's own complaint", async () => {
    const bytes = Buffer.from(await readFile(gguf));
    const key = Buffer.from("general.architecture");
    // key, u32 value type (string), u64 length, then the value "llama": make it "llamb"
    const at = bytes.indexOf(key) + key.length + 4 + 8;
    expect(bytes.subarray(at, at + 5).toString()).toBe("llama");
    bytes.write("llamb", at);
    const bad = join(await temps.make(), "unknown-arch.gguf");
    await writeFile(bad, bytes);
    const err = (await openModel(bad).catch((e: unknown) => e)) as RuntimeError;
    expect(err).toBeInstanceOf(RuntimeError);
    expect(err.message).toContain(`${bad}: llama.cpp could not load the model`);
    expect(err.message).toContain("unknown model architecture: 'llamb'");
  });

  it("an HF directory is converted once into the cache, reused, and re-converted when it changes", async () => {
    const cacheDir = await temps.make();
    const first = await cachedGguf(hf, { cacheDir });
    expect(first.converted).toBe(true);
    const mtime = (await stat(first.path)).mtimeMs;
    const again = await cachedGguf(hf, { cacheDir });
    expect(again).toEqual({ path: first.path, converted: false });
    expect((await stat(again.path)).mtimeMs).toBe(mtime);

    // openModel on the directory loads the cached f16 file and generates like the f32 one starts.
    const fromDir = await openModel(hf, { cacheDir, contextSize: 256, threads: 1 });
    try {
      expect(fromDir.path).toBe(first.path);
      const r = await generate(fromDir, "To be", greedy, { maxTokens: 4 });
      expect(r.tokens).toBe(4);
    } finally {
      await fromDir.dispose();
    }

    const config = join(hf, "config.json");
    const later = new Date(Date.now() + 5000);
    await utimes(config, later, later);
    const changed = await cachedGguf(hf, { cacheDir });
    expect(changed.converted).toBe(true);
    expect(changed.path).not.toBe(first.path);
  }, 30_000);
});

describe("chat", () => {
  it("renders a two-turn conversation with the GGUF's chat template as HF would", () => {
    const session = new ChatSession(model, greedy);
    const text = session.render([
      { role: "user", content: "Hi there" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "Who are you?" },
    ]);
    // The tiny model carries a Llama-2/Mistral-style template: bos, [INST] turns, eos after replies.
    expect(text).toBe("<s>[INST] Hi there [/INST]Hello</s>[INST] Who are you? [/INST]");
  });

  it("a session keeps the turns and reuses the prompt's special tokens", async () => {
    const session = new ChatSession(model, greedy);
    const r1 = await session.send("Hi", { maxTokens: 6 });
    const r2 = await session.send("Again", { maxTokens: 6 });
    expect(session.messages.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"]);
    expect(r2.promptTokens).toBeGreaterThan(r1.promptTokens + r1.tokens - 2);
    // <s> in the rendered text is parsed as the BOS token, not spelled out.
    expect(model.tokenize(session.render(), { addBos: false, special: true })[0]).toBe(model.model.tokens.bos);
  });
});

describe("CLI", () => {
  it("dusk run streams text and prints stats; --json gives text, token count and tokens/s", async () => {
    const r = await runCli(["run", gguf, "To be, or not", "--preset", "greedy", "--max-tokens", "12", "--ctx", "256", "--threads", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().length).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/12 tokens .*tokens\/s.*stop: max-tokens.*preset greedy/);
    const j = await runCli(["run", gguf, "To be, or not", "--preset", "greedy", "--max-tokens", "12", "--ctx", "256", "--threads", "1", "--json"]);
    expect(j.code).toBe(0);
    const out = JSON.parse(j.stdout) as { text: string; tokens: number; tokensPerSecond: number; preset: string };
    expect(out).toMatchObject({ tokens: 12, preset: "greedy" });
    expect(out.text).toBe(r.stdout.slice(0, -1));
    expect(out.tokensPerSecond).toBeGreaterThan(0);
  });

  it("dusk run reports bad flags and missing models as errors", async () => {
    const bad = await runCli(["run", gguf, "x", "--temperature", "-1"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/temperature \(--temperature\) is -1/);
    const nan = await runCli(["run", gguf, "x", "--top-k", "many"]);
    expect(nan.stderr).toMatch(/--top-k is "many", expected a number/);
    const missing = await runCli(["run", "/no/such/model.gguf", "x"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("/no/such/model.gguf");
  });

  it("dusk chat reads one user turn per piped stdin line and stops at /exit", async () => {
    const stdin = vi.spyOn(process, "stdin", "get").mockReturnValue(Readable.from(["Hello\nHow are", " you?\n/exit\nignored\n"]) as unknown as typeof process.stdin);
    try {
      const r = await runCli(["chat", gguf, "--preset", "greedy", "--max-tokens", "6", "--ctx", "256", "--threads", "1", "--json"]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const turns = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { user: string; reply: string; tokens: number });
      expect(turns.map((t) => t.user)).toEqual(["Hello", "How are you?"]);
      for (const t of turns) expect(t.tokens).toBeGreaterThan(0);
    } finally {
      stdin.mockRestore();
    }
  });
});

