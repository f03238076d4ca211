// Unit checks for the engine's kernels and helpers: the tfjs-wasm matmul on odd shapes, blocked
// causal attention against unblocked, RMSNorm/log-softmax against direct formulas, and the seeded
// weight generator's determinism and scale.

import { describe, expect, it } from "vitest";
import { attentionForward } from "./attention.js";
import { getMatmulKernel, measureMatmulPeak } from "./matmul-kernel.js";
import { linearForward, logSoftmax, rmsnormForward, transpose } from "./ops.js";
import { mulberry32, randomWeights, seededNormal } from "./random-weights.js";

describe("matmul kernel", () => {
  it("matches a float64 triple loop on odd shapes", async () => {
    const kernel = await getMatmulKernel();
    for (const [m, k, n] of [[1, 1, 1], [3, 5, 7], [17, 33, 9], [64, 31, 130]] as const) {
      const a = seededNormal(1, `a${m}`, m * k, 1);
      const b = seededNormal(2, `b${n}`, k * n, 1);
      const c = kernel.matmul(a, b, m, k, n);
      let diff = 0;
      for (let i = 0; i < m; i++)
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let p = 0; p < k; p++) s += a[i * k + p]! * b[p * n + j]!;
          diff = Math.max(diff, Math.abs(s - c[i * n + j]!));
        }
      expect(diff).toBeLessThan(1e-4 * Math.sqrt(k));
    }
    expect(() => kernel.matmul(new Float32Array(3), new Float32Array(3), 2, 2, 2)).toThrow(/do not match/);
  });

  it("linearForward is x·Wᵀ + b in HF [out,in] layout", async () => {
    const kernel = await getMatmulKernel();
    const x = new Float32Array([1, 2, 3, 4, 5, 6]); // [2 tokens, 3]
    const w = new Float32Array([1, 0, 0, 0, 1, 1]); // [2 out, 3 in]
    const y = linearForward(kernel, x, w, 2, 3, 2, new Float32Array([10, 20]));
    expect(Array.from(y)).toEqual([11, 25, 14, 31]);
    expect(Array.from(transpose(x, 2, 3))).toEqual([1, 4, 2, 5, 3, 6]);
  });

  it("measureMatmulPeak reports a positive rate", async () => {
    const p = await measureMatmulPeak({ m: 64, k: 64, n: 64, repeats: 2 });
    expect(p.gflops).toBeGreaterThan(0.1);
    expect(p.kernel).toBe("tfjs-wasm-xnnpack");
  });
});

describe("attention", () => {
  it("blocked queries give the same output as one block, and the first row copies v[0]", async () => {
    const kernel = await getMatmulKernel();
    const T = 23, H = 4, KV = 2, d = 8;
    const q = seededNormal(3, "q", T * H * d, 1);
    const k = seededNormal(3, "k", T * KV * d, 1);
    const v = seededNormal(3, "v", T * KV * d, 1);
    const one = attentionForward(kernel, q, k, v, { tokens: T, heads: H, kvHeads: KV, headDim: d });
    const blocked = attentionForward(kernel, q, k, v, { tokens: T, heads: H, kvHeads: KV, headDim: d, queryBlock: 5 });
    let diff = 0;
    one.forEach((x, i) => (diff = Math.max(diff, Math.abs(x - blocked[i]!))));
    expect(diff).toBeLessThan(1e-6);
    // position 0 attends only to itself: head h output = v of its kv head (h / 2)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < d; i++) expect(one[h * d + i]).toBeCloseTo(v[Math.floor(h / 2) * d + i]!, 6);
  });
});

describe("elementwise ops", () => {
  it("rmsnorm and logSoftmax follow their formulas", () => {
    const x = new Float32Array([3, 4, 0, 0]);
    const { y, invRms } = rmsnormForward(x, new Float32Array([1, 2]), 2, 2, 0);
    expect(invRms[0]).toBeCloseTo(1 / Math.sqrt(12.5), 6);
    expect(y[1]).toBeCloseTo((2 * 4) / Math.sqrt(12.5), 5);
    expect(Array.from(rmsnormForward(x, new Float32Array([1, 1]), 2, 2, 1e-6).y.subarray(2))).toEqual([0, 0]);
    const ls = logSoftmax(new Float32Array([0, Math.log(3), 1000, 1000]), 2, 2);
    expect(ls[0]).toBeCloseTo(Math.log(0.25), 6);
    expect(ls[3]).toBeCloseTo(Math.log(0.5), 6);
  });
});

describe("random weights", () => {
  const cfg = { vocabSize: 50, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4, rmsNormEps: 1e-6, ropeTheta: 10000, tiedEmbeddings: false, maxPositions: 32, attentionBias: true };
  it("is deterministic per seed and tensor, and differs across seeds and layers", async () => {
    const a = randomWeights(cfg, { seed: 5 });
    const b = randomWeights(cfg, { seed: 5, cache: false });
    expect(Array.from((await a.layer(1)).wq)).toEqual(Array.from((await b.layer(1)).wq));
    expect(Array.from((await a.layer(0)).wq)).not.toEqual(Array.from((await a.layer(1)).wq));
    expect(Array.from((await randomWeights(cfg, { seed: 6 }).layer(1)).wq)).not.toEqual(Array.from((await a.layer(1)).wq));
    expect((await a.layer(0)).bq).toHaveLength(16);
    expect(await a.lmHead()).not.toBe(await a.embedding());
    const tied = randomWeights({ ...cfg, tiedEmbeddings: true });
    expect(await tied.lmHead()).toBe(await tied.embedding());
  });
  it("draws normals with the asked std and uniforms in [0,1)", () => {
    const x = seededNormal(9, "x", 20000, 0.02);
    const mean = x.reduce((s, v) => s + v, 0) / x.length;
    const std = Math.sqrt(x.reduce((s, v) => s + (v - mean) ** 2, 0) / x.length);
    expect(Math.abs(mean)).toBeLessThan(0.001);
    expect(std).toBeGreaterThan(0.019);
    expect(std).toBeLessThan(0.021);
    const r = mulberry32(1);
    for (let i = 0; i < 1000; i++) {
      const u = r();
      expect(u >= 0 && u < 1).toBe(true);
    }
  });
});
