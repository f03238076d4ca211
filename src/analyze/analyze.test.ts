// Layer analysis on generated tiny models: the maps against a plain float64 implementation written
// here (over the engine's own hidden states), perplexity against `dusk ppl`'s path, and the layout
// properties that follow from the construction (identity = base, DUS's prefix matches the base,
// an identity copy moves nothing, a built stack = its virtual stack).

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeTinyHf } from "../../test/helpers/models.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights } from "../engine/checkpoint-weights.js";
import { forward } from "../engine/index.js";
import { EngineScorer } from "../eval/backend-engine.js";
import { loadTextTokenizer } from "../tokenizer/load-text-tokenizer.js";
import { perplexity } from "../eval/perplexity.js";
import { fullCorpus } from "../fixtures/corpus.js";
import { dusRecipe, expandRecipe, idusRecipe, layersRecipe } from "../recipe/index.js";
import { analyze } from "./analyze.js";

const TEXT = fullCorpus().slice(200_000, 201_200); // held out from the tokenizer's training excerpt
const N = 6;
let dir: string;
let model: Checkpoint;

beforeAll(async () => {
  dir = await makeTinyHf({ layers: N, hidden: 32, heads: 4, kvHeads: 2, std: 0.08, seed: 7 });
  model = await openCheckpoint(dir);
});
afterAll(async () => model?.close());

/** float64 reference: d(a, b) per token from the engine's hidden states, written without the analysis code. */
function referenceMaps(hidden: Float32Array[][], counted: [number, number][], D: number) {
  const B = hidden[0]!.length;
  const zero = () => Array.from({ length: B }, () => new Array<number>(B).fill(0));
  const mean = zero();
  const last = zero();
  const cosNext = new Array<number>(B - 1).fill(0);
  let tokens = 0;
  const cos = (x: Float32Array, y: Float32Array, t: number) => {
    let dot = 0, nx = 0, ny = 0;
    for (let i = 0; i < D; i++) {
      const a = x[t * D + i]!, b = y[t * D + i]!;
      dot += a * b;
      nx += a * a;
      ny += b * b;
    }
    return dot / Math.sqrt(nx) / Math.sqrt(ny);
  };
  const dist = (c: number) => Math.acos(Math.max(-1, Math.min(1, c))) / Math.PI;
  hidden.forEach((h, w) => {
    const [from, T] = counted[w]!;
    tokens += T - from;
    for (let a = 0; a < B; a++) {
      for (let b = 0; b < B; b++) {
        if (a === b) continue;
        for (let t = from; t < T; t++) mean[a]![b]! += dist(cos(h[a]!, h[b]!, t));
        last[a]![b]! += dist(cos(h[a]!, h[b]!, T - 1));
      }
      if (a + 1 < B) for (let t = from; t < T; t++) cosNext[a]! += cos(h[a]!, h[a + 1]!, t);
    }
  });
  return {
    mean: mean.map((r) => r.map((v) => v / tokens)),
    last: last.map((r) => r.map((v) => v / hidden.length)),
    bi: cosNext.map((s) => 1 - s / tokens),
  };
}

const maxDiff = (a: number[][], b: number[][]) => Math.max(...a.flatMap((r, i) => r.map((v, j) => Math.abs(v - b[i]![j]!))));

describe("analyze: the base map", () => {
  it("matches a float64 implementation over several windows, and its perplexity is dusk ppl's", async () => {
    const ctx = 96;
    const stride = 48;
    const a = await analyze({ checkpoints: [model], text: TEXT, textLabel: "held-out.txt" }, { ctx, stride });
    expect(a.boundaries).toBe(N + 1);
    expect(a.windows).toBeGreaterThan(3);
    // reference: the engine's existing hiddenStates output, windows as perplexity() makes them
    const tok = await loadTextTokenizer(dir);
    const ids = tok.encode(TEXT);
    expect(a.tokens).toBe(ids.length);
    const weights = checkpointWeights(model);
    const hidden: Float32Array[][] = [];
    const counted: [number, number][] = [];
    let scoredUpTo = 1;
    for (let start = 0; scoredUpTo < ids.length; start += stride) {
      const end = Math.min(ids.length, start + ctx);
      const from = Math.max(1, scoredUpTo - start);
      hidden.push((await forward(weights, ids.slice(start, end), { hiddenStates: true, logitsFor: "none" })).hidden!);
      counted.push([start === 0 ? 0 : from, end - start]);
      scoredUpTo = end;
    }
    const ref = referenceMaps(hidden, counted, 32);
    expect(maxDiff(a.angular_distance_mean, ref.mean)).toBeLessThan(1e-9);
    expect(maxDiff(a.angular_distance_last, ref.last)).toBeLessThan(1e-9);
    expect(Math.max(...a.block_influence.map((v, l) => Math.abs(v - ref.bi[l]!)))).toBeLessThan(1e-9);
    // symmetric, zero diagonal, in [0, 1], and not trivially zero
    for (const m of [a.angular_distance_mean, a.angular_distance_last]) {
      m.forEach((row, i) => row.forEach((v, j) => {
        expect(v).toBe(m[j]![i]);
        if (i === j) expect(v).toBe(0);
        else expect(v).toBeGreaterThan(0);
        expect(v).toBeLessThanOrEqual(1);
      }));
    }
    const gen = perplexity(new EngineScorer(weights, tok, { model: dir, contextLength: ctx }), TEXT, { ctx, stride });
    let n = await gen.next();
    while (!n.done) n = await gen.next();
    expect(a.ppl).toBe(n.value.ppl);
    expect(a.nll).toBe(n.value.nll);
  });
});

