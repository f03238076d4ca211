// Deterministic training of a small SentencePiece-style BPE vocabulary for dusk's generated test
// models: <unk> <s> </s>, 256 byte-fallback pieces <0x00>..<0xFF>, the merged pieces in merge
// order, then the base characters. Not a production trainer (no sampling, no unigram, no
// normalisation beyond Llama's "▁" escaping).
//
// Invariant that makes llama.cpp's SPM tokenizer agree with HF's BPE on this vocabulary: every
// multi-character piece has exactly one split into two pieces, and that split is its merge.
// Then "pairs whose concatenation is a piece" (llama.cpp) = "pairs in the merge list" (HF), and
// score order (llama.cpp, higher first) = merge rank order (HF, lower first), ties leftmost in both.

import { PlanError } from "../errors.js";
import { PieceType, type SentencePiece } from "./sentencepiece-model.js";

export const SPM_SPACE = "\u2581"; // ▁

export interface TinyBpeOptions {
  /** total pieces, specials and bytes included (default 512; at least 259 + the alphabet) */
  vocabSize?: number;
  /** characters seen fewer times than this fall back to bytes (default 1: keep all) */
  minCharCount?: number;
}

export interface TinyBpeVocab {
  /** id order: <unk>, <s>, </s>, <0x00>..<0xFF>, merges (in rank order), base characters */
  pieces: SentencePiece[];
  /** merges[i] made piece pieces[259 + i]; rank i, SentencePiece score −i */
  merges: [string, string][];
}

export const TINY_SPECIALS = { unk: "<unk>", bos: "<s>", eos: "</s>" } as const;

export function bytePieceName(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
}

/** Llama's normalisation of one line: "▁" prefix, spaces → "▁". */
export function escapeSpm(text: string): string {
  return SPM_SPACE + text.replaceAll(" ", SPM_SPACE);
}

/** "▁word" chunks of a corpus, with counts; merges never cross a chunk start. Newlines are dropped. */
function countChunks(text: string): Map<string, number> {
  const chunks = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line.length === 0) continue;
    for (const chunk of escapeSpm(line).split(new RegExp(`(?=${SPM_SPACE})`, "u"))) {
      if (chunk.length > 0) chunks.set(chunk, (chunks.get(chunk) ?? 0) + 1);
    }
  }
  return chunks;
}

/** Number of ways `p` splits into two strings that are both in `vocab` (at code-point boundaries). */
function splitCount(p: string, vocab: ReadonlySet<string>): number {
  const cps = Array.from(p);
  let n = 0;
  let left = "";
  for (let k = 1; k < cps.length; k++) {
    left += cps[k - 1]!;
    if (vocab.has(left) && vocab.has(p.slice(left.length))) n++;
  }
  return n;
}

/** Would adding `p` give some existing piece a second split (p + rest or rest + p)? */
function createsSecondSplit(p: string, vocab: ReadonlySet<string>): boolean {
  for (const q of vocab) {
    if (q.length <= p.length) continue;
    if (q.startsWith(p) && vocab.has(q.slice(p.length))) return true;
    if (q.endsWith(p) && vocab.has(q.slice(0, q.length - p.length))) return true;
  }
  return false;
}

