// HF tensors of any known family → a GGUF stream, as llama.cpp's converter lays it out: GGUF
// names, Llama's Q/K rows permuted for ggml's rotary layout, Gemma's norm gains shifted by +1,
// generated factor tensors (rope_freqs, Phi-3's rope_factors_long/short) first, 2-D weights in the
// chosen type (f32, f16, bf16, q8_0, q4_0, or one of llama-quantize's mixes such as q4_k_m), 1-D
// tensors kept in F32. One tensor is in memory at a time, never the model.

import { findRole, hfTextConfig, hfToGgufName, type Architecture } from "../arch/index.js";
import type { BuildEvent } from "../build/events.js";
import { FormatError } from "../errors.js";
import type { ByteSink } from "../formats/byte-source.js";
import { convertTensorBytes, f16BitsToF32Bits, f32BitsToF16Bits, fromFloat32, toFloat32 } from "../formats/dtype-convert.js";
import { GgufWriter } from "../formats/gguf-writer.js";
import type { GgufKv } from "../formats/gguf-value.js";
import { tensorByteLength, tensorType, type TensorTypeInfo } from "../formats/tensor-types.js";
import { readHParams, type HParams } from "../arch/hparams.js";
import { hparamsKv, isMixType, type ConvertType, type ConverterType } from "./gguf-hparams.js";
import { parseQuantFtype } from "../quant/ftypes.js";
import { chooseTensorTypes } from "../quant/mix.js";
import { QuantPool } from "../quant/pool.js";
import { rowBytes } from "../quant/quantize.js";
import { permuteQK } from "./qk-permute.js";
import { quantize } from "./quantize.js";

/** One input tensor in HF naming, with a way to get its bytes when its turn comes. */
export interface ConvertTensor {
  name: string;
  type: TensorTypeInfo;
  /** outermost first */
  shape: number[];
  /**
   * Calls `write` with the tensor's bytes in order, in chunks of whole elements; each chunk is
   * valid until the promise `write` returns resolves.
   */
  stream(write: (chunk: Uint8Array) => Promise<void>): Promise<void>;
}

export interface ConvertInput {
  arch: Architecture;
  /** HF config.json (after restacking, when converting a plan) */
  config: Record<string, unknown>;
  /** for error messages */
  configFile: string;
  tensors: ConvertTensor[];
  /** tokenizer.* keys (from src/tokenizer) */
  tokenizerKv: GgufKv;
  name: string;
  /** extra general.* keys (e.g. the dusk recipe) */
  extraKv?: GgufKv;
  /** Gemma 3: the tokenizer's vocabulary size, past which embedding rows are dropped (as the converter) */
  embeddingRows?: number;
}

export interface OutputTensor {
  input: ConvertTensor;
  name: string;
  type: TensorTypeInfo;
  permuteHeads?: number;
  /** Gemma: the stored gain is w − 1; GGUF holds w */
  addOne?: boolean;
  /** keep only the first rows (Gemma 3's embedding trimmed to the tokenizer) */
  rows?: number;
}

const TYPE_OF: Record<ConverterType, string> = { f32: "F32", f16: "F16", bf16: "BF16", q8_0: "Q8_0", q4_0: "Q4_0" };

