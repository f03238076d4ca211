// A model held for training: its config, every weight as f32 in a ParamStore, and what writing it
// back as an HF checkpoint needs (tensor names, each tensor's dtype, config.json, tokenizer and
// side files, the stack recipe). Loaded from an HF directory, a GGUF of float tensors, or a
// plan run virtually (an in-memory stack). F32/F16/BF16 survive the f32 round trip bit for bit,
// so a frozen tensor is written back from its f32 values unchanged.

import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { ggufToHfName, tensorName, type Architecture } from "../arch/index.js";
import { newChunkBuffers, streamTensor } from "../build/tensor-stream.js";
import { openCheckpoint, type Checkpoint } from "../checkpoint/open-checkpoint.js";
import { checkpointWeights, FUSED_ROLE_FIELDS, LAYER_ROLE_FIELDS, planWeights, type EngineConfig, type EngineWeights } from "../engine/index.js";
import { tinyHfConfig } from "../fixtures/tiny-model.js";
import { tensorType, type TensorTypeInfo } from "../formats/tensor-types.js";
import { hfTokenizerFromGguf, type TinyTokenizerFiles } from "../tokenizer/index.js";
import type { Plan } from "../plan/types.js";
import { parseMergekitYaml, recipeLayers } from "../recipe/index.js";
import { allocF32, fillParams, paramLayout, type ParamLayout } from "./param-store.js";
import { readStackRecipe, type StackRecipe } from "./selection.js";
import { TrainError } from "./train-error.js";

export interface ModelTensor {
  /** HF name in the output */
  name: string;
  /** index into layout.specs (the first of a fused tensor's, which follow it in the layout) */
  spec: number;
  /** the dtype it is written back in (the source's, unless the run changes it) */
  type: TensorTypeInfo;
  /** its HF shape and elements: a fused tensor (Phi-3 qkv_proj, gate_up_proj) spans its specs */
  shape: number[];
  size: number;
}

export interface PassthroughTensor {
  name: string;
  type: TensorTypeInfo;
  shape: number[];
  bytes: Uint8Array;
}

/** A tensor's values as a view of `data` (the params, or a buffer in their layout). */
export function tensorView(layout: ParamLayout, data: Float32Array, t: ModelTensor): Float32Array {
  const o = layout.specs[t.spec]!.offset;
  return data.subarray(o, o + t.size);
}

export interface TrainModel {
  config: EngineConfig;
  arch: Architecture;
  layout: ParamLayout;
  /** all weights, f32 (SharedArrayBuffer-backed when `shared`) */
  params: Float32Array;
  /** output tensors in the order they are written */
  tensors: ModelTensor[];
  /** another modality's tensors (Gemma 3's vision tower and projector): never trained, written back byte for byte */
  passthrough?: PassthroughTensor[];
  /** config.json of the output */
  hfConfig: Record<string, unknown>;
  /** tokenizer and other side files, by file name */
  sideFiles: Map<string, Uint8Array>;
  recipe?: StackRecipe;
  /** what it was loaded from, for the model card */
  base: string;
}

type TensorPlace = Pick<ModelTensor, "spec" | "shape" | "size">;

/** HF tensor name → where it lives in the layout, for every tensor the layout holds. */
export function hfNames(arch: Architecture, layout: ParamLayout): Map<string, TensorPlace> {
  const names = new Map<string, TensorPlace>();
  const one = (spec: number): TensorPlace => ({ spec, shape: layout.specs[spec]!.shape, size: layout.specs[spec]!.size });
  names.set(tensorName(arch.preLayer[0]!, "hf"), one(layout.embedding));
  layout.layers.forEach((fields, l) => {
    for (const role of arch.layer) {
      const fused = FUSED_ROLE_FIELDS[role.role];
      if (fused) {
        // the fused fields are adjacent in the layout (param-store's LAYER_ORDER): one block
        const specs = fused.map((f) => fields.get(f)!);
        const rows = specs.reduce((n, i) => n + layout.specs[i]!.shape[0]!, 0);
        const size = specs.reduce((n, i) => n + layout.specs[i]!.size, 0);
        names.set(tensorName(role, "hf", l), { spec: specs[0]!, shape: [rows, layout.specs[specs[0]!]!.shape[1]!], size });
        continue;
      }
      const field = LAYER_ROLE_FIELDS[role.role];
      const i = field === undefined ? undefined : fields.get(field);
      if (i !== undefined) names.set(tensorName(role, "hf", l), one(i));
    }
  });
  for (const role of arch.postLayer) {
    if (role.role === "norm") names.set(tensorName(role, "hf"), one(layout.finalNorm));
    if (role.role === "lm_head" && layout.lmHead >= 0) names.set(tensorName(role, "hf"), one(layout.lmHead));
  }
  return names;
}

const FLOATS = new Set(["F32", "F16", "BF16"]);

