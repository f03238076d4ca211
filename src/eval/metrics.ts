// Per-document metrics and their aggregation, as lm-eval computes them: argmax accuracies,
// TruthfulQA mc1/mc2, GSM8K answer extraction (v1 and v0.4 filters) and the stderr of a mean.
// Not here: which metric a task reports (tasks/*.ts), result files (results.ts).

/** numpy.argmax: the first maximum; a NaN counts as the maximum (numpy returns the first NaN). */
export function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isNaN(v)) return i;
    if (v > values[best]!) best = i;
  }
  return best;
}

/** Length in Unicode code points, as Python's len(str). */
export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** acc: 1 when the highest log-likelihood is the gold choice. */
export function accuracy(lls: readonly number[], gold: number): number {
  return argmax(lls) === gold ? 1 : 0;
}

/** acc_norm: log-likelihood divided by the choice's length in code points (without the leading space). */
export function normalizedAccuracy(lls: readonly number[], choices: readonly string[], gold: number): number {
  return argmax(lls.map((ll, i) => ll / codePointLength(choices[i]!))) === gold ? 1 : 0;
}

function logSumExp(xs: readonly number[]): number {
  const m = Math.max(...xs);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const x of xs) s += Math.exp(x - m);
  return m + Math.log(s);
}

/** mc1: the true answer is always first in mc1_targets. */
export function mc1(lls: readonly number[]): number {
  return argmax(lls) === 0 ? 1 : 0;
}

/**
 * mc2 = Σ p(true) / Σ p(all), p = exp(ll), in log space. As lm-eval does, the true answers are
 * everything before the first label 0 (not every label 1).
 */
export function mc2(lls: readonly number[], labels: readonly number[]): number {
  let split = labels.indexOf(0);
  if (split === -1) split = labels.length;
  const lTrue = logSumExp(lls.slice(0, split));
  const lAll = logSumExp(lls);
  return lTrue === -Infinity ? 0 : Math.exp(lTrue - lAll);
}

export const INVALID_ANSWER = "[invalid]";

/** v1 GSM8K: the first `#### (-?[0-9.,]+)`, stripped, commas removed; `[invalid]` when absent. */
export function extractGsm8kAnswer(text: string): string {
  const m = /#### (-?[0-9.,]+)/.exec(text);
  return m ? m[1]!.trim().replaceAll(",", "") : INVALID_ANSWER;
}

/** v0.4 "strict-match" filter: the first `#### (-?[0-9.,]+)` group, stripped. */
export function strictMatchFilter(text: string): string {
  const m = /#### (-?[0-9.,]+)/.exec(text);
  return m ? m[1]!.trim() : INVALID_ANSWER;
}

/** v0.4 "flexible-extract" filter: the last match of `(-?[$0-9.,]{2,})|(-?[0-9]+)`, first non-empty group. */
export function flexibleExtractFilter(text: string): string {
  const matches = [...text.matchAll(/(-?[$0-9.,]{2,})|(-?[0-9]+)/g)];
  const last = matches[matches.length - 1];
  if (last === undefined) return INVALID_ANSWER;
  const group = last[1] || last[2];
  return group === undefined ? INVALID_ANSWER : group.trim();
}

/**
 * v0.4 gsm8k exact_match: apply regexes_to_ignore in order — ",", "\$", "(?s).*#### ", "\.$" — to
 * both sides, then ignore case. Python's `$` also matches before one final "\n".
 */
export function gsm8kExactMatch(prediction: string, reference: string): number {
  const normalise = (s: string) =>
    s.replaceAll(",", "").replaceAll("$", "").replace(/[\s\S]*#### /, "").replace(/\.(?=\n?$)/, "").toLowerCase();
  return normalise(prediction) === normalise(reference) ? 1 : 0;
}

export function mean(values: readonly number[]): number {
  let s = 0;
  for (const v of values) s += v;
  return s / values.length;
}

/** lm-eval's mean_stderr: sample standard deviation (n-1) / sqrt(n); null below two values. */
export function meanStderr(values: readonly number[]): number | null {
  const n = values.length;
  if (n < 2) return null;
  const mu = mean(values);
  let ss = 0;
  for (const v of values) ss += (v - mu) * (v - mu);
  return Math.sqrt(ss / (n - 1)) / Math.sqrt(n);
}
