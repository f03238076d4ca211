// The experiment's texts, each with one job: `train` (healing; for the default model, exactly
// what it was trained on), `calibration` (layer analysis and the layout search) and `test`
// (perplexity, the next-word task, the continuation prompt). Calibration and test are disjoint
// parts of the held-out text, which no model in the experiment ever trains on.

import { HELD_OUT_START, fullCorpus } from "../fixtures/corpus.js";
import { ExperimentError } from "./experiment-error.js";

export interface ExperimentTexts {
  /** where the text came from, for the report */
  source: string;
  train: string;
  calibration: string;
  test: string;
  /** character offsets in the source: [trainEnd, calibrationEnd] (held-out starts at trainEnd) */
  split: [number, number];
}

/** Characters of the held-out text used for calibration (analysis, search); the rest is the test. */
export const CALIBRATION_CHARS = 8_000;
const MIN_TEST_CHARS = 2_000;

/** The next line start at or after `at` (or the text's end). */
function lineStart(text: string, at: number): number {
  if (at <= 0) return 0;
  const i = text.indexOf("\n", at - 1);
  return i < 0 ? text.length : i + 1;
}

/**
 * Splits a text: the held-out part starts at `heldOutStart` (default: a line start after 90%),
 * its first CALIBRATION_CHARS (to a line start) calibrate, the rest is the test.
 */
export function splitTexts(text: string, source: string, heldOutStart?: number): ExperimentTexts {
  const start = heldOutStart ?? lineStart(text, Math.floor(text.length * 0.9));
  const calEnd = lineStart(text, start + Math.min(CALIBRATION_CHARS, Math.floor((text.length - start) / 3)));
  if (start < MIN_TEST_CHARS || text.length - calEnd < MIN_TEST_CHARS) {
    throw new ExperimentError("EXPERIMENT_TEXT_TOO_SHORT", `${source} has ${text.length} characters; the experiment needs a training part and a held-out tail of at least ${MIN_TEST_CHARS * 2} characters after it`, {
      hint: "give a longer --text (the default corpus has 1.1 MB)",
    });
  }
  return { source, train: text.slice(0, start), calibration: text.slice(start, calEnd), test: text.slice(calEnd), split: [start, calEnd] };
}

/** The shipped corpus, split where the embedded default model's training stopped. */
export function defaultTexts(): ExperimentTexts {
  return splitTexts(fullCorpus(), "assets/tinyshakespeare.txt", HELD_OUT_START);
}

/** A quick run's share of the texts: the first characters of each, to a line start. */
export function shortenTexts(t: ExperimentTexts, chars: { calibration: number; test: number }): ExperimentTexts {
  const cut = (s: string, n: number) => s.slice(0, lineStart(s, Math.min(n, s.length)));
  return { ...t, calibration: cut(t.calibration, chars.calibration), test: cut(t.test, chars.test) };
}

/**
 * The continuation prompt: the test text's first speaker turn with at least two lines of speech,
 * its label and those two lines (the text's first three lines when it has no such turn).
 */
export function continuationPrompt(test: string): string {
  const lines = test.split("\n");
  const speech = (i: number) => (lines[i] ?? "").trim() !== "" && !/:$/.test(lines[i] ?? "");
  const label = lines.findIndex((l, i) => /^[A-Z][A-Za-z .']*:$/.test(l) && speech(i + 1) && speech(i + 2));
  const from = label < 0 ? 0 : label;
  return lines.slice(from, from + 3).join("\n") + "\n";
}
