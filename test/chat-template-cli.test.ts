// `--chat-template NAME|FILE` on run, chat and serve, on a base model whose GGUF has no chat
// template: the prompt is rendered through the built-in (or file) template, so the conversation is
// the same tokens as writing the rendered text by hand; unknown names and unreadable files are
// refused before anything loads.

import { execFile, spawn } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openModel, type LoadedModel } from "../src/runtime/index.js";
import { startServer, type RunningServer } from "../src/server/index.js";
import { exists, runCli, tempDirs } from "./helpers/cli.js";
import { makeTinyHf, tinyTokenizer, tinyTokenizerFiles, toGguf } from "./helpers/models.js";

const dirs = tempDirs("dusk-chat-template-");
let gguf: string;
let root: string;
/** chatml's rendering of one user turn "Hello", without the BOS the model adds */
const CHATML_HELLO = "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
const COMMON = ["--max-tokens", "6", "--temperature", "0", "--threads", "1"];

beforeAll(async () => {
  root = await dirs.make();
  // the tiny tokenizer without its chat template: a base model
  const config = JSON.parse(tinyTokenizer().tokenizerConfig) as Record<string, unknown>;
  delete config.chat_template;
  const hf = await makeTinyHf({ layers: 2, hidden: 32, seed: 9, std: 0.08 }, join(root, "base"));
  await writeFile(join(hf, "tokenizer_config.json"), JSON.stringify(config));
  expect(Object.keys(tinyTokenizerFiles())).toContain("tokenizer_config.json");
  gguf = await toGguf(hf, "f32", join(root, "base.gguf"));
}, 120_000);
afterAll(() => dirs.cleanup());

const json = async (argv: string[]) => {
  const r = await runCli(argv);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { text: string; promptTokens: number };
};

describe("dusk run --chat-template", () => {
  it("a built-in name: the same tokens and reply as the rendered text given as the prompt", async () => {
    const chat = await json(["run", gguf, "Hello", "--chat-template", "chatml", "--json", ...COMMON]);
    const plain = await json(["run", gguf, CHATML_HELLO, "--json", ...COMMON]);
    expect(chat.promptTokens).toBe(plain.promptTokens);
    expect(chat.text).toBe(plain.text);
  });

  it("a Jinja file works the same way", async () => {
    const file = join(root, "mine.jinja");
    await writeFile(file, "{{ bos_token }}Q: {{ messages[0]['content'] }}\nA:");
    const chat = await json(["run", gguf, "Hello", "--chat-template", file, "--json", ...COMMON]);
    const plain = await json(["run", gguf, "Q: Hello\nA:", "--json", ...COMMON]);
    expect(chat.promptTokens).toBe(plain.promptTokens);
    expect(chat.text).toBe(plain.text);
  });

  it("an unknown name or an unreadable file is an error with the names, before the model loads", async () => {
    const bad = await runCli(["run", join(root, "never.gguf"), "Hello", "--chat-template", "chatmI"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: --chat-template chatmI: no built-in chat template has that name/);
    expect(bad.stderr).toMatch(/\nhint: give one of the built-in names \(chatml, llama2, .*\) or a readable Jinja template file/);
    const missing = await runCli(["run", gguf, "Hello", "--chat-template", join(root, "none.jinja")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/cannot read the chat template file \(ENOENT\)/);
  });
});

describe("dusk serve --chat-template", () => {
  let model: LoadedModel;
  let plain: RunningServer;
  let chatml: RunningServer;
  beforeAll(async () => {
    model = await openModel(gguf, { contextSize: 128, threads: 1 });
    plain = await startServer(model, { modelName: "base", port: 0 });
    const { resolveChatTemplate } = await import("../src/runtime/index.js");
    const t = await resolveChatTemplate("chatml");
    chatml = await startServer(model, { modelName: "base", port: 0, chatTemplate: t.source, chatTemplateOrigin: t.origin });
  });
  afterAll(async () => {
    await plain?.close(0);
    await chatml?.close(0);
    await model?.dispose();
  });

  it("without one the base model's chat is a 400; with chatml it answers, from the rendered prompt", async () => {
    const ask = (s: RunningServer) => fetch(`${s.url}/v1/chat/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ messages: [{ role: "user", content: "Hello" }], max_tokens: 6, temperature: 0 }) });
    const no = await ask(plain);
    expect(no.status).toBe(400);
    expect(((await no.json()) as { error: { code: string } }).error.code).toBe("no_chat_template");
    const yes = await ask(chatml);
    expect(yes.status).toBe(200);
    const body = (await yes.json()) as { choices: { message: { content: string } }[]; usage: { prompt_tokens: number } };
    expect(body.usage.prompt_tokens).toBe(model.tokenize(CHATML_HELLO).length);
    const completion = (await (await fetch(`${plain.url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ prompt: CHATML_HELLO, max_tokens: 6, temperature: 0 }) })).json()) as { choices: { text: string }[] };
    expect(body.choices[0]!.message.content).toBe(completion.choices[0]!.text);
  });
});

describe("dusk chat --chat-template", () => {
  it("chats with the base model through the built-in template (a child process reading stdin)", async () => {
    if (!(await exists(resolve("dist/cli/main.js")))) await promisify(execFile)("npx", ["tsc", "-p", "."], { cwd: resolve(".") });
    const child = spawn(process.execPath, [resolve("bin/dusk.js"), "chat", gguf, "--chat-template", "chatml", "--json", ...COMMON], { stdio: ["pipe", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.stdin.end("Hello\n");
    const code = await new Promise<number | null>((done) => child.on("close", done));
    expect(code, err).toBe(0);
    const turn = JSON.parse(out.trim().split("\n")[0]!) as { user: string; reply: string; promptTokens: number };
    const plainRun = await json(["run", gguf, CHATML_HELLO, "--json", ...COMMON]);
    expect(turn.user).toBe("Hello");
    expect(turn.promptTokens).toBe(plainRun.promptTokens);
    expect(turn.reply).toBe(plainRun.text);
  }, 120_000);
});
