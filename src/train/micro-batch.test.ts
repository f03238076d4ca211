// The training path's forward and backward against the engine: per-sequence losses equal the
// engine's token log-probabilities, and gradients equal the engine's gradient-checked backward
// (nextTokenLossAndGradients), for GQA with biases, tied and untied heads, blocked attention, and
// every family's features (q/k norms, (1+w) gains, √D embeddings, GeGLU, sandwich norms,
// softcaps, sliding windows, two RoPE tables, partial rotary with longrope).

import { describe, expect, it } from "vitest";
import { nextTokenLossAndGradients, randomWeights, tokenLogprobs, type EngineConfig, type LayerWeights } from "../engine/index.js";
import { MicroBatchCompute } from "./micro-batch.js";
import { getTrainKernel } from "./train-kernel.js";
import { allocF32, fillParams, gradLayout, gradView, paramLayout, trainableSpecs } from "./param-store.js";

const base: EngineConfig = {
  vocabSize: 41, hiddenSize: 16, intermediateSize: 24, numLayers: 3, numHeads: 4, numKvHeads: 2,
  headDim: 4, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, maxPositions: 32, attentionBias: true,
};

function maxAbs(a: Float32Array): number {
  let m = 0;
  for (const v of a) m = Math.max(m, Math.abs(v));
  return m;
}

function expectClose(name: string, got: Float32Array, want: Float32Array): void {
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst, `${name}: max diff vs max |grad| ${maxAbs(want)}`).toBeLessThan(1e-4 * maxAbs(want) + 1e-6);
}

const gemma: EngineConfig = { ...base, attentionBias: false, activation: "gelu_tanh", normWeightOffset: 1, embedScale: 4, tiedEmbeddings: true, sandwichNorms: true, queryPreAttnScalar: 6 };
const cases: Array<[string, EngineConfig, number]> = [
  ["untied head, query block 8", base, 8],
  ["tied head, query block 3", { ...base, tiedEmbeddings: true }, 3],
  ["qwen3 (q/k norms)", { ...base, attentionBias: false, qkNorm: true }, 3],
  ["gemma2 (softcaps, window 3, sandwich norms, GeGLU)", { ...gemma, attnLogitSoftcap: 0.8, finalLogitSoftcap: 1.5, slidingWindow: 3, layerTypes: ["sliding_attention", "full_attention", "sliding_attention"] }, 3],
  ["gemma3 (q/k (1+w) norms, local RoPE, window 2)", { ...gemma, qkNorm: true, slidingWindow: 2, ropeLocalTheta: 50, ropeScaling: { type: "linear", factor: 4 }, layerTypes: ["sliding_attention", "full_attention", "sliding_attention"] }, 8],
  ["phi3 (partial rotary, longrope)", { ...base, attentionBias: false, numKvHeads: 4, rotaryDim: 2, ropeScaling: { type: "longrope", factor: 2, originalMaxPositions: 4, shortFactor: [1.5], longFactor: [3] } }, 3],
];

describe("micro-batch forward/backward = engine", () => {
  for (const [name, c, block] of cases) {
    it(name, async () => {
      const tied = c.tiedEmbeddings;
      const kernel = await getTrainKernel();
      const w = randomWeights(c, { seed: 7, std: 0.3 });
      const layout = paramLayout(c);
      const params = allocF32(layout.total, false);
      await fillParams(layout, params, w);
      const S = 8;
      const seqs = [
        [3, 17, 40, 3, 9, 22, 5, 17, 30],
        [1, 2, 3, 4, 5, 6, 7, 8, 9],
      ];
      const tokens = Int32Array.from(seqs.flatMap((s) => s.slice(0, S)));
      const targets = Int32Array.from(seqs.flatMap((s) => s.slice(1, S + 1)));
      const trainable = trainableSpecs(layout, { layers: [true, true, true], embed: true, head: true });
      const gl = gradLayout(layout, trainable);
      const buffer = new Float32Array(gl.total);
      const mb = new MicroBatchCompute(kernel, layout, params, S, block);
      const r = mb.run(tokens, targets, { buffer, layout: gl });

      let wantLoss = 0;
      const want = { embedding: new Float32Array(c.vocabSize * 16), lmHead: new Float32Array(c.vocabSize * 16), finalNorm: new Float32Array(16), layers: [] as Record<string, Float32Array>[] };
      for (const s of seqs) {
        const lp = await tokenLogprobs(w, s);
        wantLoss -= lp.reduce((a, v) => a + v, 0);
        const e = await nextTokenLossAndGradients(w, s);
        const add = (dst: Float32Array, src: Float32Array) => src.forEach((v, i) => (dst[i]! += v * S));
        add(want.embedding, e.grads.embedding);
        add(want.finalNorm, e.grads.finalNorm);
        if (!tied) add(want.lmHead, e.grads.lmHead!);
        e.grads.layers.forEach((lg, l) => {
          want.layers[l] ??= {};
          for (const [k, v] of Object.entries(lg)) if (v.length > 0) add((want.layers[l]![k] ??= new Float32Array(v.length)), v);
        });
      }
      expect(r.tokens).toBe(2 * S);
      expect(r.loss).toBeCloseTo(wantLoss, 3);
      expectClose("embedding", gradView(layout, gl, buffer, layout.embedding)!, want.embedding);
      expectClose("finalNorm", gradView(layout, gl, buffer, layout.finalNorm)!, want.finalNorm);
      if (!tied) expectClose("lmHead", gradView(layout, gl, buffer, layout.lmHead)!, want.lmHead);
      for (let l = 0; l < c.numLayers; l++) {
        for (const [field, i] of layout.layers[l]!) expectClose(`layers[${l}].${field}`, gradView(layout, gl, buffer, i)!, want.layers[l]![field as keyof LayerWeights]!);
      }
    });
  }

  it("frozen layers: no gradient buffer, same gradients for the trainable ones", async () => {
    const c = base;
    const kernel = await getTrainKernel();
    const layout = paramLayout(c);
    const params = allocF32(layout.total, false);
    await fillParams(layout, params, randomWeights(c, { seed: 3, std: 0.3 }));
    const tokens = Int32Array.from([3, 17, 40, 3, 9, 22, 5, 17]);
    const targets = Int32Array.from([17, 40, 3, 9, 22, 5, 17, 30]);
    const mb = new MicroBatchCompute(kernel, layout, params, 8);
    const all = gradLayout(layout, trainableSpecs(layout, { layers: [true, true, true], embed: true, head: true }));
    const full = new Float32Array(all.total);
    mb.run(tokens, targets, { buffer: full, layout: all });
    const some = gradLayout(layout, trainableSpecs(layout, { layers: [false, true, false], embed: false, head: false }));
    const part = new Float32Array(some.total);
    const r = mb.run(tokens, targets, { buffer: part, layout: some });
    expect(some.total).toBeLessThan(all.total / 2);
    for (const [, i] of layout.layers[1]!) expect(gradView(layout, some, part, i)).toEqual(gradView(layout, all, full, i));
    expect(gradView(layout, some, part, layout.embedding)).toBeUndefined();
    expect(r.loss).toBeGreaterThan(0);
  });
});
