// A tiny GPT-2-style byte-level BPE tokenizer in Qwen2's file shapes, for dusk's generated Qwen2
// test models: 256 byte symbols (GPT-2's bytes→unicode map), a few hundred merges learned from the
// text given, and <|endoftext|> <|im_start|> <|im_end|> as special added tokens. Renders
// tokenizer.json and tokenizer_config.json as Qwen2-Instruct ships them. Not a production trainer
// (no sampling, no min-frequency tuning); deterministic for a given text.

import { PlanError } from "../errors.js";

/** Qwen2's pre-tokenizer regex exactly as its tokenizer.json has it (Rust/Oniguruma syntax). */
export const QWEN2_PRETOKENIZE_REGEX =
  "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * The same pattern without the inline `(?i:…)` group (Node 20's RegExp lacks modifiers), spelled as
 * llama.cpp's "qwen2" pre-tokenizer spells it. Used here only to cut training text into words.
 */
const QWEN2_SPLIT_JS = /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+/gu;

export const QWEN2_SPECIALS = { endOfText: "<|endoftext|>", imStart: "<|im_start|>", imEnd: "<|im_end|>" } as const;

/** ChatML as Qwen2-Instruct uses it, with the default system turn when none is given. */
export const QWEN2_CHAT_TEMPLATE =
  "{% for message in messages %}" +
  "{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}" +
  "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}" +
  "{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

/** Merges asked for beyond this are refused (the training loop is quadratic-ish in them). */
const MAX_MERGES = 20_000;

export interface TinyByteBpeOptions {
  /** merges to learn (default 500); fewer result when the text runs out of repeated pairs */
  merges?: number;
  /**
   * Also learn from the text's digit runs cut in threes (default false). Qwen2's split makes every
   * digit its own word, so digits never merge; yet its real vocabulary, inherited from a
   * three-digit split, holds multi-digit pieces that only a wrong pre-tokenizer would use. With
   * them, a conversion naming the wrong pre-tokenizer (llama-bpe: \p{N}{1,3}) tokenizes differently.
   */
  digitRuns?: boolean;
}

export interface TinyByteBpeFiles {
  /** tokenizer.json */
  tokenizerJson: string;
  /** tokenizer_config.json */
  tokenizerConfig: string;
  /** token text by id: 256 byte symbols, merged pieces, then the three specials */
  tokens: string[];
  /** in rank order */
  merges: [string, string][];
  /** ids of the special added tokens */
  specialIds: { endOfText: number; imStart: number; imEnd: number };
}

/**
 * GPT-2's reversible byte → printable character map: printable Latin-1 bytes map to themselves,
 * the other 68 bytes to U+0100 upward in byte order. Returned as [byte, char] in GPT-2's vocabulary
 * order (the self-mapped bytes first), which is the order of ids 0..255 in GPT-2/Qwen2 vocabularies.
 */
export function gpt2ByteSymbols(): [number, string][] {
  const selfMapped = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const out: [number, string][] = [];
  for (let b = 0; b < 256; b++) if (selfMapped(b)) out.push([b, String.fromCharCode(b)]);
  let next = 0x100;
  for (let b = 0; b < 256; b++) if (!selfMapped(b)) out.push([b, String.fromCharCode(next++)]);
  return out;
}

/** Words of the text as byte-symbol strings, with counts (NFC first, as the tokenizer's normalizer). */
function countWords(text: string, byteChar: readonly string[], digitRuns: boolean): Map<string, number> {
  const words = new Map<string, number>();
  const enc = new TextEncoder();
  const add = (word: string) => {
    let w = "";
    for (const b of enc.encode(word)) w += byteChar[b]!;
    words.set(w, (words.get(w) ?? 0) + 1);
  };
  const normalized = text.normalize("NFC");
  for (const m of normalized.matchAll(QWEN2_SPLIT_JS)) add(m[0]);
  if (digitRuns) for (const m of normalized.matchAll(/\p{N}{2,3}/gu)) add(m[0]);
  return words;
}

