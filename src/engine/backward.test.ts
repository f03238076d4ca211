// Gradient checks: each backward (linear, RMSNorm, SwiGLU, RoPE, attention, a whole layer, the
// whole model's next-token loss) against central finite differences of the real forward ops.

import { describe, expect, it } from "vitest";
import { attentionForward } from "./attention.js";
import { attentionBackward } from "./attention-backward.js";
import { layerBackward, linearBackward, rmsnormBackward, ropeBackward, swigluBackward } from "./backward.js";
import { layerForward, tokenLogprobs } from "./forward.js";
import { nextTokenLossAndGradients } from "./loss-backward.js";
import { getMatmulKernel } from "./matmul-kernel.js";
import { linearForward, rmsnormForward, swigluForward } from "./ops.js";
import { randomWeights, seededNormal } from "./random-weights.js";
import { applyRope, ropeTables } from "./rope.js";
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

    const cfg = { headDim: 8, ropeTheta: 100, maxPositions: 64, ropeScaling: { type: "yarn", factor: 4, originalMaxPositions: 8 } } as EngineConfig;
    const tables = ropeTables(cfg, 6);
    const q = seededNormal(4, "q", 6 * 2 * 8, 1);
    const rq = seededNormal(4, "r", 6 * 2 * 8, 1);
    const dq = rq.slice();
    ropeBackward(dq, 6, 2, tables);
    checkGrad("rope", q, dq, () => {
      const y = q.slice();
      applyRope(y, 6, 2, tables);
      return dot(y, rq);
    });
  });

  it("attention (GQA, blocked and unblocked)", async () => {
    const kernel = await getMatmulKernel();
    const s = { tokens: 9, heads: 4, kvHeads: 2, headDim: 4 };
    const q = seededNormal(5, "q", 9 * 16, 1);
    const k = seededNormal(5, "k", 9 * 8, 1);
    const v = seededNormal(5, "v", 9 * 8, 1);
    const r = seededNormal(5, "r", 9 * 16, 1);
    for (const shape of [s, { ...s, queryBlock: 4 }]) {
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

describe("layer and model backwards vs finite differences", () => {
  it("one decoder layer, every weight and the input", async () => {
    const kernel = await getMatmulKernel();
    const w = await randomWeights(cfg, { seed: 3, std: 0.3 }).layer(0);
    const T = 6;
    const x = seededNormal(6, "x", T * cfg.hiddenSize, 1);
    const r = seededNormal(6, "r", T * cfg.hiddenSize, 1);
    const rope = ropeTables(cfg, T);
    const { acts } = layerForward(kernel, cfg, w, x, T, rope);
    const { dx, grads } = layerBackward(kernel, cfg, w, acts, r, T, rope);
    const loss = () => dot(layerForward(kernel, cfg, w, x, T, rope).y, r);
    checkGrad("layer dx", x, dx, loss);
    for (const name of Object.keys(grads) as Array<keyof LayerWeights>) checkGrad(`layer d${name}`, w[name]!, grads[name], loss);
  });

  for (const tied of [false, true]) {
    it(`whole-model next-token loss (${tied ? "tied" : "untied"} head)`, async () => {
      const c = { ...cfg, tiedEmbeddings: tied };
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
      if (!tied) await probe("lmHead", await wts.lmHead(), grads.lmHead!);
      await probe("layers[0].wq", (await wts.layer(0)).wq, grads.layers[0]!.wq);
      await probe("layers[1].wDown", (await wts.layer(1)).wDown, grads.layers[1]!.wDown);
      await probe("layers[0].bk", (await wts.layer(0)).bk!, grads.layers[0]!.bk);
    });
  }
});
