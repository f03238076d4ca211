// Checks the engine's forward pass against a naive float64 reference written here from the HF
// modeling_llama / modeling_qwen2 / rope_utils definitions (plain loops, no shared code with the
// engine), on tiny seeded models covering GQA, MHA, biases, tied/untied heads and RoPE scalings.

import { describe, expect, it } from "vitest";
import { RuntimeError } from "../errors.js";
import { forward, tokenLogprobs } from "./forward.js";
import { randomWeights } from "./random-weights.js";
import type { EngineConfig, EngineWeights, LayerWeights } from "./types.js";

// ---------- naive float64 reference ----------

function refInvFreq(c: EngineConfig, seqLen: number): { inv: number[]; mscale: number } {
  const d = c.headDim;
  const sc = c.ropeScaling;
  let theta = c.ropeTheta;
  if (sc?.type === "dynamic") {
    const orig = sc.originalMaxPositions ?? c.maxPositions;
    if (seqLen > orig) theta *= ((sc.factor * seqLen) / orig - sc.factor + 1) ** (d / (d - 2));
  }
  const inv: number[] = [];
  for (let j = 0; j < d; j += 2) inv.push(Math.fround(1 / theta ** (j / d)));
  if (!sc || sc.type === "dynamic") return { inv, mscale: 1 };
  if (sc.type === "linear") return { inv: inv.map((f) => f / sc.factor), mscale: 1 };
  if (sc.type === "llama3") {
    const L = sc.originalMaxPositions!;
    const lo = sc.lowFreqFactor ?? 1;
    const hi = sc.highFreqFactor ?? 4;
    return {
      mscale: 1,
      inv: inv.map((f) => {
        const wl = (2 * Math.PI) / f;
        if (wl > L / lo) return f / sc.factor;
        if (wl < L / hi) return f;
        const a = (L / wl - lo) / (hi - lo);
        return (1 - a) * (f / sc.factor) + a * f;
      }),
    };
  }
  // yarn
  const L = sc.originalMaxPositions ?? c.maxPositions;
  const dimFor = (rot: number) => (d * Math.log(L / (rot * 2 * Math.PI))) / (2 * Math.log(theta));
  const lo = Math.max(0, Math.floor(dimFor(sc.betaFast ?? 32)));
  let hi = Math.min(d - 1, Math.ceil(dimFor(sc.betaSlow ?? 1)));
  if (hi === lo) hi += 0.001;
  return {
    mscale: sc.attentionFactor ?? 0.1 * Math.log(sc.factor) + 1,
    inv: inv.map((f, i) => {
      const ramp = Math.min(1, Math.max(0, (i - lo) / (hi - lo)));
      const keep = 1 - ramp; // weight of the unscaled frequency
      return f * keep + (f / sc.factor) * (1 - keep);
    }),
  };
}

type Mat = number[][]; // [rows][cols]

function matFromFlat(w: Float32Array, rows: number, cols: number): Mat {
  return Array.from({ length: rows }, (_, r) => Array.from(w.subarray(r * cols, (r + 1) * cols)));
}

/** x [T][in] times HF weight [out][in]ᵀ (+ bias). */
function refLinear(x: Mat, w: Float32Array, outF: number, bias?: Float32Array): Mat {
  const inF = x[0]!.length;
  return x.map((row) => {
    const y: number[] = [];
    for (let o = 0; o < outF; o++) {
      let s = bias ? bias[o]! : 0;
      for (let i = 0; i < inF; i++) s += row[i]! * w[o * inF + i]!;
      y.push(s);
    }
    return y;
  });
}

function refNorm(x: Mat, w: Float32Array, eps: number): Mat {
  return x.map((row) => {
    const ms = row.reduce((a, v) => a + v * v, 0) / row.length;
    return row.map((v, i) => (v / Math.sqrt(ms + eps)) * w[i]!);
  });
}

function refRope(x: Mat, heads: number, d: number, inv: number[], mscale: number): Mat {
  return x.map((row, pos) => {
    const out = row.slice();
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < d / 2; i++) {
        const ang = pos * inv[i]!;
        const c = Math.cos(ang) * mscale;
        const s = Math.sin(ang) * mscale;
        const a = row[h * d + i]!;
        const b = row[h * d + i + d / 2]!;
        out[h * d + i] = a * c - b * s; // rotate_half: (-x2, x1)
        out[h * d + i + d / 2] = b * c + a * s;
      }
    }
    return out;
  });
}

