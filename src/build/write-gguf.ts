// The GGUF output of a build: the config source's metadata (tokenizer, chat template and all)
// with the block count and per-layer arrays updated and the recipe recorded in general.* keys,
// then every tensor streamed in plan order. Quantized tensors are copied byte for byte.

import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { FileSink } from "../formats/byte-source.js";
import { ggufGetString, ggufValue, type GgufKv, type GgufValue } from "../formats/gguf-value.js";
import { GgufWriter } from "../formats/gguf-writer.js";
import { planGgufSplit } from "../formats/gguf-split.js";
import { basename, join } from "node:path";
import { tensorType } from "../formats/tensor-types.js";
import type { Plan } from "../plan/types.js";
import type { BuildEvent } from "./events.js";
import type { MergeRunOptions } from "../merge/executor.js";
import { produceTensor } from "./op-bytes.js";
import { newChunkBuffers } from "./tensor-stream.js";
import { resolveChatTemplate } from "../merge/chat-templates.js";

export interface GgufOutputOptions {
  /** write a gguf-split set instead of one file (parts named `prefix-0000i-of-0000N.gguf`) */
  split?: { maxTensors?: number; maxBytes?: number };
  /** the recipe as mergekit YAML, recorded in `general.dusk.recipe` */
  recipeYaml: string;
  /** compact layout text such as `0..23, 8..31` */
  layout: string;
  name?: string;
  /** seed and worker pool for merged tensors */
  merge?: MergeRunOptions;
  /** each source's tokenizer.chat_template, for a recipe's `chat_template: auto` */
  sourceTemplates?: (string | undefined)[];
}

/** The output's metadata: base KVs, plan updates, per-layer arrays resized, recipe keys. */
export function outputGgufKv(plan: Plan, base: Checkpoint, options: GgufOutputOptions): GgufKv {
  const kv: GgufKv = new Map();
  const archName = ggufGetString(base.gguf!.kv, "general.architecture") ?? plan.arch;
  for (const [key, value] of base.gguf!.kv) {
    if (key === "general.alignment") continue; // the writer sets it
    kv.set(key, perLayer(key, value, archName, base.numLayers, plan));
  }
  for (const [key, u] of Object.entries(plan.ggufUpdates ?? {})) {
    kv.set(key, u.type === "u32" ? ggufValue.u32(u.value as number) : ggufValue.string(String(u.value)));
  }
  const name = options.name ?? plan.recipe.name;
  if (name) kv.set("general.name", ggufValue.string(name));
  if (plan.recipe.chatTemplate !== undefined) {
    // mergekit's chat_template: auto picks the sources' most common template
    const template = resolveChatTemplate(plan.recipe.chatTemplate, (options.sourceTemplates ?? []).map((t) => t ?? undefined));
    if (template !== undefined) kv.set("tokenizer.chat_template", ggufValue.string(template));
  }
  kv.set("general.dusk.layout", ggufValue.string(options.layout));
  kv.set("general.dusk.recipe", ggufValue.string(options.recipeYaml));
  kv.set("general.base_model.count", ggufValue.u32(plan.sources.length));
  plan.sources.forEach((s, i) => kv.set(`general.base_model.${i}.name`, ggufValue.string(s.ref)));
  return kv;
}

/** `<arch>.*` arrays with one entry per base layer (e.g. per-layer head counts) follow the stack. */
function perLayer(key: string, value: GgufValue, arch: string, baseLayers: number, plan: Plan): GgufValue {
  if (value.type !== 9 || !key.startsWith(`${arch}.`) || value.items.length !== baseLayers) return value;
  return { ...value, items: plan.layers.map((l) => value.items[l.layer]!) };
}

/**
 * Writes the output as one file at `file`, or — with `options.split` — as a gguf-split set in the
 * directory `file` (the caller renames the parts into place). Returns the written file names.
 */
export async function* writeGgufOutput(
  plan: Plan,
  checkpoints: readonly Checkpoint[],
  file: string,
  options: GgufOutputOptions,
  partPrefix = "model",
): AsyncGenerator<BuildEvent, string[]> {
  const base = checkpoints[plan.configSource]!;
  const sourceTemplates = checkpoints.map((c) => {
    const v = c.gguf?.kv.get("tokenizer.chat_template");
    return v?.type === 8 ? v.value : undefined;
  });
  const kv = outputGgufKv(plan, base, { ...options, sourceTemplates });
  if (base.gguf!.alignment !== 32) kv.set("general.alignment", ggufValue.u32(base.gguf!.alignment));
  const specs = plan.tensors.map((t) => ({ name: t.name, type: tensorType(t.type)!, shape: t.shape }));
  const parts = options.split ? planGgufSplit(partPrefix, kv, specs, options.split) : [{ fileName: file, kv, tensors: specs }];
  const byName = new Map(plan.tensors.map((t) => [t.name, t]));
  const buffers = newChunkBuffers();
  let bytes = 0;
  let index = 0;
  const files: string[] = [];
  for (const part of parts) {
    const path = options.split ? join(file, part.fileName) : file;
    yield { type: "file", name: basename(path) };
    const sink = await FileSink.create(path);
    try {
      const writer = new GgufWriter(sink, { kv: part.kv, tensors: part.tensors });
      await writer.writeHeader();
      for (const spec of part.tensors) {
        const op = byName.get(spec.name)!;
        await produceTensor(op, checkpoints, (chunk) => writer.writeTensorData(chunk), buffers, options.merge);
        bytes += op.byteLength;
        yield { type: "progress", tensor: op.name, index: index++, bytes, totalBytes: plan.metrics.outputBytes };
      }
      await writer.finish();
    } finally {
      await sink.close();
    }
    files.push(basename(path));
  }
  return files;
}
