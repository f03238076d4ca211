// EngineWeights over real files: an opened checkpoint (HF safetensors, or GGUF in a float type or
// any block type src/quant dequantizes — Q4_0 … Q8_0, the K-quants, IQ4_NL/XS — with Q/K rows
// un-permuted back to HF order), or a Plan run virtually — the base model's layers in plan
// order, with the plan's scale/zero transforms and merges — without building it.
// Weights are read one layer at a time when the forward pass asks for them.

import { readGgufHParams } from "../arch/hparams-gguf.js";
import type { HParams, RopeScalingParams } from "../arch/hparams.js";
import { tensorName, type Architecture, type NameScheme } from "../arch/index.js";
import { produceTensor } from "../build/op-bytes.js";
import { newChunkBuffers } from "../build/tensor-stream.js";
import { checkpointHParams } from "../checkpoint/checkpoint-hparams.js";
import type { MergeRunOptions } from "../merge/executor.js";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { unpermuteQK } from "../convert/qk-permute.js";
import { RuntimeError } from "../errors.js";
import { toFloat32 } from "../formats/dtype-convert.js";
import { ggufValue } from "../formats/gguf-value.js";
import type { TensorTypeInfo } from "../formats/tensor-types.js";
import { tensorType } from "../formats/tensor-types.js";
import type { Plan } from "../plan/types.js";
import { canDequantize, DEQUANTIZABLE_TYPES, dequantize } from "../quant/dequantize.js";
import type { EngineConfig, EngineWeights, LayerWeights, RopeScaling } from "./types.js";

/** A tensor the adapter can fetch: its type, shape and raw bytes on demand. */
interface TensorSource {
  type: TensorTypeInfo;
  shape: number[];
  bytes(): Promise<Uint8Array>;
}

/** Which LayerWeights field each architecture layer role fills (also how fixtures are written). */
export const LAYER_ROLE_FIELDS: Readonly<Record<string, keyof LayerWeights>> = {
  input_layernorm: "attnNorm", q_proj: "wq", k_proj: "wk", v_proj: "wv", o_proj: "wo",
  post_attention_layernorm: "ffnNorm", gate_proj: "wGate", up_proj: "wUp", down_proj: "wDown",
  q_bias: "bq", k_bias: "bk", v_bias: "bv",
  q_norm: "qNorm", k_norm: "kNorm", post_attention_norm: "postAttnNorm", post_feedforward_norm: "postFfnNorm",
};

/** Fused roles (Phi-3): the fields whose rows they stack, in order ([q; k; v] and HF's chunk(2) [gate; up]). */
export const FUSED_ROLE_FIELDS: Readonly<Record<string, readonly (keyof LayerWeights)[]>> = {
  qkv_proj: ["wq", "wk", "wv"],
  gate_up_proj: ["wGate", "wUp"],
};

/** Elements of each field of a fused role under `c` (rows × hidden). */
export function fusedFieldSizes(c: EngineConfig, role: string): number[] {
  const D = c.hiddenSize;
  if (role === "qkv_proj") return [c.numHeads * c.headDim * D, c.numKvHeads * c.headDim * D, c.numKvHeads * c.headDim * D];
  return [c.intermediateSize * D, c.intermediateSize * D];
}

/**
 * The engine's config for a checkpoint of `arch` read with `hp`. `scheme` says where the norm gains
 * come from: an HF Gemma checkpoint stores w − 1 (the engine adds 1), a GGUF the gain itself.
 */