function refLayer(c: EngineConfig, w: LayerWeights, x: Mat, inv: number[], mscale: number): Mat {
  const T = x.length;
  const d = c.headDim;
  const h1 = refNorm(x, w.attnNorm, c.rmsNormEps);
  const q = refRope(refLinear(h1, w.wq, c.numHeads * d, w.bq), c.numHeads, d, inv, mscale);
  const k = refRope(refLinear(h1, w.wk, c.numKvHeads * d, w.bk), c.numKvHeads, d, inv, mscale);
  const v = refLinear(h1, w.wv, c.numKvHeads * d, w.bv);
  const att: Mat = Array.from({ length: T }, () => new Array<number>(c.numHeads * d).fill(0));
  for (let h = 0; h < c.numHeads; h++) {
    const kvh = Math.floor(h / (c.numHeads / c.numKvHeads));
    for (let t = 0; t < T; t++) {
      const sc: number[] = [];
      for (let u = 0; u <= t; u++) {
        let s = 0;
        for (let i = 0; i < d; i++) s += q[t]![h * d + i]! * k[u]![kvh * d + i]!;
        sc.push(s / Math.sqrt(d));
      }
      const m = Math.max(...sc);
      const e = sc.map((s) => Math.exp(s - m));
      const z = e.reduce((a, b) => a + b, 0);
      for (let u = 0; u <= t; u++) for (let i = 0; i < d; i++) att[t]![h * d + i]! += (e[u]! / z) * v[u]![kvh * d + i]!;
    }
  }
  const o = refLinear(att, w.wo, c.hiddenSize);
  const mid = x.map((row, t) => row.map((val, i) => val + o[t]![i]!));
  const h2 = refNorm(mid, w.ffnNorm, c.rmsNormEps);
  const g = refLinear(h2, w.wGate, c.intermediateSize);
  const up = refLinear(h2, w.wUp, c.intermediateSize);
  const act = g.map((row, t) => row.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[t]![i]!));
  const down = refLinear(act, w.wDown, c.hiddenSize);
  return mid.map((row, t) => row.map((val, i) => val + down[t]![i]!));
}

async function refForward(wts: EngineWeights, tokens: number[]): Promise<{ logits: Mat; hidden: Mat[] }> {
  const c = wts.config;
  const emb = await wts.embedding();
  let x: Mat = tokens.map((id) => Array.from(emb.subarray(id * c.hiddenSize, (id + 1) * c.hiddenSize)));
  const hidden = [x];
  const { inv, mscale } = refInvFreq(c, tokens.length);
  for (let l = 0; l < c.numLayers; l++) {
    x = refLayer(c, await wts.layer(l), x, inv, mscale);
    hidden.push(x);
  }
  const normed = refNorm(x, await wts.finalNorm(), c.rmsNormEps);
  const head = c.tiedEmbeddings ? emb : await wts.lmHead();
  return { logits: refLinear(normed, head, c.vocabSize), hidden };
}

function refLogSoftmax(row: number[]): number[] {
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
  return row.map((v) => v - lse);
}

// ---------- fixtures ----------

const base: EngineConfig = {
  vocabSize: 97, hiddenSize: 48, intermediateSize: 96, numLayers: 3, numHeads: 6, numKvHeads: 2,
  headDim: 8, rmsNormEps: 1e-5, ropeTheta: 10000, tiedEmbeddings: false, maxPositions: 64,
};

const cases: Array<[string, EngineConfig]> = [
  ["GQA 6/2, untied, no bias, plain RoPE", base],
  ["MHA 4/4, tied, q/k/v biases, linear ×2", { ...base, hiddenSize: 32, numHeads: 4, numKvHeads: 4, numLayers: 2, tiedEmbeddings: true, attentionBias: true, ropeScaling: { type: "linear", factor: 2 } }],
  ["GQA 4/1, llama3 scaling, headDim 16", { ...base, hiddenSize: 64, numHeads: 4, numKvHeads: 1, headDim: 16, numLayers: 4, ropeScaling: { type: "llama3", factor: 8, originalMaxPositions: 64, lowFreqFactor: 1, highFreqFactor: 4 } }],
  ["GQA 6/3, yarn ×4, biases", { ...base, numKvHeads: 3, attentionBias: true, ropeScaling: { type: "yarn", factor: 4, originalMaxPositions: 16 } }],
  ["GQA 6/2, dynamic NTK ×2 past maxPositions", { ...base, maxPositions: 12, ropeScaling: { type: "dynamic", factor: 2 } }],
];

