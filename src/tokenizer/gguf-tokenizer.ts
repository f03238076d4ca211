// HF tokenizer files → GGUF `tokenizer.*` metadata, following llama.cpp's converter for Llama-family
// models: tokenizer.model → SentencePiece ("llama", _create_vocab_sentencepiece); else a Llama-2
// style tokenizer.json → "llama" (LlamaHfVocab); else byte-level BPE → "gpt2" with a pre-tokenizer
// name found by hashing the probe's token ids (get_vocab_base / get_vocab_base_pre). Output is a
// format-agnostic list of typed KVs; the GGUF writer emits them. No file or path access here.

import { createHash } from "node:crypto";
import { Tokenizer } from "@huggingface/tokenizers";
import { FormatError } from "../errors.js";
import { TOKENIZER_LIMITS } from "../limits.js";
import { KNOWN_PRE_TOKENIZER_HASHES, PRE_TOKENIZER_PROBE } from "./pre-tokenizer-hashes.js";
import { parseSentencePieceModel, PieceType } from "./sentencepiece-model.js";
import { specialVocabKv, type GgufTokenizerKv, type NamedChatTemplate } from "./special-vocab.js";
import { parseJsonFile, parseTokenizerJson, type HfTokenizerJson } from "./tokenizer-json.js";

export type { GgufTokenizerKv } from "./special-vocab.js";

export interface TokenizerFiles {
  tokenizerModel?: Uint8Array;
  tokenizerJson?: string;
  tokenizerConfig?: string;
  chatTemplateJinja?: string;
  /** additional_chat_templates/NAME.jinja beside chat_template.jinja */
  additionalChatTemplates?: NamedChatTemplate[];
  /** chat_template.json ({"chat_template": ...}, newer Mistral repos) */
  chatTemplateJson?: string;
  /** special_tokens_map.json: only the Llama-2 tokenizer.json path reads it (as transformers does) */
  specialTokensMap?: string;
  /** added_tokens.json */
  addedTokens?: string;
  /** config.json: its bos/eos/pad_token_id fill ids the tokenizer files leave unset */
  configJson?: string;
}

export interface TokenizerToGgufOptions {
  /** config.json vocab_size: the embedding rows; the token list is padded up to it */
  vocabSize: number;
  /** tokenizer.ggml.pre for byte-level BPE, instead of recognising it by hash (CLI: --pre NAME) */
  preOverride?: string;
  /**
   * the converter's Llama/Mistral set_vocab (not Qwen2's): tokenizer_config's add_prefix_space →
   * tokenizer.ggml.add_space_prefix, CodeLlama's EOT (vocab 32016), no BOS at vocab 49152
   */
  llamaVocab?: boolean;
  /** the family converter's own set_vocab steps (Gemma, Phi-3): src/arch's ConverterFacts.vocab */
  family?: FamilyVocab;
}

/** A family converter's set_vocab steps beyond the shared ones. */
export interface FamilyVocab {
  /** tokenizer.ggml.add_space_prefix = false after the special vocabulary (Gemma's SentencePiece path) */
  noSpacePrefix?: boolean;
  /** special ids set when the tokenizer files leave them unset (Gemma: eot 107), below the vocabulary size */
  fixedSpecialIds?: Readonly<Record<string, number>>;
  /** Phi-3's SentencePiece reading; tokenizer_class GPT2Tokenizer selects byte-level BPE (Phi-4) */
  phi3?: boolean;
  /** a SentencePiece-style tokenizer.json without tokenizer.model read as the SentencePiece vocabulary (Gemma 3) */
  sentencePieceFromJson?: boolean;
}

/** GGUF token types (llama.cpp's `llama_token_type`), the same numbers as SentencePiece's. */
export const TokenType = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** sha256 of Python's str() of a list of ints: "[1, 2, 3]". */
export function preTokenizerHash(ids: readonly number[]): string {
  return createHash("sha256").update(`[${ids.join(", ")}]`).digest("hex");
}

