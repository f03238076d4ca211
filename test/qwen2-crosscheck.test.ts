// A Qwen2-style model with a byte-level BPE tokenizer end to end: generated HF checkpoint (q/k/v
// biases) + Qwen2-shaped tokenizer files → `dusk convert --pre qwen2` → llama.cpp. Checks that
// llama.cpp loads it as "qwen2", tokenizes like @huggingface/tokenizers, gives the engine's
// next-token log-probs, and that a DUS restack of the GGUF matches the engine's virtual plan.

import { access } from "node:fs/promises";
import { join } from "node:path";
import { Tokenizer } from "@huggingface/tokenizers";
import { getLlama, type LlamaModel } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { checkpointHeader, openCheckpoint } from "../src/checkpoint/open-checkpoint.js";
import { checkpointWeights, planWeights } from "../src/engine/checkpoint-weights.js";
import { tokenLogprobs } from "../src/engine/index.js";
import { defaultCorpus, fullCorpus } from "../src/fixtures/corpus.js";
import { writeTinyHfModel } from "../src/fixtures/tiny-model.js";
import { ggufGet, ggufGetNumberArray, ggufGetStringArray } from "../src/formats/gguf-value.js";
import { makePlan } from "../src/plan/plan.js";
import { dusRecipe } from "../src/recipe/index.js";
import { TokenType } from "../src/tokenizer/index.js";
import { buildTinyByteBpe, type TinyByteBpeFiles } from "../src/tokenizer/tiny-byte-bpe.js";
import { runCli } from "./helpers/cli.js";
import { llamaLogprobs, maxAbsDiff } from "./helpers/llama-logprobs.js";
import { tempDir } from "./helpers/models.js";

const SHAKESPEARE = fullCorpus();
// Peaked logits (std 0.15 as in crosscheck.test.ts), so a wrong bias or rope shows up clearly.
const MODEL = { family: "qwen2", layers: 6, hidden: 64, heads: 4, kvHeads: 2, std: 0.15, seed: 23, dtype: "F32" } as const;

/** Strings where the regex classes matter: digits, contractions, punctuation runs, spaces, newlines, accents, emoji. */
const TRICKY = [
  "In 1603, 12345 men paid 3.14 crowns; 2+2=4 and 007 at 10:30.",
  "I don't know, I'll go. You're sure? We've seen it; she'd've said, he's gone. 'TIS so. DON'T! I'M",
  "What?!... Nay--nay!!! (aside) \"quoth\" [Exit.] ***___ ,,;;::",
  "two  spaces,   three,    four     five and a trailing space ",
  "line one\nline two\n\nafter a blank\r\nwindows line\n\n\n   indented\n\ttabbed\t\tend",
  "Café déjà vu, naïve façade, Æneas, Øresund, smörgåsbord, São Paulo, Ελληνικά, русский, 日本語",
  "emoji 🙂 😶‍🌫️ 🚀🚀 ✅ 👍🏽 and 🦙.cpp",
  "  leading spaces\n",
  "'s 'S 'Ve 'll 'LL x'd",
];

/** Numbers for the tokenizer to learn multi-digit pieces from (see TinyByteBpeOptions.digitRuns). */
const NUMBERS = Array.from({ length: 400 }, (_, i) => `Act ${(i % 5) + 1}, line ${(i * 37) % 1000}, in the year ${1590 + (i % 30)}.`).join("\n");

let tok: TinyByteBpeFiles;
let hfTok: Tokenizer;
let work: string;
let hf: string;
let gguf: string;
let llamaModel: LlamaModel | undefined;

