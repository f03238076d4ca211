import { beforeAll, describe, expect, it } from "vitest";
import { FormatError } from "../errors.js";
import { preTokenizerHash, preTokenizerNameForHash, tokenizerToGguf, TokenType, type GgufTokenizerKv } from "./gguf-tokenizer.js";
import { tokenizerGgufKv } from "./index.js";
import { buildTinyTokenizer, TINY_CHAT_TEMPLATE, type TinyTokenizerFiles } from "./tiny-tokenizer.js";
import { fullCorpus } from "../fixtures/corpus.js";

const SHAKESPEARE = fullCorpus();

// llama.cpp's own tokenizer test vectors (models/ggml-vocab-*.gguf.out) for the pre-tokenizer
// probe text: GPT-2's ids, and Llama-3's without BOS (HF's encode adds BOS 128000).
const GPT2_PROBE_IDS = `
  198 220 628 220 628 198 220 197 220 197 197 220 197 198 220 220 198 220 220 220
  198 220 220 220 220 198 220 220 220 220 220 198 8582 248 222 357 11265 8 30325 114
  447 235 8582 234 104 37929 357 48101 795 13210 271 1673 36686 515 8 14519 227 12520 99 247
  8582 99 247 513 4747 23460 513 20370 23460 2091 23460 20370 23460 24840 23460 2091 20370 513 13 18
  513 492 18 513 986 18 28053 252 222 157 252 114 157 252 241 157 253 233 157 252
  237 157 253 224 157 252 244 157 252 115 157 252 253 157 253 223 157 252 253 157
  252 95 157 252 114 157 252 227 47249 223 5633 22755 239 46349 111 28839 101 18040 32432 98
  43291 1485 1415 24309 25465 171 121 252 40103 1421 18604 12466 121 16843 141 231 15166 12466 121 16142
  12466 239 141 232 30143 140 111 16142 21169 21727 31583 18849 705 39115 6 33153 15506 63 15931 15931
  16317 13896 3228 9805 3548 314 1053 587 705 44040 339 338 612 11 705 2200 345 1654 30 705
  44 407 1654 314 1183 787 340 11 705 35 345 588 617 8887 30 775 6 26979 257 6
  75 43`;
const LLAMA3_PROBE_IDS_NO_BOS = `
  198 4815 15073 66597 8004 1602 2355 79772 11187 9468 248 222 320 8416 8 27623 114 102470 9468 234
  104 31643 320 36773 100166 98634 8 26602 227 11410 99 247 9468 99 247 220 18 220 1644 220
  8765 220 8765 18 220 8765 1644 220 8765 8765 220 8765 8765 18 220 8765 8765 1644 220 18
  13 18 220 18 497 18 220 18 1131 18 220 21549 222 98629 241 45358 233 21549 237 45358
  224 21549 244 21549 115 21549 253 45358 223 21549 253 21549 95 98629 227 76460 223 949 37046 101067
  19000 23182 102301 9263 18136 16 36827 21909 56560 54337 19175 102118 13373 64571 34694 3114 112203 80112 3436 106451
  14196 14196 74694 3089 3089 29249 17523 3001 27708 7801 358 3077 1027 364 83 820 568 596 1070 11
  364 793 499 2771 30 364 44 539 2771 358 3358 1304 433 11 364 35 499 1093 1063 15600
  30 1226 6 43712 264 64966 43`;
const ids = (s: string) => s.trim().split(/\s+/).map(Number);

function get(kv: GgufTokenizerKv[], key: string): unknown {
  return kv.find((e) => e.key === key)?.value;
}

describe("pre-tokenizer hash", () => {
  it("formats ids as Python's str(list) and finds llama.cpp's names", () => {
    expect(preTokenizerHash([1, 2, 3])).toBe("a36b1f2c3f84522dd1005145646617d7054c0851e97c72a039c0bdfac9fa07f3") // python3: sha256(str([1, 2, 3]).encode());
    expect(preTokenizerNameForHash(preTokenizerHash(ids(GPT2_PROBE_IDS)))).toBe("gpt-2");
    expect(preTokenizerNameForHash(preTokenizerHash([128000, ...ids(LLAMA3_PROBE_IDS_NO_BOS)]))).toBe("llama-bpe");
    // later duplicates win, as in the converter's chain of ifs
    expect(preTokenizerNameForHash("b6dc8df998e1cfbdc4eac8243701a65afe638679230920b50d6f17d81c098166")).toBe("olmo");
  });
});

