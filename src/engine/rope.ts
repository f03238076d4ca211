// Rotary position embeddings as HF transformers computes them: inverse frequencies (with linear,
// llama3, yarn, dynamic-NTK or Phi-3 longrope scaling, or llama.cpp's per-dimension rope_freqs
// factors), cos/sin tables per position, and "rotate_half" application (element i pairs with
// i + rotaryDim/2; Q/K rows in HF order, not ggml's interleaved permutation). Partial rotary (Phi)
// rotates the first rotaryDim elements of each head; Gemma 3's sliding layers get their own table.

import { llama3RopeFactors } from "../arch/rope-factors.js";
import type { EngineConfig } from "./types.js";

export interface RopeTables {
  half: number; // rotaryDim / 2 (headDim / 2 unless partial rotary)
  headDim: number; // stride of one head in q/k rows
  cos: Float32Array; // [T, half], already multiplied by the yarn attention factor if any
  sin: Float32Array; // [T, half]
}

/** HF inv_freq[i] = 1 / theta^(2i/d) with the config's scaling; `seqLen` matters only for dynamic NTK.
 * Also returns the factor HF multiplies into cos and sin (yarn's attention_factor, else 1). */
export function ropeInverseFrequencies(c: EngineConfig, seqLen: number, kind: "full" | "local" = "full"): { invFreq: Float64Array; cosSinScale: number } {
  const d = c.rotaryDim ?? c.headDim;
  const half = d / 2;
  // Gemma 3's sliding layers: their own base, no scaling (HF rotary_emb_local)
  const local = kind === "local" && c.ropeLocalTheta !== undefined;
  const s = local ? undefined : c.ropeScaling;
  let base = local ? c.ropeLocalTheta! : c.ropeTheta;
  if (s?.type === "dynamic") {
    // HF _compute_dynamic_ntk_parameters: grows the base once the sequence outruns the trained length.
    const maxPos = s.originalMaxPositions ?? c.maxPositions;
    const len = Math.max(seqLen, maxPos);
    base = base * Math.pow((s.factor * len) / maxPos - (s.factor - 1), d / (d - 2));
  }
  // HF builds inv_freq in float32 (arange(0, d, 2).float() / d); we round to f32 likewise.
  const invFreq = new Float64Array(half);
  for (let i = 0; i < half; i++) invFreq[i] = Math.fround(1 / Math.pow(base, (2 * i) / d));
  let cosSinScale = 1;
  if (s?.type === "linear") {
    for (let i = 0; i < half; i++) invFreq[i] = invFreq[i]! / s.factor;
  } else if (s?.type === "llama3" && !c.ropeFreqFactors) {
    // the same factors llama.cpp's converter stores as rope_freqs.weight (HF's smoothed inv_freq)
    const ff = llama3RopeFactors(d, c.ropeTheta, {
      factor: s.factor, lowFreqFactor: s.lowFreqFactor ?? 1, highFreqFactor: s.highFreqFactor ?? 4, originalContext: s.originalMaxPositions ?? c.maxPositions,
    });
    for (let i = 0; i < half; i++) invFreq[i] = invFreq[i]! / ff[i]!;
  } else if (s?.type === "yarn") {
    const origLen = s.originalMaxPositions ?? c.maxPositions;
    const betaFast = s.betaFast ?? 32;
    const betaSlow = s.betaSlow ?? 1;
    // dimension index whose wavelength completes `rotations` turns over the original context
    const correctionDim = (rotations: number) => (d * Math.log(origLen / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
    const lowDim = Math.max(Math.floor(correctionDim(betaFast)), 0);
    let highDim = Math.min(Math.ceil(correctionDim(betaSlow)), d - 1);
    if (lowDim === highDim) highDim += 0.001;
    for (let i = 0; i < half; i++) {
      const ramp = Math.min(1, Math.max(0, (i - lowDim) / (highDim - lowDim)));
      const extrapolationWeight = 1 - ramp;
      const f = invFreq[i]!;
      invFreq[i] = (f / s.factor) * (1 - extrapolationWeight) + f * extrapolationWeight;
    }
    cosSinScale = s.attentionFactor ?? (s.factor <= 1 ? 1 : 0.1 * Math.log(s.factor) + 1);
  } else if (s?.type === "longrope") {
    // HF _compute_longrope_parameters: short factors up to the original context, long past it
    const orig = s.originalMaxPositions ?? c.maxPositions;
    const ext = seqLen > orig ? s.longFactor! : s.shortFactor!;
    for (let i = 0; i < half; i++) invFreq[i] = invFreq[i]! / ext[i]!;
    const factor = c.maxPositions / orig;
    cosSinScale = s.attentionFactor ?? (factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(orig)));
  }
  // llama.cpp's rope_freqs.weight (a GGUF's tensor, or llama3 factors from config.json): θᵢ / ffᵢ
  if (c.ropeFreqFactors && !local) for (let i = 0; i < half; i++) invFreq[i] = invFreq[i]! / c.ropeFreqFactors[i]!;
  return { invFreq, cosSinScale };
}

/** cos/sin for positions 0..T-1 (HF: emb = cat(freqs, freqs), so one half-row serves both halves). */
export function ropeTables(c: EngineConfig, seqLen: number, kind: "full" | "local" = "full"): RopeTables {
  const half = (c.rotaryDim ?? c.headDim) / 2;
  const { invFreq, cosSinScale } = ropeInverseFrequencies(c, seqLen, kind);
  const cos = new Float32Array(seqLen * half);
  const sin = new Float32Array(seqLen * half);
  for (let t = 0; t < seqLen; t++) {
    for (let i = 0; i < half; i++) {
      const angle = Math.fround(t * Math.fround(invFreq[i]!)); // HF: f32 outer product
      cos[t * half + i] = Math.cos(angle) * cosSinScale;
      sin[t * half + i] = Math.sin(angle) * cosSinScale;
    }
  }
  return { half, headDim: c.headDim, cos, sin };
}

/** The table each layer rotates with: one shared table, or Gemma 3's local one for sliding layers. */
export function layerRopeTables(c: EngineConfig, seqLen: number): RopeTables[] {
  const full = ropeTables(c, seqLen);
  const local = c.ropeLocalTheta !== undefined && c.layerTypes?.includes("sliding_attention") ? ropeTables(c, seqLen, "local") : full;
  return Array.from({ length: c.numLayers }, (_, l) => (c.layerTypes?.[l] === "sliding_attention" ? local : full));
}

/** In place on x [T, heads·headDim]: x₁' = x₁cos − x₂sin, x₂' = x₂cos + x₁sin per head, on the
 * first 2·half elements of each head (the rest, under partial rotary, pass through). */
export function applyRope(x: Float32Array, seqLen: number, heads: number, r: RopeTables): void {
  const { half, cos, sin, headDim } = r;
  for (let t = 0; t < seqLen; t++) {
    const tab = t * half;
    for (let h = 0; h < heads; h++) {
      const o = (t * heads + h) * headDim;
      for (let i = 0; i < half; i++) {
        const c = cos[tab + i]!;
        const s = sin[tab + i]!;
        const x1 = x[o + i]!;
        const x2 = x[o + half + i]!;
        x[o + i] = x1 * c - x2 * s;
        x[o + half + i] = x2 * c + x1 * s;
      }
    }
  }
}