async function fromWeights(weights: EngineWeights, arch: Architecture, shared: boolean): Promise<{ layout: ParamLayout; params: Float32Array }> {
  const layout = paramLayout(weights.config);
  const params = allocF32(layout.total, shared);
  await fillParams(layout, params, weights);
  return { layout, params };
}

/** Whether `name` belongs to another modality the family carries (a vision tower, its projector). */
function otherModality(arch: Architecture, name: string): boolean {
  return arch.hfOtherModalities?.some((p) => name.startsWith(p)) ?? false;
}

/** Another modality's tensors of `order`, read as they are stored. */
async function passthroughTensors(arch: Architecture, order: readonly { name: string; type: string; shape: number[] }[], read: (name: string) => Promise<Uint8Array>): Promise<PassthroughTensor[]> {
  const out: PassthroughTensor[] = [];
  for (const t of order) if (otherModality(arch, t.name)) out.push({ name: t.name, type: tensorType(t.type)!, shape: t.shape, bytes: await read(t.name) });
  return out;
}

/** Orders the layout's tensors as `order` lists them (names → dtype), refusing non-float types;
 * another modality's tensors are left to passthroughTensors. */
function outputTensors(arch: Architecture, layout: ParamLayout, order: readonly { name: string; type: string }[], file: string): ModelTensor[] {
  const byName = hfNames(arch, layout);
  const out: ModelTensor[] = [];
  for (const t of order) {
    if (otherModality(arch, t.name)) continue;
    const place = byName.get(t.name);
    if (place === undefined) {
      throw new TrainError("TRAIN_UNKNOWN_TENSOR", `${file}: tensor ${t.name} is not part of a ${arch.name} model as dusk trains it`, {
        hint: "dusk heals llama, mistral and qwen2 checkpoints with the standard tensor names",
      });
    }
    if (!FLOATS.has(t.type)) {
      throw new TrainError("TRAIN_QUANTIZED", `${file}: tensor ${t.name} is ${t.type}; training needs F32, F16 or BF16 weights`, {
        hint: "heal the HF checkpoint (or an F16/F32 GGUF) instead of a quantized file",
      });
    }
    out.push({ name: t.name, ...place, type: tensorType(t.type)! });
  }
  if (out.length !== byName.size) {
    const missing = [...byName.keys()].filter((n) => !out.some((t) => t.name === n));
    throw new TrainError("TRAIN_MISSING_TENSOR", `${file}: ${missing.length} tensor(s) missing, e.g. ${missing[0]}`, { hint: "the checkpoint is incomplete" });
  }
  return out;
}

async function readSideFiles(paths: readonly string[]): Promise<Map<string, Uint8Array>> {
  const m = new Map<string, Uint8Array>();
  for (const p of paths) m.set(basename(p), new Uint8Array(await readFile(p)));
  return m;
}

/** Families whose config.json dusk can write back from a GGUF's metadata (tinyHfConfig). */
const GGUF_WRITE_BACK = new Set(["llama", "qwen2"]);

/** An HF model directory (or a GGUF of float tensors) loaded for training. */
export async function loadModelForTraining(path: string, opts: { shared: boolean }): Promise<TrainModel> {
  const c = await openCheckpoint(path);
  try {
    if (c.format === "gguf") return await fromGguf(c, opts.shared);
    const { layout, params } = await fromWeights(checkpointWeights(c), c.arch, opts.shared);
    const order = [...c.tensors.values()].map((t) => ({ name: t.name, type: t.type.name, shape: t.shape }));
    const tensors = outputTensors(c.arch, layout, order, c.path);
    const passthrough = await passthroughTensors(c.arch, order, (name) => {
      const t = c.tensors.get(name)!;
      return t.source.read(t.offset, t.byteLength);
    });
    const recipe = await readStackRecipe(c.path);
    return {
      config: layout.config, arch: c.arch, layout, params, tensors, hfConfig: { ...c.config! },
      sideFiles: await readSideFiles(c.sideFiles), base: c.ref, ...(recipe ? { recipe } : {}), ...(passthrough.length ? { passthrough } : {}),
    };
  } finally {
    await c.close();
  }
}