export function engineConfigFrom(hp: HParams, tied: boolean, arch: Architecture, scheme: NameScheme = "hf"): EngineConfig {
  const f = arch.forward;
  const rs = hp.ropeScaling;
  const c: EngineConfig = {
    vocabSize: hp.vocabSize,
    hiddenSize: hp.hiddenSize,
    intermediateSize: hp.intermediateSize,
    numLayers: hp.numLayers,
    numHeads: hp.numHeads,
    numKvHeads: hp.numKvHeads,
    headDim: hp.headDim,
    rmsNormEps: hp.rmsNormEps,
    ropeTheta: hp.ropeTheta,
    tiedEmbeddings: tied,
    attentionBias: arch.layer.some((r) => r.role === "q_bias"),
    maxPositions: hp.contextLength,
    // llama3 scaling travels as llama.cpp's per-dimension factors (rope_freqs.weight), never as a type
    ...(rs && rs.type !== "llama3" ? { ropeScaling: engineRopeScaling(rs, hp) } : {}),
    ...(hp.ropeFreqFactors ? { ropeFreqFactors: hp.ropeFreqFactors } : {}),
  };
  if (f.activation !== "silu") c.activation = f.activation;
  if (f.normWeightOffset === 1 && scheme === "hf") c.normWeightOffset = 1;
  // HF and llama.cpp both multiply by √hidden rounded to the activations' f32
  if (f.scaleEmbeddings) c.embedScale = Math.fround(Math.sqrt(hp.hiddenSize));
  if (f.qkNorm) c.qkNorm = true;
  if (f.sandwichNorms) c.sandwichNorms = true;
  const optional: [keyof HParams & keyof EngineConfig][] = [
    ["attnLogitSoftcap"], ["finalLogitSoftcap"], ["queryPreAttnScalar"], ["ropeLocalTheta"], ["rotaryDim"], ["slidingWindow"],
  ];
  for (const [k] of optional) if (hp[k] !== undefined) (c as unknown as Record<string, unknown>)[k] = hp[k];
  if (hp.layerTypes?.includes("sliding_attention")) c.layerTypes = [...hp.layerTypes];
  else delete c.slidingWindow;
  return c;
}

function engineRopeScaling(rs: RopeScalingParams, hp: HParams): RopeScaling {
  const out: RopeScaling = { type: rs.type as Exclude<RopeScalingParams["type"], "llama3">, factor: rs.factor };
  if (rs.originalContext !== undefined) out.originalMaxPositions = rs.originalContext;
  else if (rs.type === "longrope" && hp.originalContextLength !== undefined) out.originalMaxPositions = hp.originalContextLength;
  if (rs.attentionFactor !== undefined) out.attentionFactor = rs.attentionFactor;
  if (rs.betaFast !== undefined) out.betaFast = rs.betaFast;
  if (rs.betaSlow !== undefined) out.betaSlow = rs.betaSlow;
  if (rs.shortFactor) out.shortFactor = rs.shortFactor;
  if (rs.longFactor) out.longFactor = rs.longFactor;
  return out;
}

function widen(t: TensorSource, raw: Uint8Array, name: string): Float32Array {
  if (t.type.float) return toFloat32(raw, t.type);
  if (canDequantize(t.type.name)) return dequantize(t.type.name, raw);
  throw new RuntimeError("engine.tensor-type", `${name} is ${t.type.name}; the engine reads ${DEQUANTIZABLE_TYPES.join(", ")}`, {
    hint: "run such models with llama.cpp (dusk run), or convert the HF checkpoint instead",
  });
}

/**
 * The generic adapter: `lookup(name)` finds tensors by their own scheme's names; layer `i`'s
 * tensors are named with index `layerIndex(i)` (the identity, unless a plan remaps).
 */
function weightsFrom(arch: Architecture, scheme: NameScheme, config: EngineConfig, lookup: (name: string) => TensorSource | undefined, ggufPermuted: boolean): EngineWeights {
  const load = async (name: string, required = true): Promise<Float32Array | undefined> => {
    const t = lookup(name);
    if (!t) {
      if (!required) return undefined;
      throw new RuntimeError("engine.missing-tensor", `tensor ${name} is missing`, { hint: "the checkpoint is incomplete or not of this family" });
    }
    return widen(t, await t.bytes(), name);
  };
  const embedName = tensorName(arch.preLayer[0]!, scheme);
  const normRole = arch.postLayer.find((r) => r.role === "norm")!;
  const headRole = arch.postLayer.find((r) => r.role === "lm_head");
  return {
    config,
    embedding: async () => (await load(embedName))!,
    finalNorm: async () => (await load(tensorName(normRole, scheme)))!,
    lmHead: async () => (config.tiedEmbeddings || !headRole ? (await load(embedName))! : (await load(tensorName(headRole, scheme)))!),
    layer: async (i: number) => {
      const w: Partial<LayerWeights> = {};
      for (const role of arch.layer) {
        const fused = FUSED_ROLE_FIELDS[role.role];
        if (fused) {
          // views into the one fused tensor, no copy
          const data = (await load(tensorName(role, scheme, i)))!;
          const sizes = fusedFieldSizes(config, role.role);
          if (data.length !== sizes.reduce((a, b) => a + b, 0)) {
            throw new RuntimeError("ENGINE_BAD_WEIGHT", `${tensorName(role, scheme, i)}: ${data.length} elements, expected ${sizes.join(" + ")} (${fused.join(" | ")})`, { hint: "the fused tensor does not match the config's heads and sizes" });
          }
          let at = 0;
          fused.forEach((f, j) => {
            (w as Record<string, Float32Array>)[f] = data.subarray(at, at + sizes[j]!);
            at += sizes[j]!;
          });
          continue;
        }
        const field = LAYER_ROLE_FIELDS[role.role];
        if (!field) continue;
        const name = tensorName(role, scheme, i);
        let data = await load(name, !role.optional && !role.role.endsWith("_bias"));
        if (!data) continue;
        if (ggufPermuted && role.qkPermute) {
          const heads = role.qkPermute === "heads" ? config.numHeads : config.numKvHeads;
          data = unpermuteQK(data, heads, lookup(name)!.shape[0]!);
        }
        (w as Record<string, Float32Array>)[field] = data;
      }
      return w as LayerWeights;
    },
  };
}