const PRE_BY_HASH = new Map(KNOWN_PRE_TOKENIZER_HASHES); // later duplicates win, as in the converter

export function preTokenizerNameForHash(hash: string): string | undefined {
  return PRE_BY_HASH.get(hash);
}

/** gguf-py's does_token_look_special */
function looksSpecial(t: string): boolean {
  return (
    ["<pad>", "<mask>", "<2mass>", "[@BOS@]"].includes(t) ||
    (t.startsWith("<|") && t.endsWith("|>")) ||
    (t.startsWith("<\uff5c") && t.endsWith("\uff5c>")) ||
    (t.startsWith("<unused") && t.endsWith(">"))
  );
}

function checkVocabSize(vocabSize: number): void {
  if (!Number.isSafeInteger(vocabSize) || vocabSize <= 0 || vocabSize > TOKENIZER_LIMITS.vocabSize) {
    throw new FormatError("VOCAB_SIZE_BAD", "vocab_size out of range", {
      file: "config.json",
      field: "vocab_size",
      expected: `1..${TOKENIZER_LIMITS.vocabSize}`,
      actual: String(vocabSize),
    });
  }
}

function tooLarge(file: string, tokenizerSize: number, vocabSize: number): never {
  throw new FormatError("VOCAB_SIZE_MISMATCH", "the tokenizer has more tokens than the model's embedding rows", {
    file,
    field: "vocab_size",
    expected: `≤ ${vocabSize} tokens (config.json vocab_size)`,
    actual: `${tokenizerSize} tokens`,
    hint: "the tokenizer files do not belong to this model, or config.json's vocab_size is wrong; copy the tokenizer from the base model",
  });
}

function base(model: string, pre: string, tokens: string[], types: number[], scores?: number[]): GgufTokenizerKv[] {
  const kv: GgufTokenizerKv[] = [
    { key: "tokenizer.ggml.model", kind: "string", value: model },
    { key: "tokenizer.ggml.pre", kind: "string", value: pre },
    { key: "tokenizer.ggml.tokens", kind: "string[]", value: tokens },
  ];
  if (scores !== undefined) kv.push({ key: "tokenizer.ggml.scores", kind: "f32[]", value: scores });
  kv.push({ key: "tokenizer.ggml.token_type", kind: "i32[]", value: types });
  return kv;
}

/**
 * _create_vocab_sentencepiece; `phi3`: Phi3MiniModel's variant, where added tokens from
 * tokenizer_config.json and tokenizer.json are USER_DEFINED (CONTROL when special) as written.
 */
function fromSentencePiece(files: TokenizerFiles, vocabSize: number, json: HfTokenizerJson | undefined, phi3 = false): GgufTokenizerKv[] {
  const m = parseSentencePieceModel(files.tokenizerModel!, "tokenizer.model");
  if (m.pieces.length > vocabSize) tooLarge("tokenizer.model", m.pieces.length, vocabSize);
  // ids past the pieces stay "[PADi]", score −10000, UNUSED (as _create_vocab_sentencepiece)
  const tokens = Array.from({ length: vocabSize }, (_, i) => `[PAD${i}]`);
  const scores = new Array<number>(vocabSize).fill(-10000);
  const types = new Array<number>(vocabSize).fill(TokenType.unused);
  m.pieces.forEach((p, i) => {
    tokens[i] = p.piece;
    scores[i] = p.score;
    // USER_DEFINED pieces become NORMAL: the converter only asks IsUnknown/IsControl/IsUnused/IsByte
    types[i] = p.type === PieceType.userDefined ? TokenType.normal : p.type;
  });
  if (files.addedTokens !== undefined) {
    const added = parseJsonFile(files.addedTokens, "added_tokens.json");
    if (typeof added !== "object" || added === null || Array.isArray(added)) {
      throw new FormatError("ADDED_TOKENS_BAD", "added_tokens.json is not an object of token → id", { file: "added_tokens.json" });
    }
    for (const [content, id] of Object.entries(added)) {
      if (!Number.isSafeInteger(id) || (id as number) < 0) continue;
      if ((id as number) >= vocabSize) continue; // past the embedding: skipped, as the converter does
      tokens[id as number] = content;
      scores[id as number] = -1000;
      types[id as number] = TokenType.userDefined;
    }
  }
  overlayAddedTokensDecoder(files, tokens, types, scores, vocabSize, phi3);
  if (phi3) {
    for (const a of json?.addedTokens ?? []) {
      if (a.id >= vocabSize) continue;
      tokens[a.id] = a.content;
      types[a.id] = a.special ? TokenType.control : TokenType.userDefined;
      scores[a.id] = -1000;
    }
  }
  return [...base("llama", "default", tokens, types, scores), ...specialVocabKv({ ...specialInputs(files, json), nVocab: vocabSize })];
}

