// Tokenizers for dusk: SentencePiece tokenizer.model read/write, HF tokenizer.json reading and
// classification, GGUF tokenizer metadata as llama.cpp's converter writes it, and the tiny
// deterministic tokenizer of the generated test models.

import { ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { tokenizerToGguf, type FamilyVocab, type GgufTokenizerKv, type TokenizerFiles } from "./gguf-tokenizer.js";

export {
  preTokenizerHash,
  preTokenizerNameForHash,
  tokenizerToGguf,
  TokenType,
  type FamilyVocab,
  type GgufTokenizerKv,
  type TokenizerFiles,
  type TokenizerToGgufOptions,
} from "./gguf-tokenizer.js";
export { KNOWN_PRE_TOKENIZER_HASHES, PRE_TOKENIZER_PROBE } from "./pre-tokenizer-hashes.js";
export {
  defaultNormalizerSpec,
  defaultTrainerSpec,
  parseSentencePieceModel,
  PieceType,
  serializeSentencePieceModel,
  SpmModelType,
  type NormalizerSpec,
  type SentencePiece,
  type SentencePieceModel,
  type TrainerSpec,
} from "./sentencepiece-model.js";
export { sanitizeTemplateName, type NamedChatTemplate } from "./special-vocab.js";
export { classifyTokenizer, parseTokenizerJson, type HfAddedToken, type HfTokenizerJson, type HfTokenizerKind } from "./tokenizer-json.js";
export { bytePieceName, escapeSpm, SPM_SPACE, TINY_SPECIALS, trainTinyBpe, type TinyBpeOptions, type TinyBpeVocab } from "./tiny-bpe-trainer.js";
export { buildTinyTokenizer, spmTokenizerFiles, TINY_CHAT_TEMPLATE, type TinyTokenizerFiles } from "./tiny-tokenizer.js";

/** A typed KV list as GGUF values (u32 ids, f32 scores, i32 token types), in order. */
export function tokenizerKvToGguf(list: readonly GgufTokenizerKv[]): GgufKv {
  const kv: GgufKv = new Map();
  for (const e of list) {
    switch (e.kind) {
      case "string":
        kv.set(e.key, ggufValue.string(e.value));
        break;
      case "u32":
        kv.set(e.key, ggufValue.u32(e.value));
        break;
      case "bool":
        kv.set(e.key, ggufValue.bool(e.value));
        break;
      case "f32":
        kv.set(e.key, ggufValue.f32(e.value));
        break;
      case "string[]":
        kv.set(e.key, ggufValue.stringArray(e.value));
        break;
      case "f32[]":
        kv.set(e.key, ggufValue.f32Array(e.value));
        break;
      case "i32[]":
        kv.set(e.key, ggufValue.i32Array(e.value));
        break;
    }
  }
  return kv;
}

/** tokenizerToGguf as a GgufKv map (the shape src/convert's writer takes); `pre` = --pre NAME. */
export function tokenizerGgufKv(files: TokenizerFiles, opts: { vocabSize: number; pre?: string; llamaVocab?: boolean; family?: FamilyVocab }): GgufKv {
  return tokenizerKvToGguf(tokenizerToGguf(files, {
    vocabSize: opts.vocabSize, llamaVocab: opts.llamaVocab ?? false, ...(opts.pre === undefined ? {} : { preOverride: opts.pre }), ...(opts.family ? { family: opts.family } : {}),
  }));
}
export { buildTinyByteBpe } from "./tiny-byte-bpe.js";
export { hfTokenizerFromGguf, spmMerges } from "./gguf-to-hf.js";