/** An opened checkpoint as engine weights. */
export function checkpointWeights(c: Checkpoint): EngineWeights {
  const scheme: NameScheme = c.format === "gguf" ? "gguf" : "hf";
  const hp = checkpointHParams(c);
  const config = engineConfigFrom(hp, hp.tied, c.arch, scheme);
  const lookup = (name: string): TensorSource | undefined => {
    const t = c.tensors.get(name);
    return t && { type: t.type, shape: t.shape, bytes: () => t.source.read(t.offset, t.byteLength) };
  };
  return weightsFrom(c.arch, scheme, config, lookup, c.format === "gguf");
}

/**
 * A plan run virtually: output tensor names resolve to their source tensors and transforms, and
 * merged tensors are merged as the forward pass loads them (nothing is written).
 */
export function planWeights(plan: Plan, checkpoints: readonly Checkpoint[], merge: MergeRunOptions = {}): EngineWeights {
  const base = checkpoints[plan.configSource]!;
  const scheme: NameScheme = plan.format === "gguf" ? "gguf" : "hf";
  const ops = new Map(plan.tensors.map((op) => [op.name, op]));
  const buffers = newChunkBuffers();
  const lookup = (name: string): TensorSource | undefined => {
    const op = ops.get(name);
    if (!op) return undefined;
    return {
      type: tensorType(op.type)!,
      shape: op.shape,
      bytes: async () => {
        const out = new Uint8Array(op.byteLength);
        let at = 0;
        await produceTensor(op, checkpoints, async (chunk) => void (out.set(chunk, at), (at += chunk.byteLength)), buffers, merge);
        return out;
      },
    };
  };
  const headRole = base.arch.postLayer.find((r) => r.role === "lm_head");
  const tied = !headRole || !ops.has(tensorName(headRole, scheme));
  const config = engineConfigFrom(stackHParams(plan, checkpoints), tied, base.arch, scheme);
  return weightsFrom(base.arch, scheme, config, lookup, plan.format === "gguf");
}

/**
 * The hyperparameters of a stack: the base's, with the plan's layer count and each layer's
 * attention kind — for HF outputs the kind its source layer was trained with (what a build's
 * explicit layer_types says), for GGUF outputs what llama.cpp computes at its new position.
 */
function stackHParams(plan: Plan, checkpoints: readonly Checkpoint[]): HParams {
  const base = checkpoints[plan.configSource]!;
  if (plan.format === "gguf") {
    const kv = new Map(base.gguf!.kv);
    for (const [key, u] of Object.entries(plan.ggufUpdates ?? {})) kv.set(key, u.type === "u32" ? ggufValue.u32(u.value as number) : ggufValue.string(u.value as string));
    const hp = readGgufHParams(base.arch, kv, base.path);
    const withTensors = checkpointHParams(base); // rope_freqs and LongRoPE factors live in tensors
    return { ...withTensors, numLayers: hp.numLayers, ...pick(hp, ["layerTypes", "slidingWindow", "queryPreAttnScalar"]) };
  }
  const sourceHp = checkpoints.map((c) => checkpointHParams(c));
  const hp: HParams = { ...sourceHp[plan.configSource]!, numLayers: plan.layers.length };
  const kinds = plan.layers.map((l) => sourceHp[l.source]!.layerTypes?.[l.layer]);
  if (kinds.every((k) => k !== undefined)) hp.layerTypes = kinds as NonNullable<HParams["layerTypes"]>;
  return hp;
}

function pick<T extends object, K extends keyof T>(o: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {};
  for (const k of keys) if (o[k] !== undefined) out[k] = o[k];
  return out;
}