export function planConversion(input: ConvertInput, outType: ConvertType): { hp: HParams; tensors: OutputTensor[]; kv: GgufKv } {
  const { arch } = input;
  const hp = readHParams(arch, input.config, input.configFile);
  const skipped = (name: string) =>
    // llama.cpp's converter skips rotary caches, the family's dropped tensors and other modalities
    /rotary_emb\.inv_freq$/.test(name) || arch.converter.skipTensors?.includes(name) || arch.hfOtherModalities?.some((p) => name.startsWith(p));
  const out: OutputTensor[] = [];
  for (const t of input.tensors) {
    if (skipped(t.name)) continue;
    const role = findRole(arch, t.name, "hf");
    const name = hfToGgufName(arch, t.name);
    if (!role || !name) {
      throw new FormatError("convert.unknown-tensor", `no GGUF name for tensor ${t.name}`, {
        file: input.configFile, field: t.name, hint: `dusk knows the ${arch.name} family's tensors; this checkpoint has extra ones`,
      });
    }
    if (!t.type.float) {
      throw new FormatError("convert.dtype", `${t.name} is ${t.type.name}; conversion reads F32, F16 and BF16 weights`, { file: input.configFile, field: t.name });
    }
    const inner = t.shape[t.shape.length - 1] ?? 1;
    let typeName: string;
    if (t.shape.length === 1 || role.keepF32) typeName = "F32";
    else if (isMixType(outType)) typeName = "F32"; // chosen below, once every tensor is known
    else if ((outType === "q8_0" || outType === "q4_0") && inner % 32 !== 0) typeName = "F16"; // llama.cpp's fallback for odd rows
    else typeName = TYPE_OF[outType];
    const permuteHeads = role.qkPermute === "heads" ? hp.numHeads : role.qkPermute === "kvHeads" ? hp.numKvHeads : undefined;
    const o: OutputTensor = { input: t, name, type: tensorType(typeName)!, ...(permuteHeads === undefined ? {} : { permuteHeads }) };
    if (role.norm && arch.forward.normWeightOffset === 1) o.addOne = true;
    if (role.role === "embed_tokens" && arch.converter.trimEmbeddingToVocab && input.embeddingRows !== undefined && input.embeddingRows < t.shape[0]!) o.rows = input.embeddingRows;
    out.push(o);
  }
  if (isMixType(outType)) applyMix(out, arch, hp, outType);
  const embed = out.find((t) => t.name === "token_embd.weight");
  if (!embed) throw new FormatError("convert.no-embedding", "the checkpoint has no embedding tensor", { file: input.configFile, field: arch.preLayer[0]!.hf });
  const rows = embed.input.shape[0]!;
  if (rows !== hp.vocabSize) {
    throw new FormatError("convert.vocab", `the embedding has ${rows} rows but config vocab_size is ${hp.vocabSize}`, {
      file: input.configFile, field: "vocab_size", expected: String(rows), actual: String(hp.vocabSize), hint: "the config does not belong to these weights",
    });
  }
  out.unshift(...generatedTensors(arch, hp, input.configFile));
  const kv = hparamsKv(arch, hp, input.name, outType, hfTextConfig(arch, input.config));
  for (const [k, v] of input.extraKv ?? []) kv.set(k, v);
  for (const [k, v] of input.tokenizerKv) kv.set(k, v);
  return { hp, tensors: out, kv };
}

/**
 * Tensors the converter makes from hyperparameters, before the checkpoint's (generate_extra_tensors):
 * Llama 3.x's rope_freqs.weight, Phi-3's rope_factors_long.weight and rope_factors_short.weight.
 */
function generatedTensors(arch: Architecture, hp: HParams, configFile: string): OutputTensor[] {
  const f32 = tensorType("F32")!;
  const tensor = (name: string, values: Float32Array): OutputTensor => {
    const bytes = new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
    return { input: { name, type: f32, shape: [values.length], stream: (write) => write(bytes) }, name, type: f32 };
  };
  if (hp.ropeFreqFactors) {
    if (!arch.converter.ropeFreqsTensor) {
      throw new FormatError("convert.rope", `llama.cpp's ${arch.ggufArchitectures[0]} models cannot carry llama3 RoPE scaling (no rope_freqs tensor)`, {
        file: configFile, field: "rope_scaling.rope_type", expected: "linear, yarn or none for this family", actual: "llama3",
      });
    }
    // [headDim/2] F32 frequency divisors
    return [tensor("rope_freqs.weight", hp.ropeFreqFactors)];
  }
  const rs = hp.ropeScaling;
  if (rs?.type === "longrope") {
    // [rotaryDim/2] each, long first, as float32 from the config's numbers
    return [tensor("rope_factors_long.weight", Float32Array.from(rs.longFactor!)), tensor("rope_factors_short.weight", Float32Array.from(rs.shortFactor!))];
  }
  return [];
}

/**
 * llama-quantize's mix on the converted tensors: the type each would get quantizing the f32 GGUF
 * (`dusk convert --type f32` then `dusk quantize`), by GGUF name, shape and layer position.
 */
function applyMix(out: OutputTensor[], arch: Architecture, hp: HParams, outType: `mix:${string}`): void {
  const model = { arch: arch.ggufArchitectures[0]!, layers: hp.numLayers, heads: hp.numHeads, kvHeads: hp.numKvHeads, experts: 0 };
  const convertible = out.filter((t) => t.type.name === "F32" && t.input.shape.length > 1 && !findRole(arch, t.input.name, "hf")?.keepF32);
  const choices = chooseTensorTypes(convertible.map((t) => ({ name: t.name, shape: t.input.shape, type: "F32" })), model, { ftype: parseQuantFtype(outType.slice(4)), hasImatrix: false });
  const byName = new Map(choices.map((c) => [c.name, c.type]));
  for (const t of convertible) t.type = tensorType(byName.get(t.name)!)!;
}

