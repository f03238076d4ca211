// Gradient checks: each backward (linear, RMSNorm, SwiGLU, GeGLU, RoPE, attention with softcap and
// sliding window, a whole layer of every family, the whole model's next-token loss) against
// central finite differences of the real forward ops.

import { describe, expect, it } from "vitest";
import { attentionForward } from "./attention.js";
import { attentionBackward } from "./attention-backward.js";
import { gegluBackward, layerBackward, linearBackward, rmsnormBackward, ropeBackward, swigluBackward } from "./backward.js";
import { layerForward, tokenLogprobs } from "./forward.js";
import { nextTokenLossAndGradients } from "./loss-backward.js";
import { getMatmulKernel } from "./matmul-kernel.js";
import { gegluForward, linearForward, normGain, rmsnormForward, swigluForward } from "./ops.js";
import { randomWeights, seededNormal } from "./random-weights.js";
import { applyRope, layerRopeTables, ropeTables } from "./rope.js";
import type { EngineConfig, LayerWeights } from "./types.js";

/** Σ r ⊙ y in f64: a scalar loss whose gradient w.r.t. y is r. */
const dot = (y: Float32Array, r: Float32Array) => y.reduce((s, v, i) => s + v * r[i]!, 0);

/** Central differences of loss() w.r.t. x at `count` spread-out indices vs the analytic gradient. */
function checkGrad(name: string, x: Float32Array, analytic: Float32Array, loss: () => number, h = 1e-2, count = 12): void {
  let worst = 0;
  let scale = 0;
  for (let n = 0; n < count; n++) {
    const i = Math.floor(((n + 0.5) / count) * x.length);
    const keep = x[i]!;
    x[i] = keep + h;
    const up = loss();
    x[i] = keep - h;
    const down = loss();
    x[i] = keep;
    const numeric = (up - down) / (2 * h);
    worst = Math.max(worst, Math.abs(numeric - analytic[i]!));
    scale = Math.max(scale, Math.abs(numeric));
  }
  expect(scale, `${name}: gradient is not trivially zero`).toBeGreaterThan(1e-4);
  expect(worst, `${name}: max |numeric − analytic| vs max |grad| ${scale}`).toBeLessThan(2e-2 * scale + 1e-5);
}

