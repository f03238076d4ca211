// llama.cpp's SentencePiece tokenizer (vocabulary type "llama", llm_tokenizer_spm) over GGUF
// tokenizer metadata: user-defined tokens are split out of the text first; each remaining piece
// gets a " " prefix (add_space_prefix, also after a user-defined token), spaces become "▁", and
// adjacent symbols merge while their concatenation is a token, highest score first (leftmost on
// ties); what stays no token is written as <0xXX> byte tokens. The metadata comes from a GGUF or
// from tokenizer.model through the converter (tokenizerToGguf), so both give llama.cpp's ids.
// Not here: byte-level BPE ("gpt2") vocabularies, or parsing special tokens out of text.

import { FormatError } from "../errors.js";
import { ggufGetBool, ggufGetNumber, ggufGetNumberArray, ggufGetString, ggufGetStringArray, type GgufKv } from "../formats/gguf-value.js";
import { TokenType } from "./gguf-tokenizer.js";

const SPACE = "\u2581";
/** words kept in the encode cache; why a bound: a long text of unique words must not grow it forever */
const CACHE_WORDS = 1_000_000;

export interface SpmTokenizer {
  /** token ids of `text`: no BOS, special tokens not parsed (llama_tokenize with add_special and parse_special false) */
  encode(text: string): number[];
  /** the text of `ids`, control tokens skipped, byte tokens joined into UTF-8, the prefix space removed */
  decode(ids: readonly number[]): string;
  readonly bos: number | undefined;
  readonly eos: number | undefined;
}

