// The quantization plan: a value saying, before a byte is written, which type each tensor of a
// GGUF gets and why, the output's metadata and size. Its tensor order and metadata are
// llama-quantize's (layer, then name; general.quantization_version and general.file_type moved
// last, then the quantize.imatrix.* keys), so the file it leads to is llama-quantize's byte for byte.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { ggufGet, ggufGetNumber, ggufGetString, ggufValue, type GgufKv } from "../formats/gguf-value.js";
import { tensorByteLength, tensorType } from "../formats/tensor-types.js";
import { GGUF_ALIGNMENT_KEY } from "../formats/gguf.js";
import type { ByteSink } from "../formats/byte-source.js";
import { GgufWriter } from "../formats/gguf-writer.js";
import { parseMergekitYaml, recipeLayers } from "../recipe/index.js";
import type { QuantFtype } from "./ftypes.js";
import type { Imatrix } from "./imatrix-file.js";
import { canDequantize } from "./dequantize.js";
import { chooseTensorTypes, type LayerPosition, type MixModel, type TensorChoice } from "./mix.js";
import { QuantError } from "./quant-error.js";

export interface QuantizeOptions {
  ftype: QuantFtype;
  imatrix?: { path: string; data: Imatrix };
  /** `stack` (llama.cpp: positions in the file) or `source` (each layer where its base layer sits) */
  mixBy?: "stack" | "source";
  /** --mix-by source: the base model's layer count (default: inferred from the recipe) */
  baseLayers?: number;
  pure?: boolean;
  leaveOutput?: boolean;
  outputType?: string;
  embeddingType?: string;
  allowRequantize?: boolean;
  /** refuse fallbacks (rows the type's blocks do not tile) instead of taking them */
  strict?: boolean;
}

export interface PlannedTensor extends TensorChoice {
  inputBytes: number;
  outputBytes: number;
  /** the bytes change (false: copied as they are) */
  convert: boolean;
  /** quantized with an importance vector */
  imatrix: boolean;
}

export interface QuantizePlan {
  input: string;
  ftype: string;
  mixBy: "stack" | "source";
  model: MixModel;
  tensors: PlannedTensor[];
  /** tensors the alternative mix (stack ↔ source) would type differently */
  mixDifferences?: number;
  inputBytes: number;
  /** the output file's size */
  outputBytes: number;
  kv: GgufKv;
  alignment: number;
  notes: string[];
  /** tensor name → importance vector (when an imatrix was given) */
  imatrix?: Map<string, Float32Array>;
}

const SPLIT_KEYS = ["split.no", "split.count", "split.tensors.count"];

/** block_count, heads, KV heads, experts and arch name from the GGUF's metadata. */
export function mixModelOf(c: Checkpoint): MixModel {
  const kv = c.gguf!.kv;
  const arch = ggufGetString(kv, "general.architecture", c.path) ?? c.arch.name;
  const first = (key: string): number | undefined => {
    const v = ggufGet(kv, `${arch}.${key}`);
    return Array.isArray(v) ? Number(v[0] ?? 0) : v === undefined ? undefined : Number(v);
  };
  const heads = first("attention.head_count") ?? 0;
  return {
    arch,
    layers: ggufGetNumber(kv, `${arch}.block_count`, c.path) ?? c.numLayers,
    heads,
    kvHeads: first("attention.head_count_kv") ?? heads,
    experts: first("expert_count") ?? 0,
  };
}

/** --mix-by source: each stack layer → its base layer and the base's layer count, from the recorded recipe. */
export function sourcePositions(c: Checkpoint, layers: number, baseLayers?: number): (layer: number) => LayerPosition | undefined {
  const yaml = ggufGetString(c.gguf!.kv, "general.dusk.recipe", c.path);
  if (yaml === undefined) {
    throw new QuantError("QUANT_NO_RECIPE", `${c.path} records no stack recipe (general.dusk.recipe)`, {
      hint: "--mix-by source needs a GGUF built or converted by dusk from a recipe; quantize others with the default --mix-by stack",
    });
  }
  const stack = recipeLayers(parseMergekitYaml(yaml, `${c.path} general.dusk.recipe`));
  if (stack.length !== layers) {
    throw new QuantError("QUANT_RECIPE_MISMATCH", `the recorded recipe has ${stack.length} layers but the model has ${layers}`, { hint: "the GGUF was changed after it was built; use --mix-by stack" });
  }
  const counts = new Map<string, number>();
  for (const l of stack) counts.set(l.model, Math.max(counts.get(l.model) ?? 0, l.layer + 1));
  if (baseLayers !== undefined) {
    const short = stack.find((l) => l.layer >= baseLayers);
    if (short) throw new QuantError("QUANT_BASE_LAYERS", `--base-layers ${baseLayers} is below layer ${short.layer} the recipe takes from ${short.model}`);
  }
  return (layer) => {
    const l = stack[layer];
    return l && { index: l.layer, count: baseLayers ?? counts.get(l.model)! };
  };
}

