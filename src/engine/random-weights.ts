// Deterministic random decoder weights for tests, benches and generated fixtures: a seeded
// mulberry32 PRNG, Box–Muller normals, HF-like init (linear std 0.02 by default, norm gains near 1:
// stored near 0 where the config adds 1, as HF Gemma does).
// Each tensor is derived from (seed, tensor name) alone, so any layer can be regenerated on its
// own and the same seed always gives the same model. Not a training initializer.

import type { EngineConfig, EngineWeights, LayerWeights } from "./types.js";
import { validateConfig } from "./validate.js";

/** mulberry32: 32-bit state, period 2^32, uniform in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** FNV-1a of a string mixed with the seed: one independent stream per tensor name. */
function streamSeed(seed: number, name: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** n normal samples with the given mean and std (Box–Muller on mulberry32). */
export function seededNormal(seed: number, name: string, n: number, std: number, mean = 0): Float32Array {
  const rand = mulberry32(streamSeed(seed, name));
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = 1 - rand(); // (0, 1]: log is finite
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = mean + std * r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

export interface RandomWeightOptions {
  seed?: number;
  /** std of every linear weight and the embedding (HF initializer_range; default 0.02). */
  std?: number;
  /** std of the norm weights around 1 (default 0.1, so a wrong norm weight shows in tests). */
  normJitter?: number;
  /** std of q/k/v biases when config.attentionBias (default = std). */
  biasStd?: number;
  /** keep generated tensors (default true); false regenerates on each call and holds nothing. */
  cache?: boolean;
}

/** EngineWeights over a seeded random model of `config`'s shape. */
export function randomWeights(config: EngineConfig, opts: RandomWeightOptions = {}): EngineWeights {
  validateConfig(config);
  const seed = opts.seed ?? 1;
  const std = opts.std ?? 0.02;
  const jitter = opts.normJitter ?? 0.1;
  const biasStd = opts.biasStd ?? std;
  const c = config;
  const cache = new Map<string, unknown>();
  const memo = <T>(key: string, make: () => T): T => {
    if (opts.cache === false) return make();
    if (!cache.has(key)) cache.set(key, make());
    return cache.get(key) as T;
  };
  const D = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  const embedding = () => memo("embed", () => seededNormal(seed, "embed", c.vocabSize * D, std));
  const gain = 1 - (c.normWeightOffset ?? 0); // the stored value of a unit gain
  const makeLayer = (i: number): LayerWeights => {
    const n = (name: string, len: number, s: number, mean = 0) => seededNormal(seed, `layers.${i}.${name}`, len, s, mean);
    const w: LayerWeights = {
      attnNorm: n("attn_norm", D, jitter, gain),
      wq: n("wq", qDim * D, std),
      wk: n("wk", kvDim * D, std),
      wv: n("wv", kvDim * D, std),
      wo: n("wo", D * qDim, std),
      ffnNorm: n("ffn_norm", D, jitter, gain),
      wGate: n("w_gate", F * D, std),
      wUp: n("w_up", F * D, std),
      wDown: n("w_down", D * F, std),
    };
    if (c.attentionBias) {
      w.bq = n("bq", qDim, biasStd);
      w.bk = n("bk", kvDim, biasStd);
      w.bv = n("bv", kvDim, biasStd);
    }
    if (c.qkNorm) {
      w.qNorm = n("q_norm", c.headDim, jitter, gain);
      w.kNorm = n("k_norm", c.headDim, jitter, gain);
    }
    if (c.sandwichNorms) {
      w.postAttnNorm = n("post_attn_norm", D, jitter, gain);
      w.postFfnNorm = n("post_ffn_norm", D, jitter, gain);
    }
    return w;
  };
  return {
    config: c,
    embedding: async () => embedding(),
    layer: async (i) => memo(`layer.${i}`, () => makeLayer(i)),
    finalNorm: async () => memo("final_norm", () => seededNormal(seed, "final_norm", D, jitter, gain)),
    lmHead: async () => (c.tiedEmbeddings ? embedding() : memo("lm_head", () => seededNormal(seed, "lm_head", c.vocabSize * D, std))),
  };
}
