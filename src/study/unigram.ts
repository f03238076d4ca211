// The study's chance level for perplexity: a unigram model fitted on the test text itself (so an
// optimistic one: it knows the text's own token frequencies), scored on exactly the tokens and
// windows the models are scored on. A layout whose NLL reaches it has lost everything its base
// learned beyond token frequencies: the perplexity analogue of a leaderboard score at chance.

import type { TextWindow } from "../analyze/index.js";

export interface UnigramLevel {
  nll: number;
  ppl: number;
  /** per window: Σ −log p_unigram over the window's scored tokens */
  window_nll: number[];
  window_tokens: number[];
}

/** Scored positions of a window: [start + from, end) (the first window skips token 0). */
export function unigramLevel(tokens: readonly number[], windows: readonly TextWindow[]): UnigramLevel {
  const counts = new Map<number, number>();
  let total = 0;
  for (const w of windows) {
    for (let t = w.start + w.from; t < w.end; t++) {
      counts.set(tokens[t]!, (counts.get(tokens[t]!) ?? 0) + 1);
      total++;
    }
  }
  const window_nll: number[] = [];
  const window_tokens: number[] = [];
  let sum = 0;
  for (const w of windows) {
    let s = 0;
    for (let t = w.start + w.from; t < w.end; t++) s -= Math.log(counts.get(tokens[t]!)! / total);
    window_nll.push(s);
    window_tokens.push(w.end - w.start - w.from);
    sum += s;
  }
  const nll = sum / total;
  return { nll, ppl: Math.exp(nll), window_nll, window_tokens };
}
