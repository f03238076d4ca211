// Reads an HF `tokenizer.json` into the parts GGUF conversion needs: the BPE model (vocab,
// merges in either "a b" or ["a","b"] form, byte_fallback, unk, ignore_merges), the kinds of
// normalizer / pre-tokenizer / decoder, and added_tokens; and classifies it as Llama-2/Mistral
// style (SentencePiece-like BPE with byte fallback) or byte-level BPE (Llama-3/Qwen2). Not a
// tokenizer: encoding is @huggingface/tokenizers' job.

import { FormatError } from "../errors.js";
import { LIMITS, TOKENIZER_LIMITS } from "../limits.js";

export interface HfAddedToken {
  id: number;
  content: string;
  special: boolean;
  normalized: boolean;
}

export type HfTokenizerKind = "spm-bpe" | "byte-level-bpe" | "other";

export interface HfTokenizerJson {
  modelType: string;
  /** piece → id (a Map, so "__proto__" is just a key) */
  vocab: Map<string, number>;
  merges: [string, string][];
  byteFallback: boolean;
  ignoreMerges: boolean;
  unkToken: string | undefined;
  /** "type" of the normalizer / pre_tokenizer / decoder and of their Sequence members, outer first */
  normalizerKinds: string[];
  preTokenizerKinds: string[];
  decoderKinds: string[];
  addedTokens: HfAddedToken[];
  kind: HfTokenizerKind;
  /** the parsed JSON, for @huggingface/tokenizers */
  raw: Record<string, unknown>;
}

const FILE = "tokenizer.json";

function bad(what: string, field: string, expected: string, actual: string, hint?: string): never {
  throw new FormatError("TOKENIZER_JSON_BAD", what, { file: FILE, field, expected, actual, hint: hint ?? "re-download tokenizer.json" });
}

function describe(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Parses JSON text with the shared size bound; errors name the file. */
export function parseJsonFile(text: string, file: string): unknown {
  if (text.length > LIMITS.jsonFileBytes) {
    throw new FormatError("JSON_TOO_LARGE", "JSON file too large", { file, expected: `≤ ${LIMITS.jsonFileBytes} bytes`, actual: `${text.length}` });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new FormatError("JSON_BAD", `not valid JSON: ${(cause as Error).message}`, { file, hint: `re-download ${file}`, cause });
  }
}

/** `type` of a component and, for Sequence, of its members (one level, as the converters look). */
function kindsOf(component: unknown, listKey: string): string[] {
  if (!isObject(component)) return [];
  const type = typeof component.type === "string" ? component.type : "?";
  const members = component[listKey];
  if (type !== "Sequence" || !Array.isArray(members)) return [type];
  return [type, ...members.map((m) => (isObject(m) && typeof m.type === "string" ? m.type : "?"))];
}

function parseMerges(merges: unknown): [string, string][] {
  if (merges === undefined) return [];
  if (!Array.isArray(merges)) bad("merges is not a list", "model.merges", "array", describe(merges));
  if (merges.length > TOKENIZER_LIMITS.mergeCount) bad("too many merges", "model.merges", `≤ ${TOKENIZER_LIMITS.mergeCount}`, `${merges.length}`);
  return merges.map((m, i): [string, string] => {
    if (typeof m === "string") {
      const sp = m.indexOf(" ");
      if (sp <= 0 || sp === m.length - 1 || m.indexOf(" ", sp + 1) !== -1) bad("merge is not two pieces", `model.merges[${i}]`, '"a b"', JSON.stringify(m));
      return [m.slice(0, sp), m.slice(sp + 1)];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === "string" && typeof m[1] === "string") return [m[0], m[1]];
    return bad("merge is not two pieces", `model.merges[${i}]`, '"a b" or ["a", "b"]', JSON.stringify(m).slice(0, 80));
  });
}

export function parseTokenizerJson(text: string): HfTokenizerJson {
  const raw = parseJsonFile(text, FILE);
  if (!isObject(raw)) bad("top level is not an object", "", "object", describe(raw));
  const model = raw.model;
  if (!isObject(model)) bad("missing model", "model", "object", describe(model));
  const modelType = typeof model.type === "string" ? model.type : "BPE"; // old files omit it
  const vocabObj = model.vocab;
  if (!isObject(vocabObj)) bad("vocab is not an object", "model.vocab", "object of piece → id", describe(vocabObj), "only BPE tokenizer.json files are supported");
  const entries = Object.entries(vocabObj);
  if (entries.length > TOKENIZER_LIMITS.vocabSize) bad("vocabulary too large", "model.vocab", `≤ ${TOKENIZER_LIMITS.vocabSize}`, `${entries.length}`);
  const vocab = new Map<string, number>();
  for (const [piece, id] of entries) {
    if (!Number.isSafeInteger(id) || (id as number) < 0 || (id as number) >= TOKENIZER_LIMITS.vocabSize) {
      bad("token id out of range", `model.vocab[${JSON.stringify(piece)}]`, `0 ≤ id < ${TOKENIZER_LIMITS.vocabSize}`, String(id));
    }
    vocab.set(piece, id as number);
  }
  const addedRaw = raw.added_tokens ?? [];
  if (!Array.isArray(addedRaw)) bad("added_tokens is not a list", "added_tokens", "array", describe(addedRaw));
  const addedTokens = addedRaw.map((a, i): HfAddedToken => {
    if (!isObject(a) || !Number.isSafeInteger(a.id) || (a.id as number) < 0 || (a.id as number) >= TOKENIZER_LIMITS.vocabSize || typeof a.content !== "string") {
      return bad("added token needs an id and a content", `added_tokens[${i}]`, "{id, content}", JSON.stringify(a).slice(0, 80));
    }
    return { id: a.id as number, content: a.content, special: a.special === true, normalized: a.normalized !== false };
  });
  const parsed: HfTokenizerJson = {
    modelType,
    vocab,
    merges: parseMerges(model.merges),
    byteFallback: model.byte_fallback === true,
    ignoreMerges: model.ignore_merges === true,
    unkToken: typeof model.unk_token === "string" ? model.unk_token : undefined,
    normalizerKinds: kindsOf(raw.normalizer, "normalizers"),
    preTokenizerKinds: kindsOf(raw.pre_tokenizer, "pretokenizers"),
    decoderKinds: kindsOf(raw.decoder, "decoders"),
    addedTokens,
    kind: "other",
    raw,
  };
  parsed.kind = classifyTokenizer(parsed);
  return parsed;
}

/**
 * Llama-2/Mistral: BPE with byte_fallback and a Sequence decoder (llama.cpp's LlamaHfVocab test).
 * Byte-level: BPE without byte_fallback, with a ByteLevel pre-tokenizer or decoder (Llama-3, Qwen2).
 */
export function classifyTokenizer(t: Pick<HfTokenizerJson, "modelType" | "byteFallback" | "ignoreMerges" | "preTokenizerKinds" | "decoderKinds">): HfTokenizerKind {
  if (t.modelType !== "BPE") return "other";
  const llama3 = t.ignoreMerges && !t.byteFallback;
  if (!llama3 && t.byteFallback && t.decoderKinds[0] === "Sequence") return "spm-bpe";
  if (!t.byteFallback && (t.preTokenizerKinds.includes("ByteLevel") || t.decoderKinds.includes("ByteLevel"))) return "byte-level-bpe";
  return "other";
}
