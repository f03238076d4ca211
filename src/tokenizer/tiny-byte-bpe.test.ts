import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { beforeAll, describe, expect, it } from "vitest";
import { FormatError, PlanError } from "../errors.js";
import { defaultCorpus, fullCorpus } from "../fixtures/corpus.js";
import { tokenizerToGguf, TokenType, type GgufTokenizerKv } from "./gguf-tokenizer.js";
import { buildTinyByteBpe, gpt2ByteSymbols, QWEN2_PRETOKENIZE_REGEX, QWEN2_SPECIALS, type TinyByteBpeFiles } from "./tiny-byte-bpe.js";
import { parseTokenizerJson } from "./tokenizer-json.js";

const SHAKESPEARE = fullCorpus();
const HELD_OUT = SHAKESPEARE.slice(600_000, 620_000);
const TRICKY = ["I don't know, I'll go -- 'TIS 1603!!", "  two  spaces\n\n\ttab", "Café déjà vu, 日本語 🙂 😶‍🌫️"];

/**
 * An independent byte-level BPE encoder: split with llama.cpp's spelling of the Qwen2 regex, map
 * UTF-8 bytes through GPT-2's table, then merge the lowest-ranked adjacent pair (leftmost on ties).
 */
function referenceEncode(text: string, t: TinyByteBpeFiles): number[] {
  const split = /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;
  const byteChar = new Map(gpt2ByteSymbols());
  const rank = new Map(t.merges.map(([a, b], i) => [`${a} ${b}`, i] as const));
  const id = new Map(t.tokens.map((s, i) => [s, i] as const));
  const out: number[] = [];
  for (const m of text.normalize("NFC").matchAll(split)) {
    const syms = Array.from(new TextEncoder().encode(m[0]), (b) => byteChar.get(b)!);
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < syms.length; i++) {
        const r = rank.get(`${syms[i]} ${syms[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          best = i;
          bestRank = r;
        }
      }
      if (best < 0) break;
      syms.splice(best, 2, syms[best]! + syms[best + 1]!);
    }
    for (const s of syms) out.push(id.get(s)!);
  }
  return out;
}

function kvValue(list: GgufTokenizerKv[], key: string): unknown {
  return list.find((e) => e.key === key)?.value;
}

let tok: TinyByteBpeFiles;
let hf: Tokenizer;

beforeAll(() => {
  tok = buildTinyByteBpe(defaultCorpus(), { merges: 400 });
  hf = new Tokenizer(JSON.parse(tok.tokenizerJson), JSON.parse(tok.tokenizerConfig));
});

describe("gpt2ByteSymbols", () => {
  it("maps the 256 bytes to 256 distinct printable characters, in GPT-2's vocabulary order", () => {
    const symbols = gpt2ByteSymbols();
    expect(new Set(symbols.map(([b]) => b)).size).toBe(256);
    expect(new Set(symbols.map(([, c]) => c)).size).toBe(256);
    expect(symbols[0]).toEqual([0x21, "!"]);
    const map = new Map(symbols);
    expect(map.get(0x20)).toBe("\u0120"); // "Ġ"
    expect(map.get(0x0a)).toBe("\u010a"); // "Ċ"
    for (const [, c] of symbols) expect(c).toMatch(/^[^\s\p{Cc}]$/u);
  });
});

describe("buildTinyByteBpe", () => {
  it("emits Qwen2's tokenizer.json shape, classified as byte-level BPE", () => {
    const j = JSON.parse(tok.tokenizerJson);
    expect(j.normalizer).toEqual({ type: "NFC" });
    expect(j.pre_tokenizer.type).toBe("Sequence");
    expect(j.pre_tokenizer.pretokenizers[0]).toEqual({ type: "Split", pattern: { Regex: QWEN2_PRETOKENIZE_REGEX }, behavior: "Isolated", invert: false });
    expect(j.pre_tokenizer.pretokenizers[1]).toEqual({ type: "ByteLevel", add_prefix_space: false, trim_offsets: false, use_regex: false });
    expect(j.decoder.type).toBe("ByteLevel");
    expect(j.model).toMatchObject({ type: "BPE", byte_fallback: false, ignore_merges: false, unk_token: null });
    expect(j.added_tokens.map((a: { content: string; special: boolean }) => [a.content, a.special])).toEqual([
      [QWEN2_SPECIALS.endOfText, true], [QWEN2_SPECIALS.imStart, true], [QWEN2_SPECIALS.imEnd, true],
    ]);
    expect(parseTokenizerJson(tok.tokenizerJson).kind).toBe("byte-level-bpe");
    const cfg = JSON.parse(tok.tokenizerConfig);
    expect(cfg).toMatchObject({ bos_token: null, eos_token: QWEN2_SPECIALS.imEnd, pad_token: QWEN2_SPECIALS.endOfText, tokenizer_class: "Qwen2Tokenizer" });
    expect("add_bos_token" in cfg).toBe(false);
  });

  it("lays ids out as bytes, merged pieces, specials; every merge joins earlier tokens", () => {
    expect(tok.merges.length).toBe(400);
    expect(tok.tokens.length).toBe(new Set(tok.tokens).size);
    expect(tok.specialIds).toEqual({ endOfText: tok.tokens.length - 3, imStart: tok.tokens.length - 2, imEnd: tok.tokens.length - 1 });
    const idOf = new Map(tok.tokens.map((t, i) => [t, i] as const));
    for (const [a, b] of tok.merges) {
      expect(idOf.get(a)! < idOf.get(a + b)! && idOf.get(b)! < idOf.get(a + b)!, `${a} ${b}`).toBe(true);
    }
  });

  it("is deterministic", () => {
    expect(buildTinyByteBpe(defaultCorpus(), { merges: 400 }).tokenizerJson).toBe(tok.tokenizerJson);
  });

  it("@huggingface/tokenizers encodes like an independent BPE, round-trips, and compresses held-out text", () => {
    for (const s of [...HELD_OUT.split("\n\n").slice(0, 40), ...TRICKY]) {
      const ids = hf.encode(s, { add_special_tokens: false }).ids;
      expect(ids, JSON.stringify(s)).toEqual(referenceEncode(s, tok));
      expect(hf.decode(ids)).toBe(s);
    }
    const n = hf.encode(HELD_OUT, { add_special_tokens: false }).ids.length;
    expect(new TextEncoder().encode(HELD_OUT).length / n).toBeGreaterThan(2);
    expect(hf.encode(`a${QWEN2_SPECIALS.imEnd}`, { add_special_tokens: false }).ids.at(-1)).toBe(tok.specialIds.imEnd);
  });

  it("learns multi-digit pieces only when asked to (digitRuns)", () => {
    const numbers = Array.from({ length: 300 }, (_, i) => `line ${1600 + (i % 20)}`).join("\n");
    const digitMerges = (t: TinyByteBpeFiles) => t.merges.filter(([a, b]) => /^\d+$/.test(a + b)).length;
    expect(digitMerges(buildTinyByteBpe(numbers, { merges: 20 }))).toBe(0);
    expect(digitMerges(buildTinyByteBpe(numbers, { merges: 20, digitRuns: true }))).toBeGreaterThan(0);
  });

  it("renders Qwen2's ChatML template with the default system turn", () => {
    const template = new Template(JSON.parse(tok.tokenizerConfig).chat_template);
    const text = template.render({ messages: [{ role: "user", content: "hi" }], add_generation_prompt: true });
    expect(text).toBe("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n");
  });

  it("refuses a merge count out of range", () => {
    expect(() => buildTinyByteBpe("abc", { merges: -1 })).toThrow(PlanError);
    expect(() => buildTinyByteBpe("abc", { merges: 1e9 })).toThrow(PlanError);
  });
});

describe("GGUF tokenizer metadata of the tiny byte-level BPE", () => {
  it("an unknown probe hash is refused, naming the --pre override", () => {
    const files = { tokenizerJson: tok.tokenizerJson, tokenizerConfig: tok.tokenizerConfig };
    let err: unknown;
    try {
      tokenizerToGguf(files, { vocabSize: tok.tokens.length });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    expect((err as FormatError).code).toBe("PRE_TOKENIZER_UNKNOWN");
    expect((err as FormatError).hint).toContain("--pre qwen2");
  });

  it("with pre qwen2: gpt2 model, specials as control tokens, eos <|im_end|>, BOS id from config.json, merges in rank order", () => {
    const configJson = JSON.stringify({ bos_token_id: tok.specialIds.endOfText, eos_token_id: tok.specialIds.imEnd });
    const kv = tokenizerToGguf({ tokenizerJson: tok.tokenizerJson, tokenizerConfig: tok.tokenizerConfig, configJson }, { vocabSize: tok.tokens.length, preOverride: "qwen2" });
    expect(kvValue(kv, "tokenizer.ggml.model")).toBe("gpt2");
    expect(kvValue(kv, "tokenizer.ggml.pre")).toBe("qwen2");
    expect(kvValue(kv, "tokenizer.ggml.tokens")).toEqual(tok.tokens);
    const types = kvValue(kv, "tokenizer.ggml.token_type") as number[];
    expect(types.slice(-3)).toEqual([TokenType.control, TokenType.control, TokenType.control]);
    expect(types.slice(0, -3).every((t) => t === TokenType.normal)).toBe(true);
    expect(kvValue(kv, "tokenizer.ggml.merges")).toEqual(tok.merges.map(([a, b]) => `${a} ${b}`));
    expect(kvValue(kv, "tokenizer.ggml.eos_token_id")).toBe(tok.specialIds.imEnd);
    expect(kvValue(kv, "tokenizer.ggml.padding_token_id")).toBe(tok.specialIds.endOfText);
    expect(kvValue(kv, "tokenizer.ggml.bos_token_id")).toBe(tok.specialIds.endOfText);
    expect(kv.some((e) => e.key === "tokenizer.ggml.add_bos_token")).toBe(false);
    expect(kvValue(kv, "tokenizer.chat_template")).toBe(JSON.parse(tok.tokenizerConfig).chat_template);
  });
});