describe("tokenizerToGguf on the tiny SentencePiece tokenizer", () => {
  let t: TinyTokenizerFiles;
  beforeAll(() => {
    t = buildTinyTokenizer(SHAKESPEARE.slice(0, 200_000), { vocabSize: 400 });
  });

  it("writes llama/default tokens, scores and types from tokenizer.model, padded to vocab_size", () => {
    const kv = tokenizerToGguf(
      { tokenizerModel: t.tokenizerModel, tokenizerJson: t.tokenizerJson, tokenizerConfig: t.tokenizerConfig, specialTokensMap: t.specialTokensMap },
      { vocabSize: 403 },
    );
    expect(kv.slice(0, 5).map((e) => e.key)).toEqual([
      "tokenizer.ggml.model",
      "tokenizer.ggml.pre",
      "tokenizer.ggml.tokens",
      "tokenizer.ggml.scores",
      "tokenizer.ggml.token_type",
    ]);
    expect(get(kv, "tokenizer.ggml.model")).toBe("llama");
    expect(get(kv, "tokenizer.ggml.pre")).toBe("default");
    const tokens = get(kv, "tokenizer.ggml.tokens") as string[];
    const scores = get(kv, "tokenizer.ggml.scores") as number[];
    const types = get(kv, "tokenizer.ggml.token_type") as number[];
    expect(tokens.slice(0, 400)).toEqual(t.pieces.map((p) => p.piece));
    expect(tokens.slice(400)).toEqual(["[PAD400]", "[PAD401]", "[PAD402]"]);
    expect(scores.slice(399)).toEqual([t.pieces[399]!.score, -10000, -10000, -10000]);
    // <unk> is CONTROL, not UNKNOWN: added_tokens_decoder marks it special, and the converter's
    // override makes every special added token CONTROL
    expect(types.slice(0, 4)).toEqual([TokenType.control, TokenType.control, TokenType.control, TokenType.byte]);
    const noConfig = tokenizerToGguf({ tokenizerModel: t.tokenizerModel }, { vocabSize: 400 });
    expect((get(noConfig, "tokenizer.ggml.token_type") as number[])[0]).toBe(TokenType.unknown);
    expect(types[300]).toBe(TokenType.normal);
    expect(types[401]).toBe(TokenType.unused);
    expect(get(kv, "tokenizer.ggml.bos_token_id")).toBe(1);
    expect(get(kv, "tokenizer.ggml.eos_token_id")).toBe(2);
    expect(get(kv, "tokenizer.ggml.unknown_token_id")).toBe(0);
    expect(get(kv, "tokenizer.ggml.padding_token_id")).toBeUndefined();
    expect(get(kv, "tokenizer.ggml.add_bos_token")).toBe(true);
    expect(get(kv, "tokenizer.ggml.add_eos_token")).toBe(false);
    expect(get(kv, "tokenizer.chat_template")).toBe(TINY_CHAT_TEMPLATE);
  });

  it("from tokenizer.json alone (Llama-2 HF style) gives the same tokens, types and merge-order scores", () => {
    const fromModel = tokenizerToGguf({ tokenizerModel: t.tokenizerModel, tokenizerJson: t.tokenizerJson, tokenizerConfig: t.tokenizerConfig }, { vocabSize: 400 });
    const fromJson = tokenizerToGguf({ tokenizerJson: t.tokenizerJson, tokenizerConfig: t.tokenizerConfig }, { vocabSize: 400 });
    expect(get(fromJson, "tokenizer.ggml.model")).toBe("llama");
    expect(get(fromJson, "tokenizer.ggml.tokens")).toEqual(get(fromModel, "tokenizer.ggml.tokens"));
    expect(get(fromJson, "tokenizer.ggml.token_type")).toEqual(get(fromModel, "tokenizer.ggml.token_type"));
    const a = get(fromJson, "tokenizer.ggml.scores") as number[];
    const b = get(fromModel, "tokenizer.ggml.scores") as number[];
    for (let i = 259; i < 259 + t.merges.length; i++) expect(a[i]).toBe(b[i]); // merge results: −rank both ways
    expect(get(fromJson, "tokenizer.ggml.bos_token_id")).toBe(1);
  });

  it("returns GGUF-typed values through tokenizerGgufKv", () => {
    const kv = tokenizerGgufKv({ tokenizerModel: t.tokenizerModel, tokenizerConfig: t.tokenizerConfig, configJson: JSON.stringify({ bos_token_id: 1 }) }, { vocabSize: 400 });
    expect(kv.get("tokenizer.ggml.token_type")).toMatchObject({ type: 9, itemType: 5 });
    expect(kv.get("tokenizer.ggml.scores")).toMatchObject({ type: 9, itemType: 6 });
    expect(kv.get("tokenizer.ggml.bos_token_id")).toEqual({ type: 4, value: 1 }); // from config.json
    // as gguf-py: without tokenizer.json (its added_tokens) or config.json, no special ids at all
    const bare = tokenizerGgufKv({ tokenizerModel: t.tokenizerModel, tokenizerConfig: t.tokenizerConfig }, { vocabSize: 400 });
    expect(bare.get("tokenizer.ggml.bos_token_id")).toBeUndefined();
  });

  it("refuses a tokenizer larger than vocab_size, naming both numbers", () => {
    const err = (() => {
      try {
        tokenizerToGguf({ tokenizerModel: t.tokenizerModel }, { vocabSize: 300 });
      } catch (e) {
        return e as FormatError;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(FormatError);
    expect(err!.message).toContain("400 tokens");
    expect(err!.message).toContain("300");
    expect(err!.hint).toMatch(/base model/);
  });

  it("skips added tokens past vocab_size, as the converter does (they have no embedding row)", () => {
    const tc = JSON.parse(t.tokenizerConfig) as { added_tokens_decoder: Record<string, unknown> };
    tc.added_tokens_decoder["405"] = { content: "<extra>", special: true };
    const kv = tokenizerToGguf({ tokenizerModel: t.tokenizerModel, tokenizerConfig: JSON.stringify(tc), addedTokens: JSON.stringify({ "<more>": 410 }) }, { vocabSize: 400 });
    expect((get(kv, "tokenizer.ggml.tokens") as string[]).length).toBe(400);
    expect(get(kv, "tokenizer.ggml.tokens")).not.toContain("<extra>");
  });

  it("refuses missing and corrupt tokenizer files with typed errors", () => {
    expect(() => tokenizerToGguf({}, { vocabSize: 10 })).toThrow(expect.objectContaining({ code: "TOKENIZER_MISSING" }));
    expect(() => tokenizerToGguf({ tokenizerModel: t.tokenizerModel.subarray(0, 1001) }, { vocabSize: 400 })).toThrow(FormatError);
    expect(() => tokenizerToGguf({ tokenizerJson: "{not json" }, { vocabSize: 400 })).toThrow(expect.objectContaining({ code: "JSON_BAD" }));
    expect(() => tokenizerToGguf({ tokenizerJson: JSON.stringify({ model: { type: "Unigram", vocab: [] } }) }, { vocabSize: 4 })).toThrow(FormatError);
  });
});

// A small byte-level BPE (GPT-2 style): vocab = the 256 byte characters + merges + one special.
function byteLevelJson(mergesAsArrays: boolean): string {
  const chars: string[] = [];
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    chars.push(printable ? String.fromCharCode(b) : "");
  }
  let n = 0;
  for (let b = 0; b < 256; b++) if (chars[b] === "") chars[b] = String.fromCharCode(256 + n++);
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => (vocab[c] = i));
  const merges: [string, string][] = [["\u0120", "t"], ["h", "e"], ["\u0120t", "he"]];
  merges.forEach(([a, b]) => (vocab[a + b] = Object.keys(vocab).length));
  return JSON.stringify({
    added_tokens: [{ id: 259, content: "<|end|>", special: true, normalized: false }],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true },
    post_processor: null,
    decoder: { type: "ByteLevel" },
    model: { type: "BPE", vocab, merges: mergesAsArrays ? merges : merges.map((m) => m.join(" ")), byte_fallback: false, ignore_merges: false },
  });
}

