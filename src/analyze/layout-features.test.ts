// Layout features from one pass of a generated tiny model: what must hold whatever the weights are —
// the base and identity copies have every feature exactly 0 (so any predictor says 0), a seam's cost
// is the map's distance, the residual view is exact for the base, interlocking every layer costs
// more seams than DUS — and the whole validation run end to end on a 4-layer model.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyHf } from "../../test/helpers/models.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights } from "../engine/checkpoint-weights.js";
import { fullCorpus } from "../fixtures/corpus.js";
import { validatePredictor } from "../study/validate-predictor.js";
import { FEATURE_NAMES, baseProfile, layoutFeatures, StateSampler, type BaseProfile } from "./layout-features.js";
import { LayoutMeter } from "./measure-layouts.js";
import { DEFAULT_PREDICTOR } from "./predictor-weights.js";
import { predictPenalty } from "./predict.js";

const N = 6;
let model: Checkpoint;
let profile: BaseProfile;

beforeAll(async () => {
  model = await openCheckpoint(await makeTinyHf({ layers: N, hidden: 32, heads: 4, kvHeads: 2, std: 0.08, seed: 5 }));
  const sampler = new StateSampler(4, 64);
  const meter = await LayoutMeter.open({ checkpoint: model, text: fullCorpus().slice(300_000, 300_800) }, { ctx: 96, stride: 96, onBaseBoundary: sampler.onBaseBoundary });
  profile = await baseProfile(checkpointWeights(model), meter.base, sampler.result(meter.tokenIds));
});
afterAll(async () => model?.close());

describe("layoutFeatures", () => {
  it("gives the base and identity copies exactly 0 on every feature", () => {
    expect(profile.targets).toHaveLength(64);
    const base = layoutFeatures(profile, { layers: [0, 1, 2, 3, 4, 5] });
    const copies = layoutFeatures(profile, { layers: [0, 1, 2, 2, 3, 4, 5, 5], scales: [1, 1, 1, 0, 1, 1, 1, 0] });
    for (const name of FEATURE_NAMES) {
      expect(base[name], name).toBe(0);
      expect(copies[name], name).toBe(0);
    }
    expect(predictPenalty(DEFAULT_PREDICTOR, base)).toBe(0);
  });

  it("costs a seam the map's distance, and interlocking more than DUS", () => {
    const dus = layoutFeatures(profile, { layers: [0, 1, 2, 3, 2, 3, 4, 5] });
    expect(dus.seams).toBe(1);
    expect(dus.seam_sum).toBe(profile.distance[4]![2]);
    expect(dus.back_sum).toBe(dus.seam_sum);
    expect(dus.repeated_bi).toBeCloseTo(profile.block_influence[2]! + profile.block_influence[3]!, 12);
    expect(dus.drift_sum).toBeGreaterThan(0);
    expect(dus.response_end).toBeGreaterThan(0);
    const idus1 = layoutFeatures(profile, { layers: [0, 2, 1, 3, 2, 4, 3, 5] });
    expect(idus1.seams).toBe(7);
    expect(idus1.seam_sum).toBeGreaterThan(dus.seam_sum);
    // the same layers: the residual view's final state, hence its NLL, is the same
    expect(idus1.additive_nll).toBeCloseTo(dus.additive_nll, 5);
    const prune = layoutFeatures(profile, { layers: [0, 1, 4, 5] });
    expect(prune.skip_sum).toBe(profile.distance[2]![4]);
    expect(prune.removed_bi).toBeCloseTo(profile.block_influence[2]! + profile.block_influence[3]!, 12);
    expect(layoutFeatures(profile, { layers: [0, 1, 2] }).end_distance).toBe(profile.distance[3]![N]);
  });
});

describe("validatePredictor", () => {
  it("measures, fits on the fit set only and reports ρ and top-5 overlap on the held-out set", async () => {
    const c = await openCheckpoint(await makeTinyHf({ layers: 4, hidden: 32, heads: 4, kvHeads: 2, std: 0.08, seed: 3 }));
    try {
      const held = fullCorpus();
      const v = await validatePredictor({ checkpoint: c, calibration: held.slice(500_000, 500_400), heldOut: held.slice(510_000, 510_400) }, { ctx: 64, stride: 64 });
      const heldOut = v.layouts.filter((l) => l.set === "held-out");
      expect(heldOut.length).toBe(v.held_out.layouts);
      expect(v.fit.layouts).toBeGreaterThan(5);
      expect(new Set(v.layouts.map((l) => `${l.spec}|${l.scales ?? ""}`)).size).toBe(v.layouts.length);
      expect(v.predictor.fitted_on.layouts).toBe(v.fit.layouts);
      expect(v.held_out.spearman).toBeGreaterThanOrEqual(-1);
      expect(v.held_out.spearman).toBeLessThanOrEqual(1);
      expect(v.held_out.top5).toBeGreaterThanOrEqual(0);
      // identity copies: measured exactly 0 and predicted exactly 0
      const identity = v.layouts.filter((l) => l.kind === "expand" && l.scales!.includes(0));
      expect(identity.length).toBeGreaterThan(0);
      for (const l of identity) expect([l.measured, l.predicted]).toEqual([0, 0]);
      for (const l of v.layouts) expect(l.window_nll.reduce((a, b) => a + b, 0) / l.window_tokens.reduce((a, b) => a + b, 0)).toBeCloseTo(l.measured + v.base.nll, 9);
      // a changed predictor revalidates on the earlier measurements without measuring again
      const again = await validatePredictor({ checkpoint: c, calibration: held.slice(500_000, 500_400), heldOut: "unused" }, { ctx: 64, stride: 64, reuse: JSON.parse(JSON.stringify(v)) });
      again.layouts.forEach((l, i) => expect(l.measured).toBeCloseTo(v.layouts[i]!.measured, 12));
      expect(again.held_out.spearman).toBe(v.held_out.spearman);
    } finally {
      await c.close();
    }
  });
});
