import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import { mergeMethodInfo } from "../recipe/merge-methods.js";
import { arceeFusionThreshold } from "./methods/arcee-fusion.js";
import { MERGE_KERNELS } from "./methods/index.js";
import { inlineExec } from "./blocks.js";
import { keyedStream } from "./rng.js";
import { sparsify, type SparsifyMethod } from "./sparsify.js";

// mergekit draws from torch's global generator; dusk from its generator keyed by (seed, tensor,
// input). The goldens hold mergekit's per-element statistics over `runs` merges
// (scripts/merge-goldens/gen_random.py); dusk repeats each merge over RUNS seeds and compares:
// - means: z_i = (m_dusk − m_mk) / √(v_dusk/RUNS + v_mk/runs) per element; mean z² within
//   [0.75, 1.3] (≈ 1 ± 4 standard errors for these sizes) and every |z| < 5;
// - keep rates: the same two-sample z of binomial proportions (pooled) where 0 < p < 1;
// - spread: Σv_dusk / Σv_mk within [0.9, 1.1].
const RUNS = 1500;
const golden = JSON.parse(readFileSync(new URL("../../test/fixtures/merge/random.json", import.meta.url), "utf8"));
const decode = (b64: string, bytes: 4 | 8): Float64Array => {
  const buf = Buffer.from(b64, "base64");
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return Float64Array.from(bytes === 4 ? new Float32Array(ab) : new Float64Array(ab));
};

class Moments {
  readonly sum: Float64Array;
  readonly sq: Float64Array;
  readonly kept: Float64Array;
  n = 0;
  constructor(size: number) {
    this.sum = new Float64Array(size);
    this.sq = new Float64Array(size);
    this.kept = new Float64Array(size);
  }
  add(x: Float32Array): void {
    this.n++;
    for (let i = 0; i < x.length; i++) {
      this.sum[i]! += x[i]!;
      this.sq[i]! += x[i]! * x[i]!;
      if (x[i] !== 0) this.kept[i]!++;
    }
  }
  mean(i: number): number {
    return this.sum[i]! / this.n;
  }
  variance(i: number): number {
    return (this.sq[i]! - this.n * this.mean(i) ** 2) / (this.n - 1);
  }
}

function compareMoments(d: Moments, mean: Float64Array, variance: Float64Array, runs: number): { meanZ2: number; maxZ: number; spread: number } {
  let z2 = 0;
  let count = 0;
  let maxZ = 0;
  let vd = 0;
  let vk = 0;
  for (let i = 0; i < mean.length; i++) {
    const se = Math.sqrt(d.variance(i) / d.n + variance[i]! / runs);
    vd += d.variance(i);
    vk += variance[i]!;
    if (se === 0) continue;
    const z = (d.mean(i) - mean[i]!) / se;
    z2 += z * z;
    count++;
    maxZ = Math.max(maxZ, Math.abs(z));
  }
  return { meanZ2: z2 / count, maxZ, spread: vd / vk };
}

function expectSame(s: { meanZ2: number; maxZ: number; spread: number }): void {
  expect(s.meanZ2).toBeGreaterThan(0.75);
  expect(s.meanZ2).toBeLessThan(1.3);
  expect(s.maxZ).toBeLessThan(5);
  expect(s.spread).toBeGreaterThan(0.9);
  expect(s.spread).toBeLessThan(1.1);
}