describe("tokenizerToGguf on a byte-level BPE", () => {
  it("names unknown pre-tokenizers in the error and how to override them", () => {
    const err = (() => {
      try {
        tokenizerToGguf({ tokenizerJson: byteLevelJson(false), tokenizerConfig: "{}" }, { vocabSize: 264 });
      } catch (e) {
        return e as FormatError;
      }
      return undefined;
    })();
    expect(err?.code).toBe("PRE_TOKENIZER_UNKNOWN");
    expect(err?.message).toMatch(/chkhsh [0-9a-f]{64}/);
    expect(err?.hint).toContain("--pre NAME");
    expect(err?.hint).toContain("llama-bpe");
  });

  it("writes gpt2 tokens, types, merges and padding with --pre", () => {
    for (const arrays of [false, true]) {
      const kv = tokenizerToGguf({ tokenizerJson: byteLevelJson(arrays), tokenizerConfig: JSON.stringify({ eos_token: "<|end|>" }) }, { vocabSize: 264, preOverride: "llama-bpe" });
      expect(get(kv, "tokenizer.ggml.model")).toBe("gpt2");
      expect(get(kv, "tokenizer.ggml.pre")).toBe("llama-bpe");
      expect(get(kv, "tokenizer.ggml.scores")).toBeUndefined();
      const tokens = get(kv, "tokenizer.ggml.tokens") as string[];
      const types = get(kv, "tokenizer.ggml.token_type") as number[];
      expect(tokens.length).toBe(264);
      expect(tokens.slice(256, 264)).toEqual(["\u0120t", "he", "\u0120the", "<|end|>", "[PAD260]", "[PAD261]", "[PAD262]", "[PAD263]"]);
      expect(types.slice(256, 261)).toEqual([1, 1, 1, TokenType.control, TokenType.unused]);
      expect(get(kv, "tokenizer.ggml.merges")).toEqual(["\u0120 t", "h e", "\u0120t he"]);
      expect(get(kv, "tokenizer.ggml.eos_token_id")).toBe(259);
    }
  });

  it("the Llama class's set_vocab steps: add_prefix_space (any vocabulary), CodeLlama's EOT, Granite's BOS", () => {
    const files = { tokenizerJson: byteLevelJson(false), tokenizerConfig: JSON.stringify({ eos_token: "<|end|>", add_bos_token: true, add_prefix_space: false }) };
    const llama = tokenizerToGguf(files, { vocabSize: 264, preOverride: "llama-bpe", llamaVocab: true });
    expect(get(llama, "tokenizer.ggml.add_space_prefix")).toBe(false);
    expect(get(tokenizerToGguf(files, { vocabSize: 264, preOverride: "qwen2" }), "tokenizer.ggml.add_space_prefix")).toBeUndefined(); // Qwen2's class
    expect(get(tokenizerToGguf(files, { vocabSize: 32016, preOverride: "llama-bpe", llamaVocab: true }), "tokenizer.ggml.eot_token_id")).toBe(32010);
    expect(get(tokenizerToGguf(files, { vocabSize: 49152, preOverride: "llama-bpe", llamaVocab: true }), "tokenizer.ggml.add_bos_token")).toBe(false);
    expect(get(llama, "tokenizer.ggml.add_bos_token")).toBe(true);
  });

  it("encodes spaces inside array-form merge parts as U+0120, as gguf-py does", () => {
    const j = JSON.parse(byteLevelJson(true)) as { model: { merges: string[][]; vocab: Record<string, number> } };
    j.model.merges.push(["a b", "c"]);
    const kv = tokenizerToGguf({ tokenizerJson: JSON.stringify(j) }, { vocabSize: 260, preOverride: "gpt-2" });
    expect((get(kv, "tokenizer.ggml.merges") as string[]).at(-1)).toBe("a\u0120b c");
  });
});