function tokensFor(c: EngineConfig, n: number, seed: number): number[] {
  return Array.from({ length: n }, (_, i) => (i * 31 + seed * 17 + ((i * i) % 7)) % c.vocabSize);
}

function maxAbsDiff(a: Float32Array, b: number[]): number {
  let m = 0;
  b.forEach((v, i) => (m = Math.max(m, Math.abs(a[i]! - v))));
  return m;
}

describe("forward vs naive float64 reference", () => {
  for (const [name, cfg] of cases) {
    it(name, async () => {
      const w = randomWeights(cfg, { seed: 7, std: 0.15 });
      const tokens = tokensFor(cfg, 18, 3);
      const ref = await refForward(w, tokens);
      const got = await forward(w, tokens, { hiddenStates: true });
      expect(got.positions).toEqual(tokens.map((_, t) => t));
      const diff = maxAbsDiff(got.logits, ref.logits.flat());
      const scale = Math.max(...ref.logits.flat().map(Math.abs));
      console.log(`[engine] ${name}: max |Δlogit| = ${diff.toExponential(2)} (max |logit| ${scale.toFixed(2)})`);
      expect(scale).toBeGreaterThan(0.5); // the model is not trivially flat
      expect(diff).toBeLessThan(2e-4 * Math.max(1, scale));
      expect(got.hidden).toHaveLength(cfg.numLayers + 1);
      got.hidden!.forEach((h, l) => expect(maxAbsDiff(h, ref.hidden[l]!.flat())).toBeLessThan(1e-4 * cfg.numLayers + 1e-5));
    });
  }

  it("dynamic NTK changes the logits only past the trained length", async () => {
    const cfg = cases[4]![1];
    const plain = { ...cfg, ropeScaling: undefined, maxPositions: 64 };
    const toks = tokensFor(cfg, 16, 1);
    const [dynShort, plainShort] = await Promise.all([forward(randomWeights(cfg, { seed: 2, std: 0.15 }), toks.slice(0, 10)), forward(randomWeights(plain, { seed: 2, std: 0.15 }), toks.slice(0, 10))]);
    expect(maxAbsDiff(dynShort.logits, Array.from(plainShort.logits))).toBe(0);
    const [dynLong, plainLong] = [await forward(randomWeights(cfg, { seed: 2, std: 0.15 }), toks), await forward(randomWeights(plain, { seed: 2, std: 0.15 }), toks)];
    expect(maxAbsDiff(dynLong.logits, Array.from(plainLong.logits))).toBeGreaterThan(1e-3);
  });
});