/**
 * Streams the GGUF into `sink`; yields progress after each tensor. A mix's block types (q4_k_m,
 * …) are quantized on `pool`'s threads, row chunks in parallel (the bytes do not depend on it;
 * the default pool quantizes on this thread).
 */
export async function* convertToGguf(input: ConvertInput, sink: ByteSink, outType: ConvertType, pool = QuantPool.create(1)): AsyncGenerator<BuildEvent> {
  const { tensors, kv } = planConversion(input, outType);
  const writer = new GgufWriter(sink, { kv, tensors: tensors.map((t) => ({ name: t.name, type: t.type, shape: outputShape(t) })) });
  const totalBytes = writer.layout.fileSize;
  yield { type: "start", output: sink.name, tensors: tensors.length, totalBytes };
  await writer.writeHeader();
  let bytes = writer.layout.dataOffset;
  let index = 0;
  const scratch = new Uint8Array(CONVERT_CHUNK_BYTES * 2);
  for (const t of tensors) {
    if (t.permuteHeads === undefined && t.addOne === undefined && t.rows === undefined && t.type.float) {
      // Float → float without a permutation streams chunk by chunk: memory stays at a chunk.
      const same = t.input.type.name === t.type.name;
      await t.input.stream((chunk) => writer.writeTensorData(same ? chunk : convertTensorBytes(chunk, t.input.type, t.type, scratch)));
    } else {
      await writer.writeTensorData(await encodeWhole(await readWhole(t.input), t, pool));
    }
    bytes = writer.layout.tensors[index]!.offset + writer.layout.tensors[index]!.byteLength;
    yield { type: "progress", tensor: t.name, index: index++, bytes, totalBytes };
  }
  await writer.finish();
}

/** The tensor's GGUF shape (outermost first): its input's, or fewer rows when trimmed. */
export function outputShape(t: OutputTensor): number[] {
  return t.rows === undefined ? t.input.shape : [t.rows, ...t.input.shape.slice(1)];
}

/** why 8 MiB: the same chunk as builds; the scratch holds a chunk widened from 2 to 4 bytes */
const CONVERT_CHUNK_BYTES = 8 * 1024 * 1024;

async function readWhole(t: ConvertTensor): Promise<Uint8Array> {
  const out = new Uint8Array(tensorByteLength(t.type, t.shape)!);
  let at = 0;
  await t.stream(async (chunk) => {
    out.set(chunk, at);
    at += chunk.byteLength;
  });
  return out;
}

/** Q/K rows move across the whole tensor and quantization needs f32 blocks: one tensor at a time. */
async function encodeWhole(raw: Uint8Array, t: OutputTensor, pool: QuantPool): Promise<Uint8Array> {
  const rows = t.input.shape[0]!;
  const from = t.input.type;
  let bytes = raw;
  if (t.rows !== undefined) bytes = bytes.subarray(0, (bytes.byteLength / rows) * t.rows);
  if (t.addOne) return fromFloat32(plusOne(bytes, from), t.type);
  // Permute on raw elements before any conversion: rows move whole, so the type does not matter.
  if (t.permuteHeads !== undefined) bytes = permuteQK(bytes, t.permuteHeads, rows);
  if (t.type.name === "Q8_0" || t.type.name === "Q4_0") return quantize(t.type.name, toFloat32(bytes, from));
  if (!t.type.float) {
    const cols = t.input.shape[t.input.shape.length - 1]!;
    const x = toFloat32(bytes, from); // rows may have been trimmed above (Gemma 3's embedding)
    const nrows = x.length / cols;
    const out = new Uint8Array(nrows * rowBytes(t.type, cols));
    return pool.quantize(t.type.name, x, nrows, cols, undefined, out);
  }
  return convertTensorBytes(bytes, from, t.type);
}

/**
 * w + 1 as the converter computes it: torch adds in the tensor's dtype, and BF16 was widened to F32
 * first, so an F16 gain is rounded to F16 after the addition (F32 and BF16 sources round to F32).
 */
function plusOne(bytes: Uint8Array, from: TensorTypeInfo): Float32Array {
  const x = toFloat32(bytes, from);
  const out = new Float32Array(x.length);
  const bits = new Uint32Array(out.buffer);
  for (let i = 0; i < x.length; i++) {
    out[i] = x[i]! + 1;
    if (from.name === "F16") bits[i] = f16BitsToF32Bits(f32BitsToF16Bits(bits[i]!));
  }
  return out;
}
