// Every weight of a model in one flat f32 buffer (shareable between worker threads), in an order
// that makes fused matmuls contiguous: per layer q|k|v rows and gate|up rows sit back to back, so
// [Wq;Wk;Wv] is one [qkv, D] block. Which tensors train, and the compact layout their gradients
// and Adam moments use (frozen tensors get none). Not a file format: checkpoint.ts maps HF names.

import type { EngineConfig, EngineWeights, LayerWeights } from "../engine/index.js";
import { TrainError } from "./train-error.js";

export type ParamKind = "embed" | "norm" | "linear" | "bias" | "head";
/** the LayerWeights field, or a model-level tensor */
export type ParamField = keyof LayerWeights | "embedding" | "finalNorm" | "lmHead";

export interface ParamSpec {
  field: ParamField;
  /** decoder layer, for layer tensors */
  layer?: number;
  kind: ParamKind;
  /** outermost first, HF layout ([out, in] for linear weights) */
  shape: number[];
  /** element offset in the flat buffer */
  offset: number;
  size: number;
}

export interface ParamLayout {
  config: EngineConfig;
  specs: ParamSpec[];
  /** total elements */
  total: number;
  /** per layer: spec index by field */
  layers: Map<keyof LayerWeights, number>[];
  embedding: number;
  finalNorm: number;
  /** spec index of the untied head, −1 when tied to the embedding */
  lmHead: number;
}

/** Layer field order: fusable groups adjacent (wq wk wv, wGate wUp); fields a config lacks are skipped. */
const LAYER_ORDER: (keyof LayerWeights)[] = [
  "attnNorm", "wq", "wk", "wv", "bq", "bk", "bv", "qNorm", "kNorm", "wo", "postAttnNorm", "ffnNorm", "wGate", "wUp", "wDown", "postFfnNorm",
];

/** Whether config `c` has layer field `f` (biases, q/k norms and sandwich norms are per family). */
export function hasLayerField(c: EngineConfig, f: keyof LayerWeights): boolean {
  if (f === "bq" || f === "bk" || f === "bv") return c.attentionBias === true;
  if (f === "qNorm" || f === "kNorm") return c.qkNorm === true;
  if (f === "postAttnNorm" || f === "postFfnNorm") return c.sandwichNorms === true;
  return true;
}

export function paramLayout(c: EngineConfig): ParamLayout {
  const D = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  const specs: ParamSpec[] = [];
  let offset = 0;
  const add = (field: ParamField, kind: ParamKind, shape: number[], layer?: number): number => {
    const size = shape.reduce((a, b) => a * b, 1);
    specs.push({ field, kind, shape, offset, size, ...(layer === undefined ? {} : { layer }) });
    offset += size;
    return specs.length - 1;
  };
  const embedding = add("embedding", "embed", [c.vocabSize, D]);
  const shapes: Record<keyof LayerWeights, [ParamKind, number[]]> = {
    attnNorm: ["norm", [D]], wq: ["linear", [q, D]], wk: ["linear", [kv, D]], wv: ["linear", [kv, D]],
    bq: ["bias", [q]], bk: ["bias", [kv]], bv: ["bias", [kv]], wo: ["linear", [D, q]],
    ffnNorm: ["norm", [D]], wGate: ["linear", [F, D]], wUp: ["linear", [F, D]], wDown: ["linear", [D, F]],
    qNorm: ["norm", [c.headDim]], kNorm: ["norm", [c.headDim]], postAttnNorm: ["norm", [D]], postFfnNorm: ["norm", [D]],
  };
  const layers: Map<keyof LayerWeights, number>[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const m = new Map<keyof LayerWeights, number>();
    for (const field of LAYER_ORDER) {
      if (!hasLayerField(c, field)) continue;
      const [kind, shape] = shapes[field];
      m.set(field, add(field, kind, shape, l));
    }
    layers.push(m);
  }
  const finalNorm = add("finalNorm", "norm", [D]);
  const lmHead = c.tiedEmbeddings ? -1 : add("lmHead", "head", [c.vocabSize, D]);
  return { config: c, specs, total: offset, layers, embedding, finalNorm, lmHead };
}

/** A zeroed f32 buffer of `n` elements, on a SharedArrayBuffer when worker threads will read it. */
export function allocF32(n: number, shared: boolean): Float32Array {
  return new Float32Array(shared ? new SharedArrayBuffer(n * 4) : new ArrayBuffer(n * 4));
}