/** A stack as a plan over its sources, never written: what `dusk experiment` heals in memory. */
export async function planModelForTraining(plan: Plan, checkpoints: readonly Checkpoint[], recipeYaml: string, opts: { shared: boolean }): Promise<TrainModel> {
  if (plan.format !== "safetensors" || !plan.config) {
    throw new TrainError("TRAIN_PLAN_FORMAT", "an in-memory stack must be planned from HF sources", { hint: "plan the stack from HF checkpoints" });
  }
  const base = checkpoints[plan.configSource]!;
  const { layout, params } = await fromWeights(planWeights(plan, checkpoints), base.arch, opts.shared);
  const tensors = outputTensors(base.arch, layout, plan.tensors.map((t) => ({ name: t.name, type: t.type })), "the plan");
  const buffers = newChunkBuffers();
  const passthrough = await passthroughTensors(base.arch, plan.tensors, async (name) => {
    const op = plan.tensors.find((t) => t.name === name)!;
    const out = new Uint8Array(op.byteLength);
    let at = 0;
    await streamTensor(op, checkpoints[op.source]!.tensors.get(op.from)!, async (chunk) => void (out.set(chunk, at), (at += chunk.byteLength)), buffers);
    return out;
  });
  return {
    ...(passthrough.length ? { passthrough } : {}),
    config: layout.config, arch: base.arch, layout, params, tensors, hfConfig: { ...plan.config },
    sideFiles: await readSideFiles(base.sideFiles), base: plan.sources.map((s) => s.ref).join(" + "),
    recipe: { layers: recipeLayers(parseMergekitYaml(recipeYaml)), file: "the recipe", yaml: recipeYaml },
  };
}

/**
 * A GGUF of F32/F16/BF16 tensors as an HF model: names mapped back, Q/K rows un-permuted (the
 * engine's adapter does it), config.json from the GGUF hyperparameters, and the SentencePiece
 * tokenizer written back as HF files. Quantized tensors and byte-level BPE vocabularies are refused.
 */
async function fromGguf(c: Checkpoint, shared: boolean): Promise<TrainModel> {
  if (!GGUF_WRITE_BACK.has(c.arch.name)) {
    throw new TrainError("TRAIN_GGUF_FAMILY", `${c.path}: a ${c.arch.name} GGUF cannot be healed into an HF checkpoint (its config.json and norm conventions are not rebuilt from GGUF metadata)`, {
      hint: `heal the ${c.arch.name} HF checkpoint instead (dusk convert makes the GGUF from the result)`,
    });
  }
  const order = [...c.tensors.values()].map((t) => ({ name: ggufToHfName(c.arch, t.name) ?? t.name, type: t.type.name }));
  const bad = order.find((t) => !FLOATS.has(t.type));
  if (bad) {
    throw new TrainError("TRAIN_QUANTIZED", `${c.path}: tensor ${bad.name} is ${bad.type}; a GGUF is healed only when its weights are F32, F16 or BF16`, {
      hint: "quantized weights cannot be trained: heal the HF checkpoint (or an F16 GGUF: dusk convert --type f16)",
    });
  }
  const tk = hfTokenizerFromGguf(c.gguf!.kv, c.path);
  const { layout, params } = await fromWeights(checkpointWeights(c), c.arch, shared);
  const tensors = outputTensors(c.arch, layout, order, c.path);
  const counts = new Map<string, number>();
  for (const t of tensors) if (t.shape.length > 1) counts.set(t.type.name, (counts.get(t.type.name) ?? 0) + 1);
  const dtype = [...counts].sort((a, b) => b[1] - a[1])[0]?.[0] ?? "F32";
  const sideFiles = tokenizerSideFiles(tk);
  return {
    config: layout.config, arch: c.arch, layout, params, tensors, sideFiles, base: c.ref,
    hfConfig: tinyHfConfig(layout.config, c.arch.name === "qwen2" ? "qwen2" : "llama", dtype, { bos: 1, eos: 2 }),
  };
}

/** A SentencePiece-style tokenizer's files (and generation_config.json) as side files, by name. */
export function tokenizerSideFiles(tk: TinyTokenizerFiles): Map<string, Uint8Array> {
  const enc = new TextEncoder();
  return new Map<string, Uint8Array>([
    ["tokenizer.model", tk.tokenizerModel],
    ["tokenizer.json", enc.encode(tk.tokenizerJson)],
    ["tokenizer_config.json", enc.encode(tk.tokenizerConfig)],
    ["special_tokens_map.json", enc.encode(tk.specialTokensMap)],
    ["generation_config.json", enc.encode(JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }, null, 2) + "\n")],
  ]);
}

/** The output dtype of every tensor changed to `dtype` (F32, F16 or BF16), and config.json's torch_dtype. */
export function withDtype(m: TrainModel, dtype: string): TrainModel {
  const names: Record<string, string> = { float32: "F32", f32: "F32", float16: "F16", f16: "F16", bfloat16: "BF16", bf16: "BF16" };
  const t = tensorType(names[dtype.toLowerCase()] ?? dtype.toUpperCase());
  if (!t || !FLOATS.has(t.name)) {
    throw new TrainError("TRAIN_BAD_DTYPE", `--dtype must be float32, float16 or bfloat16, found ${JSON.stringify(dtype)}`, { hint: "e.g. --dtype bfloat16" });
  }
  const torch = { F32: "float32", F16: "float16", BF16: "bfloat16" }[t.name as "F32" | "F16" | "BF16"];
  return { ...m, tensors: m.tensors.map((x) => ({ ...x, type: t })), hfConfig: { ...m.hfConfig, torch_dtype: torch } };
}
