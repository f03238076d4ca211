// `dusk heal STACK --export axolotl -o job/`: the job directory as values (axolotlJob, pure), and
// a writer that puts it on disk whole through the durable output protocol (writeAxolotlJob),
// optionally with a copy of the stack inside so the folder can be sent to a cluster as it is.

import { constants } from "node:fs";
import { copyFile, mkdir, readdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { stringify } from "yaml";
import { prepareOutput, type StaleOutput } from "../../build/atomic-output.js";
import { treeBytes } from "../../build/durable-fs.js";
import { AXOLOTL, axolotlConfig, stepBudget, type CorpusRef, type StepBudget, type TrainingSettings } from "./config.js";
import { zero3MemoryPerGpu, type MemoryEstimate } from "./memory.js";
import { jobReadme, launchScript } from "./readme.js";
import { readStackInfo, type StackInfo } from "./stack-info.js";
import { describePositions, unfrozenPlan, type TrainSelection, type UnfrozenPlan } from "./unfrozen.js";

export interface AxolotlJobOptions extends TrainingSettings {
  stack: StackInfo;
  /** `--train` resolved to stack positions */
  train: TrainSelection;
  corpus: CorpusRef;
  /** what the config's base_model says (default: the stack's path) */
  baseModel?: string;
  /** the job carries the stack in ./stack (writeAxolotlJob sets this when it copies it) */
  stackCopied?: boolean;
}

export interface AxolotlJob {
  /** file name in the job directory → content */
  files: { "config.yml": string; "README.md": string; "launch.sh": string };
  /** what config.yml holds, as a value */
  config: Record<string, unknown>;
  budget: StepBudget;
  memory: MemoryEstimate;
  unfrozen: UnfrozenPlan;
  axolotl: typeof AXOLOTL;
}

/** The job directory's files for these settings. Pure: reads nothing, writes nothing. */
export function axolotlJob(o: AxolotlJobOptions): AxolotlJob {
  const unfrozen = unfrozenPlan(o.stack, o.train);
  const baseModel = o.baseModel ?? o.stack.path;
  const config = axolotlConfig(o.stack, baseModel, o.corpus, o, unfrozen);
  const budget = stepBudget(o);
  const memory = zero3MemoryPerGpu(o.stack, unfrozen.trainableParams, { gpus: o.gpus ?? 8, microBatchSize: o.microBatchSize ?? 1, seqLen: o.seqLen });
  const what = unfrozen.patterns === undefined ? "all parameters" : `${unfrozen.layers.length > 0 ? `positions ${describePositions(unfrozen.layers)}` : "no layers"}${unfrozen.patterns.length > 1 ? " (+ embed/head as listed)" : ""}`;
  const header = [
    `# axolotl ${AXOLOTL.version} config (${AXOLOTL.tag}, commit ${AXOLOTL.commit.slice(0, 12)}), written by dusk heal --export axolotl.`,
    `# Continued pretraining of ${o.stack.path}, training ${what}; see README.md.`,
    "",
  ].join("\n");
  return {
    files: {
      "config.yml": header + pyYamlNumbers(stringify(config, { lineWidth: 0 })),
      "README.md": jobReadme({ stack: o.stack, baseModel, corpus: o.corpus, settings: o, budget, unfrozen, memory, stackCopied: o.stackCopied ?? false }),
      "launch.sh": launchScript({ corpus: o.corpus, settings: o }),
    },
    config,
    budget,
    memory,
    unfrozen,
    axolotl: AXOLOTL,
  };
}

/**
 * axolotl reads its config with PyYAML, which follows YAML 1.1: there a float needs a dot and a
 * signed exponent, so `1e-8` (what JavaScript prints) would be read as a string. Rewrite such
 * numbers as `1.0e-08`-style floats.
 */
export function pyYamlNumbers(yamlText: string): string {
  return yamlText.replace(/^(\s*(?:- )?[\w-]+: |\s*- )(-?\d+)(?:\.(\d+))?e([+-]?)(\d+)$/gm, (_m, lead: string, int: string, frac: string | undefined, sign: string, exp: string) => `${lead}${int}.${frac ?? "0"}e${sign || "+"}${exp.padStart(2, "0")}`);
}

export interface WriteAxolotlJobOptions extends Omit<AxolotlJobOptions, "stack" | "stackCopied"> {
  /** the stack: an HF directory (read for its shape and dusk's records), or its description */
  stack: string | StackInfo;
  /** the job directory */
  output: string;
  /** replace an existing job directory */
  force?: boolean;
  /** copy the stack's files into job/stack/ (reflinked where the file system can) */
  copyStack?: boolean;
  onStale?: (s: StaleOutput) => void;
}

export interface WrittenAxolotlJob {
  path: string;
  /** the job's files, relative to it */
  files: string[];
  job: AxolotlJob;
  stale: StaleOutput[];
}

/** Writes the job directory whole (temporary sibling, fsync, rename) and returns what it holds. */
export async function writeAxolotlJob(o: WriteAxolotlJobOptions): Promise<WrittenAxolotlJob> {
  const dir = typeof o.stack === "string" ? resolve(o.stack) : undefined;
  const stack = dir ? await readStackInfo(dir) : (o.stack as StackInfo);
  const copy = Boolean(o.copyStack && dir);
  const job = axolotlJob({ ...o, stack, stackCopied: copy, ...(copy && !o.baseModel ? { baseModel: "./stack" } : {}) });
  const text = Object.values(job.files).reduce((n, f) => n + Buffer.byteLength(f), 0);
  const out = await prepareOutput(o.output, dir ? [dir] : [], {
    kind: "directory",
    force: o.force ?? false,
    bytes: text + (copy ? await treeBytes(dir!) : 0),
    purpose: "dusk heal --export axolotl",
    ...(o.onStale ? { onStale: o.onStale } : {}),
  });
  try {
    const files: string[] = [];
    for (const [name, content] of Object.entries(job.files)) {
      await writeFile(join(out.tmpPath, name), content, { flag: "wx", mode: name.endsWith(".sh") ? 0o755 : 0o644 });
      files.push(name);
    }
    if (copy) {
      await mkdir(join(out.tmpPath, "stack"));
      for (const e of await readdir(dir!, { withFileTypes: true })) {
        if (!e.isFile() || e.name.startsWith(".")) continue;
        await copyFile(join(dir!, e.name), join(out.tmpPath, "stack", e.name), constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
        files.push(`stack/${e.name}`);
      }
    }
    await out.commit();
    return { path: out.path, files, job, stale: out.stale };
  } catch (e) {
    await out.abort();
    throw out.failure(e);
  }
}
