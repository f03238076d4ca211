// The built-in chat templates render exactly what llama.cpp's built-ins of the same names render
// (test/fixtures/chat-template-golden.json, made by llama.cpp's own code), BOS first when the model
// adds one; and --chat-template's errors for a name that is not built in or a file it cannot read.

import { mkdtemp, writeFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { BUILTIN_CHAT_TEMPLATES, resolveChatTemplate } from "./builtin-chat-templates.js";
import { compileChatTemplate, renderChat, type ChatMessage } from "./chat-template.js";

const golden = JSON.parse(readFileSync(fileURLToPath(new URL("../../test/fixtures/chat-template-golden.json", import.meta.url)), "utf8")) as {
  chats: ChatMessage[][];
  rendered: Record<string, string[]>;
};

describe("built-in chat templates", () => {
  it("every name renders as llama.cpp's built-in of that name", () => {
    expect(Object.keys(BUILTIN_CHAT_TEMPLATES).sort()).toEqual(Object.keys(golden.rendered).sort());
    for (const [name, expected] of Object.entries(golden.rendered)) {
      const t = compileChatTemplate(BUILTIN_CHAT_TEMPLATES[name]!, name);
      golden.chats.forEach((chat, i) => {
        expect(renderChat(t, chat, { bosToken: "<s>", eosToken: "</s>", addBos: false }), `${name} #${i}`).toBe(expected[i]);
        expect(renderChat(t, chat, { bosToken: "<s>", eosToken: "</s>", addBos: true }), `${name} #${i} with BOS`).toBe("<s>" + expected[i]);
      });
    }
  });

  it("--chat-template takes a built-in name or a file, and says what it is when it is neither", async () => {
    expect((await resolveChatTemplate("chatml")).builtin).toBe(true);
    const dir = await mkdtemp(join(tmpdir(), "dusk-template-"));
    const file = join(dir, "t.jinja");
    await writeFile(file, "{{ messages[0]['content'] }}");
    expect(await resolveChatTemplate(file)).toEqual({ source: "{{ messages[0]['content'] }}", origin: file, builtin: false });
    await expect(resolveChatTemplate("chatml2")).rejects.toMatchObject({
      code: "runtime.chat-template",
      message: expect.stringContaining("no built-in chat template has that name"),
      hint: expect.stringContaining("chatml, llama2, llama2-sys, llama3, gemma, phi3"),
    });
    await expect(resolveChatTemplate(join(dir, "missing.jinja"))).rejects.toMatchObject({ message: expect.stringContaining("cannot read the chat template file (ENOENT)") });
    await expect(resolveChatTemplate(dir)).rejects.toMatchObject({ message: expect.stringContaining("(EISDIR)") });
  });
});