beforeAll(async () => {
  tok = buildTinyByteBpe(`${defaultCorpus()}\n${NUMBERS}`, { merges: 500, digitRuns: true });
  hfTok = new Tokenizer(JSON.parse(tok.tokenizerJson), JSON.parse(tok.tokenizerConfig));
  work = await tempDir("dusk-qwen2-");
  hf = join(work, "qwen2-hf");
  await writeTinyHfModel(hf, {
    ...MODEL,
    vocabSize: tok.tokens.length,
    specialTokenIds: { bos: tok.specialIds.endOfText, eos: tok.specialIds.imEnd },
    tokenizerFiles: { "tokenizer.json": tok.tokenizerJson, "tokenizer_config.json": tok.tokenizerConfig },
  });
  gguf = join(work, "qwen2-f32.gguf");
});

afterAll(async () => {
  await llamaModel?.dispose();
});

/** Held-out Shakespeare (the tokenizer learned from the first 120 kB) plus the tricky strings. */
function tokenizationSamples(): string[] {
  const lines = SHAKESPEARE.slice(600_000, 640_000).split("\n").filter((l) => l.trim().length > 0);
  return [...lines.slice(0, 300), lines.slice(300, 360).join("\n"), ...TRICKY];
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
}

describe("dusk convert of a Qwen2 byte-level BPE checkpoint", () => {
  test("without --pre the unknown pre-tokenizer hash is refused, naming --pre qwen2", async () => {
    const out = join(work, "no-pre.gguf");
    const r = await runCli(["convert", hf, "-o", out, "--type", "f32", "--quiet"]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unrecognised byte-level BPE pre-tokenizer");
    expect(r.stderr).toMatch(/chkhsh [0-9a-f]{64}/);
    expect(r.stderr).toContain("--pre qwen2");
    expect(await exists(out)).toBe(false);
  });

  test("with --pre qwen2: llama.cpp loads it as qwen2 with the tokenizer's special tokens", async () => {
    const r = await runCli(["convert", hf, "-o", gguf, "--type", "f32", "--pre", "qwen2", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const c = await openCheckpoint(gguf);
    try {
      const kv = c.gguf!.kv;
      expect(ggufGet(kv, "general.architecture")).toBe("qwen2");
      expect(ggufGet(kv, "tokenizer.ggml.model")).toBe("gpt2");
      expect(ggufGet(kv, "tokenizer.ggml.pre")).toBe("qwen2");
      expect(ggufGet(kv, "tokenizer.ggml.eos_token_id")).toBe(tok.specialIds.imEnd);
      expect(ggufGet(kv, "tokenizer.ggml.padding_token_id")).toBe(tok.specialIds.endOfText);
      // as Qwen2's converted GGUFs: the BOS id comes from config.json, and it is not added
      expect(ggufGet(kv, "tokenizer.ggml.bos_token_id")).toBe(tok.specialIds.endOfText);
      expect(kv.has("tokenizer.ggml.add_bos_token")).toBe(false);
      expect(c.tensors.has("blk.0.attn_q.bias")).toBe(true);
    } finally {
      await c.close();
    }
    const llama = await getLlama({ gpu: false });
    llamaModel = await llama.loadModel({ modelPath: gguf });
    expect(llamaModel.fileInfo.metadata.general.architecture).toBe("qwen2");
    expect(llamaModel.tokens.eos).toBe(tok.specialIds.imEnd);
    expect(llamaModel.tokens.bos).toBe(tok.specialIds.endOfText);
    expect(llamaModel.tokens.shouldPrependBosToken).toBe(false);
  });

  test("llama.cpp tokenizes like @huggingface/tokenizers (held-out Shakespeare and tricky strings)", async () => {
    expect(llamaModel, "the model did not load").toBeDefined();
    let tokens = 0;
    for (const s of tokenizationSamples()) {
      const expected = hfTok.encode(s, { add_special_tokens: false }).ids;
      const got = [...llamaModel!.tokenize(s)];
      expect(got, JSON.stringify(s)).toEqual(expected);
      expect(llamaModel!.detokenize(got), JSON.stringify(s)).toBe(s);
      tokens += expected.length;
    }
    expect(tokens).toBeGreaterThan(3000);
    // the vocabulary has multi-digit pieces that Qwen2's one-digit split must leave unused
    expect(tok.merges.some(([a, b]) => /^\d+$/.test(a + b))).toBe(true);
    // specials: one token each, when asked to parse them
    const chat = "<|im_start|>user\nhi<|im_end|>\n";
    expect([...llamaModel!.tokenize(chat, true)]).toEqual(hfTok.encode(chat, { add_special_tokens: false }).ids);
    // Known difference, shared by every Qwen2 GGUF: llama.cpp does not apply the NFC normalizer,
    // so decomposed input (and singletons such as U+2000 → U+2002) differs; composed first, it agrees.
    const decomposed = "e\u0301te\u0301 a\u0300 la cafe\u0301,\u2000quad";
    expect([...llamaModel!.tokenize(decomposed)]).not.toEqual(hfTok.encode(decomposed, { add_special_tokens: false }).ids);
    expect([...llamaModel!.tokenize(decomposed.normalize("NFC"))]).toEqual(hfTok.encode(decomposed, { add_special_tokens: false }).ids);
  });

  // The check above can fail: the same checkpoint converted with another pre-tokenizer's regex
  // tokenizes some samples differently (llama-bpe cuts digits in threes, gpt-2 splits "'Tis").
  test.each([
    ["llama-bpe", "12345"],
    ["gpt-2", "'Tis"],
  ])("a wrong --pre %s is caught by the same samples", async (pre, example) => {
    const out = join(work, `wrong-pre-${pre}.gguf`);
    expect((await runCli(["convert", hf, "-o", out, "--type", "f32", "--pre", pre, "--quiet"])).code).toBe(0);
    const llama = await getLlama({ gpu: false });
    const model = await llama.loadModel({ modelPath: out });
    try {
      const differing = tokenizationSamples().filter((s) => JSON.stringify([...model.tokenize(s)]) !== JSON.stringify(hfTok.encode(s, { add_special_tokens: false }).ids));
      expect(differing.some((s) => s.includes(example)), JSON.stringify(differing.slice(0, 3))).toBe(true);
    } finally {
      await model.dispose();
    }
  });

  test("f32: engine vs llama.cpp next-token log-probs within 1e-3", async () => {
    const tokens = hfTok.encode(SHAKESPEARE.slice(700_000, 700_400), { add_special_tokens: false }).ids.slice(0, 64);
    expect(tokens.length).toBeGreaterThan(40);
    const src = await openCheckpoint(hf);
    try {
      const engine = [...(await tokenLogprobs(checkpointWeights(src), tokens))];
      const llama = await llamaLogprobs(gguf, tokens);
      const diff = maxAbsDiff(engine, llama.next);
      console.log(`qwen2 f32: max |Δ log p| engine(HF) vs llama.cpp = ${diff.toExponential(2)} over ${engine.length} positions`);
      expect(diff).toBeLessThan(1e-3);
      // not vacuous: the model is peaked, so a wrong bias or rope would move these by far more
      expect(Math.min(...engine)).toBeLessThan(-3);
    } finally {
      await src.close();
    }
  });

  test("tied embeddings and a vocabulary padded past the tokenizer (as Qwen2-0.5B) convert and agree", async () => {
    const rows = Math.ceil(tok.tokens.length / 64) * 64 + 64; // Qwen2-0.5B: 151936 rows for 151646 tokens
    const tiedHf = join(work, "qwen2-tied-hf");
    await writeTinyHfModel(tiedHf, {
      ...MODEL, layers: 2, seed: 29, tied: true, vocabSize: rows,
      specialTokenIds: { bos: tok.specialIds.endOfText, eos: tok.specialIds.imEnd },
      tokenizerFiles: { "tokenizer.json": tok.tokenizerJson, "tokenizer_config.json": tok.tokenizerConfig },
    });
    const out = join(work, "qwen2-tied.gguf");
    expect((await runCli(["convert", tiedHf, "-o", out, "--type", "f32", "--pre", "qwen2", "--quiet"])).code).toBe(0);
    const g = await openCheckpoint(out);
    try {
      expect(g.tensors.has("output.weight")).toBe(false);
      const names = ggufGetStringArray(g.gguf!.kv, "tokenizer.ggml.tokens")!;
      const types = ggufGetNumberArray(g.gguf!.kv, "tokenizer.ggml.token_type")!;
      expect(names.length).toBe(rows);
      expect([names[rows - 1], types[rows - 1]]).toEqual([`[PAD${rows - 1}]`, TokenType.unused]);
    } finally {
      await g.close();
    }
    const tokens = hfTok.encode(SHAKESPEARE.slice(710_000, 710_300), { add_special_tokens: false }).ids.slice(0, 48);
    const src = await openCheckpoint(tiedHf);
    try {
      const engine = [...(await tokenLogprobs(checkpointWeights(src), tokens))];
      const diff = maxAbsDiff(engine, (await llamaLogprobs(out, tokens)).next);
      console.log(`qwen2 tied, padded vocab f32: max |Δ log p| engine vs llama.cpp = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-3);
    } finally {
      await src.close();
    }
  });

  test("a DUS restack of the Qwen2 GGUF (dusk build --preset dus) matches the engine's virtual plan", async () => {
    const out = join(work, "qwen2-dus.gguf");
    const r = await runCli(["build", "--preset", "dus", "--drop", "2", gguf, "-o", out, "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const built = await openCheckpoint(out);
    try {
      const kv = built.gguf!.kv;
      expect([ggufGet(kv, "general.architecture"), ggufGet(kv, "qwen2.block_count"), ggufGet(kv, "tokenizer.ggml.pre")]).toEqual(["qwen2", 2 * (MODEL.layers - 2), "qwen2"]);
      expect(built.tensors.has(`blk.${2 * (MODEL.layers - 2) - 1}.attn_v.bias`)).toBe(true);
    } finally {
      await built.close();
    }
    const tokens = hfTok.encode(SHAKESPEARE.slice(720_000, 720_400), { add_special_tokens: false }).ids.slice(0, 64);
    const src = await openCheckpoint(gguf, "SRC");
    try {
      const plan = makePlan(dusRecipe({ model: "SRC", layers: src.numLayers, drop: 2 }), [checkpointHeader(src)]);
      expect(plan.layers.length).toBe(2 * (MODEL.layers - 2));
      const virtual = [...(await tokenLogprobs(planWeights(plan, [src]), tokens))];
      const llama = await llamaLogprobs(out, tokens);
      const diff = maxAbsDiff(virtual, llama.next);
      console.log(`qwen2 dus restack: max |Δ log p| engine(virtual plan) vs llama.cpp(built) = ${diff.toExponential(2)}`);
      expect(diff).toBeLessThan(1e-3);
      // the restack is a different model from its source
      const base = [...(await tokenLogprobs(checkpointWeights(src), tokens))];
      expect(maxAbsDiff(base, virtual)).toBeGreaterThan(0.05);
    } finally {
      await src.close();
    }
  });

  test("HF Qwen2 sources built straight into GGUF take --pre too; --pre is refused where nothing converts", async () => {
    const out = join(work, "qwen2-idus-from-hf.gguf");
    const r = await runCli(["build", "--preset", "idus", "--group", "1", "--drop", "2", hf, "-o", out, "--type", "f32", "--pre", "qwen2", "--quiet"]);
    expect(r.code, r.stderr).toBe(0);
    const built = await openCheckpoint(out);
    try {
      expect(ggufGet(built.gguf!.kv, "tokenizer.ggml.pre")).toBe("qwen2");
      expect(built.numLayers).toBe(2 * (MODEL.layers - 2));
    } finally {
      await built.close();
    }
    const refused = await runCli(["build", "--preset", "dus", "--drop", "2", hf, "-o", join(work, "hf-out"), "--pre", "qwen2", "--quiet"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--pre/);
  });
});
