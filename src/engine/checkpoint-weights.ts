// EngineWeights over real files: an opened checkpoint (HF safetensors, or GGUF in F32/F16/BF16/
// Q8_0/Q4_0 with Q/K rows un-permuted back to HF order), or a Plan run virtually — the base
// model's layers in plan order, with the plan's scale/zero transforms — without building it.
// Weights are read one layer at a time when the forward pass asks for them.

import { readGgufHParams, readHParams, type HParams, type RopeScalingParams } from "../arch/hparams.js";
import { tensorName, type Architecture, type NameScheme } from "../arch/index.js";
import { newChunkBuffers, streamTensor } from "../build/tensor-stream.js";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { dequantize } from "../convert/quantize.js";
import { unpermuteQK } from "../convert/qk-permute.js";
import { RuntimeError } from "../errors.js";
import { toFloat32 } from "../formats/dtype-convert.js";
import type { TensorTypeInfo } from "../formats/tensor-types.js";
import { tensorType } from "../formats/tensor-types.js";
import type { Plan } from "../plan/types.js";
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

export function engineConfigFrom(hp: HParams, tied: boolean, arch: Architecture): EngineConfig {
  if (arch.forward.activation !== "silu" || arch.forward.normWeightOffset !== 0) {
    throw new RuntimeError("engine.arch", `the engine runs llama, mistral and qwen2 models, not ${arch.name}`);
  }
  const rs = hp.ropeScaling;
  return {
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
    ...(rs && rs.type !== "llama3" ? { ropeScaling: engineRopeScaling(rs) } : {}),
    ...(hp.ropeFreqFactors ? { ropeFreqFactors: hp.ropeFreqFactors } : {}),
  };
}

function engineRopeScaling(rs: RopeScalingParams): RopeScaling {
  const out: RopeScaling = { type: rs.type, factor: rs.factor };
  if (rs.originalContext !== undefined) out.originalMaxPositions = rs.originalContext;
  if (rs.attentionFactor !== undefined) out.attentionFactor = rs.attentionFactor;
  if (rs.betaFast !== undefined) out.betaFast = rs.betaFast;
  if (rs.betaSlow !== undefined) out.betaSlow = rs.betaSlow;
  return out;
}

function widen(t: TensorSource, raw: Uint8Array, name: string): Float32Array {
  if (t.type.float) return toFloat32(raw, t.type);
  if (t.type.name === "Q8_0" || t.type.name === "Q4_0") return dequantize(t.type.name, raw);
  throw new RuntimeError("engine.tensor-type", `${name} is ${t.type.name}; the engine reads F32, F16, BF16, Q8_0 and Q4_0`, {
    hint: "run K-quant models with llama.cpp (dusk run), or convert the HF checkpoint instead",
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
  const headRole = c.arch.postLayer.find((r) => r.role === "lm_head");
  const tied = !headRole || !c.tensors.has(tensorName(headRole, scheme));
  const hp = c.format === "gguf" ? readGgufHParams(c.arch, c.gguf!.kv, c.path) : readHParams(c.arch, c.config!, c.path);
  if (c.ropeFreqFactors) hp.ropeFreqFactors = c.ropeFreqFactors;
  const config = engineConfigFrom(hp, tied, c.arch);
  const lookup = (name: string): TensorSource | undefined => {
    const t = c.tensors.get(name);
    return t && { type: t.type, shape: t.shape, bytes: () => t.source.read(t.offset, t.byteLength) };
  };
  return weightsFrom(c.arch, scheme, config, lookup, c.format === "gguf");
}

/** A plan run virtually: output tensor names resolve to their source tensors and transforms. */
export function planWeights(plan: Plan, checkpoints: readonly Checkpoint[]): EngineWeights {
  const base = checkpoints[plan.configSource]!;
  const scheme: NameScheme = plan.format === "gguf" ? "gguf" : "hf";
  const ops = new Map(plan.tensors.map((op) => [op.name, op]));
  const buffers = newChunkBuffers();
  const lookup = (name: string): TensorSource | undefined => {
    const op = ops.get(name);
    if (!op) return undefined;
    const entry = checkpoints[op.source]!.tensors.get(op.from)!;
    return {
      type: tensorType(op.type)!,
      shape: op.shape,
      bytes: async () => {
        const out = new Uint8Array(op.byteLength);
        let at = 0;
        await streamTensor(op, entry, async (chunk) => void (out.set(chunk, at), (at += chunk.byteLength)), buffers);
        return out;
      },
    };
  };
  const headRole = base.arch.postLayer.find((r) => r.role === "lm_head");
  const tied = !headRole || !ops.has(tensorName(headRole, scheme));
  const hp = base.format === "gguf" ? readGgufHParams(base.arch, base.gguf!.kv, base.path) : readHParams(base.arch, base.config!, base.path);
  if (base.ropeFreqFactors) hp.ropeFreqFactors = base.ropeFreqFactors;
  const config = engineConfigFrom({ ...hp, numLayers: plan.layers.length }, tied, base.arch);
  return weightsFrom(base.arch, scheme, config, lookup, plan.format === "gguf");
}
