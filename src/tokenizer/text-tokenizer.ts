// The one tokenizer dusk encodes text with wherever it does (analyze, search, heal and train's
// data, experiment, eval and ppl on the engine): a checkpoint's tokenizer.json through
// @huggingface/tokenizers (with the fast SentencePiece-BPE path where it agrees), else its
// tokenizer.model as llama.cpp tokenizes the GGUF converted from it (the converter's own metadata,
// spm-tokenizer.ts). Files come in as text and bytes; reading them is load-text-tokenizer.ts's job.

import { Tokenizer } from "@huggingface/tokenizers";
import { FormatError } from "../errors.js";
import { fastSpmBpeEncoder } from "./fast-spm-bpe.js";
import { tokenizerKvToGguf } from "./gguf-kv.js";
import { tokenizerToGguf, type FamilyVocab, type TokenizerFiles } from "./gguf-tokenizer.js";
import { spmTokenizer } from "./spm-tokenizer.js";
import { parseJsonFile } from "./tokenizer-json.js";

export interface TextTokenizer {
  /** which file it encodes with */
  readonly kind: "tokenizer.json" | "tokenizer.model";
  /** token ids of a text: no BOS or EOS added, special tokens not parsed */
  encode(text: string): number[];
  /** the text of ids, special tokens skipped */
  decode(ids: readonly number[]): string;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
}

/** The side files a tokenizer reads, by the TokenizerFiles field they fill. */
const SIDE_FILES = {
  tokenizerModel: "tokenizer.model",
  tokenizerJson: "tokenizer.json",
  tokenizerConfig: "tokenizer_config.json",
  chatTemplateJinja: "chat_template.jinja",
  chatTemplateJson: "chat_template.json",
  specialTokensMap: "special_tokens_map.json",
  addedTokens: "added_tokens.json",
  configJson: "config.json",
} as const satisfies Partial<Record<keyof TokenizerFiles, string>>;

export const TOKENIZER_SIDE_FILES: readonly string[] = Object.values(SIDE_FILES);

/** TokenizerFiles from side files by name (tokenizer.model as bytes, the rest as UTF-8 text). */
export function tokenizerFilesByName(byName: (name: string) => Uint8Array | string | undefined): TokenizerFiles {
  const out: Record<string, Uint8Array | string> = {};
  for (const [field, name] of Object.entries(SIDE_FILES)) {
    const v = byName(name);
    if (v === undefined) continue;
    out[field] = field === "tokenizerModel" ? (typeof v === "string" ? new TextEncoder().encode(v) : v) : typeof v === "string" ? v : new TextDecoder().decode(v);
  }
  return out as TokenizerFiles;
}

export interface TextTokenizerOptions {
  /** config.json vocab_size (tokenizer.model's ids are laid out up to it, as the converter does) */
  vocabSize: number;
  /** the family converts as llama.cpp's Llama class (tokenizer_config's add_prefix_space applies) */
  llamaVocab: boolean;
  /** the family converter's own set_vocab steps (src/arch's ConverterFacts.vocab) */
  family?: FamilyVocab;
  /** the directory or model named in errors */
  where: string;
}

/** The text tokenizer of a checkpoint's tokenizer files: tokenizer.json when there is one, else tokenizer.model. */
export function textTokenizerFromFiles(files: TokenizerFiles, o: TextTokenizerOptions): TextTokenizer {
  if (files.tokenizerJson !== undefined) return hfTextTokenizer(files, o.where);
  if (files.tokenizerModel !== undefined) {
    const kv = tokenizerKvToGguf(tokenizerToGguf(files, { vocabSize: o.vocabSize, llamaVocab: o.llamaVocab, ...(o.family ? { family: o.family } : {}) }));
    return { kind: "tokenizer.model", ...spmTokenizer(kv, `${o.where}/tokenizer.model`) };
  }
  throw new FormatError("TOKENIZER_MISSING", "no tokenizer.json or tokenizer.model: dusk tokenizes text with the model's own tokenizer", {
    file: o.where,
    hint: "copy tokenizer.model or tokenizer.json (with tokenizer_config.json) from the base model into the model directory",
  });
}

/** Characters of each text encoded both ways before the fast path is trusted for it. */
const CHECK_CHARS = 20_000;

function hfTextTokenizer(files: TokenizerFiles, where: string): TextTokenizer {
  const json = parseJsonFile(files.tokenizerJson!, `${where}/tokenizer.json`);
  const parsed = files.tokenizerConfig === undefined ? {} : parseJsonFile(files.tokenizerConfig, `${where}/tokenizer_config.json`);
  const config = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  let hf: Tokenizer;
  try {
    hf = new Tokenizer(json as object, config);
  } catch (cause) {
    throw new FormatError("TOKENIZER_JSON_UNSUPPORTED", `@huggingface/tokenizers cannot load it: ${(cause as Error).message}`, { file: `${where}/tokenizer.json`, cause });
  }
  const fast = fastSpmBpeEncoder(json);
  const special = (key: string): number | undefined => {
    const v = config[key];
    const text = typeof v === "string" ? v : typeof v === "object" && v !== null && typeof (v as { content?: unknown }).content === "string" ? (v as { content: string }).content : undefined;
    return text === undefined ? undefined : hf.token_to_id(text);
  };
  const slow = (text: string): number[] => hf.encode(text, { add_special_tokens: false }).ids.map(Number);
  return {
    kind: "tokenizer.json",
    encode(text: string): number[] {
      // the fast path only for long texts, and only when it agrees on their first CHECK_CHARS
      if (fast && text.length > CHECK_CHARS) {
        try {
          const sample = text.slice(0, CHECK_CHARS);
          const a = fast(sample);
          const b = slow(sample);
          if (a.length === b.length && a.every((v, i) => v === b[i])) return fast(text);
        } catch {
          /* an added token in the text: the HF tokenizer handles it */
        }
      }
      return slow(text);
    },
    decode: (ids) => hf.decode([...ids], { skip_special_tokens: true }),
    bos: special("bos_token"),
    eos: special("eos_token"),
  };
}