/**
 * _create_vocab_sentencepiece's last step (and Phi-3's): tokenizer_config.json's added_tokens_decoder
 * entries become CONTROL (special, or special-looking) or USER_DEFINED tokens, score −1000.
 */
function overlayAddedTokensDecoder(files: TokenizerFiles, tokens: string[], types: number[], scores: number[], vocabSize: number, phi3: boolean): void {
  const tc = files.tokenizerConfig === undefined ? undefined : parseJsonFile(files.tokenizerConfig, "tokenizer_config.json");
  const decoder = typeof tc === "object" && tc !== null ? (tc as Record<string, unknown>).added_tokens_decoder : undefined;
  if (typeof decoder === "object" && decoder !== null) {
    for (const [idText, data] of Object.entries(decoder)) {
      const id = Number(idText);
      if (!Number.isSafeInteger(id) || id < 0 || typeof data !== "object" || data === null) continue;
      const d = data as Record<string, unknown>;
      if (typeof d.content !== "string") continue;
      if (id >= vocabSize) continue; // past the embedding: skipped, as the converter does
      const special = d.special === true || (!phi3 && looksSpecial(d.content));
      tokens[id] = special || phi3 ? d.content : d.content.replaceAll("\u2581", " ");
      types[id] = special ? TokenType.control : TokenType.userDefined;
      scores[id] = -1000;
    }
  }
}

function specialInputs(files: TokenizerFiles, json: HfTokenizerJson | undefined) {
  return {
    ...(json === undefined ? {} : { tokenizerJson: json.raw }),
    addedTokens: json?.addedTokens ?? [],
    ...(files.tokenizerConfig === undefined ? {} : { tokenizerConfig: files.tokenizerConfig }),
    ...(files.chatTemplateJinja === undefined ? {} : { chatTemplateJinja: files.chatTemplateJinja }),
    ...(files.additionalChatTemplates === undefined ? {} : { additionalChatTemplates: files.additionalChatTemplates }),
    ...(files.chatTemplateJson === undefined ? {} : { chatTemplateJson: files.chatTemplateJson }),
    ...(files.configJson === undefined ? {} : { configJson: files.configJson }),
  };
}

/** id → token text of the model vocab plus added tokens; gaps below the largest id are an error. */
function idToToken(json: HfTokenizerJson): { byId: Map<number, string>; size: number } {
  const byId = new Map<number, string>();
  let size = 0;
  for (const [piece, id] of json.vocab) byId.set(id, piece);
  for (const a of json.addedTokens) byId.set(a.id, a.content);
  for (const id of byId.keys()) size = Math.max(size, id + 1);
  return { byId, size };
}

/**
 * LlamaHfVocab; `asSentencePiece`: Gemma 3 without tokenizer.model, read as the SentencePiece
 * vocabulary its tokenizer.model gives the converter (added_tokens_decoder as USER_DEFINED/CONTROL).
 */
