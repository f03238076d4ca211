// Tokenizers for dusk: SentencePiece tokenizer.model read/write, HF tokenizer.json reading and
// classification, GGUF tokenizer metadata as llama.cpp's converter writes it, and the tiny
// deterministic tokenizer of the generated test models.

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
export { tokenizerGgufKv, tokenizerKvToGguf } from "./gguf-kv.js";
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

export { buildTinyByteBpe } from "./tiny-byte-bpe.js";
export { fastSpmBpeEncoder } from "./fast-spm-bpe.js";
export { spmTokenizer, type SpmTokenizer } from "./spm-tokenizer.js";
export { textTokenizerFromFiles, tokenizerFilesByName, TOKENIZER_SIDE_FILES, type TextTokenizer, type TextTokenizerOptions } from "./text-tokenizer.js";
export { loadTextTokenizer, readTokenizerFiles } from "./load-text-tokenizer.js";
export { hfTokenizerFromGguf, spmMerges } from "./gguf-to-hf.js";
