// The predictor `dusk search --predict` ranks with unless given another: fitted by bench/predict.mjs
// on the "fit" layouts of the study's bases only (src/study/layout-set.ts), never on the held-out
// layouts its Spearman ρ is reported on. Regenerate with `node bench/predict.mjs --write-weights`.

import type { PredictorModel } from "./predict.js";

export const DEFAULT_PREDICTOR: PredictorModel = {
  features: [
    "seams",
    "seam_sum",
    "seam_max",
    "seam_sq",
    "back_sum",
    "skip_sum",
    "end_distance",
    "norm_mismatch",
    "drift_sum",
    "drift_max",
    "drift_end",
    "additive_nll",
    "removed_bi",
    "repeated_bi",
    "response_nll",
    "response_end"
  ],
  scale: [
    3.1400248562011375,
    0.42125851179379,
    0.17973546912746757,
    0.09035298714246351,
    0.30850953035721085,
    0.1453854064980699,
    0.04404255868379195,
    1.274735774459109,
    2.5827107781593517,
    0.17905103090727834,
    0.06082280011565874,
    0.11981980988972832,
    0.014344106615807895,
    0.19979085858696696,
    0.13686902048438254,
    0.07375828757934258
  ],
  weights: [
    0,
    0,
    0,
    0,
    0,
    0.10575114183390527,
    0.3038731199105063,
    0.15576515852663916,
    0,
    0.019307903211024144,
    0.15182363904839127,
    0.17712691528456506,
    0.05940339933352832,
    0,
    0,
    0.5517278299540436
  ],
  tau: 0.05,
  fitted_on: {
    layouts: 41,
    source: "bench/predict.mjs: the fit layouts of 32-layer and 16-layer seed-scale bases"
  }
};