function fromLlamaHf(files: TokenizerFiles, json: HfTokenizerJson, vocabSize: number, asSentencePiece = false): GgufTokenizerKv[] {
  const { byId, size } = idToToken(json);
  if (size > vocabSize) tooLarge("tokenizer.json", size, vocabSize);
  const specialContents = transformersSpecialTokens(files);
  // dusk deviation: LlamaHfVocab writes score −1000 for every token, which leaves llama.cpp's SPM
  // tokenizer no merge order. We score each merge result by its rank instead (−rank), which is the
  // order the HF merges encode, so both tokenizers agree. Other tokens: −1000, as there.
  const rankOfPiece = new Map<string, number>();
  json.merges.forEach(([a, b], r) => {
    if (!rankOfPiece.has(a + b)) rankOfPiece.set(a + b, r);
  });
  const vocabIds = new Set(json.vocab.values());
  const addedById = new Map(json.addedTokens.map((a) => [a.id, a] as const));
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  for (let id = 0; id < vocabSize; id++) {
    const text = byId.get(id);
    if (text === undefined) {
      // gaps and padding up to vocab_size (LlamaHfVocab has no padding; llama.cpp then refuses the
      // embedding of vocab_size rows, so we pad as the SentencePiece path does)
      tokens.push(`[PAD${id}]`);
      scores.push(-1000);
      types.push(TokenType.unused);
      continue;
    }
    tokens.push(text);
    const rank = rankOfPiece.get(text);
    scores.push(rank !== undefined && vocabIds.has(id) ? -rank : -1000);
    if (/^<0x[0-9A-Fa-f]{2}>$/.test(text)) types.push(TokenType.byte);
    else if (specialContents.has(text)) types.push(TokenType.control);
    else if (addedById.has(id) && !vocabIds.has(id)) types.push(TokenType.userDefined);
    else types.push(TokenType.normal);
  }
  if (asSentencePiece) overlayAddedTokensDecoder(files, tokens, types, scores, vocabSize, false);
  return [...base("llama", "default", tokens, types, scores), ...specialVocabKv({ ...specialInputs(files, json), nVocab: tokens.length })];
}

/**
 * transformers' all_special_tokens, which LlamaHfVocab marks CONTROL: the bos/eos/unk/sep/pad/cls/
 * mask tokens and additional_special_tokens of tokenizer_config.json, else special_tokens_map.json.
 */
function transformersSpecialTokens(files: TokenizerFiles): Set<string> {
  const obj = (text: string | undefined, file: string): Record<string, unknown> => {
    const v = text === undefined ? undefined : parseJsonFile(text, file);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  };
  const tc = obj(files.tokenizerConfig, "tokenizer_config.json");
  const stm = obj(files.specialTokensMap, "special_tokens_map.json");
  const content = (v: unknown) => (typeof v === "string" ? v : typeof v === "object" && v !== null ? (v as Record<string, unknown>).content : undefined);
  const out = new Set<string>();
  for (const typ of ["bos", "eos", "unk", "sep", "pad", "cls", "mask"]) {
    const c = content(tc[`${typ}_token`] ?? stm[`${typ}_token`]);
    if (typeof c === "string") out.add(c);
  }
  const extra = tc.additional_special_tokens ?? stm.additional_special_tokens;
  if (Array.isArray(extra)) for (const e of extra) if (typeof content(e) === "string") out.add(content(e) as string);
  return out;
}

function hfTokenizer(json: HfTokenizerJson, files: TokenizerFiles): Tokenizer {
  const config = files.tokenizerConfig === undefined ? {} : parseJsonFile(files.tokenizerConfig, "tokenizer_config.json");
  try {
    return new Tokenizer(json.raw, typeof config === "object" && config !== null ? config : {});
  } catch (cause) {
    throw new FormatError("TOKENIZER_JSON_UNSUPPORTED", `@huggingface/tokenizers cannot load it: ${(cause as Error).message}`, {
      file: "tokenizer.json",
      hint: "pass the pre-tokenizer name explicitly with --pre NAME",
      cause,
    });
  }
}