describe("op backwards vs finite differences", () => {
  it("linear", async () => {
    const kernel = await getMatmulKernel();
    const [T, I, O] = [5, 7, 6];
    const x = seededNormal(1, "x", T * I, 1);
    const w = seededNormal(1, "w", O * I, 1);
    const r = seededNormal(1, "r", T * O, 1);
    const g = linearBackward(kernel, x, w, r, T, I, O);
    const b = new Float32Array(O);
    const loss = () => dot(linearForward(kernel, x, w, T, I, O, b), r);
    checkGrad("dx", x, g.dx, loss);
    checkGrad("dw", w, g.dw, loss);
    checkGrad("db", b, g.db, loss);
  });

  it("rmsnorm, swiglu, rope", async () => {
    const [T, D] = [4, 10];
    const x = seededNormal(2, "x", T * D, 1);
    const w = seededNormal(2, "w", D, 0.3, 1);
    const r = seededNormal(2, "r", T * D, 1);
    const f = rmsnormForward(x, w, T, D, 1e-5);
    const g = rmsnormBackward(x, w, f.invRms, r, T, D);
    const nloss = () => dot(rmsnormForward(x, w, T, D, 1e-5).y, r);
    checkGrad("rmsnorm dx", x, g.dx, nloss);
    checkGrad("rmsnorm dw", w, g.dw, nloss);

    const gate = seededNormal(3, "g", 40, 2);
    const up = seededNormal(3, "u", 40, 1);
    const ra = seededNormal(3, "r", 40, 1);
    const sg = swigluBackward(gate, up, ra);
    const sloss = () => dot(swigluForward(gate, up), ra);
    checkGrad("swiglu dgate", gate, sg.dgate, sloss);
    checkGrad("swiglu dup", up, sg.dup, sloss);

    const gg = gegluBackward(gate, up, ra);
    const gloss = () => dot(gegluForward(gate, up), ra);
    checkGrad("geglu dgate", gate, gg.dgate, gloss);
    checkGrad("geglu dup", up, gg.dup, gloss);

    // (1 + w) gains: the backward sees the gain, the weight's gradient is the gain's
    const wg = seededNormal(2, "wg", D, 0.3);
    const fg = rmsnormForward(x, wg, T, D, 1e-5, 1);
    const gg1 = rmsnormBackward(x, normGain(wg, 1), fg.invRms, r, T, D);
    checkGrad("rmsnorm (1+w) dw", wg, gg1.dw, () => dot(rmsnormForward(x, wg, T, D, 1e-5, 1).y, r));

    const yarn = { headDim: 8, ropeTheta: 100, maxPositions: 64, ropeScaling: { type: "yarn", factor: 4, originalMaxPositions: 8 } } as EngineConfig;
    const partial = { headDim: 8, rotaryDim: 4, ropeTheta: 100, maxPositions: 64, ropeScaling: { type: "longrope", factor: 4, originalMaxPositions: 4, shortFactor: [1, 2], longFactor: [3, 4] } } as EngineConfig;
    for (const [name, cfg] of [["rope yarn", yarn], ["rope partial longrope", partial]] as const) {
      const tables = ropeTables(cfg, 6);
      const q = seededNormal(4, "q", 6 * 2 * 8, 1);
      const rq = seededNormal(4, "r", 6 * 2 * 8, 1);
      const dq = rq.slice();
      ropeBackward(dq, 6, 2, tables);
      checkGrad(name, q, dq, () => {
        const y = q.slice();
        applyRope(y, 6, 2, tables);
        return dot(y, rq);
      });
    }
  });

  it("attention (GQA, blocked and unblocked)", async () => {
    const kernel = await getMatmulKernel();
    const s = { tokens: 9, heads: 4, kvHeads: 2, headDim: 4 };
    const q = seededNormal(5, "q", 9 * 16, 1);
    const k = seededNormal(5, "k", 9 * 8, 1);
    const v = seededNormal(5, "v", 9 * 8, 1);
    const r = seededNormal(5, "r", 9 * 16, 1);
    const gemma = { ...s, scale: 0.3, softcap: 0.7, window: 3 };
    for (const shape of [s, { ...s, queryBlock: 4 }, gemma, { ...gemma, queryBlock: 4 }, { ...gemma, queryBlock: 2 }]) {
      const g = attentionBackward(kernel, q, k, v, r, shape);
      const loss = () => dot(attentionForward(kernel, q, k, v, shape), r);
      checkGrad("attention dq", q, g.dq, loss);
      checkGrad("attention dk", k, g.dk, loss);
      checkGrad("attention dv", v, g.dv, loss);
    }
  });
});

const cfg: EngineConfig = {
  vocabSize: 41, hiddenSize: 16, intermediateSize: 24, numLayers: 2, numHeads: 4, numKvHeads: 2,
  headDim: 4, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, maxPositions: 32, attentionBias: true,
};

const gemmaBase: EngineConfig = { ...cfg, attentionBias: false, activation: "gelu_tanh", normWeightOffset: 1, embedScale: 4, tiedEmbeddings: true, sandwichNorms: true, queryPreAttnScalar: 6 };
/** One config per family, each feature switched on where the family has it. */
const families: Array<[string, EngineConfig]> = [
  ["llama + biases", cfg],
  ["qwen3", { ...cfg, attentionBias: false, qkNorm: true }],
  ["gemma2", { ...gemmaBase, attnLogitSoftcap: 0.8, finalLogitSoftcap: 1.5, slidingWindow: 3, layerTypes: ["sliding_attention", "full_attention"] }],
  ["gemma3", { ...gemmaBase, qkNorm: true, slidingWindow: 3, layerTypes: ["full_attention", "sliding_attention"], ropeLocalTheta: 50, ropeScaling: { type: "linear", factor: 4 } }],
  ["phi3", { ...cfg, attentionBias: false, numKvHeads: 4, rotaryDim: 2, ropeScaling: { type: "longrope", factor: 2, originalMaxPositions: 4, shortFactor: [1.5], longFactor: [3] } }],
];