/** For a dusk stack quantized --mix-by stack: the source mix, to count how many choices it would change. */
function recordedSourceMix<T extends object>(c: Checkpoint, model: MixModel, mixOptions: T, baseLayers?: number): (T & { sourcePosition: (layer: number) => LayerPosition | undefined }) | undefined {
  if (!c.gguf!.kv.has("general.dusk.recipe")) return undefined;
  try {
    return { ...mixOptions, sourcePosition: sourcePositions(c, model.layers, baseLayers) };
  } catch {
    return undefined; // a recipe that does not describe this file: nothing to compare with
  }
}

/** Shape with leading (outer) 1s dropped, as ggml_n_dims writes it; at least one dimension. */
function ggmlShape(shape: readonly number[]): number[] {
  let i = 0;
  while (i < shape.length - 1 && shape[i] === 1) i++;
  return shape.slice(i);
}

export function planQuantize(c: Checkpoint, o: QuantizeOptions): QuantizePlan {
  if (c.format !== "gguf" || !c.gguf) {
    throw new QuantError("QUANT_INPUT", `${c.path} is not a GGUF file`, { hint: "convert an HF model with `dusk convert MODEL -o model.gguf --type f16` (or --type q4_k_m directly)" });
  }
  const model = mixModelOf(c);
  const mixBy = o.mixBy ?? "stack";
  const tensors = [...c.tensors.values()].map((t) => ({ name: t.name, shape: ggmlShape(t.shape), type: t.type.name }));
  const mixOptions = {
    ftype: o.ftype, hasImatrix: o.imatrix !== undefined,
    ...(o.pure ? { pure: true } : {}), ...(o.leaveOutput ? { leaveOutput: true } : {}),
    ...(o.outputType ? { outputType: checkType(o.outputType, "--output-tensor-type") } : {}),
    ...(o.embeddingType ? { embeddingType: checkType(o.embeddingType, "--token-embedding-type") } : {}),
  };
  const bySource = mixBy === "source" ? { ...mixOptions, sourcePosition: sourcePositions(c, model.layers, o.baseLayers) } : recordedSourceMix(c, model, mixOptions, o.baseLayers);
  const choices = chooseTensorTypes(tensors, model, mixBy === "source" ? bySource! : mixOptions);
  let mixDifferences: number | undefined;
  if (bySource) {
    const other = chooseTensorTypes(tensors, model, mixBy === "source" ? mixOptions : bySource);
    mixDifferences = other.filter((t, i) => t.type !== choices[i]!.type).length;
  }
  const notes: string[] = [];
  const planned = choices.map((ch): PlannedTensor => {
    const entry = c.tensors.get(ch.name)!;
    const out = tensorType(ch.type)!;
    const convert = ch.type !== ch.from;
    if (convert && entry.type.blockElems > 1 && !o.allowRequantize) {
      throw new QuantError("QUANT_REQUANTIZE", `${ch.name} is already ${ch.from}; requantizing it to ${ch.type} loses quality`, {
        hint: "quantize from the F16/BF16/F32 model, or pass --allow-requantize",
      });
    }
    if (convert && !canDequantize(ch.from)) {
      throw new QuantError("QUANT_UNSUPPORTED_TYPE", `${ch.name} is ${ch.from}, which dusk cannot dequantize to requantize it as ${ch.type}`, {
        hint: "quantize from the F16/BF16/F32 model",
      });
    }
    const useImatrix = convert && out.blockElems > 1 && o.imatrix?.data.entries.has(ch.name) === true;
    return { ...ch, inputBytes: entry.byteLength, outputBytes: tensorByteLength(out, ch.shape)!, convert, imatrix: useImatrix };
  });
  checkFeasible(planned, o);
  if (o.imatrix) checkImatrix(planned, o.imatrix, notes);
  const kv = outputKv(c, o);
  const alignment = ggufGetNumber(kv, GGUF_ALIGNMENT_KEY) ?? 32;
  const fallbacks = planned.filter((t) => t.fallbackFrom !== undefined).length;
  if (fallbacks > 0) notes.push(`${fallbacks} of ${planned.length} tensors fall back to another type: their rows are not whole blocks of the mix's type`);
  return {
    input: c.path, ftype: o.ftype.name, mixBy, model, tensors: planned, ...(mixDifferences === undefined ? {} : { mixDifferences }),
    inputBytes: planned.reduce((n, t) => n + t.inputBytes, 0), outputBytes: fileBytes(kv, planned, alignment), kv, alignment, notes,
    ...(o.imatrix ? { imatrix: o.imatrix.data.entries } : {}),
  };
}

function checkType(name: string, flag: string): string {
  const t = tensorType(name.toUpperCase());
  if (t === undefined || t.ggml === undefined) throw new QuantError("QUANT_UNKNOWN_TYPE", `${flag}: unknown ggml type ${name}`, { hint: "e.g. Q8_0, Q6_K, F16" });
  return t.name;
}