function fromByteLevel(files: TokenizerFiles, json: HfTokenizerJson, opts: TokenizerToGgufOptions): GgufTokenizerKv[] {
  const { byId, size } = idToToken(json);
  if (size > opts.vocabSize) tooLarge("tokenizer.json", size, opts.vocabSize);
  let tok: Tokenizer | undefined;
  let pre = opts.preOverride;
  if (pre === undefined) {
    tok = hfTokenizer(json, files);
    const hash = preTokenizerHash(tok.encode(PRE_TOKENIZER_PROBE).ids);
    pre = preTokenizerNameForHash(hash);
    if (pre === undefined) {
      throw new FormatError("PRE_TOKENIZER_UNKNOWN", "unrecognised byte-level BPE pre-tokenizer", {
        file: "tokenizer.json",
        field: "pre_tokenizer",
        expected: "one of llama.cpp's known pre-tokenizer hashes",
        actual: `chkhsh ${hash}`,
        hint: `name it yourself with --pre NAME (e.g. --pre llama-bpe for Llama-3, --pre qwen2 for Qwen2); known names: ${[...new Set(PRE_BY_HASH.values())].sort().join(", ")}`,
      });
    }
  }
  const addedById = new Map(json.addedTokens.map((a) => [a.id, a] as const));
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < opts.vocabSize; id++) {
    const text = byId.get(id);
    if (text === undefined) {
      tokens.push(`[PAD${id}]`);
      types.push(TokenType.unused);
      continue;
    }
    const added = addedById.get(id);
    if (added === undefined) {
      tokens.push(text);
      types.push(TokenType.normal);
      continue;
    }
    let t = text;
    if (!added.normalized) {
      tok ??= hfTokenizer(json, files); // as the converter: the form the tokenizer round-trips it to
      const ids = tok.encode(t, { add_special_tokens: false }).ids;
      if (ids.length > 0) t = tok.decode(ids);
    }
    if (added.special || looksSpecial(t)) types.push(TokenType.control);
    else {
      t = t.replaceAll("\u2581", " ");
      types.push(TokenType.userDefined);
    }
    tokens.push(t);
  }
  // merges as "a b"; from the array form, spaces inside a part become U+0120 ("Ġ"), as gguf-py does
  const merges = json.merges.map(([a, b]) => `${a.replaceAll(" ", "\u0120")} ${b.replaceAll(" ", "\u0120")}`);
  const kv = base("gpt2", pre, tokens, types);
  if (merges.length > 0) kv.push({ key: "tokenizer.ggml.merges", kind: "string[]", value: merges });
  return [...kv, ...specialVocabKv(specialInputs(files, json))];
}

/** The tokenizer.* GGUF keys for a checkpoint's tokenizer files. */
export function tokenizerToGguf(files: TokenizerFiles, opts: TokenizerToGgufOptions): GgufTokenizerKv[] {
  checkVocabSize(opts.vocabSize);
  const json = files.tokenizerJson === undefined ? undefined : parseTokenizerJson(files.tokenizerJson);
  const vocab = chooseVocab(files, json, opts);
  const out = opts.llamaVocab ? withLlamaQuirks(files, vocab, opts.vocabSize) : vocab;
  const family = opts.family;
  const sentencePiece = out.some((e) => e.key === "tokenizer.ggml.model" && e.value === "llama");
  for (const [typ, id] of Object.entries(family?.fixedSpecialIds ?? {})) {
    const key = `tokenizer.ggml.${typ}_token_id`;
    if (id < opts.vocabSize && !out.some((e) => e.key === key)) out.push({ key, kind: "u32", value: id });
  }
  if (family?.noSpacePrefix && sentencePiece) out.push({ key: "tokenizer.ggml.add_space_prefix", kind: "bool", value: false });
  return out;
}