describe("layer and model backwards vs finite differences", () => {
  for (const [family, c] of families) {
    it(`${family}: one decoder layer (each of its kinds), every weight and the input`, async () => {
      const kernel = await getMatmulKernel();
      const T = 6;
      const ropes = layerRopeTables(c, T);
      for (let l = 0; l < c.numLayers; l++) {
        const w = await randomWeights(c, { seed: 3, std: 0.3 }).layer(l);
        const x = seededNormal(6, "x", T * c.hiddenSize, 1);
        const r = seededNormal(6, "r", T * c.hiddenSize, 1);
        const { acts } = layerForward(kernel, c, w, x, T, ropes[l]!, l);
        const { dx, grads } = layerBackward(kernel, c, w, acts, r, T, ropes[l]!, l);
        const loss = () => dot(layerForward(kernel, c, w, x, T, ropes[l]!, l).y, r);
        checkGrad(`layer ${l} dx`, x, dx, loss);
        for (const name of Object.keys(grads) as Array<keyof LayerWeights>) if (grads[name].length > 0) checkGrad(`layer ${l} d${name}`, w[name]!, grads[name], loss);
        expect(Object.values(grads).filter((g) => g.length > 0).length).toBe(Object.values(w).filter((v) => v !== undefined).length);
      }
    });
  }

  const models: Array<[string, EngineConfig]> = [["untied", cfg], ["tied", { ...cfg, tiedEmbeddings: true }], ["gemma2", families[2]![1]], ["gemma3", families[3]![1]]];
  for (const [name, c] of models) {
    it(`whole-model next-token loss (${name})`, async () => {
      const wts = randomWeights(c, { seed: 4, std: 0.3 });
      const tokens = [3, 17, 40, 3, 9, 22, 5, 17];
      const { loss, grads } = await nextTokenLossAndGradients(wts, tokens);
      const meanNll = async () => -(await tokenLogprobs(wts, tokens)).reduce((s, v) => s + v, 0) / (tokens.length - 1);
      expect(loss).toBeCloseTo(await meanNll(), 5);
      // finite differences need an async loss: sample a few entries by hand
      const probe = async (name: string, x: Float32Array, g: Float32Array) => {
        let best = 0;
        for (let i = 0; i < g.length; i++) if (Math.abs(g[i]!) > Math.abs(g[best]!)) best = i;
        const keep = x[best]!;
        x[best] = keep + 1e-2;
        const up = await meanNll();
        x[best] = keep - 1e-2;
        const down = await meanNll();
        x[best] = keep;
        const numeric = (up - down) / 2e-2;
        expect(Math.abs(numeric - g[best]!), `${name}[${best}] numeric ${numeric} analytic ${g[best]}`).toBeLessThan(2e-2 * Math.abs(numeric) + 1e-4);
      };
      await probe("embedding", await wts.embedding(), grads.embedding);
      await probe("finalNorm", await wts.finalNorm(), grads.finalNorm);
      if (!c.tiedEmbeddings) await probe("lmHead", await wts.lmHead(), grads.lmHead!);
      await probe("layers[0].wq", (await wts.layer(0)).wq, grads.layers[0]!.wq);
      await probe("layers[1].wDown", (await wts.layer(1)).wDown, grads.layers[1]!.wDown);
      if (c.attentionBias) await probe("layers[0].bk", (await wts.layer(0)).bk!, grads.layers[0]!.bk);
      if (c.qkNorm) await probe("layers[1].kNorm", (await wts.layer(1)).kNorm!, grads.layers[1]!.kNorm);
      if (c.sandwichNorms) await probe("layers[0].postFfnNorm", (await wts.layer(0)).postFfnNorm!, grads.layers[0]!.postFfnNorm);
    });
  }
});
