// The predictor `dusk search --predict` ranks with unless given another: fitted by bench/predict.mjs
// on the "fit" layouts of the study's bases only (src/study/layout-set.ts), never on the held-out
// layouts its Spearman ρ is reported on. Regenerate with `node bench/predict.mjs --write-weights`.

import type { PredictorModel } from "./predict.js";

export const DEFAULT_PREDICTOR: PredictorModel = {
  features: ["seam_sum", "drift_sum"],
  scale: [1, 1],
  weights: [1, 1],
  tau: 0.05,
  fitted_on: { layouts: 0, source: "provisional" },
};
