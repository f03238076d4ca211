import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { beforeAll, describe, expect, it } from "vitest";
import { parseSentencePieceModel, PieceType, serializeSentencePieceModel } from "./sentencepiece-model.js";
import { buildTinyTokenizer, type TinyTokenizerFiles } from "./tiny-tokenizer.js";
import { fullCorpus } from "../fixtures/corpus.js";

const SHAKESPEARE = fullCorpus();

/**
 * An independent score-priority SentencePiece BPE, as llama.cpp's llm_tokenizer_spm does it:
 * "▁" prefix and spaces → "▁", split into characters, repeatedly merge the adjacent pair whose
 * concatenation is a piece with the highest score (leftmost on ties), then map symbols to ids,
 * falling back to <0xXX> byte pieces for symbols that are not pieces.
 */
function spmEncode(text: string, pieceId: Map<string, number>, scores: number[]): number[] {
  if (text.length === 0) return []; // llama.cpp makes no fragment of empty text, so no "▁" either
  const syms = Array.from("\u2581" + text.replaceAll(" ", "\u2581"));
  for (;;) {
    let best = -1;
    let bestScore = -Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const id = pieceId.get(syms[i]! + syms[i + 1]!);
      if (id !== undefined && scores[id]! > bestScore) {
        best = i;
        bestScore = scores[id]!;
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best]! + syms[best + 1]!);
  }
  const ids: number[] = [];
  for (const s of syms) {
    const id = pieceId.get(s);
    if (id !== undefined) ids.push(id);
    else for (const b of new TextEncoder().encode(s)) ids.push(pieceId.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`)!);
  }
  return ids;
}

describe("tiny tokenizer", () => {
  let files: TinyTokenizerFiles;
  let hf: Tokenizer;
  beforeAll(() => {
    files = buildTinyTokenizer(SHAKESPEARE);
    hf = new Tokenizer(JSON.parse(files.tokenizerJson), JSON.parse(files.tokenizerConfig));
  });

  it("has the Llama-2 layout: <unk> <s> </s>, 256 byte pieces, then pieces by descending score", () => {
    const p = files.pieces;
    expect(p.length).toBe(512);
    expect(p.slice(0, 3).map((x) => [x.piece, x.type])).toEqual([
      ["<unk>", PieceType.unknown],
      ["<s>", PieceType.control],
      ["</s>", PieceType.control],
    ]);
    expect(p[3 + 0x0a]).toEqual({ piece: "<0x0A>", score: 0, type: PieceType.byte });
    for (let i = 260; i < p.length; i++) expect(p[i]!.score).toBeLessThan(p[i - 1]!.score);
    expect(p.some((x) => x.piece === "\u2581")).toBe(true);
  });

  it("merges and pieces agree: each merge makes its piece, each piece has exactly one split", () => {
    const all = new Set(files.pieces.map((x) => x.piece));
    const made = new Set<string>();
    files.merges.forEach(([a, b], i) => {
      expect(all.has(a) && all.has(b)).toBe(true);
      expect(files.pieces[259 + i]!.piece).toBe(a + b);
      made.add(a + b);
    });
    for (const { piece, type } of files.pieces) {
      if (type !== PieceType.normal) continue;
      const cps = Array.from(piece);
      let splits = 0;
      for (let k = 1; k < cps.length; k++) {
        const left = cps.slice(0, k).join("");
        if (all.has(left) && all.has(piece.slice(left.length))) splits++;
      }
      expect(splits).toBe(cps.length > 1 ? 1 : 0);
      expect(made.has(piece)).toBe(cps.length > 1);
    }
  });

  it("tokenizer.model round-trips through the protobuf reader, byte for byte", () => {
    const m = parseSentencePieceModel(files.tokenizerModel);
    expect(m.pieces).toEqual(files.pieces);
    expect(m.trainerSpec.byteFallback).toBe(true);
    expect(m.trainerSpec.modelType).toBe(2);
    expect(m.trainerSpec.padId).toBe(-1);
    expect(serializeSentencePieceModel(m)).toEqual(files.tokenizerModel);
  });

  it("@huggingface/tokenizers and a score-priority SPM BPE give the same ids on Shakespeare", () => {
    const pieceId = new Map(files.pieces.map((p, i) => [p.piece, i] as const));
    const scores = files.pieces.map((p) => p.score);
    const lines = SHAKESPEARE.split("\n").slice(5000, 5400);
    let tokens = 0;
    for (const line of lines) {
      const ids = hf.encode(line, { add_special_tokens: false }).ids;
      expect(ids).toEqual(spmEncode(line, pieceId, scores));
      tokens += ids.length;
    }
    // a multi-line passage with runs of spaces, a character outside the alphabet and UTF-8
    const passage = lines.slice(0, 40).join("\n") + "  \u00e9t\u00e9  —  done\n";
    expect(hf.encode(passage, { add_special_tokens: false }).ids).toEqual(spmEncode(passage, pieceId, scores));
    expect(tokens).toBeGreaterThan(1000);
  });

  it("adds <s>, decodes back to the original text, and compresses below 1 token per char", () => {
    const text = SHAKESPEARE.slice(20000, 24000);
    const enc = hf.encode(text);
    expect(enc.ids[0]).toBe(1);
    expect(hf.decode(enc.ids, { skip_special_tokens: true })).toBe(text);
    expect(hf.decode(hf.encode(" two  spaces\tand\nbytes ÿ").ids, { skip_special_tokens: true })).toBe(" two  spaces\tand\nbytes ÿ");
    expect(enc.ids.length / text.length).toBeLessThan(0.7);
  });

  it("ships a working chat template and special tokens", () => {
    const config = JSON.parse(files.tokenizerConfig) as Record<string, unknown>;
    expect(config.add_bos_token).toBe(true);
    expect(config.add_eos_token).toBe(false);
    const out = new Template(config.chat_template as string).render({
      messages: [
        { role: "user", content: "Speak." },
        { role: "assistant", content: "I will." },
      ],
      bos_token: "<s>",
      eos_token: "</s>",
    });
    expect(out).toBe("<s>[INST] Speak. [/INST]I will.</s>");
    expect(JSON.parse(files.specialTokensMap)).toMatchObject({ bos_token: { content: "<s>" }, eos_token: { content: "</s>" } });
  });

  it("is deterministic", () => {
    const a = buildTinyTokenizer(SHAKESPEARE.slice(0, 60000), { vocabSize: 400 });
    const b = buildTinyTokenizer(SHAKESPEARE.slice(0, 60000), { vocabSize: 400 });
    expect(a.tokenizerModel).toEqual(b.tokenizerModel);
    expect(a.tokenizerJson).toBe(b.tokenizerJson);
    expect(a.pieces.length).toBe(400);
  });

  it("refuses a vocabulary too small for the alphabet", () => {
    // alphabet a b c d e f ▁ → 259 + 7 = 266 pieces at least
    expect(() => buildTinyTokenizer("abc def", { vocabSize: 200 })).toThrow(expect.objectContaining({ code: "TINY_VOCAB_SIZE", hint: expect.stringContaining("at least 266") }));
  });
});
