// Executes a Plan as a stream into an atomic output: a temporary sibling renamed into place only
// when every byte is written. An interrupted or failed build leaves nothing that looks complete.

import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { BuildError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { DEFAULT_SHARD_BYTES } from "../formats/safetensors-index.js";
import { prepareOutput } from "./atomic-output.js";
import type { BuildEvent } from "./events.js";
import { modelCard } from "./model-card.js";
import { writeGgufOutput } from "./write-gguf.js";
import { writeSafetensorsOutput } from "./write-safetensors.js";

export interface BuildOptions {
  output: string;
  /** replace an existing output (never an input) */
  force?: boolean;
  /** safetensors shard size in bytes (default 5 GB, as HF) */
  shardBytes?: number;
  /** the recipe as mergekit YAML: the user's own text when the recipe came from a YAML file */
  recipeYaml: string;
  /** compact layout text for the card and metadata */
  layout: string;
  /** the command that rebuilds this output, for the model card */
  command?: string;
  signal?: AbortSignal;
}


export async function* buildModel(plan: Plan, checkpoints: readonly Checkpoint[], options: BuildOptions): AsyncGenerator<BuildEvent> {
  plan.sources.forEach((s, i) => {
    const c = checkpoints[i];
    if (!c || c.ref !== s.ref || c.format !== s.format) {
      throw new BuildError("build.sources", `checkpoint ${i} is ${c?.ref ?? "missing"}, but the plan expects ${s.ref} (${s.format})`);
    }
  });
  const started = Date.now();
  const out = await prepareOutput(
    options.output,
    checkpoints.flatMap((c) => [c.path, ...c.files]),
    { kind: plan.format === "gguf" ? "file" : "directory", force: options.force ?? false },
  );
  let committed = false;
  try {
    yield { type: "start", output: out.path, tensors: plan.tensors.length, totalBytes: plan.metrics.outputBytes };
    let files: string[];
    const events =
      plan.format === "gguf"
        ? writeGgufOutput(plan, checkpoints, out.tmpPath, { recipeYaml: options.recipeYaml, layout: options.layout })
        : writeSafetensorsOutput(plan, checkpoints, out.tmpPath, { shardBytes: options.shardBytes ?? DEFAULT_SHARD_BYTES });
    for (;;) {
      if (options.signal?.aborted) throw new BuildError("build.aborted", "the build was interrupted; nothing was written", { cause: options.signal.reason });
      const r = await events.next();
      if (r.done) {
        files = r.value;
        break;
      }
      yield r.value;
    }
    if (plan.format === "safetensors") {
      const command = options.command ?? "dusk build recipe.yml";
      await writeFile(join(out.tmpPath, "mergekit_config.yml"), options.recipeYaml);
      await writeFile(join(out.tmpPath, "README.md"), modelCard({ plan, layout: options.layout, command, recipeYaml: options.recipeYaml }));
      files.push("mergekit_config.yml", "README.md");
    }
    await out.commit();
    committed = true;
    yield { type: "done", output: out.path, files, bytes: plan.metrics.outputBytes, seconds: (Date.now() - started) / 1000 };
  } finally {
    // Also runs when the consumer stops iterating early (Ctrl-C in the CLI).
    if (!committed) await out.abort();
  }
}
