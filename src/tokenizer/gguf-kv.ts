// The converter's typed tokenizer KV list (tokenizerToGguf) as GGUF values: what src/convert's
// writer takes, and what the SentencePiece tokenizer reads back (text-tokenizer.ts). No I/O here.

import { ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { tokenizerToGguf, type FamilyVocab, type GgufTokenizerKv, type TokenizerFiles } from "./gguf-tokenizer.js";

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