/** Learns up to `nMerges` merges, most frequent pair first; ties go to the smaller (left, right) text. */
export function learnByteBpeMerges(text: string, nMerges: number, digitRuns = false): [string, string][] {
  const byteChar: string[] = new Array<string>(256);
  for (const [b, c] of gpt2ByteSymbols()) byteChar[b] = c;
  // symbols interned as numbers; a pair is left·2^20 + right (fewer than 2^20 symbols by MAX_MERGES)
  const symbols: string[] = [];
  const symbolId = new Map<string, number>();
  const intern = (s: string) => {
    let id = symbolId.get(s);
    if (id === undefined) {
      id = symbols.length;
      symbols.push(s);
      symbolId.set(s, id);
    }
    return id;
  };
  const PAIR = 1 << 20;
  const words = [...countWords(text, byteChar, digitRuns)].map(([w, n]) => ({ syms: Array.from(w, intern), n }));
  const pairCounts = new Map<number, number>();
  const addPairs = (syms: number[], n: number) => {
    for (let i = 0; i + 1 < syms.length; i++) {
      const key = syms[i]! * PAIR + syms[i + 1]!;
      const c = (pairCounts.get(key) ?? 0) + n;
      if (c === 0) pairCounts.delete(key);
      else pairCounts.set(key, c);
    }
  };
  for (const w of words) addPairs(w.syms, w.n);

  const merges: [string, string][] = [];
  while (merges.length < nMerges) {
    let best = -1;
    let bestCount = 2; // a pair seen once teaches nothing
    let bestText = "";
    for (const [key, n] of pairCounts) {
      if (n < bestCount) continue;
      const text = symbols[Math.floor(key / PAIR)]! + "\u0000" + symbols[key % PAIR]!;
      if (n > bestCount || best < 0 || text < bestText) {
        best = key;
        bestCount = n;
        bestText = text;
      }
    }
    if (best < 0) break;
    const left = Math.floor(best / PAIR);
    const right = best % PAIR;
    const merged = intern(symbols[left]! + symbols[right]!);
    merges.push([symbols[left]!, symbols[right]!]);
    for (const w of words) {
      const s = w.syms;
      let has = false;
      for (let i = 0; i + 1 < s.length && !has; i++) has = s[i] === left && s[i + 1] === right;
      if (!has) continue;
      addPairs(s, -w.n);
      const out: number[] = [];
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === left && s[i + 1] === right) {
          out.push(merged);
          i++;
        } else out.push(s[i]!);
      }
      w.syms = out;
      addPairs(out, w.n);
    }
  }
  return merges;
}

function addedToken(id: number, content: string) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
}

const BYTE_LEVEL = { add_prefix_space: false, trim_offsets: false, use_regex: false } as const;

function tokenizerJsonOf(tokens: readonly string[], nModel: number, merges: readonly [string, string][]): string {
  // piece → id in id order; a "__proto__" piece is just a key
  const vocab: Record<string, number> = Object.create(null) as Record<string, number>;
  for (let id = 0; id < nModel; id++) vocab[tokens[id]!] = id;
  const json = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: tokens.slice(nModel).map((t, i) => addedToken(nModel + i, t)),
    normalizer: { type: "NFC" },
    pre_tokenizer: {
      type: "Sequence",
      pretokenizers: [
        { type: "Split", pattern: { Regex: QWEN2_PRETOKENIZE_REGEX }, behavior: "Isolated", invert: false },
        { type: "ByteLevel", ...BYTE_LEVEL },
      ],
    },
    post_processor: { type: "ByteLevel", ...BYTE_LEVEL },
    decoder: { type: "ByteLevel", ...BYTE_LEVEL },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  return JSON.stringify(json, null, 2);
}

/** Qwen2-Instruct's tokenizer_config.json: no BOS (bos_token null, no add_bos_token key), eos <|im_end|>. */
function tokenizerConfigOf(specialIds: TinyByteBpeFiles["specialIds"]): string {
  const decoder: Record<string, unknown> = {};
  for (const [content, id] of [
    [QWEN2_SPECIALS.endOfText, specialIds.endOfText],
    [QWEN2_SPECIALS.imStart, specialIds.imStart],
    [QWEN2_SPECIALS.imEnd, specialIds.imEnd],
  ] as const) {
    const { id: _id, ...rest } = addedToken(id, content);
    decoder[String(id)] = rest;
  }
  return JSON.stringify(
    {
      add_prefix_space: false,
      added_tokens_decoder: decoder,
      additional_special_tokens: [QWEN2_SPECIALS.imStart, QWEN2_SPECIALS.imEnd],
      bos_token: null,
      chat_template: QWEN2_CHAT_TEMPLATE,
      clean_up_tokenization_spaces: false,
      eos_token: QWEN2_SPECIALS.imEnd,
      errors: "replace",
      model_max_length: 32768,
      pad_token: QWEN2_SPECIALS.endOfText,
      split_special_tokens: false,
      tokenizer_class: "Qwen2Tokenizer",
      unk_token: null,
    },
    null,
    2,
  );
}

/** Trains on `text` and renders Qwen2-shaped tokenizer files. */
export function buildTinyByteBpe(text: string, opts: TinyByteBpeOptions = {}): TinyByteBpeFiles {
  const nMerges = opts.merges ?? 500;
  if (!Number.isSafeInteger(nMerges) || nMerges < 0 || nMerges > MAX_MERGES) {
    throw new PlanError("TINY_BYTE_BPE_MERGES", `cannot learn ${nMerges} merges`, { hint: `ask for 0..${MAX_MERGES} merges` });
  }
  const merges = learnByteBpeMerges(text, nMerges, opts.digitRuns ?? false);
  const tokens = gpt2ByteSymbols().map(([, c]) => c);
  const seen = new Set(tokens);
  // two merges can spell the same piece ("ab"+"c", "a"+"bc"): one token, both merges kept
  for (const [a, b] of merges) {
    if (!seen.has(a + b)) {
      seen.add(a + b);
      tokens.push(a + b);
    }
  }
  const nModel = tokens.length;
  tokens.push(QWEN2_SPECIALS.endOfText, QWEN2_SPECIALS.imStart, QWEN2_SPECIALS.imEnd);
  const specialIds = { endOfText: nModel, imStart: nModel + 1, imEnd: nModel + 2 };
  return { tokenizerJson: tokenizerJsonOf(tokens, nModel, merges), tokenizerConfig: tokenizerConfigOf(specialIds), tokens, merges, specialIds };
}
