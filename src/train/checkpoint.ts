// A training checkpoint is one HF model directory written atomically (a temporary sibling renamed
// over the previous checkpoint): safetensors in each tensor's dtype, config.json, tokenizer and side
// files, the model card, and beside them what resuming needs — trainer_state.json (step, data
// position, settings, fingerprints) and optimizer.safetensors (f32 master weights and Adam
// moments of the trainable tensors) — plus the JSONL log and the loss chart.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { prepareOutput } from "../build/atomic-output.js";
import { FileSink, FileSource } from "../formats/byte-source.js";
import { fromFloat32 } from "../formats/dtype-convert.js";
import { DEFAULT_SHARD_BYTES, planShards, serializeSafetensorsIndex } from "../formats/safetensors-index.js";
import { parseSafetensors } from "../formats/safetensors.js";
import { SafetensorsWriter, type SafetensorsTensorSpec } from "../formats/safetensors-writer.js";
import { tensorType } from "../formats/tensor-types.js";
import { isPlainObject, readJsonFile } from "../checkpoint/read-json.js";
import { tensorView, type ModelTensor, type TrainModel } from "./model.js";
import type { GradLayout } from "./param-store.js";
import type { AdamWState } from "./optimizer.js";
import { TrainError } from "./train-error.js";

export const STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";
export const LOG_FILE = "train_log.jsonl";

/** Extra files of a checkpoint directory: name → contents. */
export type ExtraFiles = Map<string, string | Uint8Array>;

async function writeTensors(dir: string, file: string, specs: readonly SafetensorsTensorSpec[], bytes: (i: number) => Uint8Array): Promise<void> {
  const sink = await FileSink.create(join(dir, file));
  try {
    const w = await SafetensorsWriter.begin(sink, specs);
    for (let i = 0; i < specs.length; i++) await w.write(specs[i]!.name, bytes(i));
    await w.finish();
  } finally {
    await sink.close();
  }
}

/** Writes the model's weights (sharded past `shardBytes`), config.json and side files into `dir`. */
export async function writeModelFiles(dir: string, m: TrainModel, shardBytes = DEFAULT_SHARD_BYTES): Promise<string[]> {
  const passthrough = new Map((m.passthrough ?? []).map((t) => [t.name, t]));
  const specs = [...m.tensors, ...passthrough.values()].map((t) => ({ name: t.name, type: t.type, shape: t.shape }));
  const bytesOf = (name: string): Uint8Array => {
    const raw = passthrough.get(name);
    if (raw) return raw.bytes;
    const t = m.tensors.find((x) => x.name === name)!;
    return fromFloat32(tensorView(m.layout, m.params, t), t.type);
  };
  const sharding = planShards(specs.map((s) => ({ name: s.name, byteLength: s.shape.reduce((a, b) => a * b, 1) * s.type.blockBytes })), shardBytes);
  const files: string[] = [];
  for (const shard of sharding.shards) {
    const list = shard.tensorNames.map((n) => specs.find((s) => s.name === n)!);
    await writeTensors(dir, shard.fileName, list, (i) => bytesOf(list[i]!.name));
    files.push(shard.fileName);
  }
  if (sharding.needsIndex) {
    await writeFile(join(dir, "model.safetensors.index.json"), serializeSafetensorsIndex({ totalSize: sharding.totalSize, weightMap: sharding.weightMap }));
    files.push("model.safetensors.index.json");
  }
  await writeFile(join(dir, "config.json"), JSON.stringify(m.hfConfig, null, 2) + "\n");
  files.push("config.json");
  for (const [name, data] of m.sideFiles) {
    await writeFile(join(dir, name), data);
    files.push(name);
  }
  return files;
}

/** Master weights and moments of the trainable tensors, by HF name. */
function optimizerSpecs(m: TrainModel, g: GradLayout): { name: string; tensor: ModelTensor; part: "master" | "exp_avg" | "exp_avg_sq" }[] {
  const out: { name: string; tensor: ModelTensor; part: "master" | "exp_avg" | "exp_avg_sq" }[] = [];
  for (const part of ["master", "exp_avg", "exp_avg_sq"] as const) {
    for (const t of m.tensors) if (g.trainable[t.spec]) out.push({ name: `${part}/${t.name}`, tensor: t, part });
  }
  return out;
}

