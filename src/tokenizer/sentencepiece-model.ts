// SentencePiece `tokenizer.model` (protobuf ModelProto, sentencepiece_model.proto) read and write:
// the pieces (piece, score, type) and the trainer/normalizer fields GGUF conversion and our tiny
// test tokenizer need. Fields we do not model are kept as raw bytes and written back (after the
// known ones), so nothing is lost, though field order may change. Not a tokenizer: encoding text
// is @huggingface/tokenizers' or llama.cpp's job.

import { FormatError } from "../errors.js";
import { LIMITS, TOKENIZER_LIMITS } from "../limits.js";
import { ProtoReader, ProtoWriter, WireType } from "./protobuf-wire.js";

/** ModelProto.SentencePiece.Type (6 = BYTE, used with byte_fallback). Same numbers as GGUF's. */
export const PieceType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

/** TrainerSpec.ModelType */
export const SpmModelType = { unigram: 1, bpe: 2, word: 3, char: 4 } as const;

export interface SentencePiece {
  piece: string;
  score: number;
  type: PieceType;
}

/** The TrainerSpec fields dusk reads; proto2 defaults apply when a field is absent. */
export interface TrainerSpec {
  modelType: number;
  vocabSize?: number;
  byteFallback: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece?: string;
  bosPiece?: string;
  eosPiece?: string;
  padPiece?: string;
  /** encoded fields not modelled above, in file order */
  unknownFields: Uint8Array[];
}

export interface NormalizerSpec {
  name?: string;
  precompiledCharsmap?: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  unknownFields: Uint8Array[];
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  unknownFields: Uint8Array[];
}

export function defaultTrainerSpec(): TrainerSpec {
  return { modelType: SpmModelType.unigram, byteFallback: false, unkId: 0, bosId: 1, eosId: 2, padId: -1, unknownFields: [] };
}

export function defaultNormalizerSpec(): NormalizerSpec {
  return { addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true, unknownFields: [] };
}

const PIECE_TYPES = new Set<number>(Object.values(PieceType));

function parsePiece(r: ProtoReader, index: number): SentencePiece {
  const field = `pieces[${index}]`;
  let piece: string | undefined;
  let score = 0;
  let type: PieceType = PieceType.normal;
  while (!r.done) {
    const t = r.tag();
    if (t.field === 1) {
      r.expectWire(t, WireType.bytes, `${field}.piece`);
      piece = r.string(`${field}.piece`, TOKENIZER_LIMITS.pieceBytes);
    } else if (t.field === 2) {
      r.expectWire(t, WireType.fixed32, `${field}.score`);
      score = r.float32(`${field}.score`);
    } else if (t.field === 3) {
      r.expectWire(t, WireType.varint, `${field}.type`);
      const v = r.varint(`${field}.type`);
      if (!PIECE_TYPES.has(v)) r.fail("unknown piece type", `${field}.type`, "1..6", `${v}`, t.at);
      type = v as PieceType;
    } else {
      r.skip(t, `${field}.#${t.field}`); // extensions: not used by any model we read
    }
  }
  if (piece === undefined || piece.length === 0) r.fail("piece without text", `${field}.piece`, "a non-empty string", "none", 0);
  return { piece, score, type };
}

function parseTrainerSpec(r: ProtoReader): TrainerSpec {
  const s = defaultTrainerSpec();
  const strField = (name: string) => r.string(`trainer_spec.${name}`, TOKENIZER_LIMITS.pieceBytes);
  while (!r.done) {
    const t = r.tag();
    const known: Record<number, () => void> = {
      3: () => (s.modelType = r.varint("trainer_spec.model_type")),
      4: () => (s.vocabSize = r.int32("trainer_spec.vocab_size")),
      35: () => (s.byteFallback = r.bool("trainer_spec.byte_fallback")),
      40: () => (s.unkId = r.int32("trainer_spec.unk_id")),
      41: () => (s.bosId = r.int32("trainer_spec.bos_id")),
      42: () => (s.eosId = r.int32("trainer_spec.eos_id")),
      43: () => (s.padId = r.int32("trainer_spec.pad_id")),
      45: () => (s.unkPiece = strField("unk_piece")),
      46: () => (s.bosPiece = strField("bos_piece")),
      47: () => (s.eosPiece = strField("eos_piece")),
      48: () => (s.padPiece = strField("pad_piece")),
    };
    const read = known[t.field];
    const wantBytes = t.field >= 45 && t.field <= 48;
    if (read !== undefined && t.wire === (wantBytes ? WireType.bytes : WireType.varint)) read();
    else {
      r.skip(t, `trainer_spec.#${t.field}`);
      s.unknownFields.push(r.bytes.slice(t.at, r.pos));
    }
  }
  return s;
}

