// The calibration text as token ids, tokenized as `dusk ppl` tokenizes it: an HF directory through
// loadTextTokenizer (tokenizer.json, else tokenizer.model; the engine backend's tokenizer), a GGUF
// through llama.cpp's own vocabulary (loaded vocab-only, no weights). No special tokens are parsed
// and no BOS is added here.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { AnalyzeError } from "../errors.js";
import { llamaInstance } from "../runtime/llama-instance.js";
import { loadTextTokenizer } from "../tokenizer/load-text-tokenizer.js";

export interface CalibrationTokenizer {
  /** "tokenizer.json", "tokenizer.model" or "llama.cpp (GGUF vocabulary)" */
  readonly kind: string;
  encode(text: string): number[];
  readonly bos: number | undefined;
  close(): Promise<void>;
}

export async function openTextTokenizer(c: Checkpoint): Promise<CalibrationTokenizer> {
  if (c.format !== "gguf") {
    const t = await loadTextTokenizer(c);
    return { kind: t.kind, encode: (text) => t.encode(text), bos: t.bos, close: async () => {} };
  }
  const llama = await llamaInstance(false);
  let model;
  try {
    model = await llama.loadModel({ modelPath: c.path, vocabOnly: true });
  } catch (e) {
    throw new AnalyzeError("ANALYZE_TOKENIZER", `llama.cpp could not read the vocabulary of ${c.path}: ${(e as Error).message}`, {
      hint: "check the file with `dusk inspect`, or analyse the HF directory it was converted from",
      cause: e,
    });
  }
  const loaded = model;
  return {
    kind: "llama.cpp (GGUF vocabulary)",
    encode: (text) => loaded.tokenize(text, false) as number[],
    bos: loaded.tokens.bos ?? undefined,
    close: () => loaded.dispose(),
  };
}

/**
 * Token ids of `text` (BOS first when `bos`), refusing what no analysis can use: an empty text, and
 * one of fewer than 2 tokens (no next-token loss to measure).
 */
export function tokenizeText(tok: CalibrationTokenizer, text: string, textLabel: string, bos: boolean): number[] {
  if (text.length === 0) {
    throw new AnalyzeError("ANALYZE_EMPTY_TEXT", `the calibration text ${textLabel} is empty`, { hint: "pass a UTF-8 text file with some prose in it, e.g. a few paragraphs of the domain you care about" });
  }
  const ids = tok.encode(text);
  if (bos) {
    if (tok.bos === undefined) throw new AnalyzeError("ANALYZE_NO_BOS", "--bos was given but the tokenizer has no BOS token", { hint: "drop --bos" });
    ids.unshift(tok.bos);
  }
  if (ids.length < 2) {
    throw new AnalyzeError("ANALYZE_SHORT_TEXT", `the calibration text ${textLabel} is ${ids.length} token(s); analysis needs at least 2`, { hint: "pass a longer --text file" });
  }
  return ids;
}
