// The learning-rate schedule: linear warmup to the peak, then cosine decay to a floor at the last
// step. A pure function of the step, so a resumed run recomputes exactly the rates it would have
// used. Also the `--tokens 2M` / `--steps N` budget arithmetic.

import { TrainError } from "./train-error.js";

export interface Schedule {
  lr: number;
  /** lr at the end, as a fraction of the peak */
  minLrRatio: number;
  warmupSteps: number;
  totalSteps: number;
}

/** lr for optimizer step `step` (0-based): (step+1)/warmup·lr, then cosine from lr to minLr. */
export function learningRate(s: Schedule, step: number): number {
  if (step < s.warmupSteps) return (s.lr * (step + 1)) / s.warmupSteps;
  const span = Math.max(1, s.totalSteps - s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / span);
  const min = s.lr * s.minLrRatio;
  return min + 0.5 * (s.lr - min) * (1 + Math.cos(Math.PI * progress));
}

/** "2M" → 2_000_000, "500k" → 500_000, "1.5M", "3G", or a plain integer. */
export function parseCount(text: string, what: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)\s*$/.exec(text);
  const mult = m ? { "": 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as "" | "k" | "m" | "g"] : undefined;
  const n = m && mult ? Math.round(Number(m[1]) * mult) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    throw new TrainError("TRAIN_BAD_COUNT", `${what} must be a positive count such as 2000, 500k or 2M, found ${JSON.stringify(text)}`, {
      hint: "k = thousand, M = million, G = billion",
    });
  }
  return n;
}

/** Steps for a token budget: ceil(tokens / tokens per step), at least 1. */
export function stepsForTokens(tokens: number, tokensPerStep: number): number {
  return Math.max(1, Math.ceil(tokens / tokensPerStep));
}