/** tokenizer_config.json's tokenizer_class */
function tokenizerClass(files: TokenizerFiles): unknown {
  const tc = files.tokenizerConfig === undefined ? undefined : parseJsonFile(files.tokenizerConfig, "tokenizer_config.json");
  return typeof tc === "object" && tc !== null && !Array.isArray(tc) ? (tc as Record<string, unknown>).tokenizer_class : undefined;
}

function chooseVocab(files: TokenizerFiles, json: HfTokenizerJson | undefined, opts: TokenizerToGgufOptions): GgufTokenizerKv[] {
  if (opts.family?.phi3) {
    // Phi3MiniModel.set_vocab: GPT2Tokenizer → byte-level BPE (Phi-4), else its own SentencePiece reading
    if (tokenizerClass(files) === "GPT2Tokenizer" && json !== undefined) return fromByteLevel(files, json, opts);
    if (files.tokenizerModel === undefined) {
      throw new FormatError("TOKENIZER_MISSING", "no tokenizer.model (Phi-3 reads SentencePiece unless tokenizer_class is GPT2Tokenizer)", {
        file: "tokenizer.model", hint: "copy tokenizer.model from the base model, or tokenizer.json with tokenizer_config.json for a Phi-4",
      });
    }
    return fromSentencePiece(files, opts.vocabSize, json, true);
  }
  if (files.tokenizerModel !== undefined) return fromSentencePiece(files, opts.vocabSize, json);
  if (json === undefined) {
    throw new FormatError("TOKENIZER_MISSING", "no tokenizer found", {
      file: "tokenizer.model / tokenizer.json",
      hint: "copy tokenizer.model or tokenizer.json (with tokenizer_config.json) from the base model into the checkpoint directory",
    });
  }
  if (json.kind === "spm-bpe") return fromLlamaHf(files, json, opts.vocabSize, opts.family?.sentencePieceFromJson ?? false);
  if (json.kind === "byte-level-bpe") return fromByteLevel(files, json, opts);
  throw new FormatError("TOKENIZER_UNSUPPORTED", "unsupported tokenizer.json model", {
    file: "tokenizer.json",
    field: "model",
    expected: "BPE with byte_fallback (Llama-2/Mistral) or byte-level BPE (Llama-3/Qwen2)",
    actual: `${json.modelType}, pre_tokenizer ${json.preTokenizerKinds.join("/") || "none"}, decoder ${json.decoderKinds.join("/") || "none"}`,
    hint: "provide tokenizer.model (SentencePiece) if the model has one",
  });
}

/**
 * The converter's Llama set_vocab around the vocabulary: add_prefix_space first (any vocab type),
 * then CodeLlama's EOT id 32010 when vocab_size is 32016, and add_bos_token false at 49152.
 */
function withLlamaQuirks(files: TokenizerFiles, kv: GgufTokenizerKv[], vocabSize: number): GgufTokenizerKv[] {
  const out = [...kv];
  const tc = files.tokenizerConfig === undefined ? undefined : parseJsonFile(files.tokenizerConfig, "tokenizer_config.json");
  const aps = typeof tc === "object" && tc !== null && !Array.isArray(tc) ? (tc as Record<string, unknown>).add_prefix_space : undefined;
  if (aps !== undefined && aps !== null) out.unshift({ key: "tokenizer.ggml.add_space_prefix", kind: "bool", value: Boolean(aps) });
  const set = (e: GgufTokenizerKv) => {
    const i = out.findIndex((x) => x.key === e.key);
    if (i >= 0) out[i] = e;
    else out.push(e);
  };
  if (vocabSize === 32016 && !out.some((e) => e.key === "tokenizer.ggml.eot_token_id")) set({ key: "tokenizer.ggml.eot_token_id", kind: "u32", value: 32010 });
  if (vocabSize === 49152) set({ key: "tokenizer.ggml.add_bos_token", kind: "bool", value: false });
  return out;
}
