// The HF output of a build: safetensors shards (+ index), config.json, the side files of the
// config source (tokenizer, generation config, chat template), a model card and the recipe as
// mergekit_config.yml — all into the temporary directory the caller renames into place.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { FileSink } from "../formats/byte-source.js";
import { planShards, serializeSafetensorsIndex } from "../formats/safetensors-index.js";
import { SafetensorsWriter } from "../formats/safetensors-writer.js";
import { tensorType } from "../formats/tensor-types.js";
import type { Plan } from "../plan/types.js";
import type { BuildEvent } from "./events.js";
import type { MergeRunOptions } from "../merge/executor.js";
import { produceTensor } from "./op-bytes.js";
import { writeSideFiles } from "./tokenizer-output.js";
import { newChunkBuffers } from "./tensor-stream.js";

export interface SafetensorsOutputOptions {
  shardBytes: number;
  /** seed and worker pool for merged tensors */
  merge?: MergeRunOptions;
}

export async function* writeSafetensorsOutput(
  plan: Plan,
  checkpoints: readonly Checkpoint[],
  dir: string,
  options: SafetensorsOutputOptions,
): AsyncGenerator<BuildEvent, string[]> {
  const sharding = planShards(plan.tensors.map((t) => ({ name: t.name, byteLength: t.byteLength })), options.shardBytes);
  const byName = new Map(plan.tensors.map((t) => [t.name, t]));
  const buffers = newChunkBuffers();
  const totalBytes = plan.metrics.outputBytes;
  const files: string[] = [];
  let bytes = 0;
  let index = 0;
  for (const shard of sharding.shards) {
    yield { type: "file", name: shard.fileName };
    const sink = await FileSink.create(join(dir, shard.fileName));
    try {
      const ops = shard.tensorNames.map((n) => byName.get(n)!);
      const writer = await SafetensorsWriter.begin(sink, ops.map((o) => ({ name: o.name, type: tensorType(o.type)!, shape: o.shape })));
      for (const op of ops) {
        await produceTensor(op, checkpoints, (chunk) => writer.write(op.name, chunk), buffers, options.merge);
        bytes += op.byteLength;
        yield { type: "progress", tensor: op.name, index: index++, bytes, totalBytes };
      }
      await writer.finish();
    } finally {
      await sink.close();
    }
    files.push(shard.fileName);
  }
  if (sharding.needsIndex) {
    await writeFile(join(dir, "model.safetensors.index.json"), serializeSafetensorsIndex({ totalSize: sharding.totalSize, weightMap: sharding.weightMap }));
    files.push("model.safetensors.index.json");
  }
  await writeFile(join(dir, "config.json"), JSON.stringify(plan.config, null, 2) + "\n");
  files.push("config.json");
  files.push(...(await writeSideFiles(plan, checkpoints, dir)));
  return files;
}