export interface CheckpointInput {
  output: string;
  /** paths the output must not overlap (the source model, the texts) */
  inputs: readonly string[];
  /** replace an existing output (the previous checkpoint of this run, or --force) */
  force: boolean;
  model: TrainModel;
  grads: GradLayout;
  adam: AdamWState;
  /** trainer_state.json contents */
  state: Record<string, unknown>;
  /** README.md, train_log.jsonl, loss.svg, loss.png, mergekit_config.yml… */
  extra: ExtraFiles;
  /** the command writing, for a second writer that is refused (e.g. `dusk heal`) */
  purpose?: string;
}

/** Bytes a checkpoint takes: weights in their dtypes, f32 master + two moments, the side files. */
export function checkpointBytes(m: TrainModel, g: GradLayout, extra: ExtraFiles): number {
  let n = 1 << 20; // headers, config, state
  for (const t of m.tensors) n += t.size * t.type.blockBytes;
  for (const t of m.passthrough ?? []) n += t.bytes.byteLength;
  n += 12 * g.total;
  for (const d of [...m.sideFiles.values(), ...extra.values()]) n += typeof d === "string" ? Buffer.byteLength(d) : d.byteLength;
  return n;
}

/** Writes a complete checkpoint into a temporary sibling and renames it over `output`. */
export async function saveCheckpoint(c: CheckpointInput): Promise<string> {
  const out = await prepareOutput(c.output, c.inputs, {
    kind: "directory", force: c.force, bytes: checkpointBytes(c.model, c.grads, c.extra), purpose: c.purpose ?? "dusk train", label: c.output,
  });
  try {
    await writeModelFiles(out.tmpPath, c.model);
    const f32 = tensorType("F32")!;
    const opt = optimizerSpecs(c.model, c.grads);
    const L = c.model.layout;
    await writeTensors(out.tmpPath, OPTIMIZER_FILE, opt.map((o) => ({ name: o.name, type: f32, shape: o.tensor.shape })), (i) => {
      const o = opt[i]!;
      const go = c.grads.offsets[o.tensor.spec]!; // a fused tensor's specs are adjacent here too
      const src = o.part === "master" ? tensorView(L, c.model.params, o.tensor) : (o.part === "exp_avg" ? c.adam.m : c.adam.v).subarray(go, go + o.tensor.size);
      return new Uint8Array(src.buffer.slice(src.byteOffset, src.byteOffset + src.byteLength) as ArrayBuffer);
    });
    await writeFile(join(out.tmpPath, STATE_FILE), JSON.stringify(c.state, null, 2) + "\n");
    for (const [name, data] of c.extra) await writeFile(join(out.tmpPath, name), data);
    await out.commit();
    return out.path;
  } catch (e) {
    await out.abort();
    throw out.failure(e);
  }
}

export interface SavedState {
  state: Record<string, unknown>;
  /** HF name → f32 values, for master / exp_avg / exp_avg_sq */
  tensors: Map<string, Float32Array>;
}

/** Reads trainer_state.json and optimizer.safetensors of a checkpoint directory. */
export async function readSavedState(dir: string): Promise<SavedState> {
  const statePath = join(dir, STATE_FILE);
  const state = await readJsonFile(statePath).catch((e: unknown) => {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") {
      throw new TrainError("TRAIN_NO_STATE", `--resume: ${statePath} not found`, {
        hint: "resume continues a run that saved a checkpoint into this output; start without --resume",
      });
    }
    throw e;
  });
  if (!isPlainObject(state) || state.format !== "dusk-trainer-state" || state.version !== 1) {
    throw new TrainError("TRAIN_BAD_STATE", `${statePath}: not a dusk trainer state (format dusk-trainer-state, version 1)`, { hint: "the directory was not written by dusk train or dusk heal" });
  }
  const path = join(dir, OPTIMIZER_FILE);
  const source = await FileSource.open(path);
  try {
    const tensors = new Map<string, Float32Array>();
    for (const t of (await parseSafetensors(source)).tensors) {
      if (t.type.name !== "F32") throw new TrainError("TRAIN_BAD_STATE", `${path}: ${t.name} is ${t.type.name}, expected F32`, { hint: "the optimizer state is damaged" });
      const bytes = await source.read(t.offset, t.byteLength);
      tensors.set(t.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer));
    }
    return { state, tensors };
  } finally {
    await source.close();
  }
}
