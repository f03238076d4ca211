// The layout predictor's validation as a study job: study-predict's validatePredictor on a base's
// final model (fitted on its "fit" layouts, scored on the held-out ones; the predictor sees only the
// calibration text, the penalties are measured on the study's test text), reduced to what the
// report and results.json keep: every layout's measured and predicted penalty and the rank agreement.

import { openCheckpoint } from "../checkpoint/open-checkpoint.js";
import type { JobSettings, StudyBaseInput } from "./jobs.js";
import { predictorLayoutSet } from "./layout-set.js";
import type { PredictorSummary } from "./results.js";
import { validatePredictor } from "./validate-predictor.js";

/** The validation's layer-passes: the calibration pass, the test text's base pass and every layout. */
export function predictorUnits(n: number, model: string): number {
  return 2 * n + predictorLayoutSet(n, model).reduce((s, l) => s + l.layers.length, 0);
}

export async function predictorJob(job: { base: StudyBaseInput; n: number }, s: JobSettings, onUnits: (done: number, detail: string) => void, signal?: AbortSignal): Promise<PredictorSummary> {
  const started = performance.now();
  const c = await openCheckpoint(job.base.path);
  try {
    // progress: layouts measured → layer-passes, in the set's order (validatePredictor measures in that order)
    const depths = predictorLayoutSet(job.n, c.ref).map((l) => l.layers.length);
    const label = `${job.base.name} predictor`;
    const v = await validatePredictor({ checkpoint: c, calibration: s.texts.calibration, heldOut: s.texts.test, model: job.base.name }, {
      ctx: s.ctx, stride: s.stride, ...(signal ? { signal } : {}),
      onProgress: (e) => onUnits(e.phase === "profile" ? 0 : 2 * job.n + depths.slice(0, e.done).reduce((a, b) => a + b, 0), `${label}: ${e.phase === "profile" ? "calibration pass" : `layout ${e.done}/${e.total}`}`),
    });
    const held = v.layouts.filter((l) => l.set === "held-out");
    return {
      base: job.base.name,
      rho: v.held_out.spearman, baseline_rho: v.held_out.seam_cost.spearman,
      top5: v.held_out.top5, baseline_top5: v.held_out.seam_cost.top5,
      fit_layouts: v.layouts.length - held.length, held_out_layouts: held.length,
      fit_rho: v.fit.spearman,
      method: `fitted (${v.predictor.features.length} features, non-negative weights) on ${v.layouts.length - held.length} "fit" layouts of this base (random two-copy layouts, prunes, attenuated expansions, DUS at other m), ` +
        `scored on ${held.length} held-out layouts (DUS at 4 m, every iDUS-g at m = n/4, LLaMA-Pro expansions, prunes, random two-copy layouts) that no coefficient saw; ` +
        `features from one base pass on the calibration text, penalties measured on the test text`,
      model: v.predictor,
      layouts: v.layouts.map((l) => ({ name: l.name, kind: l.kind, spec: l.spec, depth: l.layers.length, ...(l.scales ? { scales: l.scales } : {}), set: l.set, measured: l.measured, predicted: l.predicted, baseline: l.seam_cost })),
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await c.close();
  }
}
