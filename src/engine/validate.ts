// Checks an EngineConfig and each loaded tensor's length before the engine sizes anything by them.
// Configs come from downloaded files, so every dimension is bounded and every product checked.
// Not for checking values (NaN weights pass): only shapes and ranges.

import { RuntimeError } from "../errors.js";
import { ENGINE_BUFFER_ELEMENT_LIMIT, LIMITS } from "../limits.js";
import type { EngineConfig, LayerWeights } from "./types.js";

function fail(field: string, expected: string, actual: unknown, hint: string): never {
  throw new RuntimeError("ENGINE_BAD_CONFIG", `engine config ${field}: expected ${expected}, found ${String(actual)}`, {
    hint,
  });
}

function positiveInt(c: EngineConfig, field: keyof EngineConfig, max: number): number {
  const v = c[field];
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > max) {
    fail(field, `an integer in [1, ${max}]`, v, "check the adapter that maps config.json into EngineConfig");
  }
  return v;
}

function positiveFinite(c: EngineConfig, field: keyof EngineConfig): number {
  const v = c[field];
  if (typeof v !== "number" || !Number.isFinite(v) || v <= 0) {
    fail(field, "a finite number > 0", v, "check the adapter that maps config.json into EngineConfig");
  }
  return v;
}

/** Elements of a [rows, cols] buffer, refused past ENGINE_BUFFER_ELEMENT_LIMIT. */
export function bufferElements(what: string, rows: number, cols: number): number {
  const n = rows * cols;
  if (!Number.isSafeInteger(n) || n > ENGINE_BUFFER_ELEMENT_LIMIT) {
    throw new RuntimeError("ENGINE_BUFFER_TOO_LARGE", `${what}: ${rows}×${cols} elements exceeds the limit ${ENGINE_BUFFER_ELEMENT_LIMIT}`, {
      hint: "score fewer tokens per call (split the sequence) or ask for fewer logit rows",
    });
  }
  return n;
}

export function validateConfig(c: EngineConfig): void {
  const dim = Math.min(LIMITS.tensorDim, ENGINE_BUFFER_ELEMENT_LIMIT);
  positiveInt(c, "vocabSize", dim);
  const hidden = positiveInt(c, "hiddenSize", dim);
  positiveInt(c, "intermediateSize", dim);
  positiveInt(c, "numLayers", LIMITS.layerCount);
  const heads = positiveInt(c, "numHeads", hidden);
  const kvHeads = positiveInt(c, "numKvHeads", heads);
  const headDim = positiveInt(c, "headDim", dim);
  positiveInt(c, "maxPositions", dim);
  positiveFinite(c, "rmsNormEps");
  positiveFinite(c, "ropeTheta");
  if (heads % kvHeads !== 0) fail("numKvHeads", `a divisor of numHeads (${heads})`, kvHeads, "GQA needs whole groups");
  if (headDim % 2 !== 0) fail("headDim", "an even number (RoPE rotates pairs)", headDim, "check head_dim");
  bufferElements("wq", heads * headDim, hidden);
  bufferElements("embedding", c.vocabSize, hidden);
  bufferElements("wGate", c.intermediateSize, hidden);
  const rot = c.rotaryDim ?? headDim;
  if (!Number.isSafeInteger(rot) || rot < 2 || rot > headDim || rot % 2 !== 0) {
    fail("rotaryDim", `an even integer in [2, ${headDim}]`, c.rotaryDim, "check partial_rotary_factor");
  }
  const ff = c.ropeFreqFactors;
  if (ff !== undefined && (ff.length !== rot / 2 || !ff.every((v) => Number.isFinite(v) && v > 0))) {
    fail("ropeFreqFactors", `${rot / 2} finite factors > 0 (rotaryDim/2)`, `${ff.length} values`, "rope_freqs.weight does not match the attention heads");
  }
  const s = c.ropeScaling;
  if (s !== undefined) {
    if (!["linear", "llama3", "yarn", "dynamic", "longrope"].includes(s.type)) {
      fail("ropeScaling.type", "linear | llama3 | yarn | dynamic | longrope", s.type, "other scalings are not supported");
    }
    if (s.type === "longrope") {
      for (const key of ["shortFactor", "longFactor"] as const) {
        const f = s[key];
        if (!Array.isArray(f) || f.length !== rot / 2 || !f.every((v) => Number.isFinite(v) && v > 0)) {
          fail(`ropeScaling.${key}`, `${rot / 2} finite factors > 0 (rotaryDim/2)`, Array.isArray(f) ? `${f.length} values` : f, "check rope_scaling.short_factor and long_factor");
        }
      }
    }
    if (!Number.isFinite(s.factor) || s.factor <= 0) fail("ropeScaling.factor", "a finite number > 0", s.factor, "check rope_scaling.factor");
    if (s.type === "llama3" && !(Number.isFinite(s.originalMaxPositions) && (s.originalMaxPositions ?? 0) > 0)) {
      fail("ropeScaling.originalMaxPositions", "a positive number for llama3 scaling", s.originalMaxPositions, "copy original_max_position_embeddings");
    }
  }
  validateFamilyFeatures(c);
}

