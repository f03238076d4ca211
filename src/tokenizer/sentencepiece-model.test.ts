import { describe, expect, it } from "vitest";
import { FormatError } from "../errors.js";
import { parseSentencePieceModel, PieceType, serializeSentencePieceModel } from "./sentencepiece-model.js";

// A hand-encoded ModelProto: two pieces, a trainer_spec and a normalizer_spec, plus an unknown
// top-level field 9 (varint 7) that must survive a round trip.
const HAND = new Uint8Array([
  // pieces { piece: "<unk>" score: 0 type: UNKNOWN }
  0x0a, 0x0e, 0x0a, 0x05, 0x3c, 0x75, 0x6e, 0x6b, 0x3e, 0x15, 0x00, 0x00, 0x00, 0x00, 0x18, 0x02,
  // pieces { piece: "▁a" (e2 96 81 61) score: -1.5 }   -1.5f = 0xbfc00000
  0x0a, 0x0b, 0x0a, 0x04, 0xe2, 0x96, 0x81, 0x61, 0x15, 0x00, 0x00, 0xc0, 0xbf,
  // trainer_spec { model_type: BPE(2) byte_fallback(35): true pad_id(43): -1 }
  0x12, 0x11, 0x18, 0x02, 0x98, 0x02, 0x01, 0xd8, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
  // normalizer_spec { name: "identity" add_dummy_prefix: false }
  0x1a, 0x0c, 0x0a, 0x08, 0x69, 0x64, 0x65, 0x6e, 0x74, 0x69, 0x74, 0x79, 0x18, 0x00,
  // unknown field 9, varint 7
  0x48, 0x07,
]);

describe("parseSentencePieceModel", () => {
  it("reads a hand-encoded model", () => {
    const m = parseSentencePieceModel(HAND);
    expect(m.pieces).toEqual([
      { piece: "<unk>", score: 0, type: PieceType.unknown },
      { piece: "\u2581a", score: -1.5, type: PieceType.normal },
    ]);
    expect(m.trainerSpec).toMatchObject({ modelType: 2, byteFallback: true, padId: -1, unkId: 0, bosId: 1, eosId: 2 });
    expect(m.normalizerSpec).toMatchObject({ name: "identity", addDummyPrefix: false, removeExtraWhitespaces: true, escapeWhitespaces: true });
    expect(m.unknownFields).toEqual([new Uint8Array([0x48, 0x07])]);
  });

  it("round-trips: parse(serialize(m)) equals m and re-serialising is byte-identical", () => {
    const m = parseSentencePieceModel(HAND);
    const bytes = serializeSentencePieceModel(m);
    const again = parseSentencePieceModel(bytes);
    expect(again).toEqual(m);
    expect(serializeSentencePieceModel(again)).toEqual(bytes);
  });

  it("names the offset and field of bad input", () => {
    const pastEnd = HAND.slice(0, 10);
    expect(() => parseSentencePieceModel(pastEnd, "m.model")).toThrow(/m\.model, pieces\[0\], offset 1: length past the end/);
    const badUtf8 = HAND.slice();
    badUtf8[4] = 0xff;
    expect(() => parseSentencePieceModel(badUtf8)).toThrow(/pieces\[0\]\.piece, offset 3: string is not valid UTF-8/);
    const badType = HAND.slice();
    badType[15] = 9;
    expect(() => parseSentencePieceModel(badType)).toThrow(/unknown piece type/);
    expect(() => parseSentencePieceModel(new Uint8Array([0x0f]))).toThrow(/unsupported wire type|wrong wire type/);
    expect(() => parseSentencePieceModel(new Uint8Array(0))).toThrow(FormatError);
    expect(() => parseSentencePieceModel(new Uint8Array([0x48, 0x07]))).toThrow(/no pieces/);
    expect(() => parseSentencePieceModel(new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(FormatError);
  });

  it("every truncation and every single-byte corruption either parses or throws a FormatError", () => {
    for (let n = 0; n < HAND.length; n++) {
      try {
        parseSentencePieceModel(HAND.subarray(0, n));
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
      }
    }
    for (let i = 0; i < HAND.length; i++) {
      for (const v of [0x00, 0x7f, 0x80, 0xff, HAND[i]! ^ 0x08]) {
        const b = HAND.slice();
        b[i] = v;
        try {
          parseSentencePieceModel(b);
        } catch (e) {
          expect(e).toBeInstanceOf(FormatError);
        }
      }
    }
  });
});