export function trainTinyBpe(text: string, opts: TinyBpeOptions = {}): TinyBpeVocab {
  const vocabSize = opts.vocabSize ?? 512;
  const minCharCount = opts.minCharCount ?? 1;
  const chunks = countChunks(text);

  // base alphabet: by frequency (desc), then code point, for determinism
  const charCounts = new Map<string, number>();
  for (const [chunk, n] of chunks) for (const c of chunk) charCounts.set(c, (charCounts.get(c) ?? 0) + n);
  charCounts.set(SPM_SPACE, Math.max(charCounts.get(SPM_SPACE) ?? 0, minCharCount));
  const alphabet = [...charCounts]
    .filter(([, n]) => n >= minCharCount)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([c]) => c);
  const fixed = 3 + 256;
  if (!Number.isSafeInteger(vocabSize) || vocabSize < fixed + alphabet.length) {
    throw new PlanError("TINY_VOCAB_SIZE", `vocabulary size ${vocabSize} is too small: ${fixed} special and byte pieces plus ${alphabet.length} characters are needed`, {
      hint: `use a vocab size of at least ${fixed + alphabet.length}, or raise minCharCount`,
    });
  }

  const vocab = new Set<string>([TINY_SPECIALS.unk, TINY_SPECIALS.bos, TINY_SPECIALS.eos, ...alphabet]);
  for (let b = 0; b < 256; b++) vocab.add(bytePieceName(b));
  const inAlphabet = new Set(alphabet);

  // words as arrays of symbol ids (symbols interned, so a pair is the number left·2^16 + right);
  // characters outside the alphabet split the word (they become bytes)
  const symbols: string[] = [...alphabet];
  const symbolId = new Map(alphabet.map((c, i) => [c, i] as const));
  const words: { syms: number[]; n: number }[] = [];
  for (const [chunk, n] of chunks) {
    let cur: number[] = [];
    for (const c of chunk) {
      const id = symbolId.get(c);
      if (id !== undefined) cur.push(id);
      else {
        if (cur.length > 1) words.push({ syms: cur, n });
        cur = [];
      }
    }
    if (cur.length > 1) words.push({ syms: cur, n });
  }
  const pairText = (key: number): [string, string] => [symbols[Math.floor(key / 65536)]!, symbols[key % 65536]!];

  const merges: [string, string][] = [];
  const rejected = new Set<number>();
  const nMerges = vocabSize - fixed - alphabet.length;
  while (merges.length < nMerges) {
    const counts = new Map<number, number>();
    for (const w of words) {
      const s = w.syms;
      for (let i = 0; i + 1 < s.length; i++) {
        const key = s[i]! * 65536 + s[i + 1]!;
        counts.set(key, (counts.get(key) ?? 0) + w.n);
      }
    }
    // candidates by count (desc), then text, for determinism; the first that keeps the
    // unique-split invariant (see the header) wins, and a rejected pair stays rejected
    const ranked = [...counts]
      .filter(([key]) => !rejected.has(key))
      .map(([key, n]) => ({ key, n, text: pairText(key).join("\u0000") }))
      .sort((x, y) => y.n - x.n || (x.text < y.text ? -1 : 1));
    let chosen: number | undefined;
    for (const { key } of ranked) {
      const p = pairText(key).join("");
      if (vocab.has(p) || splitCount(p, vocab) !== 1 || createsSecondSplit(p, vocab)) rejected.add(key);
      else {
        chosen = key;
        break;
      }
    }
    if (chosen === undefined) break; // corpus exhausted: the vocabulary ends up smaller
    const [a, b] = pairText(chosen);
    const ia = Math.floor(chosen / 65536);
    const ib = chosen % 65536;
    const ip = symbols.length;
    symbols.push(a + b);
    vocab.add(a + b);
    merges.push([a, b]);
    for (const w of words) {
      const s = w.syms;
      let out = 0;
      for (let i = 0; i < s.length; i++) {
        if (i + 1 < s.length && s[i] === ia && s[i + 1] === ib) {
          s[out++] = ip;
          i++;
        } else s[out++] = s[i]!;
      }
      s.length = out;
    }
  }

  const pieces: SentencePiece[] = [
    { piece: TINY_SPECIALS.unk, score: 0, type: PieceType.unknown },
    { piece: TINY_SPECIALS.bos, score: 0, type: PieceType.control },
    { piece: TINY_SPECIALS.eos, score: 0, type: PieceType.control },
  ];
  for (let b = 0; b < 256; b++) pieces.push({ piece: bytePieceName(b), score: 0, type: PieceType.byte });
  merges.forEach(([a, b], i) => pieces.push({ piece: a + b, score: -i, type: PieceType.normal }));
  alphabet.forEach((c, j) => pieces.push({ piece: c, score: -(merges.length + j), type: PieceType.normal }));
  return { pieces, merges };
}
