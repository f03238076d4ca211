// Opens a model on disk — an HF directory of safetensors shards or a GGUF file (split or not) —
// as a Checkpoint: its architecture, layer count, config and tensor entries, with every shard
// open as a lazy ByteSource. Only headers are read here. This is the one place that turns paths
// into sources for the formats layer.

import { readdir, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { detectGgufArchitecture, detectHfArchitecture, hfTextConfig, looksLikeReranker, parseLayerTensorName, type Architecture } from "../arch/index.js";
import { FormatError } from "../errors.js";
import { FileSource, type ByteSource } from "../formats/byte-source.js";
import { parseGguf, type GgufFile } from "../formats/gguf.js";
import { openGgufSplits, isGgufSplitName } from "../formats/gguf-split.js";
import { ggufGetNumber, ggufGetString, ggufPlain } from "../formats/gguf-value.js";
import { parseSafetensors } from "../formats/safetensors.js";
import { parseSafetensorsIndex } from "../formats/safetensors-index.js";
import type { TensorEntry } from "../formats/tensor.js";
import { LIMITS } from "../limits.js";
import type { CheckpointFormat, SourceHeader } from "../plan/types.js";
import { isPlainObject, readJsonFile, readTextFile } from "./read-json.js";

export interface Checkpoint {
  /** the reference as given */
  ref: string;
  /** absolute path of the directory (HF) or first .gguf file */
  path: string;
  format: CheckpointFormat;
  arch: Architecture;
  numLayers: number;
  /** in file order */
  tensors: Map<string, TensorEntry>;
  /** HF config.json */
  config?: Record<string, unknown>;
  /** the first (or only) GGUF part */
  gguf?: GgufFile;
  /** every file the checkpoint consists of (shards, parts), absolute */
  files: string[];
  /** HF side files present (tokenizer, generation config, chat template), absolute */
  sideFiles: string[];
  close(): Promise<void>;
  /** GGUF only: `rope_freqs.weight` ([headDim/2] F32, Llama 3.x RoPE factors), read at open: it is tiny */
  ropeFreqFactors?: Float32Array;
  /** GGUF only: Phi-3 LongRoPE `rope_factors_long.weight` / `rope_factors_short.weight` ([rotaryDim/2] F32) */
  ropeLongFactors?: Float32Array;
  ropeShortFactors?: Float32Array;
}

/** Side files copied into an HF output, as mergekit copies them. */
export const HF_SIDE_FILES = [
  "tokenizer.json", "tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
  "generation_config.json", "chat_template.jinja", "chat_template.json", "vocab.json", "merges.txt",
];

export async function openCheckpoint(path: string, ref: string = path): Promise<Checkpoint> {
  const abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch {
    throw new FormatError("checkpoint.missing", "no such file or directory", {
      file: abs, hint: "give an HF model directory (config.json + *.safetensors) or a .gguf file",
    });
  }
  if (st.isDirectory()) return openHfDirectory(abs, ref);
  return openGgufFile(abs, ref);
}

async function openHfDirectory(dir: string, ref: string): Promise<Checkpoint> {
  const configPath = join(dir, "config.json");
  const names = await readdir(dir);
  if (!names.includes("config.json")) {
    throw new FormatError("checkpoint.no-config", "the directory has no config.json", {
      file: dir, hint: names.some((n) => n.endsWith(".gguf")) ? "to use a GGUF, give the .gguf file itself" : "give an HF model directory (config.json + *.safetensors)",
    });
  }
  const config = await readJsonFile(configPath);
  if (!isPlainObject(config)) throw new FormatError("checkpoint.config", "config.json is not a JSON object", { file: configPath });
  const arch = detectHfArchitecture(config, configPath);
  await refuseNamedReranker(dir, names, configPath);

  const sources: ByteSource[] = [];
  const tensors = new Map<string, TensorEntry>();
  const files: string[] = [];
  const closeAll = () => Promise.all(sources.map((s) => s.close())).then(() => undefined);
  try {
    if (names.includes("model.safetensors.index.json")) {
      const indexPath = join(dir, "model.safetensors.index.json");
      const index = parseSafetensorsIndex(await readTextFile(indexPath), indexPath);
      const shards = [...new Set(index.weightMap.values())];
      for (const shard of shards) {
        if (!names.includes(shard)) {
          throw new FormatError("checkpoint.missing-shard", `the index names shard ${shard}, which is not in the directory`, {
            file: indexPath, field: "weight_map", hint: "the download is incomplete; fetch the missing shard",
          });
        }
        const shardPath = join(dir, shard);
        const source = await FileSource.open(shardPath);
        sources.push(source);
        files.push(shardPath);
        const parsed = await parseSafetensors(source);
        for (const t of parsed.tensors) {
          if (index.weightMap.get(t.name) !== shard) {
            throw new FormatError("checkpoint.index-mismatch", `${t.name} is in ${shard} but the index does not say so`, {
              file: indexPath, field: `weight_map.${t.name}`, expected: shard, actual: index.weightMap.get(t.name) ?? "absent",
              hint: "the index and the shards come from different versions; download them again",
            });
          }
          tensors.set(t.name, t);
        }
      }
      for (const [name, shard] of index.weightMap) {
        if (!tensors.has(name)) {
          throw new FormatError("checkpoint.missing-tensor", `the index puts ${name} in ${shard}, which does not contain it`, {
            file: indexPath, field: `weight_map.${name}`, hint: "the index and the shards come from different versions; download them again",
          });
        }
      }
    } else if (names.includes("model.safetensors")) {
      const p = join(dir, "model.safetensors");
      const source = await FileSource.open(p);
      sources.push(source);
      files.push(p);
      for (const t of (await parseSafetensors(source)).tensors) tensors.set(t.name, t);
    } else {
      throw new FormatError("checkpoint.no-weights", "no model.safetensors or model.safetensors.index.json", {
        file: dir,
        hint: names.some((n) => n.endsWith(".bin")) ? "PyTorch .bin checkpoints are not read (unsafe pickle); save the model as safetensors" : "the directory holds no safetensors weights",
      });
    }
    const countField = arch.hfTextConfigKey !== undefined && config[arch.hfTextConfigKey] !== undefined ? `${arch.hfTextConfigKey}.${arch.hfLayerCountKey}` : arch.hfLayerCountKey;
    const numLayers = layerCount(hfTextConfig(arch, config)[arch.hfLayerCountKey], configPath, countField);
    const weightsFile = files.length > 1 || names.includes("model.safetensors.index.json") ? join(dir, "model.safetensors.index.json") : files[0]!;
    checkLayerTensors(tensors, numLayers, "hf", configPath, countField, arch);
    checkFamilyTensors(arch, tensors, numLayers, "hf", weightsFile);
    const sideFiles = HF_SIDE_FILES.filter((f) => names.includes(f)).map((f) => join(dir, f));
    return { ref, path: dir, format: "safetensors", arch, numLayers, tensors, config, files, sideFiles, close: closeAll };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

async function openGgufFile(path: string, ref: string): Promise<Checkpoint> {
  const sources: ByteSource[] = [];
  const closeAll = () => Promise.all(sources.map((s) => s.close())).then(() => undefined);
  try {
    let first: GgufFile;
    let entries: TensorEntry[];
    let files: string[];
    if (isGgufSplitName(basename(path))) {
      const dir = dirname(path);
      const split = await openGgufSplits(basename(path), async (name) => {
        const s = await FileSource.open(join(dir, name));
        sources.push(s);
        return s;
      });
      first = split.first;
      entries = split.tensors;
      files = split.partNames.map((n) => join(dir, n));
    } else {
      const source = await FileSource.open(path);
      sources.push(source);
      first = await parseGguf(source);
      entries = first.tensors;
      files = [path];
    }
    const archName = ggufGetString(first.kv, "general.architecture", path);
    const arch = detectGgufArchitecture(archName, path, first.kv);
    const key = `${archName}.block_count`;
    const numLayers = layerCount(ggufGetNumber(first.kv, key, path), path, key);
    const tensors = new Map(entries.map((t) => [t.name, t]));
    checkLayerTensors(tensors, numLayers, "gguf", path, key, arch);
    checkFamilyTensors(arch, tensors, numLayers, "gguf", path);
    if (tensors.has("cls_out.weight")) {
      throw new FormatError("arch.reranker", "a reranker (classifier head cls_out.weight), not a causal language model", {
        file: path, field: "cls_out.weight", hint: "dusk builds, converts and runs text generators: use the base model's GGUF",
      });
    }
    const ropeFreqFactors = await readFactorTensor(tensors.get("rope_freqs.weight"), path);
    const ropeLongFactors = await readFactorTensor(tensors.get("rope_factors_long.weight"), path);
    const ropeShortFactors = await readFactorTensor(tensors.get("rope_factors_short.weight"), path);
    return {
      ref, path, format: "gguf", arch, numLayers, tensors, gguf: first, files, sideFiles: [], close: closeAll,
      ...(ropeFreqFactors ? { ropeFreqFactors } : {}), ...(ropeLongFactors ? { ropeLongFactors } : {}), ...(ropeShortFactors ? { ropeShortFactors } : {}),
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/** A rope factor tensor (rope_freqs, rope_factors_long/short): tiny, read at open. */
async function readFactorTensor(t: TensorEntry | undefined, file: string): Promise<Float32Array | undefined> {
  if (!t) return undefined;
  if (t.type.name !== "F32" || t.shape.length !== 1 || t.shape[0]! > 4096) {
    throw new FormatError("checkpoint.rope-freqs", `${t.name} is not a 1-D F32 tensor of at most 4096 factors`, {
      file, field: t.name, expected: "F32 [rotary dims/2]", actual: `${t.type.name} ${JSON.stringify(t.shape)}`,
    });
  }
  return new Float32Array((await t.source.read(t.offset, t.byteLength)).slice().buffer);
}

function layerCount(v: unknown, file: string, field: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > LIMITS.layerCount) {
    throw new FormatError("checkpoint.layer-count", "invalid layer count", {
      file, field, expected: `an integer in 1..${LIMITS.layerCount}`, actual: JSON.stringify(v) ?? "missing",
    });
  }
  return v;
}

/** Every layer tensor's index is below the declared count, and every layer is present. */
function checkLayerTensors(tensors: Map<string, TensorEntry>, numLayers: number, scheme: "hf" | "gguf", file: string, field: string, arch: Architecture): void {
  const seen = new Set<number>();
  for (const name of tensors.keys()) {
    const p = parseLayerTensorName(name, scheme, arch);
    if (!p) continue;
    if (p.layer >= numLayers) {
      throw new FormatError("checkpoint.layer-out-of-range", `tensor ${name} belongs to layer ${p.layer}, but the model declares ${numLayers} layers`, {
        file, field, hint: "the config and the weights disagree; they may come from different models",
      });
    }
    seen.add(p.layer);
  }
  if (seen.size !== numLayers) {
    const missing = [...Array(numLayers).keys()].filter((i) => !seen.has(i));
    throw new FormatError("checkpoint.missing-layers", `the model declares ${numLayers} layers but has no tensors for layer(s) ${missing.slice(0, 8).join(", ")}${missing.length > 8 ? ", …" : ""}`, {
      file, field, hint: "the checkpoint is incomplete; download it again",
    });
  }
}

/**
 * Every tensor the family's table requires is there: the embedding, the final norm and, in every
 * layer, each non-optional role (a Gemma 2 layer without post_feedforward_layernorm is not Gemma 2).
 * Biases count as optional, as the engine reads them.
 */
function checkFamilyTensors(arch: Architecture, tensors: Map<string, TensorEntry>, numLayers: number, scheme: "hf" | "gguf", file: string): void {
  const name = (template: string, layer?: number) => (layer === undefined ? template : template.replace("{L}", String(layer)));
  const required = (r: { optional?: boolean; role: string }) => !r.optional && !r.role.endsWith("_bias");
  const missing = (template: string, role: string, layer?: number): never => {
    const n = name(template, layer);
    throw new FormatError("checkpoint.missing-tensor", `${layer === undefined ? "the model" : `layer ${layer}`} has no ${role} tensor, which every ${arch.name} checkpoint has`, {
      file, field: n, expected: n, actual: "absent",
      hint: scheme === "hf" && arch.hfTextConfigKey !== undefined && [...tensors.keys()].some((t) => t.startsWith("model.language_model."))
        ? "this checkpoint was saved by transformers ≥ 4.52 (model.language_model.*); dusk reads the layout google/gemma-3-*-it ship (language_model.model.*)"
        : `the checkpoint is incomplete or not a ${arch.name} model (config.json says it is)`,
    });
  };
  for (const r of [...arch.preLayer, ...arch.postLayer].filter(required)) {
    const t = scheme === "hf" ? r.hf : r.gguf;
    if (!tensors.has(t)) missing(t, r.role);
  }
  const layerRoles = arch.layer.filter(required);
  for (let l = 0; l < numLayers; l++) {
    for (const r of layerRoles) {
      const t = scheme === "hf" ? r.hf : r.gguf;
      if (!tensors.has(name(t, l))) missing(t, r.role, l);
    }
  }
}

/**
 * Qwen3 rerankers are Qwen3ForCausalLM checkpoints; llama.cpp's converter recognises them by the
 * README's title or the directory's name, and so does dusk (then refuses them: not a text generator).
 */
async function refuseNamedReranker(dir: string, names: readonly string[], configPath: string): Promise<void> {
  const hints = [basename(dir)];
  if (names.includes("README.md")) {
    const readme = await readTextFile(join(dir, "README.md")).catch(() => "");
    const title = /^#\s+(\S+)/m.exec(readme)?.[1];
    if (title) hints.push(title);
  }
  if (looksLikeReranker(hints)) {
    throw new FormatError("arch.reranker", "a Qwen3 reranker (named so by its directory or README), not a causal language model", {
      file: configPath, field: "architectures", expected: "a causal LM", actual: hints.filter((h) => looksLikeReranker([h])).join(", "),
      hint: "llama.cpp converts Qwen3 rerankers to a ranking model (yes/no classifier head); dusk builds, converts and runs text generators: use the base model (e.g. Qwen/Qwen3-0.6B)",
    });
  }
}

/** The header-only view the planner reads. */
export function checkpointHeader(c: Checkpoint): SourceHeader {
  const tensors = [...c.tensors.values()].map((t) => ({ name: t.name, type: t.type.name, shape: [...t.shape], byteLength: t.byteLength }));
  const header: SourceHeader = { ref: c.ref, format: c.format, arch: c.arch.name, numLayers: c.numLayers, tensors };
  if (c.config) header.config = c.config;
  if (c.gguf) {
    const plain: Record<string, unknown> = Object.create(null);
    for (const [k, v] of c.gguf.kv) {
      // Vocabulary arrays are large and the planner never needs them.
      if (k.startsWith("tokenizer.")) continue;
      const p = ggufPlain(v);
      plain[k] = typeof p === "bigint" ? Number(p) : p;
    }
    header.gguf = plain;
  }
  return header;
}
