// results.json of `dusk study`: every number the report prints, and the raw per-window sums they
// come from (so the intervals can be redrawn: the bootstrap is seeded). Paths are as given to the
// study (repository-relative for the shipped bases). Penalties are nats/token over the same
// checkpoint's own base, measured before any healing.

import type { BootstrapSettings, Interval } from "./bootstrap.js";
import type { StudyLayoutKind } from "./factors.js";

export const STUDY_RESULTS_VERSION = 1;

export interface MeasuredLayout {
  /** "DUS", "iDUS-8", "iDUS-1", with " m=12" off the base's default overlap */
  name: string;
  kind: StudyLayoutKind;
  m: number;
  g: number;
  depth: number;
  /** `--layers` syntax */
  spec: string;
  /** mean NLL per token (nats) on the test text, and its exp */
  nll: number;
  ppl: number;
  /** per window: Σ −log p (the run's window_tokens say how many tokens each) */
  window_nll: number[];
  /** nll − the base's nll, with its bootstrap interval */
  penalty: Interval;
  /** ppl / base ppl = exp(penalty) */
  ppl_ratio: number;
  /** share of the base's gain over the unigram level that the layout loses: penalty / (unigram nll − base nll); 1 = back to unigram */
  lost: number | null;
  seconds: number;
}

/** One checkpoint of one base, measured with its layouts on the test text. */
export interface StudyRun {
  base: string;
  layers: number;
  /** optimizer steps (null: unknown for a final model without a log) */
  step: number | null;
  tokens: number | null;
  final: boolean;
  path: string;
  /** weights' stored type (checkpoints are bf16, final models f32) */
  dtype: string;
  /** the training run's own held-out loss at this step (its held-out split; not this study's text) */
  train_eval_loss: number | null;
  nll: number;
  ppl: number;
  window_nll: number[];
  /** tokens scored per window: the same for every layout of the run */
  window_tokens: number[];
  layouts: MeasuredLayout[];
  /** penalty(iDUS-1) − penalty(DUS) at the base's default m, paired over windows */
  idus1_minus_dus: Interval;
  /** penalty(iDUS-g) − penalty(DUS) at the base's default m */
  idusg_minus_dus: Interval;
  seconds: number;
}

export interface StudyBase {
  name: string;
  path: string;
  layers: number;
  params: number;
  /** the base's default overlap n/4 and interlocking group n/4 */
  m: number;
  g: number;
  /** the overlaps measured on the final model */
  overlaps: number[];
  /** a unigram model fitted on the test text itself (an optimistic chance level): per window and mean */
  unigram: { nll: number; ppl: number; window_nll: number[] };
}

/** One layout of the predictor's validation: measured and predicted penalty (nats/token). */
export interface PredictedLayout {
  name: string;
  kind: string;
  spec: string;
  depth: number;
  /** per position, the residual scale of scaled copies (LLaMA-Pro); absent: all 1 */
  scales?: number[];
  /** fit: used to fit the predictor's coefficients; held-out: only scored */
  set: "fit" | "held-out";
  measured: number;
  predicted: number;
  /** the seam-cost baseline's score (Σ seam distances) */
  baseline: number;
}

export interface PredictorSummary {
  base: string;
  /** Spearman ρ between predicted and measured penalties on the held-out layouts */
  rho: number;
  /** the same for the seam-cost baseline */
  baseline_rho: number;
  /** |predicted top 5 ∩ measured top 5| on the held-out layouts (lowest penalty first) */
  top5: number;
  baseline_top5: number;
  fit_layouts: number;
  held_out_layouts: number;
  /** ρ on the fit layouts themselves (in-sample: an upper reference, not the validation) */
  fit_rho: number;
  /** how the layouts were split and what was fitted */
  method: string;
  /** the fitted predictor (features, scales, weights): what `dusk search --predict` could reuse */
  model: unknown;
  layouts: PredictedLayout[];
  seconds: number;
}

export interface StudyResults {
  version: number;
  dusk: string;
  mode: "full" | "quick";
  date: string;
  machine: { cpu: string; cores: number; memory_gb: number; platform: string; node: string };
  settings: {
    /** the command that made these results */
    command: string;
    /** worker threads the jobs ran on (0: the main thread) */
    workers: number;
    ctx: number;
    stride: number;
    bootstrap: BootstrapSettings;
    /** the test text: where it starts in the corpus, its characters, tokens and windows */
    test: { source: string; start: number; chars: number; tokens: number; windows: number };
    /** the calibration text (the predictor's base pass), disjoint from the test text */
    calibration: { start: number; chars: number };
  };
  bases: StudyBase[];
  runs: StudyRun[];
  predictor: PredictorSummary[];
  /** wall seconds */
  timings: { measure: number; report: number; total: number };
}