function parseNormalizerSpec(r: ProtoReader, name: string): NormalizerSpec {
  const s = defaultNormalizerSpec();
  while (!r.done) {
    const t = r.tag();
    if (t.field === 1 && t.wire === WireType.bytes) s.name = r.string(`${name}.name`, TOKENIZER_LIMITS.pieceBytes);
    else if (t.field === 2 && t.wire === WireType.bytes)
      s.precompiledCharsmap = r.lengthDelimited(`${name}.precompiled_charsmap`, TOKENIZER_LIMITS.sentencePieceModelBytes).slice();
    else if (t.field === 3 && t.wire === WireType.varint) s.addDummyPrefix = r.bool(`${name}.add_dummy_prefix`);
    else if (t.field === 4 && t.wire === WireType.varint) s.removeExtraWhitespaces = r.bool(`${name}.remove_extra_whitespaces`);
    else if (t.field === 5 && t.wire === WireType.varint) s.escapeWhitespaces = r.bool(`${name}.escape_whitespaces`);
    else {
      r.skip(t, `${name}.#${t.field}`);
      s.unknownFields.push(r.bytes.slice(t.at, r.pos));
    }
  }
  return s;
}

/** Parses a tokenizer.model. `file` names it in errors. */
export function parseSentencePieceModel(bytes: Uint8Array, file = "tokenizer.model"): SentencePieceModel {
  if (bytes.length === 0) {
    throw new FormatError("SPM_EMPTY", "empty SentencePiece model", { file, offset: 0, hint: "re-download tokenizer.model" });
  }
  if (bytes.length > TOKENIZER_LIMITS.sentencePieceModelBytes) {
    throw new FormatError("SPM_TOO_LARGE", "SentencePiece model too large", {
      file,
      expected: `≤ ${TOKENIZER_LIMITS.sentencePieceModelBytes} bytes`,
      actual: `${bytes.length}`,
    });
  }
  const r = new ProtoReader(bytes, file);
  const model: SentencePieceModel = { pieces: [], trainerSpec: defaultTrainerSpec(), normalizerSpec: defaultNormalizerSpec(), unknownFields: [] };
  while (!r.done) {
    const t = r.tag();
    if (t.field === 1) {
      r.expectWire(t, WireType.bytes, `pieces[${model.pieces.length}]`);
      if (model.pieces.length >= TOKENIZER_LIMITS.vocabSize) {
        r.fail("too many pieces", "pieces", `≤ ${TOKENIZER_LIMITS.vocabSize}`, "more", t.at);
      }
      const body = r.lengthDelimited(`pieces[${model.pieces.length}]`, LIMITS.ggufStringBytes);
      model.pieces.push(parsePiece(new ProtoReader(body, file, r.pos - body.length), model.pieces.length));
    } else if (t.field === 2 || t.field === 3) {
      const name = t.field === 2 ? "trainer_spec" : "normalizer_spec";
      r.expectWire(t, WireType.bytes, name);
      const body = r.lengthDelimited(name, bytes.length);
      const sub = new ProtoReader(body, file, r.pos - body.length);
      if (t.field === 2) model.trainerSpec = parseTrainerSpec(sub);
      else model.normalizerSpec = parseNormalizerSpec(sub, name);
    } else {
      r.skip(t, `#${t.field}`);
      model.unknownFields.push(bytes.slice(t.at, r.pos));
    }
  }
  if (model.pieces.length === 0) {
    throw new FormatError("SPM_NO_PIECES", "SentencePiece model has no pieces", {
      file,
      field: "pieces",
      hint: "this is not a SentencePiece tokenizer.model (or it is truncated)",
    });
  }
  return model;
}

/** Serialises a model: pieces, trainer_spec, normalizer_spec, then preserved unknown fields. */
export function serializeSentencePieceModel(m: SentencePieceModel): Uint8Array {
  const w = new ProtoWriter();
  for (const p of m.pieces) {
    const pw = new ProtoWriter().string(1, p.piece).float32(2, p.score);
    if (p.type !== PieceType.normal) pw.uint(3, p.type); // proto2 default NORMAL is left implicit
    w.bytes(1, pw.finish());
  }
  const ts = m.trainerSpec;
  const tw = new ProtoWriter().uint(3, ts.modelType);
  if (ts.vocabSize !== undefined) tw.int32(4, ts.vocabSize);
  tw.bool(35, ts.byteFallback).int32(40, ts.unkId).int32(41, ts.bosId).int32(42, ts.eosId).int32(43, ts.padId);
  if (ts.unkPiece !== undefined) tw.string(45, ts.unkPiece);
  if (ts.bosPiece !== undefined) tw.string(46, ts.bosPiece);
  if (ts.eosPiece !== undefined) tw.string(47, ts.eosPiece);
  if (ts.padPiece !== undefined) tw.string(48, ts.padPiece);
  for (const u of ts.unknownFields) tw.raw(u);
  w.bytes(2, tw.finish());
  const ns = m.normalizerSpec;
  const nw = new ProtoWriter();
  if (ns.name !== undefined) nw.string(1, ns.name);
  if (ns.precompiledCharsmap !== undefined) nw.bytes(2, ns.precompiledCharsmap);
  nw.bool(3, ns.addDummyPrefix).bool(4, ns.removeExtraWhitespaces).bool(5, ns.escapeWhitespaces);
  for (const u of ns.unknownFields) nw.raw(u);
  w.bytes(3, nw.finish());
  for (const u of m.unknownFields) w.raw(u);
  return w.finish();
}