/** The optional family fields: each absent, or in range. */
function validateFamilyFeatures(c: EngineConfig): void {
  const hint = "check the adapter that maps config.json into EngineConfig";
  if (c.activation !== undefined && c.activation !== "silu" && c.activation !== "gelu_tanh") fail("activation", "silu | gelu_tanh", c.activation, hint);
  if (c.normWeightOffset !== undefined && c.normWeightOffset !== 0 && c.normWeightOffset !== 1) fail("normWeightOffset", "0 or 1", c.normWeightOffset, hint);
  for (const key of ["embedScale", "attnLogitSoftcap", "finalLogitSoftcap", "queryPreAttnScalar", "ropeLocalTheta"] as const) {
    const v = c[key];
    if (v !== undefined && (typeof v !== "number" || !Number.isFinite(v) || v <= 0)) fail(key, "a finite number > 0", v, hint);
  }
  if (c.slidingWindow !== undefined) positiveInt(c, "slidingWindow", Number.MAX_SAFE_INTEGER);
  const types = c.layerTypes;
  if (types !== undefined) {
    if (!Array.isArray(types) || types.length !== c.numLayers || !types.every((t) => t === "sliding_attention" || t === "full_attention")) {
      fail("layerTypes", `${c.numLayers} entries of sliding_attention | full_attention`, Array.isArray(types) ? `${types.length} entries` : types, "layer_types must name every layer's attention");
    }
    if (types.includes("sliding_attention") && c.slidingWindow === undefined) fail("slidingWindow", "a window for the sliding layers", undefined, "copy sliding_window from config.json");
  }
}

/** Shape of each tensor of layer `index` as flat lengths, checked against the config. */
export function validateLayerWeights(c: EngineConfig, index: number, w: LayerWeights): void {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const h = c.hiddenSize;
  const f = c.intermediateSize;
  const want: Array<[keyof LayerWeights, number]> = [
    ["attnNorm", h], ["wq", q * h], ["wk", kv * h], ["wv", kv * h], ["wo", h * q],
    ["ffnNorm", h], ["wGate", f * h], ["wUp", f * h], ["wDown", h * f],
  ];
  if (c.attentionBias) want.push(["bq", q], ["bk", kv], ["bv", kv]);
  if (c.qkNorm) want.push(["qNorm", c.headDim], ["kNorm", c.headDim]);
  if (c.sandwichNorms) want.push(["postAttnNorm", h], ["postFfnNorm", h]);
  for (const [name, n] of want) checkTensor(`layers[${index}].${name}`, w[name], n);
}

export function checkTensor(what: string, t: Float32Array | undefined, elements: number): Float32Array {
  if (!(t instanceof Float32Array) || t.length !== elements) {
    throw new RuntimeError(
      "ENGINE_BAD_WEIGHT",
      `${what}: expected a Float32Array of ${elements} elements, found ${t instanceof Float32Array ? `${t.length} elements` : typeof t}`,
      { hint: "the weights adapter must widen to f32 and keep HF [out, in] layouts" },
    );
  }
  return t;
}
