// Token bytes from GGUF vocabularies, and UTF-8 unit ends against the WHATWG decoder (TextDecoder):
// text up to any unit end is final, whatever bytes follow.

import { describe, expect, it } from "vitest";
import { mulberry32 } from "../engine/index.js";
import { completeTokens, tokenBytesOf, unitEnds } from "./token-bytes.js";

describe("tokenBytesOf", () => {
  it("SentencePiece: <0xNN> byte tokens, ▁ as a space, nothing for control tokens", () => {
    const bytes = tokenBytesOf({ model: "llama", tokens: ["<unk>", "<s>", "<0xE6>", "\u2581the", "漢"], token_type: [2, 3, 6, 1, 1] })!;
    expect([...bytes(1)!]).toEqual([]);
    expect([...bytes(2)!]).toEqual([0xe6]);
    expect(new TextDecoder().decode(bytes(3))).toBe(" the");
    expect(new TextDecoder().decode(bytes(4))).toBe("漢");
    expect(bytes(9)).toBeUndefined();
  });

  it("byte-level BPE: the printable alphabet back to bytes, a piece of a character included", () => {
    const bytes = tokenBytesOf({ model: "gpt2", tokens: ["Ġthe", "æ¼", "¢", "<|im_end|>", "<tool>"], token_type: [1, 1, 1, 3, 4] })!;
    expect(new TextDecoder().decode(bytes(0))).toBe(" the");
    expect([...bytes(1)!]).toEqual([0xe6, 0xbc]);
    expect([...bytes(2)!]).toEqual([0xa2]);
    expect([...bytes(3)!]).toEqual([]);
    expect(new TextDecoder().decode(bytes(4))).toBe("<tool>");
  });

  it("other vocabularies are not read", () => {
    expect(tokenBytesOf({ model: "t5", tokens: ["a"] })).toBeUndefined();
    expect(tokenBytesOf(undefined)).toBeUndefined();
  });
});

describe("UTF-8 unit ends", () => {
  it("text decoded up to a unit end is a prefix of the whole text, on random bytes", () => {
    const rand = mulberry32(7);
    const pool = [0x41, 0x80, 0x9f, 0xa2, 0xbc, 0xbf, 0xc2, 0xc3, 0xe0, 0xe3, 0xe6, 0xed, 0xf0, 0xf4, 0xf5, 0xff];
    const dec = (b: Uint8Array) => new TextDecoder().decode(b);
    for (let n = 0; n < 3000; n++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(rand() * 9) }, () => pool[Math.floor(rand() * pool.length)]!);
      const whole = dec(bytes);
      const ends = unitEnds(bytes);
      for (const e of ends) expect(whole.startsWith(dec(bytes.subarray(0, e))), `${[...bytes]} at ${e}`).toBe(true);
      // what is left after the last end is a sequence that more bytes could still complete
      const last = Math.max(...ends);
      if (last < bytes.length) expect(dec(bytes.subarray(last))).toBe("\uFFFD");
    }
  });

  it("tokens are released up to the last one ending a character", () => {
    const b = (...x: number[]) => Uint8Array.from(x);
    // 漢 = E6 BC A2 split over tokens, a token straddling two characters, 字 = E5 AD 97
    expect(completeTokens([b(0xe6), b(0xbc)])).toBe(0);
    expect(completeTokens([b(0xe6), b(0xbc, 0xa2, 0xe5)])).toBe(0);
    expect(completeTokens([b(0xe6), b(0xbc, 0xa2, 0xe5), b(0xad, 0x97)])).toBe(3);
    expect(completeTokens([b(0x41), b(0xe6), b(0xbc)])).toBe(1);
    // a sequence broken by the next lead byte is final: one U+FFFD, released
    expect(completeTokens([b(0xe3), b(0x81), b(0xe5)])).toBe(2);
    expect(completeTokens([])).toBe(0);
  });
});
