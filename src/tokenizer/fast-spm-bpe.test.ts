// The fast SentencePiece-BPE encoder against @huggingface/tokenizers on the same tokenizer.json:
// held-out Shakespeare, runs of spaces, newlines, and characters only byte fallback can encode.

import { Tokenizer } from "@huggingface/tokenizers";
import { describe, expect, it } from "vitest";
import { defaultCorpus, fullCorpus } from "../fixtures/corpus.js";
import { buildTinyTokenizer } from "./index.js";
import { fastSpmBpeEncoder } from "./fast-spm-bpe.js";

describe("fast SentencePiece BPE", () => {
  it("encodes exactly as the HF tokenizer", () => {
    const t = buildTinyTokenizer(defaultCorpus().slice(0, 60_000), { vocabSize: 600 });
    const json = JSON.parse(t.tokenizerJson);
    const fast = fastSpmBpeEncoder(json)!;
    expect(fast).toBeDefined();
    const hf = new Tokenizer(json, JSON.parse(t.tokenizerConfig));
    for (const text of [fullCorpus().slice(700_000, 730_000), "  two  spaces,\ttab\n\nand  é, ☃ 🙂 naïve   ", "x", ""]) {
      expect(fast(text)).toEqual(hf.encode(text, { add_special_tokens: false }).ids.map(Number));
    }
  });

  it("declines tokenizers of another shape", () => {
    const json = JSON.parse(buildTinyTokenizer(defaultCorpus().slice(0, 20_000), { vocabSize: 400 }).tokenizerJson);
    expect(fastSpmBpeEncoder({ ...json, pre_tokenizer: { type: "ByteLevel" } })).toBeUndefined();
    expect(fastSpmBpeEncoder({ ...json, model: { ...json.model, byte_fallback: false } })).toBeUndefined();
  });
});