/** A model too small for the type: no tensor can hold it, or --strict and some tensor falls back. */
function checkFeasible(planned: readonly PlannedTensor[], o: QuantizeOptions): void {
  const quantizable = planned.filter((t) => t.quantizable);
  const blocked = quantizable.filter((t) => t.fallbackFrom !== undefined && t.type === "F16" && o.ftype.defaultType !== "F16");
  if (quantizable.length > 0 && blocked.length === quantizable.length && tensorType(o.ftype.defaultType)!.blockElems > 1) {
    const cols = quantizable[0]!.shape[quantizable[0]!.shape.length - 1];
    throw new QuantError("QUANT_MODEL_TOO_SMALL", `no tensor of this model can be stored as ${o.ftype.name}: rows of ${cols} elements are not whole blocks of any fallback type (32 elements at least)`, {
      hint: "quantize models whose hidden size is a multiple of 32 (K-quants want 256); keep this one in F16 (--type F16)",
    });
  }
  const fell = planned.find((t) => t.fallbackFrom !== undefined);
  if (o.strict && fell) {
    throw new QuantError("QUANT_FALLBACK", `${fell.name} cannot be ${fell.fallbackFrom}: rows of ${fell.shape[fell.shape.length - 1]} are not whole blocks (it would fall back to ${fell.type})`, {
      hint: "drop --strict to take llama.cpp's fallbacks, or choose a type with 32-element blocks (Q8_0, Q5_0, Q4_0, IQ4_NL)",
    });
  }
}

/** An imatrix for another model: sizes that disagree, or none of the quantized tensors named in it. */
function checkImatrix(planned: readonly PlannedTensor[], im: { path: string; data: Imatrix }, notes: string[]): void {
  const targets = planned.filter((t) => t.convert && tensorType(t.type)!.blockElems > 1);
  let matched = 0;
  for (const t of targets) {
    const e = im.data.entries.get(t.name);
    if (!e) continue;
    const cols = t.shape[t.shape.length - 1]!;
    const experts = t.shape.length >= 3 ? t.shape[t.shape.length - 3]! : 1;
    if (e.length !== cols * experts) {
      if (t.name === "token_embd.weight") continue; // llama.cpp ignores this one's size
      throw new QuantError("QUANT_IMATRIX_MISMATCH", `the imatrix ${im.path} has ${e.length} values for ${t.name}, which has rows of ${cols}: it was computed for another model`, {
        hint: "compute one for this model: dusk imatrix MODEL.gguf --text FILE -o imatrix.gguf",
      });
    }
    matched++;
  }
  const layered = targets.filter((t) => t.layer !== undefined);
  if (layered.length > 0 && matched === 0) {
    throw new QuantError("QUANT_IMATRIX_MISMATCH", `the imatrix ${im.path} names none of this model's tensors (it has ${im.data.entries.size} entries such as ${[...im.data.entries.keys()][0] ?? "none"}): it was computed for another model`, {
      hint: "compute one for this model: dusk imatrix MODEL.gguf --text FILE -o imatrix.gguf",
    });
  }
  const missing = layered.filter((t) => !im.data.entries.has(t.name));
  if (missing.length > 0) notes.push(`the imatrix has no data for ${missing.length} tensors (e.g. ${missing[0]!.name}); they are quantized without it, as llama-quantize does`);
}

/** The input's metadata, split keys dropped, the quantization keys moved last (gguf_set_val's order). */
function outputKv(c: Checkpoint, o: QuantizeOptions): GgufKv {
  const kv: GgufKv = new Map();
  for (const [k, v] of c.gguf!.kv) if (!SPLIT_KEYS.includes(k)) kv.set(k, v);
  const set = (k: string, v: ReturnType<typeof ggufValue.u32>) => {
    kv.delete(k);
    kv.set(k, v);
  };
  set("general.quantization_version", ggufValue.u32(2));
  set("general.file_type", ggufValue.u32(o.ftype.id));
  if (o.imatrix) {
    const cut = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s).subarray(0, 127)); // strncpy(…, 127)
    set("quantize.imatrix.file", ggufValue.string(cut(o.imatrix.path)));
    if (o.imatrix.data.datasets.length > 0) set("quantize.imatrix.dataset", ggufValue.string(cut(o.imatrix.data.datasets[0]!)));
    set("quantize.imatrix.entries_count", ggufValue.u32(o.imatrix.data.entries.size));
    if (o.imatrix.data.chunkCount > 0) set("quantize.imatrix.chunks_count", ggufValue.u32(o.imatrix.data.chunkCount));
  }
  return kv;
}

/** The output file's size: GgufWriter lays the header out (without writing) exactly as it will. */
function fileBytes(kv: GgufKv, tensors: readonly PlannedTensor[], alignment: number): number {
  const sink: ByteSink = { name: "<size>", position: 0, write: async () => {}, close: async () => {} };
  const specs = tensors.map((t) => ({ name: t.name, type: tensorType(t.type)!, shape: t.shape }));
  return new GgufWriter(sink, { kv, tensors: specs, alignment }).layout.fileSize;
}
