// The bytes each token of a model writes, from its GGUF vocabulary (as node-llama-cpp read it):
// SentencePiece byte tokens <0xNN>, byte-level BPE's printable alphabet mapped back to bytes, UTF-8
// for everything else, nothing for control tokens. With them generate() releases text only where a
// character ends, as llama.cpp's server does (validate_utf8): an incomplete UTF-8 sequence is held
// back until it completes, even across many tokens. Not detokenizing: llama.cpp does that.

const SPM_SPACE = "\u2581";
/** GGUF token types (llama_token_type) */
const CONTROL = 3;
const UNUSED = 5;
const BYTE = 6;

/** token → its bytes; undefined for a token (or a vocabulary) whose bytes are not known here */
export type TokenBytes = (token: number) => Uint8Array | undefined;

interface GgufTokenizerMeta {
  model?: unknown;
  tokens?: unknown;
  token_type?: unknown;
}

/** The byte reader of a GGUF's `tokenizer.ggml` metadata: SentencePiece ("llama") or byte-level BPE ("gpt2"). */
export function tokenBytesOf(ggml: GgufTokenizerMeta | undefined): TokenBytes | undefined {
  const tokens = ggml?.tokens;
  const types = ggml?.token_type;
  if (!Array.isArray(tokens) || (types !== undefined && !isNumberList(types))) return undefined;
  const typeOf = (t: number): number => (types === undefined ? 1 : (types as ArrayLike<number>)[t] ?? 1);
  const utf8 = new TextEncoder();
  let piece: (text: string, type: number) => Uint8Array | undefined;
  if (ggml!.model === "llama") {
    piece = (text, type) => {
      if (type === BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(text);
        return m ? Uint8Array.of(parseInt(m[1]!, 16)) : undefined;
      }
      return utf8.encode(text.replaceAll(SPM_SPACE, " "));
    };
  } else if (ggml!.model === "gpt2") {
    const byteOf = byteLevelDecoder();
    piece = (text, type) => {
      if (type !== 1) return utf8.encode(text); // added tokens are stored as plain text
      const out: number[] = [];
      for (const ch of text) {
        const b = byteOf.get(ch);
        if (b === undefined) return utf8.encode(text);
        out.push(b);
      }
      return Uint8Array.from(out);
    };
  } else return undefined;
  const cache = new Map<number, Uint8Array | undefined>();
  return (token) => {
    if (cache.has(token)) return cache.get(token);
    const text = tokens[token];
    const type = typeOf(token);
    const bytes = typeof text !== "string" ? undefined : type === CONTROL || type === UNUSED ? new Uint8Array(0) : piece(text, type);
    cache.set(token, bytes);
    return bytes;
  };
}

function isNumberList(v: unknown): boolean {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

/** GPT-2's bytes_to_unicode, reversed: the printable character standing for each byte → the byte. */
function byteLevelDecoder(): Map<string, number> {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const m = new Map<string, number>();
  let n = 0;
  for (let b = 0; b < 256; b++) m.set(String.fromCodePoint(printable(b) ? b : 256 + n++), b);
  return m;
}

/**
 * How many of `pieces` (consecutive tokens' bytes) can be decoded now: the most leading ones that
 * end where a UTF-8 unit ends (a character, or a broken sequence that a later byte has already
 * ended). The rest starts or continues a character that is still incomplete.
 */
export function completeTokens(pieces: readonly Uint8Array[]): number {
  const total = pieces.reduce((n, p) => n + p.length, 0);
  const bytes = new Uint8Array(total);
  const ends: number[] = [];
  let at = 0;
  for (const p of pieces) {
    bytes.set(p, at);
    at += p.length;
    ends.push(at);
  }
  const complete = unitEnds(bytes);
  for (let i = pieces.length; i > 0; i--) if (complete.has(ends[i - 1]!)) return i;
  return 0;
}

/**
 * The positions where a UTF-8 unit of `bytes` ends, 0 included, as a decoder splits them
 * (WHATWG: a character, or the maximal invalid subpart that becomes one U+FFFD); a trailing
 * sequence that could still complete is not a unit yet.
 */
export function unitEnds(bytes: Uint8Array): Set<number> {
  const ends = new Set<number>([0]);
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    const [need, lo, hi] = b < 0x80 ? [0, 0, 0] : b >= 0xc2 && b <= 0xdf ? [1, 0x80, 0xbf] : b === 0xe0 ? [2, 0xa0, 0xbf] : b === 0xed ? [2, 0x80, 0x9f] : b >= 0xe1 && b <= 0xef ? [2, 0x80, 0xbf] : b === 0xf0 ? [3, 0x90, 0xbf] : b >= 0xf1 && b <= 0xf3 ? [3, 0x80, 0xbf] : b === 0xf4 ? [3, 0x80, 0x8f] : [0, 0, 0];
    let j = i + 1;
    let ok = true;
    for (let k = 0; k < need; k++, j++) {
      if (j >= bytes.length) return ends; // incomplete at the end: held back
      const c = bytes[j]!;
      if (k === 0 ? c < lo || c > hi : c < 0x80 || c > 0xbf) {
        ok = false;
        break;
      }
    }
    i = ok ? i + 1 + need : j; // a broken sequence ends before the byte that broke it
    ends.add(i);
  }
  return ends;
}