describe("causality and head rows", () => {
  const w = randomWeights(base, { seed: 11, std: 0.15 });
  const tokens = tokensFor(base, 20, 5);

  it("logits of a prefix do not depend on later tokens", async () => {
    const full = await forward(w, tokens);
    const changedTail = tokens.slice();
    for (let t = 12; t < 20; t++) changedTail[t] = (changedTail[t]! + 40) % base.vocabSize;
    const other = await forward(w, changedTail);
    const prefix = await forward(w, tokens.slice(0, 12));
    const V = base.vocabSize;
    expect(maxAbsDiff(other.logits.subarray(0, 12 * V), Array.from(full.logits.subarray(0, 12 * V)))).toBeLessThan(1e-5);
    expect(maxAbsDiff(prefix.logits, Array.from(full.logits.subarray(0, 12 * V)))).toBeLessThan(1e-5);
    // …while the changed positions themselves do change
    expect(maxAbsDiff(other.logits.subarray(12 * V), Array.from(full.logits.subarray(12 * V)))).toBeGreaterThan(1e-3);
  });

  it("logitsFor last / positions / none give the same rows as all", async () => {
    const V = base.vocabSize;
    const all = await forward(w, tokens);
    const last = await forward(w, tokens, { logitsFor: "last" });
    expect(last.positions).toEqual([19]);
    expect(maxAbsDiff(last.logits, Array.from(all.logits.subarray(19 * V)))).toBeLessThan(1e-5);
    const some = await forward(w, tokens, { logitsFor: [3, 0, 17] });
    [3, 0, 17].forEach((p, r) => expect(maxAbsDiff(some.logits.subarray(r * V, (r + 1) * V), Array.from(all.logits.subarray(p * V, (p + 1) * V)))).toBeLessThan(1e-5));
    const none = await forward(w, tokens, { logitsFor: "none", hiddenStates: true });
    expect(none.logits.length).toBe(0);
    expect(none.hidden).toHaveLength(base.numLayers + 1);
  });

  it("tokenLogprobs matches the reference log-softmax, also from a later start", async () => {
    const ref = await refForward(w, tokens);
    const want = tokens.slice(1).map((next, t) => refLogSoftmax(ref.logits[t]!)[next]!);
    const got = await tokenLogprobs(w, tokens);
    expect(got).toHaveLength(19);
    expect(maxAbsDiff(got, want)).toBeLessThan(2e-4);
    const tail = await tokenLogprobs(w, tokens, { from: 15 });
    expect(maxAbsDiff(tail, want.slice(14))).toBeLessThan(2e-4);
  });

  it("tape records each layer's activations consistently with hidden states", async () => {
    const r = await forward(w, tokens, { tape: true, hiddenStates: true, logitsFor: "last" });
    const tape = r.tape!;
    expect(tape.layers).toHaveLength(base.numLayers);
    tape.layers.forEach((l, i) => {
      expect(Array.from(l.input)).toEqual(Array.from(r.hidden![i]!));
      expect(l.q.length).toBe(20 * base.numHeads * base.headDim);
      expect(l.k.length).toBe(20 * base.numKvHeads * base.headDim);
      expect(l.act.length).toBe(20 * base.intermediateSize);
    });
    expect(Array.from(tape.finalInput)).toEqual(Array.from(r.hidden![base.numLayers]!));
  });
});

describe("bad inputs are typed errors", () => {
  const w = randomWeights(base, { seed: 1 });
  it("refuses tokens outside the vocabulary, empty input and too many positions", async () => {
    await expect(forward(w, [1, 97])).rejects.toMatchObject({ code: "ENGINE_BAD_TOKEN" });
    await expect(forward(w, [1, 2.5])).rejects.toBeInstanceOf(RuntimeError);
    await expect(forward(w, [])).rejects.toMatchObject({ code: "ENGINE_NO_TOKENS" });
    await expect(forward(w, new Array(65).fill(1))).rejects.toMatchObject({ code: "ENGINE_TOO_MANY_TOKENS" });
    await expect(forward(w, [1, 2], { logitsFor: [2] })).rejects.toMatchObject({ code: "ENGINE_BAD_POSITION" });
    expect(await tokenLogprobs(w, [1])).toHaveLength(0);
    await expect(tokenLogprobs(w, [1, 2], { from: 3 })).rejects.toMatchObject({ code: "ENGINE_BAD_POSITION" });
  });
  it("refuses a layer with a wrong-sized tensor, naming it", async () => {
    const broken: EngineWeights = { ...w, layer: async (i) => ({ ...(await w.layer(i)), wk: new Float32Array(5) }) };
    await expect(forward(broken, [1, 2])).rejects.toThrow(/layers\[0\]\.wk.*expected a Float32Array of 768 elements, found 5/);
  });
  it("refuses a bad config before allocating", async () => {
    await expect(forward({ ...w, config: { ...base, numKvHeads: 4 } }, [1])).rejects.toMatchObject({ code: "ENGINE_BAD_CONFIG" });
    await expect(forward({ ...w, config: { ...base, vocabSize: 2 ** 40 } }, [1])).rejects.toMatchObject({ code: "ENGINE_BAD_CONFIG" });
  });
  it("stops between layers when aborted", async () => {
    const ac = new AbortController();
    const slow: EngineWeights = { ...w, layer: async (i) => { if (i === 1) ac.abort(); return w.layer(i); } };
    await expect(forward(slow, [1, 2, 3], { signal: ac.signal })).rejects.toMatchObject({ code: "ENGINE_ABORTED" });
  });
});
