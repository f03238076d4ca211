// The settings of a training run, their defaults and their checks against the model. Everything
// that changes the result is here (and recorded in trainer_state.json); the number of worker
// threads is not, because it does not change a single bit.

import type { EngineConfig } from "../engine/index.js";
import { ADAMW_DEFAULTS, type AdamWSettings } from "./optimizer.js";
import { TrainError } from "./train-error.js";

export interface TrainSettings {
  /** tokens per sequence (the context the model trains on) */
  seqLen: number;
  /** sequences per optimizer step */
  batch: number;
  /** sequences per micro-batch (gradient accumulation: batch / microBatch of them per step) */
  microBatch: number;
  /** optimizer steps of the whole run */
  steps: number;
  /** peak learning rate */
  lr: number;
  /** final learning rate as a fraction of the peak (cosine decay) */
  minLrRatio: number;
  warmupSteps: number;
  adamw: AdamWSettings;
  /** data order (and, from scratch, the initial weights) */
  seed: number;
  /** fraction of the sequences held out (ignored when a held-out text is given) */
  holdout: number;
  /** held-out evaluation every N steps (0: only before and after) */
  evalEvery: number;
  /** held-out sequences per evaluation (the first ones of the held-out split) */
  evalSequences: number;
  /** checkpoint every N steps (0: only at the end) */
  saveEvery: number;
}

export const TRAIN_DEFAULTS = {
  seqLen: 256,
  batch: 8,
  lr: 3e-4,
  minLrRatio: 0.1,
  holdout: 0.05,
  evalEvery: 50,
  evalSequences: 32,
  saveEvery: 0,
  seed: 1,
  adamw: ADAMW_DEFAULTS,
} as const;

/** Bytes of tape one micro-batch sequence keeps per layer, roughly (activations the backward reads). */
function tapeBytesPerSequence(c: EngineConfig, S: number): number {
  const qkv = (c.numHeads + 2 * c.numKvHeads) * c.headDim;
  // q/k norms keep q | k before their norms; sandwich norms keep both branch outputs
  const family = (c.qkNorm ? (c.numHeads + c.numKvHeads) * (c.headDim + 1) : 0) + (c.sandwichNorms ? 2 * c.hiddenSize + 2 : 0);
  return 4 * S * c.numLayers * (3 * c.hiddenSize + qkv + c.numHeads * c.headDim + 2 * c.intermediateSize + 4 + family);
}

/**
 * The largest divisor of `batch` that is at most half of it (so a step has at least two
 * micro-batches, one per core of a 2-core machine) and whose tape stays under ~256 MB. It does not
 * depend on the worker count, so the same settings give the same bits on any machine.
 */
export function defaultMicroBatch(c: EngineConfig, seqLen: number, batch: number): number {
  const fit = Math.max(1, Math.floor(256e6 / tapeBytesPerSequence(c, seqLen)));
  for (let m = Math.min(Math.floor(batch / 2), fit); m > 1; m--) if (batch % m === 0) return m;
  return 1;
}

function check(ok: boolean, field: string, expected: string, found: unknown, hint: string): void {
  if (!ok) throw new TrainError("TRAIN_BAD_SETTING", `${field}: expected ${expected}, found ${String(found)}`, { hint });
}

const posInt = (v: number) => Number.isSafeInteger(v) && v > 0;

/** Refuses settings that cannot run on this model, naming the flag. */
export function validateSettings(s: TrainSettings, c: EngineConfig): void {
  check(posInt(s.seqLen) && s.seqLen >= 2, "--seq-len", "an integer ≥ 2", s.seqLen, "e.g. --seq-len 256");
  check(s.seqLen <= c.maxPositions, "--seq-len", `at most the model's ${c.maxPositions} positions (max_position_embeddings)`, s.seqLen, `use --seq-len ${Math.min(c.maxPositions, 256)}`);
  check(posInt(s.batch), "--batch", "a positive integer (sequences per step)", s.batch, "e.g. --batch 8");
  check(posInt(s.microBatch) && s.batch % s.microBatch === 0, "--micro-batch", `a divisor of --batch ${s.batch}`, s.microBatch, "micro-batches split a step's batch evenly");
  check(posInt(s.steps), "--steps", "a positive integer", s.steps, "give --steps N or --tokens N");
  check(Number.isFinite(s.lr) && s.lr > 0 && s.lr < 1, "--lr", "a number in (0, 1)", s.lr, "e.g. --lr 3e-4");
  check(s.minLrRatio >= 0 && s.minLrRatio <= 1, "--min-lr-ratio", "a fraction in [0, 1]", s.minLrRatio, "e.g. 0.1");
  check(Number.isSafeInteger(s.warmupSteps) && s.warmupSteps >= 0, "--warmup", "a non-negative integer", s.warmupSteps, "e.g. --warmup 20");
  check(Number.isSafeInteger(s.seed) && s.seed >= 0 && s.seed < 2 ** 32, "--seed", "an integer in [0, 2^32)", s.seed, "e.g. --seed 1");
  check(s.holdout > 0 && s.holdout < 1, "--holdout", "a fraction in (0, 1)", s.holdout, "e.g. --holdout 0.05");
  check(Number.isSafeInteger(s.evalEvery) && s.evalEvery >= 0, "--eval-every", "a non-negative integer", s.evalEvery, "0 evaluates only before and after");
  check(posInt(s.evalSequences), "--eval-sequences", "a positive integer", s.evalSequences, "e.g. 32");
  check(Number.isSafeInteger(s.saveEvery) && s.saveEvery >= 0, "--save-every", "a non-negative integer", s.saveEvery, "0 saves only at the end");
  const a = s.adamw;
  check(a.beta1 >= 0 && a.beta1 < 1 && a.beta2 >= 0 && a.beta2 < 1, "adam betas", "values in [0, 1)", `${a.beta1}, ${a.beta2}`, "e.g. 0.9 and 0.95");
  check(a.eps > 0 && a.weightDecay >= 0 && a.clip >= 0, "adam eps / weight decay / clip", "eps > 0, decay ≥ 0, clip ≥ 0", `${a.eps}, ${a.weightDecay}, ${a.clip}`, "e.g. --weight-decay 0.1 --clip 1");
}

/** Default warmup: 5% of the steps, at most 100. */
export function defaultWarmup(steps: number): number {
  return Math.min(100, Math.max(0, Math.round(steps * 0.05)));
}
