// Measuring layouts over one base on a generated tiny model: the identity and an identity-copy
// expansion are the base to the float, resuming from kept states changes no float, the per-window
// sums add up to the total, and a layout's number is `analyze`'s virtual perplexity of the same stack.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyHf } from "../../test/helpers/models.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { fullCorpus } from "../fixtures/corpus.js";
import { dusRecipe, expandRecipe, idusRecipe, recipeLayers, sliceOf } from "../recipe/index.js";
import { analyze } from "./analyze.js";
import { basePrefix, measureLayouts } from "./measure-layouts.js";

const TEXT = fullCorpus().slice(200_000, 201_000);
const N = 6;
const W = { ctx: 96, stride: 48 };
let model: Checkpoint;

beforeAll(async () => {
  model = await openCheckpoint(await makeTinyHf({ layers: N, hidden: 32, heads: 4, kvHeads: 2, std: 0.08, seed: 11 }));
});
afterAll(async () => model?.close());

const layersOf = (r: ReturnType<typeof dusRecipe>) => recipeLayers(r).map((l) => l.layer);

describe("measureLayouts", () => {
  it("measures the base, the identity, DUS, iDUS-1 and an identity expansion; resuming changes no float", async () => {
    const dus = dusRecipe({ model: model.ref, layers: N, drop: 2 });
    const idus = idusRecipe({ model: model.ref, layers: N, drop: 2, group: 1 });
    const expand = expandRecipe({ model: model.ref, layers: N, every: 3, scale: 0 });
    const layouts = [
      { layers: [0, 1, 2, 3, 4, 5] },
      { layers: layersOf(dus) },
      { layers: layersOf(idus), recipe: idus },
      { layers: layersOf(expand), recipe: expand },
    ];
    let boundaries = 0;
    const r = await measureLayouts({ checkpoint: model, text: TEXT }, layouts, { ...W, onBaseBoundary: () => void boundaries++ });
    expect(r.windows).toBeGreaterThan(2);
    expect(boundaries).toBe((N + 1) * r.windows);
    expect(r.resumed).toBe(true);
    expect(r.base.distance).toHaveLength(N + 1);
    expect(r.base.norms).toHaveLength(N + 1);
    expect(r.base.norms.every((x) => x > 0)).toBe(true);
    const [identity, d, i1, ex] = r.layouts;
    expect(identity!.nll).toBe(r.base.nll);
    expect(identity!.resumed_from).toBe(N);
    expect(ex!.nll).toBe(r.base.nll); // zeroed output projections: each copy adds exactly nothing
    expect(ex!.resumed_from).toBe(3);
    expect(d!.resumed_from).toBe(4);
    expect(d!.spec).toBe("0-3,2-5");
    expect(i1!.resumed_from).toBe(1);
    expect(i1!.nll).not.toBe(r.base.nll);
    for (const m of [r.base, ...r.layouts]) {
      expect(m.window_nll).toHaveLength(r.windows);
      expect(m.window_tokens.reduce((a, b) => a + b, 0)).toBe(m.scored);
      expect(m.window_nll.reduce((a, b) => a + b, 0) / m.scored).toBeCloseTo(m.nll, 10);
    }
    const cold = await measureLayouts({ checkpoint: model, text: TEXT }, layouts, { ...W, resume: false });
    expect(cold.resumed).toBe(false);
    expect(cold.layouts.map((x) => x.nll)).toEqual(r.layouts.map((x) => x.nll));
    expect(cold.layouts.every((x) => x.resumed_from === 0)).toBe(true);
    // the same number as analyze's virtual stack (the `dusk ppl` path)
    const a = await analyze({ checkpoints: [model], recipe: dus, text: TEXT }, W);
    expect(d!.ppl).toBe(a.layout!.ppl);
    expect(r.base.ppl).toBe(a.layout!.base_ppl);
  });

  it("chooses layouts from the base pass when given a function", async () => {
    const r = await measureLayouts({ checkpoint: model, text: TEXT.slice(0, 400) }, (base) => {
      expect(base.block_influence).toHaveLength(N);
      return [{ layers: [0, 1, 2, 3, 4] }];
    }, W);
    expect(r.layouts[0]!.spec).toBe("0-4");
    expect(r.layouts[0]!.resumed_from).toBe(5);
  });

  it("resumes only over unchanged leading base layers", () => {
    expect(basePrefix({ layers: [0, 1, 2, 2, 3] })).toBe(3);
    expect(basePrefix({ layers: [1, 2, 3] })).toBe(0);
    // a scaled slice over the base's own layers 2-3 stops the prefix at 2
    const dus = dusRecipe({ model: "m", layers: 8, drop: 2 });
    const parameters = expandRecipe({ model: "m", layers: 4, every: 2, scale: 0.5 }).slices[1]!.parameters!;
    const scaled = { ...dus, slices: [sliceOf("m", 0, 2), sliceOf("m", 2, 4, parameters), sliceOf("m", 4, 6), ...dus.slices.slice(1)] };
    expect(basePrefix({ layers: layersOf(scaled), recipe: scaled })).toBe(2);
    expect(basePrefix({ layers: layersOf(dus), recipe: dus })).toBe(6);
  });
});
