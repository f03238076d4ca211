// A GGUF's SentencePiece ("llama") tokenizer back as HF files (tokenizer.model, tokenizer.json,
// tokenizer_config.json, special_tokens_map.json), for healing a GGUF into an HF checkpoint.
// Merges are derived from the pieces as transformers' SentencePieceExtractor derives them. Only
// the Llama-2/Mistral layout (<unk> <s> </s> at 0, 1, 2, byte fallback) is taken; others are refused.

import { FormatError } from "../errors.js";
import { ggufGetBool, ggufGetNumber, ggufGetNumberArray, ggufGetString, ggufGetStringArray, type GgufKv } from "../formats/gguf-value.js";
import { PieceType, type SentencePiece } from "./sentencepiece-model.js";
import { spmTokenizerFiles, type TinyTokenizerFiles } from "./tiny-tokenizer.js";

/** Every split of a piece into two pieces, ordered by the merged piece's score (then ids). */
export function spmMerges(pieces: readonly SentencePiece[]): [string, string][] {
  const ids = new Map(pieces.map((p, i) => [p.piece, i] as const));
  const merges: { l: string; r: string; score: number; li: number; ri: number }[] = [];
  for (const p of pieces) {
    if (p.type !== PieceType.normal && p.type !== PieceType.userDefined) continue;
    const cps = Array.from(p.piece);
    let left = "";
    for (let k = 1; k < cps.length; k++) {
      left += cps[k - 1]!;
      const right = p.piece.slice(left.length);
      const li = ids.get(left);
      const ri = ids.get(right);
      if (li !== undefined && ri !== undefined) merges.push({ l: left, r: right, score: p.score, li, ri });
    }
  }
  merges.sort((a, b) => b.score - a.score || a.li - b.li || a.ri - b.ri);
  return merges.map((m) => [m.l, m.r]);
}

/** The HF tokenizer files of a GGUF whose tokenizer.ggml.model is "llama". */
export function hfTokenizerFromGguf(kv: GgufKv, file: string): TinyTokenizerFiles {
  const model = ggufGetString(kv, "tokenizer.ggml.model", file);
  const refuse = (what: string): never => {
    throw new FormatError("GGUF_TOKENIZER_UNSUPPORTED", `the tokenizer cannot be written back as HF files: ${what}`, {
      file, hint: "heal the HF checkpoint this GGUF was converted from (it has the original tokenizer files)",
    });
  };
  if (model !== "llama") refuse(`tokenizer.ggml.model is ${JSON.stringify(model ?? "missing")}, and only SentencePiece ("llama") vocabularies are converted back`);
  const tokens = ggufGetStringArray(kv, "tokenizer.ggml.tokens", file) ?? refuse("tokenizer.ggml.tokens is missing");
  const scores = ggufGetNumberArray(kv, "tokenizer.ggml.scores", file) ?? refuse("tokenizer.ggml.scores is missing");
  const types = ggufGetNumberArray(kv, "tokenizer.ggml.token_type", file) ?? refuse("tokenizer.ggml.token_type is missing");
  if (scores.length !== tokens.length || types.length !== tokens.length) refuse("tokens, scores and token types differ in length");
  const specials = ["unknown_token_id", "bos_token_id", "eos_token_id"].map((k) => ggufGetNumber(kv, `tokenizer.ggml.${k}`, file));
  if (specials[0] !== 0 || specials[1] !== 1 || specials[2] !== 2) refuse(`<unk>, <s>, </s> are at ids ${specials.map((s) => s ?? "?").join(", ")}, not 0, 1, 2`);
  if (ggufGetBool(kv, "tokenizer.ggml.add_space_prefix", file) === false) refuse("add_space_prefix is false");
  // llama.cpp's converter marks the specials listed in tokenizer_config.json as CONTROL with score
  // −1000; tokenizer.model had <unk> as UNKNOWN and all three at score 0, as SentencePiece writes them
  const pieces: SentencePiece[] = tokens.map((piece, i) => ({
    piece,
    score: i <= 2 && scores[i] === -1000 ? 0 : scores[i]!,
    type: i === 0 ? PieceType.unknown : (types[i]! as PieceType),
  }));
  const chatTemplate = ggufGetString(kv, "tokenizer.chat_template", file);
  return spmTokenizerFiles(pieces, spmMerges(pieces), chatTemplate === undefined ? {} : { chatTemplate });
}
