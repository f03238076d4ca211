// arcee_fusion (mergekit arcee_fusion.py): importance = |x − base| · KL(softmax(x) ‖ softmax(base))
// per row; entries whose importance reaches median + 1.5·IQR take the other model's value, the
// rest keep the base's. Past 1e6 entries mergekit estimates the quantiles on a random sample of
// 1e6 (torch.randperm); dusk samples the 1e6 entries with the smallest draws of its keyed
// generator, the same distribution of subsets, reproducibly.

import { rounder, type Rounder } from "../float.js";
import { lastDim, type MergeKernel } from "../kernel.js";
import { drawU32, keyedStream } from "../rng.js";
import { inlineExec } from "../blocks.js";
import { keepTopK } from "../select.js";

const SAMPLE = 1_000_000;

export const arceeFusion: MergeKernel = async (m) => {
  const r = rounder(m.dtype);
  const base = m.tensors[m.base!]!;
  const others = m.tensors.filter((_, k) => k !== m.base);
  if (others.length === 0) return base;
  const x = others[0]!;
  const importance = importanceScores(x, base, m.shape.length < 2 ? base.length : lastDim(m.shape), r);
  const threshold = await dynamicThreshold(importance, r, (n) => sampleMask(n, m.seed, m.key));
  const out = new Float32Array(base.length);
  for (let i = 0; i < out.length; i++) out[i] = importance[i]! >= threshold ? r(base[i]! + r(x[i]! - base[i]!)) : base[i]!;
  return out;
};

/** The dynamic threshold of one merge (tests compare its distribution with mergekit's). */
export async function arceeFusionThreshold(x: Float32Array, base: Float32Array, shape: number[], seed: number, key: string, sampled = true): Promise<number> {
  const importance = importanceScores(x, base, shape.length < 2 ? base.length : lastDim(shape), Math.fround);
  return dynamicThreshold(importance, Math.fround, (n) => sampleMask(n, seed, key), sampled ? SAMPLE : Infinity);
}

/** |x − base| · Σ_row p·log(p/q), p = softmax(x) + 1e-8, q = softmax(base) + 1e-8 (rows of the last dim). */
export function importanceScores(x: Float32Array, base: Float32Array, cols: number, r: Rounder): Float32Array {
  const n = x.length;
  const out = new Float32Array(n);
  const p = new Float64Array(cols);
  const q = new Float64Array(cols);
  const eps = r(1e-8);
  for (let row = 0; row < n; row += cols) {
    softmax(x, row, cols, p);
    softmax(base, row, cols, q);
    let kl = 0;
    for (let j = 0; j < cols; j++) {
      const pj = r(r(p[j]!) + eps);
      const qj = r(r(q[j]!) + eps);
      kl += r(pj * r(Math.log(r(pj / qj))));
    }
    const k = r(kl);
    for (let j = 0; j < cols; j++) out[row + j] = r(r(Math.abs(r(x[row + j]! - base[row + j]!))) * k);
  }
  return out;
}

/** torch's softmax over one row, in float32 whatever the type (bf16/f16 round its result once). */
function softmax(x: Float32Array, start: number, cols: number, out: Float64Array): void {
  const f = Math.fround;
  let max = -Infinity;
  for (let j = 0; j < cols; j++) max = Math.max(max, x[start + j]!);
  let sum = 0;
  for (let j = 0; j < cols; j++) {
    out[j] = f(Math.exp(f(x[start + j]! - max)));
    sum += out[j]!;
  }
  const inv = f(1 / f(sum));
  for (let j = 0; j < cols; j++) out[j] = f(out[j]! * inv);
}

/** median + 1.5·(q3 − q1), quantiles at index ⌊q·(n−1)⌋ of the sorted (possibly sampled) scores. */
export async function dynamicThreshold(scores: Float32Array, r: Rounder, sample: (n: number) => Promise<Float32Array>, limit = SAMPLE): Promise<number> {
  let values = scores;
  if (scores.length > limit) {
    const picked = await sample(scores.length);
    values = new Float32Array(SAMPLE);
    let j = 0;
    for (let i = 0; i < scores.length; i++) if (picked[i] !== 0) values[j++] = scores[i]!;
  } else {
    values = scores.slice();
  }
  values.sort();
  const at = (q: number): number => values[Math.trunc(Math.fround(Math.fround(q) * (values.length - 1)))]!;
  const median = at(0.5);
  const iqr = r(at(0.75) - at(0.25));
  return r(median + r(iqr * 1.5));
}

/** The 1e6 entries with the smallest keyed draws: a uniform random subset of exactly that size. */
export async function sampleMask(n: number, seed: number, key: string): Promise<Float32Array> {
  const stream = keyedStream(seed, `${key}#sample`, 0);
  // keys as float bits (the selection compares bits, never values): 1 + the inverted draw's top
  // 30 bits, so the 1e6 largest keys are the smallest draws and none is 0
  const keys = new Float32Array(n);
  const bits = new Uint32Array(keys.buffer);
  for (let i = 0; i < n; i++) bits[i] = 1 + ((~drawU32(stream, i) >>> 0) >>> 2);
  await keepTopK(keys, SAMPLE, inlineExec);
  return keys;
}
