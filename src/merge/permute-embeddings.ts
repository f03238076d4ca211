// Embedding and head matrices rearranged to the output vocabulary before a merge, as mergekit's
// PermutedEmbeddings does: each model's row of each output token, or — where a model lacks the
// token or a rule forces it — the configured or donor model's row, the average of the models
// that have it, or zeros; rows padded past the vocabulary take the mean of the others.

import type { MergeSpec } from "../plan/types.js";
import type { VocabDefault } from "../plan/vocabulary.js";
import { rounder, type WorkType } from "./float.js";

/**
 * `originals[k]` ([rows_k, hidden] of input k, working-type values) → `out[k]` ([vocab.rows,
 * hidden]). Averages and padding accumulate in float32 in input order (mergekit's are in the
 * order of a Python set).
 */
export function permuteEmbeddings(spec: MergeSpec, originals: Float32Array[], out: Float32Array[], hidden: number, dtype: WorkType): void {
  const vocab = spec.vocab!;
  const r = rounder(dtype);
  const sources = spec.inputs.map((i) => i.source);
  const defaults = new Map<number, VocabDefault>(vocab.defaults.map((d) => [d.id, d]));
  const row = (k: number, at: number) => originals[k]!.subarray(at * hidden, (at + 1) * hidden);
  const inputOf = (source: number): number => sources.indexOf(source);
  const fallback = (id: number, d: VocabDefault | undefined): Float32Array | undefined => {
    if (d === undefined) return undefined;
    if (d.kind === "zero") return new Float32Array(hidden);
    if (d.kind === "row") {
      const k = inputOf(d.source);
      return k >= 0 ? row(k, d.row) : undefined;
    }
    const acc = new Float32Array(hidden);
    let count = 0;
    sources.forEach((s, k) => {
      const at = vocab.rowsOf[s]?.[id] ?? -1;
      if (at < 0) return;
      const v = row(k, at);
      for (let j = 0; j < hidden; j++) acc[j] = r(acc[j]! + v[j]!);
      count++;
    });
    if (count > 0) for (let j = 0; j < hidden; j++) acc[j] = r(acc[j]! / count);
    return acc;
  };
  const cache = new Map<number, Float32Array | undefined>();
  sources.forEach((s, k) => {
    const target = out[k]!;
    const own = vocab.rowsOf[s];
    for (let id = 0; id < vocab.tokens; id++) {
      const d = defaults.get(id);
      const at = own?.[id] ?? id;
      const forced = d !== undefined && d.kind !== "average" && d.force;
      let v: Float32Array | undefined;
      if (at >= 0 && !forced) v = row(k, at);
      else {
        if (!cache.has(id)) cache.set(id, fallback(id, d));
        v = cache.get(id);
      }
      if (v) target.set(v, id * hidden);
      else target.fill(0, id * hidden, (id + 1) * hidden);
    }
    if (vocab.rows > vocab.tokens) {
      // padding rows: the mean of the vocabulary's rows (torch.mean over them)
      const mean = new Float64Array(hidden);
      for (let id = 0; id < vocab.tokens; id++) for (let j = 0; j < hidden; j++) mean[j]! += target[id * hidden + j]!;
      for (let id = vocab.tokens; id < vocab.rows; id++) for (let j = 0; j < hidden; j++) target[id * hidden + j] = r(mean[j]! / vocab.tokens);
    }
  });
}
