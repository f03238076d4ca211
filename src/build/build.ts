// Executes a Plan as a stream into an atomic output: a temporary sibling, fsynced and renamed into
// place only when every byte is written. An interrupted or failed build leaves nothing that looks
// complete; a full disk, a read-only folder or a second writer is a typed error (atomic-output.ts).

import { writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Checkpoint } from "../checkpoint/open-checkpoint.js";
import { BuildError } from "../errors.js";
import type { Plan } from "../plan/types.js";
import { DEFAULT_SHARD_BYTES } from "../formats/safetensors-index.js";
import { prepareOutput } from "./atomic-output.js";
import type { StatfsFn } from "./durable-fs.js";
import type { BuildEvent } from "./events.js";
import { modelCard } from "./model-card.js";
import { writeGgufOutput } from "./write-gguf.js";
import { writeSafetensorsOutput } from "./write-safetensors.js";
import { openMergeRun } from "./merge-run.js";

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
  /** GGUF output as a gguf-split set: OUTPUT names the first part (`x-00001-of-0000N.gguf` style) */
  split?: { maxTensors?: number; maxBytes?: number };
  /** the command that rebuilds this output, for the model card */
  command?: string;
  signal?: AbortSignal;
  /** statfs(2) for the free-space check (tests inject one; default: the real one) */
  statfs?: StatfsFn;
  /** merged tensors: the random methods' seed (default 0) */
  seed?: number;
  /** merged tensors: worker threads for the math (default one per core; 0 = this thread) */
  mergeWorkers?: number;
  /** mergekit quirks that fire while merging */
  onWarning?: (message: string) => void;
}


export async function* buildModel(plan: Plan, checkpoints: readonly Checkpoint[], options: BuildOptions): AsyncGenerator<BuildEvent> {
  plan.sources.forEach((s, i) => {
    const c = checkpoints[i];
    if (!c || c.ref !== s.ref || c.format !== s.format) {
      throw new BuildError("build.sources", `checkpoint ${i} is ${c?.ref ?? "missing"}, but the plan expects ${s.ref} (${s.format})`);
    }
  });
  const started = Date.now();
  const split = plan.format === "gguf" ? options.split : undefined;
  const out = await prepareOutput(
    split ? splitDirectory(options.output) : options.output,
    checkpoints.flatMap((c) => [c.path, ...c.files]),
    {
      kind: plan.format === "gguf" && !split ? "file" : "directory",
      force: options.force ?? false,
      bytes: plan.metrics.outputBytes,
      purpose: "dusk build",
      label: options.output,
      ...(options.statfs ? { statfs: options.statfs } : {}),
    },
  );
  let committed = false;
  const merge = openMergeRun(plan, options);
  try {
    for (const note of out.stale) yield { type: "stale", note };
    yield { type: "start", output: out.path, tensors: plan.tensors.length, totalBytes: plan.metrics.outputBytes };
    let files: string[];
    const events =
      plan.format === "gguf"
        ? writeGgufOutput(plan, checkpoints, out.tmpPath, { recipeYaml: options.recipeYaml, layout: options.layout, merge: merge.options, ...(split ? { split } : {}) }, splitPrefix(options.output))
        : writeSafetensorsOutput(plan, checkpoints, out.tmpPath, { shardBytes: options.shardBytes ?? DEFAULT_SHARD_BYTES, merge: merge.options });
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
    if (split) files = await out.commitParts(files);
    else await out.commit();
    committed = true;
    // A split set's output is its first part (the .parts directory it was written in is gone).
    yield { type: "done", output: split ? files[0]! : out.path, files, bytes: plan.metrics.outputBytes, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    throw out.failure(e);
  } finally {
    // Also runs when the consumer stops iterating early (Ctrl-C in the CLI).
    await merge.close();
    if (!committed) await out.abort();
  }
}

/**
 * A split GGUF output is named by its set prefix (`-o out/idus-1.gguf` → `out/idus-1-00001-of-…`).
 * Its parts are written into a temporary directory, then moved beside it, the first part (which
 * holds the metadata) last, so an interrupted set never has a first part (AtomicOutput.commitParts).
 */
function splitPrefix(output: string): string {
  return basename(output).replace(/\.gguf$/i, "");
}

function splitDirectory(output: string): string {
  return join(dirname(output), `${splitPrefix(output)}.parts`);
}