/** The tensor of spec `i` as a view into `data`. */
export function specView(layout: ParamLayout, data: Float32Array, i: number): Float32Array {
  const s = layout.specs[i]!;
  return data.subarray(s.offset, s.offset + s.size);
}

/** Layer `l`'s weights as views into `data` (HF layouts). */
export function layerViews(layout: ParamLayout, data: Float32Array, l: number): LayerWeights {
  const w: Partial<Record<keyof LayerWeights, Float32Array>> = {};
  for (const [field, i] of layout.layers[l]!) w[field] = specView(layout, data, i);
  return w as LayerWeights;
}

/** Which parts train: decoder layers by position, the embedding, and the head (final norm + lm_head). */
export interface TrainSelection {
  layers: boolean[];
  embed: boolean;
  head: boolean;
}

/** Spec indices that train under `sel`; with tied embeddings, embed or head trains the shared table. */
export function trainableSpecs(layout: ParamLayout, sel: TrainSelection): boolean[] {
  return layout.specs.map((s, i) => {
    if (s.layer !== undefined) return sel.layers[s.layer] === true;
    if (i === layout.embedding) return sel.embed || (layout.lmHead < 0 && sel.head);
    return sel.head; // finalNorm, lmHead
  });
}

/** Offsets of trainable tensors in the compact gradient/moment buffers (−1 for frozen ones). */
export interface GradLayout {
  trainable: boolean[];
  /** per spec: element offset in the compact buffer, or −1 */
  offsets: number[];
  total: number;
}

export function gradLayout(layout: ParamLayout, trainable: boolean[]): GradLayout {
  const offsets: number[] = [];
  let total = 0;
  layout.specs.forEach((s, i) => {
    offsets.push(trainable[i] ? total : -1);
    if (trainable[i]) total += s.size;
  });
  return { trainable, offsets, total };
}

/** The gradient of spec `i` as a view into the compact buffer, or undefined when it is frozen. */
export function gradView(layout: ParamLayout, g: GradLayout, grads: Float32Array, i: number): Float32Array | undefined {
  const o = g.offsets[i]!;
  return o < 0 ? undefined : grads.subarray(o, o + layout.specs[i]!.size);
}

/** AdamW applies weight decay to linear weights only (not norms, biases or embeddings). */
export function decays(s: ParamSpec): boolean {
  return s.kind === "linear" || s.kind === "head";
}

/** Parameter count of the specs selected by `which`. */
export function countParams(layout: ParamLayout, which: boolean[] = layout.specs.map(() => true)): number {
  return layout.specs.reduce((n, s, i) => n + (which[i] ? s.size : 0), 0);
}

/** Copies every tensor of `w` (engine weights: a checkpoint, a plan, random) into `data`. */
export async function fillParams(layout: ParamLayout, data: Float32Array, w: EngineWeights): Promise<void> {
  data.set(await w.embedding(), layout.specs[layout.embedding]!.offset);
  for (let l = 0; l < layout.layers.length; l++) {
    const lw = await w.layer(l);
    for (const [field, i] of layout.layers[l]!) {
      const t = lw[field];
      const s = layout.specs[i]!;
      if (!t || t.length !== s.size) {
        throw new TrainError("TRAIN_BAD_WEIGHT", `layer ${l} ${field}: expected ${s.size} elements, found ${t?.length ?? "none"}`, { hint: "the checkpoint's tensors do not match its config.json" });
      }
      data.set(t, s.offset);
    }
  }
  data.set(await w.finalNorm(), layout.specs[layout.finalNorm]!.offset);
  if (layout.lmHead >= 0) data.set(await w.lmHead(), layout.specs[layout.lmHead]!.offset);
}

/** The params as EngineWeights (views, no copies): the engine's forward over trained weights. */
export function paramsAsWeights(layout: ParamLayout, data: Float32Array): EngineWeights {
  const emb = specView(layout, data, layout.embedding);
  return {
    config: layout.config,
    embedding: async () => emb,
    layer: async (l) => layerViews(layout, data, l),
    finalNorm: async () => specView(layout, data, layout.finalNorm),
    lmHead: async () => (layout.lmHead >= 0 ? specView(layout, data, layout.lmHead) : emb),
  };
}