describe(`random merges match mergekit ${String(golden.mergekit).slice(0, 7)} in distribution`, () => {
  for (const c of golden.sparsify) {
    test(`sparsify ${c.name}`, async () => {
      const delta = Float32Array.from(decode(c.delta, 4));
      const d = new Moments(delta.length);
      for (let seed = 0; seed < RUNS; seed++) {
        d.add(await sparsify(delta.slice(), {
          method: c.method as SparsifyMethod, density: c.density, rescale: c.rescale, ...(c.epsilon !== undefined ? { epsilon: c.epsilon } : {}),
          cols: c.shape[c.shape.length - 1], dtype: "F32", stream: keyedStream(seed, "model.layers.0.mlp.up_proj.weight", 1),
        }, inlineExec));
      }
      const stats = compareMoments(d, decode(c.mean, 8), decode(c.var, 8), golden.runs);
      const keep = decode(c.keep, 8);
      let kz2 = 0;
      let kn = 0;
      let kmax = 0;
      for (let i = 0; i < keep.length; i++) {
        const pd = d.kept[i]! / RUNS;
        const pooled = (pd * RUNS + keep[i]! * golden.runs) / (RUNS + golden.runs);
        if (pooled <= 0 || pooled >= 1) continue;
        const z = (pd - keep[i]!) / Math.sqrt(pooled * (1 - pooled) * (1 / RUNS + 1 / golden.runs));
        kz2 += z * z;
        kn++;
        kmax = Math.max(kmax, Math.abs(z));
      }
      console.log(`${c.name}: means z² ${stats.meanZ2.toFixed(3)} max |z| ${stats.maxZ.toFixed(2)} spread ${stats.spread.toFixed(3)}; keep z² ${(kz2 / kn).toFixed(3)} max |z| ${kmax.toFixed(2)}`);
      expectSame(stats);
      expect(kz2 / kn).toBeGreaterThan(0.75);
      expect(kz2 / kn).toBeLessThan(1.3);
      expect(kmax).toBeLessThan(5);
    });
  }

  for (const c of golden.methods) {
    test(`${c.method}: ${c.name}`, async () => {
      const info = mergeMethodInfo(c.method)!;
      const inputs = c.inputs.map((x: { data: string }) => Float32Array.from(decode(x.data, 4)));
      const params = { ...Object.fromEntries(info.global.map((p) => [p.name, p.default!])), ...c.params };
      const perInput = c.inputs.map((x: { params: Record<string, number> }, k: number) => (k === c.base ? x.params : { ...Object.fromEntries(info.tensor.filter((p) => p.default !== undefined).map((p) => [p.name, p.default!])), ...x.params }));
      const d = new Moments(inputs[0].length);
      for (let seed = 0; seed < RUNS; seed++) {
        d.add(await MERGE_KERNELS[c.method]!({
          tensors: inputs.map((x: Float32Array) => x.slice()), shape: c.shape, base: c.base, params, perInput, dtype: "F32",
          key: "model.layers.0.mlp.up_proj.weight", seed, warn: () => undefined,
        }, inlineExec));
      }
      const stats = compareMoments(d, decode(c.mean, 8), decode(c.var, 8), golden.runs);
      console.log(`${c.name}: means z² ${stats.meanZ2.toFixed(3)} max |z| ${stats.maxZ.toFixed(2)} spread ${stats.spread.toFixed(3)}`);
      expectSame(stats);
    });
  }

  test("arcee_fusion samples 1e6 entries of a larger tensor for its quantiles", async () => {
    const a = golden.arcee_fusion;
    const n = a.rows * a.cols;
    const hashed = (salt: number, scale: number): Float32Array => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const u = Number((BigInt(i) * 2654435761n + BigInt(salt) * 40503n) % 4294967296n) / 4294967296;
        out[i] = Math.fround((u - 0.5) * scale);
      }
      return out;
    };
    const base = hashed(1, 0.04);
    const noise = hashed(2, 0.02);
    const other = base.map((b, i) => Math.fround(b + noise[i]!));
    const trials = 24;
    const thresholds: number[] = [];
    for (let seed = 0; seed < trials; seed++) thresholds.push(await arceeFusionThreshold(other, base, [a.rows, a.cols], seed, "model.layers.0.mlp.up_proj.weight"));
    const mean = thresholds.reduce((s, x) => s + x, 0) / trials;
    const sd = Math.sqrt(thresholds.reduce((s, x) => s + (x - mean) ** 2, 0) / (trials - 1));
    // The importance scores themselves differ by float32 noise in the KL (p/q ≈ 1), so the
    // samplers are compared by where their thresholds fall around each one's exact threshold.
    const exact = (q: Record<string, number>) => Math.fround(q["0.5"]! + Math.fround(1.5 * Math.fround(q["0.75"]! - q["0.25"]!)));
    const exactDusk = await arceeFusionThreshold(other, base, [a.rows, a.cols], 0, "model.layers.0.mlp.up_proj.weight", false);
    const biasDusk = mean - exactDusk;
    const biasMk = a.threshold_mean - exact(a.exact_quantiles);
    const z = (biasDusk - biasMk) / Math.sqrt(sd ** 2 / trials + a.threshold_std ** 2 / a.runs);
    console.log(`arcee_fusion threshold: dusk ${mean} ± ${sd} (${trials} seeds, exact ${exactDusk}), mergekit ${a.threshold_mean} ± ${a.threshold_std} (${a.runs} runs, exact ${exact(a.exact_quantiles)}); bias z ${z.toFixed(2)}`);
    expect(Math.abs(z)).toBeLessThan(4);
    expect(sd / a.threshold_std).toBeGreaterThan(0.5);
    expect(sd / a.threshold_std).toBeLessThan(2);
    expect(Math.abs(exactDusk / exact(a.exact_quantiles) - 1)).toBeLessThan(0.01);
  });
});
