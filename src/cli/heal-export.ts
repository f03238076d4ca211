// `dusk heal STACK --export axolotl -o job/`: instead of training here, write a job directory for
// axolotl on a GPU cluster (src/train/axolotl): the same --train selection (seams/new/LIST read
// against the stack's recorded recipe), the corpus as the cluster sees it, the token budget.

import { parseCount, parseTrainSpec, readStackRecipe, TrainError } from "../index.js";
import { readStackInfo, writeAxolotlJob, type CorpusRef, type TrainSelection } from "../train/axolotl/index.js";
import { UsageError } from "./flag-check.js";
import { staleLine } from "./progress.js";
import { intFlag, numFlag, repeated } from "./train-common.js";

export const exportArgs = {
  export: { type: "string", description: "write a job for a distributed trainer instead of training here: axolotl", valueHint: "trainer" },
  dataset: { type: "string", description: "--export: a Hub dataset id as the corpus (instead of --text files)", valueHint: "org/name" },
  "corpus-kind": { type: "string", description: "--export: pretraining_dataset (streamed, default) or completion (tokenized up front)", valueHint: "kind" },
  gpus: { type: "string", description: "--export: GPUs of the node (default 8)", valueHint: "N" },
  "copy-stack": { type: "boolean", description: "--export: copy the stack into job/stack/ so the folder is self-contained" },
} as const;

/** Default peak learning rate of an exported job: continued pretraining of a large model, not from scratch. */
export const EXPORT_DEFAULT_LR = 3e-5;

export async function exportHealJob(args: Record<string, unknown>, rawArgs: readonly string[]): Promise<void> {
  const str = (k: string) => (typeof args[k] === "string" ? (args[k] as string) : undefined);
  if (str("export") !== "axolotl") throw new UsageError("TRAIN_BAD_EXPORT", `--export ${JSON.stringify(str("export"))} is not a trainer dusk writes jobs for`, { hint: "use --export axolotl" });
  if (args.resume) throw new UsageError("TRAIN_BAD_EXPORT", "--export writes a job; there is nothing to --resume", { hint: "drop --resume" });
  const model = String(args.model);
  const out = String(args.output);
  const texts = repeated(rawArgs, "text");
  const dataset = str("dataset");
  if (texts.length === 0 && dataset === undefined) {
    throw new TrainError("TRAIN_NO_TEXT", "--export axolotl needs the corpus the cluster trains on", { hint: "pass --text FILE (the path as the cluster sees it) or --dataset ORG/NAME" });
  }
  const kind = str("corpus-kind") ?? "pretraining_dataset";
  if (kind !== "pretraining_dataset" && kind !== "completion") throw new UsageError("TRAIN_BAD_FLAG", `--corpus-kind must be pretraining_dataset or completion, found ${JSON.stringify(kind)}`, { hint: "--corpus-kind completion tokenizes up front and holds out a split" });
  const tokensFlag = str("tokens");
  if (tokensFlag === undefined) throw new TrainError("TRAIN_BAD_BUDGET", "--export axolotl needs a token budget", { hint: "e.g. --tokens 1G (SOLAR-scale healing runs are billions of tokens)" });
  const info = await readStackInfo(model);
  const n = info.params.layers.length;
  const sel = parseTrainSpec(str("train") ?? "all", n, await readStackRecipe(model));
  const positions = sel.layers.flatMap((on, i) => (on ? [i] : []));
  const train: TrainSelection = { layers: positions.length === n ? "all" : positions, includeEmbed: sel.embed, includeHead: sel.head };
  const corpus: CorpusRef = dataset !== undefined ? { kind, hub: { id: dataset } } : { kind, files: texts };
  const clip = numFlag(str("clip"), "--clip");
  const written = await writeAxolotlJob({
    stack: model,
    output: out,
    force: Boolean(args.force),
    copyStack: Boolean(args["copy-stack"]),
    train,
    corpus,
    tokens: parseCount(tokensFlag, "--tokens"),
    seqLen: intFlag(str("seq-len"), "--seq-len") ?? Math.min(4096, info.hparams.contextLength),
    lr: numFlag(str("lr"), "--lr") ?? EXPORT_DEFAULT_LR,
    ...opt("warmupSteps", intFlag(str("warmup"), "--warmup", 0)),
    ...opt("minLrRatio", numFlag(str("min-lr-ratio"), "--min-lr-ratio")),
    ...opt("weightDecay", numFlag(str("weight-decay"), "--weight-decay")),
    ...opt("maxGradNorm", clip),
    ...opt("seed", intFlag(str("seed"), "--seed", 0)),
    ...opt("gpus", intFlag(str("gpus"), "--gpus")),
    ...opt("microBatchSize", intFlag(str("micro-batch"), "--micro-batch")),
    onStale: (s) => void (!args.quiet && process.stderr.write(staleLine(s) + "\n")),
  });
  const job = written.job;
  if (args.json) {
    process.stdout.write(JSON.stringify({ output: written.path, files: written.files, axolotl: job.axolotl.version, steps: job.budget.steps, tokens_per_step: job.budget.tokensPerStep, trainable_params: job.unfrozen.trainableParams, memory_per_gpu_bytes: job.memory.perGpuBytes, unfrozen_parameters: job.unfrozen.patterns ?? null }, null, 2) + "\n");
    return;
  }
  process.stdout.write(
    `wrote an axolotl ${job.axolotl.version} job to ${written.path} (${written.files.length} files): ${job.budget.steps} steps of ${job.budget.tokensPerStep} tokens, ` +
      `${job.unfrozen.trainableParams.toLocaleString("en-US")} trainable parameters, about ${(job.memory.perGpuBytes / 1e9).toFixed(1)} GB per GPU\n` +
      `launch on the cluster: cd ${written.path} && ./launch.sh   (see README.md)\n`,
  );
}

const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));