/** The "llama" vocabulary of GGUF tokenizer keys as a tokenizer; `file` names the source in errors. */
export function spmTokenizer(kv: GgufKv, file: string): SpmTokenizer {
  const model = ggufGetString(kv, "tokenizer.ggml.model", file);
  const refuse = (what: string): never => {
    throw new FormatError("TOKENIZER_UNSUPPORTED", `not a SentencePiece ("llama") vocabulary: ${what}`, { file });
  };
  if (model !== "llama") refuse(`tokenizer.ggml.model is ${JSON.stringify(model ?? "missing")}`);
  const tokens = ggufGetStringArray(kv, "tokenizer.ggml.tokens", file) ?? refuse("tokenizer.ggml.tokens is missing");
  const scores = ggufGetNumberArray(kv, "tokenizer.ggml.scores", file) ?? new Array<number>(tokens.length).fill(0);
  const types = ggufGetNumberArray(kv, "tokenizer.ggml.token_type", file) ?? new Array<number>(tokens.length).fill(TokenType.normal);
  if (scores.length !== tokens.length || types.length !== tokens.length) refuse("tokens, scores and token types differ in length");
  const addSpacePrefix = ggufGetBool(kv, "tokenizer.ggml.add_space_prefix", file) ?? true;
  const special = (name: string, fallback: number): number | undefined => {
    const id = ggufGetNumber(kv, `tokenizer.ggml.${name}_token_id`, file) ?? fallback;
    return id >= 0 && id < tokens.length ? id : undefined;
  };

  // text → id, a later duplicate winning; an empty token is "[EMPTY_i]" (llama.cpp's load_vocab)
  const ids = new Map<string, number>();
  tokens.forEach((t, i) => ids.set(t === "" ? `[EMPTY_${i}]` : t, i));
  const byteIds = Array.from({ length: 256 }, (_, b) => ids.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`) ?? (b < 0x80 ? ids.get(String.fromCharCode(b)) : undefined));
  const unk = special("unknown", 0);
  // user-defined tokens are split out before anything else, longest first (cache_special_tokens)
  const userDefined = tokens.map((t, i) => [t, i] as const).filter(([t, i]) => types[i] === TokenType.userDefined && t.length > 0);
  userDefined.sort((a, b) => utf8Length(b[0]) - utf8Length(a[0]) || a[1] - b[1]);
  // no token has "▁" after another character: merges never cross a word start, so words are cached
  const wordwise = tokens.every((t) => !/[^\u2581]\u2581/u.test(t));
  const cache = new Map<string, number[]>();

  const merge = (s: string, out: number[]): void => {
    const syms = symbolsOf(s, ids, scores);
    for (let i = syms.first; i >= 0; i = syms.next[i]!) {
      const text = s.slice(syms.start[i]!, syms.start[i]! + syms.len[i]!);
      const id = ids.get(text);
      if (id !== undefined) {
        out.push(id);
        continue;
      }
      for (const b of new TextEncoder().encode(text)) {
        const byte = byteIds[b] ?? unk;
        if (byte === undefined) throw new FormatError("TOKENIZER_NO_BYTE_TOKEN", `the vocabulary has no token for byte 0x${b.toString(16)} of ${JSON.stringify(text)}, nor an unknown token`, { file });
        out.push(byte);
      }
    }
  };
  const encodePiece = (text: string, out: number[]): void => {
    if (!wordwise) return merge(text, out);
    let start = 0;
    for (let i = 1; i <= text.length; i++) {
      if (i < text.length && !(text[i] === SPACE && text[i - 1] !== SPACE)) continue;
      const word = text.slice(start, i);
      let hit = cache.get(word);
      if (hit === undefined) {
        hit = [];
        merge(word, hit);
        if (cache.size < CACHE_WORDS) cache.set(word, hit);
      }
      for (const id of hit) out.push(id);
      start = i;
    }
  };

  return {
    encode(text: string): number[] {
      const out: number[] = [];
      let prevSpecial = true; // the first piece gets the prefix space too
      for (const f of splitUserDefined(text, userDefined)) {
        if (typeof f === "number") {
          out.push(f);
          prevSpecial = true;
          continue;
        }
        const s = (addSpacePrefix && prevSpecial ? " " : "") + f;
        encodePiece(s.replaceAll(" ", SPACE), out);
        prevSpecial = false;
      }
      return out;
    },
    decode(list: readonly number[]): string {
      let text = "";
      let bytes: number[] = [];
      const flush = () => {
        if (bytes.length > 0) text += new TextDecoder().decode(new Uint8Array(bytes));
        bytes = [];
      };
      for (const id of list) {
        const t = tokens[id];
        const type = types[id];
        if (t === undefined || type === TokenType.control || type === TokenType.unknown) continue;
        const byte = type === TokenType.byte ? /^<0x([0-9A-Fa-f]{2})>$/.exec(t) : null;
        if (byte) {
          bytes.push(parseInt(byte[1]!, 16));
          continue;
        }
        flush();
        text += t.replaceAll(SPACE, " ");
      }
      flush();
      return addSpacePrefix && text.startsWith(" ") ? text.slice(1) : text;
    },
    bos: special("bos", 1),
    eos: special("eos", 2),
  };
}

function utf8Length(s: string): number {
  return new TextEncoder().encode(s).length;
}

/** The text cut at every occurrence of each user-defined token (in order): strings and token ids. */
function splitUserDefined(text: string, userDefined: readonly (readonly [string, number])[]): (string | number)[] {
  let parts: (string | number)[] = text.length > 0 ? [text] : [];
  for (const [t, id] of userDefined) {
    const next: (string | number)[] = [];
    for (const p of parts) {
      if (typeof p === "number" || !p.includes(t)) {
        next.push(p);
        continue;
      }
      const pieces = p.split(t);
      pieces.forEach((piece, k) => {
        if (k > 0) next.push(id);
        if (piece.length > 0) next.push(piece);
      });
    }
    parts = next;
  }
  return parts;
}

interface Symbols {
  /** UTF-16 offset and length in the text of each symbol; merged-away symbols have length 0 */
  start: Int32Array;
  len: Int32Array;
  prev: Int32Array;
  next: Int32Array;
  first: number;
}

/**
 * llm_tokenizer_spm_session: one symbol per character, then the best bigram (highest score of the
 * token the pair concatenates to, leftmost first) merged until none is a token. A queued bigram is
 * stale when either side has changed since (their lengths no longer add up to its size).
 */
function symbolsOf(s: string, ids: ReadonlyMap<string, number>, scores: readonly number[]): Symbols {
  const starts: number[] = [];
  for (let i = 0; i < s.length; i++) {
    starts.push(i);
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) i++; // a surrogate pair is one character
  }
  const n = starts.length;
  const start = Int32Array.from(starts);
  const len = new Int32Array(n);
  const prev = new Int32Array(n);
  const next = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    len[i] = (i + 1 < n ? starts[i + 1]! : s.length) - starts[i]!;
    prev[i] = i - 1;
    next[i] = i + 1 < n ? i + 1 : -1;
  }
  const heap = new BigramHeap();
  const tryAdd = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const size = len[left]! + len[right]!;
    const id = ids.get(s.slice(start[left]!, start[left]! + size));
    if (id !== undefined) heap.push(left, right, scores[id]!, size);
  };
  for (let i = 1; i < n; i++) tryAdd(i - 1, i);
  for (let b = heap.pop(); b !== undefined; b = heap.pop()) {
    const { left, right, size } = b;
    if (len[left] === 0 || len[right] === 0 || len[left]! + len[right]! !== size) continue;
    len[left] = size;
    len[right] = 0;
    next[left] = next[right]!;
    if (next[right]! >= 0) prev[next[right]!] = left;
    tryAdd(prev[left]!, left);
    tryAdd(left, next[left]!);
  }
  return { start, len, prev, next, first: n > 0 ? 0 : -1 };
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** A binary max-heap of bigrams: higher score first, then the smaller left index (llm_bigram_spm's order). */
class BigramHeap {
  private readonly items: Bigram[] = [];

  private before(a: Bigram, b: Bigram): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }

  push(left: number, right: number, score: number, size: number): void {
    const items = this.items;
    items.push({ left, right, score, size });
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(items[i]!, items[parent]!)) break;
      [items[i], items[parent]] = [items[parent]!, items[i]!];
      i = parent;
    }
  }

  pop(): Bigram | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length > 0 && last !== undefined) {
      items[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let best = i;
        if (l < items.length && this.before(items[l]!, items[best]!)) best = l;
        if (r < items.length && this.before(items[r]!, items[best]!)) best = r;
        if (best === i) break;
        [items[i], items[best]] = [items[best]!, items[i]!];
        i = best;
      }
    }
    return top;
  }
}
