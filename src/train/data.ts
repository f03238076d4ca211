// Training data: texts → tokens with the model's own tokenizer → one stream (BOS/EOS around each
// document) → sequences of seqLen + 1 tokens (inputs and next-token targets) that overlap by one.
// The tail of the stream is held out and never trained on; training sequences are visited in a
// seeded shuffle per epoch, so the data position of step k is a pure function of (seed, k).

import { createHash } from "node:crypto";
import { mulberry32 } from "../engine/index.js";
import { TrainError } from "./train-error.js";

/** One text, named for messages (a file path, or "text 2"). */
export interface TextDoc {
  name: string;
  text: string;
}

export interface TrainTokenizer {
  encode(text: string): number[];
  bos: number | undefined;
  eos: number | undefined;
}

/**
 * Refuses what is not text: a NUL byte, or many U+FFFD from invalid UTF-8 (a model file or an
 * archive given by mistake), and an empty or whitespace-only text.
 */
export function checkText(doc: TextDoc): void {
  const nul = doc.text.indexOf("\u0000");
  let bad = 0;
  for (let i = 0; i < doc.text.length && i < 1_000_000; i++) if (doc.text.charCodeAt(i) === 0xfffd) bad++;
  if (nul >= 0 || bad > Math.max(8, Math.min(doc.text.length, 1_000_000) / 100)) {
    throw new TrainError("TRAIN_BINARY_TEXT", `${doc.name}: expected UTF-8 text, found binary data (${nul >= 0 ? `a NUL byte at character ${nul}` : `${bad} invalid UTF-8 sequences`})`, {
      hint: "give plain text files (a corpus such as tinyshakespeare.txt), not model files or archives",
    });
  }
  if (doc.text.trim().length === 0) {
    throw new TrainError("TRAIN_EMPTY_TEXT", `${doc.name}: the text is empty`, { hint: "give a text file with the corpus to train on" });
  }
}

/** The token stream of all documents: [BOS] doc [EOS] for each, as the tokenizer defines them. */
export function tokenizeDocs(docs: readonly TextDoc[], tok: TrainTokenizer): Int32Array {
  const parts: number[][] = [];
  let n = 0;
  for (const d of docs) {
    checkText(d);
    const ids = tok.encode(d.text);
    const doc = [...(tok.bos === undefined ? [] : [tok.bos]), ...ids, ...(tok.eos === undefined ? [] : [tok.eos])];
    parts.push(doc);
    n += doc.length;
  }
  const out = new Int32Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

export interface PackedData {
  /** the train stream; sequence i is tokens [i·S, i·S + S + 1) */
  train: Int32Array;
  /** the held-out stream, same packing */
  heldOut: Int32Array;
  seqLen: number;
  trainSequences: number;
  heldOutSequences: number;
  /** sha256 of both streams and seqLen: what a resumed run must find again */
  fingerprint: string;
}

const sequencesIn = (tokens: number, S: number): number => Math.max(0, Math.floor((tokens - 1) / S));

/**
 * Packs `stream` into sequences of `seqLen`; the last `holdout` fraction of sequences (at least
 * one) is held out, unless a separate `heldOut` stream is given. `what` names the data in errors.
 */
export function packData(stream: Int32Array, seqLen: number, opts: { holdout: number; heldOut?: Int32Array; what: string }): PackedData {
  const S = seqLen;
  const total = sequencesIn(stream.length, S);
  let train: Int32Array;
  let heldOut: Int32Array;
  if (opts.heldOut) {
    train = stream;
    heldOut = opts.heldOut;
    if (total < 1) {
      throw new TrainError("TRAIN_TEXT_TOO_SHORT", `${opts.what} gives ${stream.length} tokens; one training sequence of --seq-len ${S} needs ${S + 1}`, {
        hint: "give a longer text, or a smaller --seq-len",
      });
    }
    if (sequencesIn(heldOut.length, S) < 1) {
      throw new TrainError("TRAIN_TEXT_TOO_SHORT", `the held-out text gives ${heldOut.length} tokens; one sequence needs ${S + 1} (--seq-len ${S} + 1)`, {
        hint: "give a longer held-out text or a smaller --seq-len",
      });
    }
  } else {
    const held = Math.max(1, Math.round(total * opts.holdout));
    if (total - held < 1) {
      const need = 2 * S + 1;
      throw new TrainError("TRAIN_TEXT_TOO_SHORT", `${opts.what} gives ${stream.length} tokens; one training sequence and one held-out sequence of --seq-len ${S} need at least ${need}`, {
        hint: "give a longer text, or a smaller --seq-len",
      });
    }
    const cut = (total - held) * S;
    train = stream.subarray(0, cut + 1);
    heldOut = stream.subarray(cut);
  }
  const h = createHash("sha256");
  h.update(`seq ${S} train ${train.length} held ${heldOut.length}\n`);
  h.update(new Uint8Array(train.buffer, train.byteOffset, train.byteLength));
  h.update(new Uint8Array(heldOut.buffer, heldOut.byteOffset, heldOut.byteLength));
  return { train, heldOut, seqLen: S, trainSequences: sequencesIn(train.length, S), heldOutSequences: sequencesIn(heldOut.length, S), fingerprint: h.digest("hex").slice(0, 32) };
}

/** The permutation of [0, n) for `epoch`: Fisher–Yates on mulberry32(seed, epoch). */
export function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const rand = mulberry32((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b)) >>> 0);
  const p = new Uint32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/** Training sequences in visiting order: cursor c → sequence index (epochs reshuffled from the seed). */
export class SequenceOrder {
  private epoch = -1;
  private perm: Uint32Array = new Uint32Array(0);
  constructor(readonly count: number, readonly seed: number) {}

  at(cursor: number): number {
    const e = Math.floor(cursor / this.count);
    if (e !== this.epoch) {
      this.perm = epochOrder(this.count, this.seed, e);
      this.epoch = e;
    }
    return this.perm[cursor % this.count]!;
  }
}

/** Inputs and targets [B·S] of sequences `indices` of `stream`. */
export function gatherBatch(stream: Int32Array, S: number, indices: readonly number[]): { tokens: Int32Array; targets: Int32Array } {
  const tokens = new Int32Array(indices.length * S);
  const targets = new Int32Array(indices.length * S);
  indices.forEach((idx, b) => {
    tokens.set(stream.subarray(idx * S, idx * S + S), b * S);
    targets.set(stream.subarray(idx * S + 1, idx * S + S + 1), b * S);
  });
  return { tokens, targets };
}

/** Unigram entropy of a token stream in nats: the loss of the best context-free model. */
export function unigramEntropy(tokens: ArrayLike<number>): number {
  const counts = new Map<number, number>();
  for (let i = 0; i < tokens.length; i++) counts.set(tokens[i]!, (counts.get(tokens[i]!) ?? 0) + 1);
  let h = 0;
  for (const c of counts.values()) {
    const p = c / tokens.length;
    h -= p * Math.log(p);
  }
  return h;
}