describe("analyze: a layout run virtually", () => {
  const opts = { ctx: 128, stride: 64 };

  it("the identity layout has the base's perplexity, no seams and distance 0 everywhere", async () => {
    const a = await analyze({ checkpoints: [model], recipe: layersRecipe({ model: model.ref, layers: N, spec: `0-${N - 1}` }), text: TEXT }, opts);
    expect(a.layout!.ppl).toBe(a.layout!.base_ppl);
    expect(a.layout!.nll).toBe(a.layout!.base_nll);
    expect(a.layout!.seams).toBe(0);
    expect(a.layout!.positions.every((p) => p.distance_mean === 0 && p.distance_last === 0)).toBe(true);
    expect(a.angular_distance_mean).toEqual(a.base!.angular_distance_mean);
  });

  it("DUS has one seam, its leading A layers see exactly the base's inputs; iDUS-1 has a seam at every step", async () => {
    const dus = await analyze({ checkpoints: [model], recipe: dusRecipe({ model: model.ref, layers: N, drop: 2 }), text: TEXT }, opts);
    const r = dus.layout!;
    expect(r.depth).toBe(8);
    expect(r.seams).toBe(1);
    expect(r.positions.filter((p) => p.seam).map((p) => p.at)).toEqual([4]);
    for (const p of r.positions.slice(0, 4)) expect([p.distance_mean, p.distance_last]).toEqual([0, 0]);
    // the stack feeds layer 2 the base's boundary 4: the measured seam is the base map's d(4, 2)
    expect(r.positions[4]!.distance_mean).toBe(dus.base!.angular_distance_mean[4]![2]);
    expect(r.positions[4]!.distance_last).toBe(dus.base!.angular_distance_last[4]![2]);
    expect(r.seam_distance_max).toBe(r.positions[4]!.distance_mean);
    expect(r.static.seams).toBe(1);
    // the stack's own map: boundary i of the stack (i ≤ 4) is base boundary i
    for (let i = 0; i <= 4; i++) for (let j = 0; j <= 4; j++) expect(dus.angular_distance_mean[i]![j]).toBe(dus.base!.angular_distance_mean[i]![j]);
    const idus = await analyze({ checkpoints: [model], recipe: idusRecipe({ model: model.ref, layers: N, drop: 2, group: 1 }), text: TEXT }, opts);
    expect(idus.layout!.seams).toBe(7);
    expect(idus.layout!.seam_distance_mean).toBeGreaterThan(0);
    expect(idus.layout!.base_ppl).toBe(dus.layout!.base_ppl);
  });

  it("an identity copy (expand, scale 0) leaves its input unchanged: distance 0 and BI 0 across it", async () => {
    const a = await analyze({ checkpoints: [model], recipe: expandRecipe({ model: model.ref, layers: N, every: 3, scale: 0 }), text: TEXT }, opts);
    // stack: 0 1 2 [2'] 3 4 5 [5']; the copies sit at positions 3 and 7
    for (const copy of [3, 7]) {
      expect(a.block_influence[copy]).toBe(0);
      expect(a.angular_distance_mean[copy]![copy + 1]).toBe(0);
      expect(a.angular_distance_last[copy]![copy + 1]).toBe(0);
    }
    expect(a.layout!.ppl).toBe(a.layout!.base_ppl);
  });
});
