// Runtime pieces that need no model: sampling validation, presets (built-in and config file),
// stop-string streaming, chat templates rendered as HF does, and `dusk presets`.

import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RuntimeError } from "../src/errors.js";
import { BUILTIN_PRESETS, compileChatTemplate, listPresets, parsePresetsConfig, renderChat, resolveSampling, StopStringMatcher, validateLimits, validateSampling, type Sampling } from "../src/runtime/index.js";
import { runCli } from "./helpers/cli.js";

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "dusk-presets-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const balanced = BUILTIN_PRESETS.find((p) => p.name === "balanced")!.sampling;

describe("sampling validation", () => {
  const bad: [keyof Sampling, number, RegExp][] = [
    ["temperature", -0.5, /temperature.*-0\.5.*\[0, 100\]/],
    ["temperature", Number.NaN, /temperature.*NaN/],
    ["topP", 0, /topP.*is 0.*\(0, 1\]/],
    ["topP", 1.5, /topP.*1\.5.*\(0, 1\]/],
    ["topK", -1, /topK.*-1.*integer in \[0,/],
    ["topK", 2.5, /topK.*2\.5.*integer/],
    ["minP", 1.2, /minP.*1\.2.*\[0, 1\]/],
    ["minP", -0.1, /minP.*-0\.1/],
    ["repeatPenalty", 0, /repeatPenalty.*is 0.*\(0, 10\]/],
    ["repeatLastN", -1, /repeatLastN.*-1/],
    ["presencePenalty", 3, /presencePenalty.*3.*\[-2, 2\]/],
    ["frequencyPenalty", -2.5, /frequencyPenalty.*-2\.5/],
  ];
  it.each(bad)("%s = %s is refused, naming the option, value and range", (key, value, message) => {
    expect(() => validateSampling({ ...balanced, [key]: value })).toThrow(RuntimeError);
    expect(() => validateSampling({ ...balanced, [key]: value })).toThrow(message);
  });

  it("limits: max tokens, seed and stop strings", () => {
    expect(() => validateLimits({ maxTokens: 0, stop: [], seed: 1 })).toThrow(/maxTokens.*is 0.*integer in \[1,/);
    expect(() => validateLimits({ maxTokens: -3, stop: [], seed: 1 })).toThrow(/maxTokens.*-3/);
    expect(() => validateLimits({ maxTokens: 4, stop: [], seed: -1 })).toThrow(/seed.*-1/);
    expect(() => validateLimits({ maxTokens: 4, stop: [""], seed: 1 })).toThrow(/stop\[0\]/);
    expect(validateLimits({ maxTokens: 4, stop: ["\n"], seed: 2 ** 32 - 1 }).seed).toBe(2 ** 32 - 1);
  });

  it("every built-in preset is valid, and greedy has temperature 0", () => {
    for (const p of BUILTIN_PRESETS) expect(validateSampling(p.sampling)).toBe(p.sampling);
    expect(BUILTIN_PRESETS.map((p) => p.name)).toEqual(["greedy", "precise", "balanced", "creative"]);
    expect(BUILTIN_PRESETS[0]!.sampling.temperature).toBe(0);
  });

  it("flags override a preset and are validated", async () => {
    const empty = join(dir, "empty.json");
    await writeFile(empty, '{"presets": {}}');
    const r = await resolveSampling("precise", { temperature: 0.5, topK: undefined }, empty);
    expect(r.sampling).toEqual({ ...BUILTIN_PRESETS[1]!.sampling, temperature: 0.5 });
    await expect(resolveSampling("precise", { topP: 2 })).rejects.toThrow(/topP.*2/);
    await expect(resolveSampling("nope")).rejects.toThrow(/unknown preset "nope"/);
  });
});

describe("user presets file", () => {
  it("reads presets extending built-ins, with their source", async () => {
    const file = join(dir, "good.json");
    await writeFile(file, JSON.stringify({ presets: { terse: { base: "precise", temperature: 0.1, description: "short" }, constructor: { topK: 5 } } }));
    const all = await listPresets(file);
    const terse = all.find((p) => p.name === "terse")!;
    expect(terse).toMatchObject({ source: file, description: "short", sampling: { ...BUILTIN_PRESETS[1]!.sampling, temperature: 0.1 } });
    // Names like "constructor" and "__proto__" are just names, never prototype lookups.
    expect(all.find((p) => p.name === "constructor")?.sampling).toEqual({ ...balanced, topK: 5 });
    const proto = join(dir, "proto.json");
    await writeFile(proto, '{"presets": {"__proto__": {"topK": 5}}}');
    await expect(listPresets(proto)).rejects.toThrow(/presets\.__proto__: a preset name is/);
  });

  const cases: [string, string, RegExp][] = [
    ["out-of-range value", JSON.stringify({ presets: { hot: { temperature: -1 } } }), /presets\.hot\.temperature: .*-1.*\[0, 100\]/],
    ["wrong type", JSON.stringify({ presets: { hot: { topK: "many" } } }), /presets\.hot\.topK: /],
    ["unknown field", JSON.stringify({ presets: { hot: { temprature: 1 } } }), /presets\.hot\.temprature: unknown field/],
    ["unknown base", JSON.stringify({ presets: { hot: { base: "wild" } } }), /presets\.hot\.base is "wild"/],
    ["built-in name", JSON.stringify({ presets: { greedy: {} } }), /presets\.greedy: "greedy" is a built-in preset/],
    ["no presets key", JSON.stringify({ preset: {} }), /: (presets|preset): /],
    ["bad JSON", "{presets:", /not valid JSON/],
  ];
  it.each(cases)("%s → error naming the file and field", async (_, text, message) => {
    const file = join(dir, `bad-${Math.random().toString(36).slice(2)}.json`);
    await writeFile(file, text);
    const err = await listPresets(file).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as Error).message).toContain(file);
    expect((err as Error).message).toMatch(message);
  });

  it("an explicit file that is missing is an error; the default one may be absent", async () => {
    await expect(listPresets(join(dir, "absent.json"))).rejects.toThrow(/absent\.json: cannot read/);
    expect(() => parsePresetsConfig("[]", "x.json")).toThrow(/x\.json/);
  });

  it("dusk presets lists built-in and user presets (table and JSON), and reports a bad file", async () => {
    const file = join(dir, "cli.json");
    await writeFile(file, JSON.stringify({ presets: { mine: { base: "creative", minP: 0.1 } } }));
    const table = await runCli(["presets", "--config", file]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^greedy\s+0\s+0\s+1\s+0\s+1\s+0\s+0\s+0\s+built-in/m);
    expect(table.stdout).toMatch(new RegExp(`^mine\\s+1\\.1\\s+0\\s+1\\s+0\\.1\\s.*${file.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}`, "m"));
    const json = await runCli(["presets", "--config", file, "--json"]);
    const parsed = JSON.parse(json.stdout) as { default: string; presets: { name: string; source: string }[] };
    expect(parsed.default).toBe("balanced");
    expect(parsed.presets.map((p) => p.name)).toEqual(["greedy", "precise", "balanced", "creative", "mine"]);
    const badFile = join(dir, "cli-bad.json");
    await writeFile(badFile, JSON.stringify({ presets: { mine: { topP: 0 } } }));
    const bad = await runCli(["presets", "--config", badFile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain(`${badFile}: presets.mine.topP`);
  });
});

describe("stop strings", () => {
  const feed = (stops: string[], pieces: string[]) => {
    const m = new StopStringMatcher(stops);
    let out = "";
    const shown: string[] = [];
    for (const p of pieces) {
      const r = m.push(p);
      out += r.text;
      shown.push(out);
      if (r.stopped) return { out, stopped: true, shown };
    }
    return { out: out + m.flush(), stopped: false, shown };
  };
  it("cuts at a stop string split across pieces and never shows part of it", () => {
    const r = feed(["END"], ["hello E", "N", "D tail"]);
    expect(r).toMatchObject({ out: "hello ", stopped: true });
    expect(r.shown).toEqual(["hello ", "hello ", "hello "]);
  });
  it("releases held text that turns out not to be a stop string, and flushes at the end", () => {
    expect(feed(["END"], ["a E", "Nx", " b"])).toMatchObject({ out: "a ENx b", stopped: false });
    expect(feed(["END"], ["tail E"])).toMatchObject({ out: "tail E", stopped: false });
  });
  it("the earliest of several stop strings wins", () => {
    expect(feed(["world", "lo"], ["hello world"]).out).toBe("hel");
  });
});

describe("chat templates (as HF's apply_chat_template renders them)", () => {
  it("trims blocks and strips their indentation, with bos/eos tokens and the generation prompt", () => {
    const source = [
      "{% for message in messages %}",
      "  {% if message['role'] == 'user' %}",
      "<|user|>{{ message['content'] }}",
      "  {% else %}",
      "<|assistant|>{{ message['content'] }}{{ eos_token }}",
      "  {% endif %}",
      "{% endfor %}",
      "{% if add_generation_prompt %}",
      "<|assistant|>",
      "{% endif %}",
      "",
    ].join("\n");
    const messages = [
      { role: "user", content: "Hi" },
      { role: "assistant", content: "Hello" },
      { role: "user", content: "And you?" },
    ] as const;
    const tokens = { bosToken: "<s>", eosToken: "</s>" };
    expect(renderChat(compileChatTemplate(source), messages, tokens)).toBe("<|user|>Hi\n<|assistant|>Hello</s>\n<|user|>And you?\n<|assistant|>\n");
    expect(renderChat(compileChatTemplate(source), messages.slice(0, 2), tokens, { addGenerationPrompt: false })).toBe("<|user|>Hi\n<|assistant|>Hello</s>\n");
  });
  it("template errors are RuntimeErrors naming the template", () => {
    expect(() => compileChatTemplate("{% for x in %}", "my.jinja")).toThrow(/my\.jinja: the chat template does not parse/);
    const t = compileChatTemplate("{{ raise_exception('roles must alternate') }}");
    expect(() => renderChat(t, [], { bosToken: "", eosToken: "" })).toThrow(/rendering the conversation failed.*roles must alternate/);
  });
});
